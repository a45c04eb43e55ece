"""Appointment slots: the clinic's grid, narrowed by a doctor's own weekly plan.

A slot starts on the clinic grid (every SLOT_MINUTES from opening) and lies
wholly inside opening hours and inside the doctor's plan, if the doctor has
one.  `check_slot` says why a wanted slot is refused, in the order a person
would find most useful: an inactive doctor first, then the past, the day, the
grid, the hours, the doctor's plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

from leads.domain.calendar import CalendarError, ClinicCalendar, WeeklyPlan

__all__ = [
    "SlotRefused",
    "check_slot",
    "free_slots",
    "free_slots_of_doctors",
    "slot_grid",
    "validate_doctor_plan",
]

DoctorKey = TypeVar("DoctorKey")

REFUSAL_CODES = (
    "inactive_doctor",
    "past",
    "closed_day",
    "closure",
    "off_grid",
    "outside_hours",
    "outside_doctor_plan",
)


class SlotRefused(ValueError):
    """A slot that cannot be booked; `code` is one of REFUSAL_CODES."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Slot:
    """One bookable interval."""

    start: datetime
    end: datetime


def validate_doctor_plan(cal: ClinicCalendar, plan: WeeklyPlan) -> None:
    """Refuse a doctor's plan that is not inside the clinic's hours (CalendarError)."""
    for weekday, (opens, closes) in plan.items():
        clinic = cal.weekly_plan.get(weekday)
        if clinic is None:
            raise CalendarError(f"weekday {weekday}: the clinic is closed that day")
        if opens < clinic[0] or closes > clinic[1] or not opens < closes:
            raise CalendarError(f"weekday {weekday}: {opens}–{closes} is outside {clinic[0]}–{clinic[1]}")


def _inside_plan(start: datetime, end: datetime, plan: WeeklyPlan | None) -> bool:
    if plan is None:
        return True
    hours = plan.get(start.weekday())
    return hours is not None and hours[0] <= start.time() and end.time() <= hours[1] and end.date() == start.date()


def slot_grid(
    cal: ClinicCalendar, day: date, slot_minutes: int, plan: WeeklyPlan | None = None
) -> list[Slot]:
    """The slots of a local date for a doctor with `plan` (None: the clinic's hours)."""
    step = timedelta(minutes=slot_minutes)
    slots = []
    for start in cal.slot_starts(day, slot_minutes):
        end = (start.astimezone(UTC) + step).astimezone(cal.tz)
        if _inside_plan(start, end, plan):
            slots.append(Slot(start, end))
    return slots


def check_slot(
    cal: ClinicCalendar,
    start: datetime,
    *,
    now: datetime,
    slot_minutes: int,
    plan: WeeklyPlan | None = None,
    doctor_active: bool = True,
) -> Slot:
    """The slot starting at `start`, or SlotRefused saying why it cannot be booked."""
    if not doctor_active:
        raise SlotRefused("inactive_doctor")
    local = cal.local(start)
    if local.astimezone(UTC) < now.astimezone(UTC):
        raise SlotRefused("past")
    day = local.date()
    if day in cal.closures:
        raise SlotRefused("closure")
    hours = cal.opening_hours(day)
    if hours is None:
        raise SlotRefused("closed_day")
    end = (local.astimezone(UTC) + timedelta(minutes=slot_minutes)).astimezone(cal.tz)
    if not (hours[0] <= local and end <= hours[1]):
        raise SlotRefused("outside_hours")
    if not cal.is_slot_start(local, slot_minutes):
        raise SlotRefused("off_grid")
    if not _inside_plan(local, end, plan):
        raise SlotRefused("outside_doctor_plan")
    return Slot(local, end)


def free_slots(
    cal: ClinicCalendar,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    slot_minutes: int,
    plan: WeeklyPlan | None = None,
    taken: Iterable[datetime] = (),
) -> list[Slot]:
    """Slots from `first_day` to `last_day` (local dates, inclusive) not yet started and not taken."""
    taken_utc = {moment.astimezone(UTC) for moment in taken}
    now_utc = now.astimezone(UTC)
    result: list[Slot] = []
    day = first_day
    while day <= last_day:
        for slot in slot_grid(cal, day, slot_minutes, plan):
            start_utc = slot.start.astimezone(UTC)
            if start_utc >= now_utc and start_utc not in taken_utc:
                result.append(slot)
        day += timedelta(days=1)
    return result


@lru_cache(maxsize=4096)
def _day_grid(
    tz: ZoneInfo, day: date, opens: time, closes: time, slot_minutes: int
) -> tuple[tuple[datetime, datetime, datetime, time, time], ...]:
    """The clinic's grid of one open day as (start, end, naive UTC start, start time, end time).

    Pure, and the same for every doctor and every request about that day, so
    it is kept (a few KB per day; 4096 days at most).
    """
    cal = ClinicCalendar(tz=tz, weekly_plan={day.weekday(): (opens, closes)})
    step = timedelta(minutes=slot_minutes)
    grid = []
    for start in cal.slot_starts(day, slot_minutes):
        start_utc = start.astimezone(UTC)
        end = (start_utc + step).astimezone(tz)
        # A slot ending on the next date (never inside opening hours) fits no plan.
        end_time = end.time() if end.date() == day else time.max
        grid.append((start, end, start_utc.replace(tzinfo=None), start.time(), end_time))
    return tuple(grid)


def free_slots_of_doctors(
    cal: ClinicCalendar,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    slot_minutes: int,
    plans: Mapping[DoctorKey, WeeklyPlan | None],
    taken: Mapping[DoctorKey, Iterable[datetime]],
) -> Iterator[tuple[DoctorKey, datetime, datetime]]:
    """Free slots of several doctors from `first_day` to `last_day` (local dates, inclusive),
    as (doctor key, start, end) in clinic time, yielded in order of start, then in
    the order of `plans`.

    `taken` holds each doctor's taken starts: aware instants, or naive UTC as
    the database keeps them.  The clinic's grid of each day is built once (and
    kept) and narrowed by each doctor's plan, so many doctors cost little more
    than one; a caller wanting the first few stops early (itertools.islice).
    """
    taken_utc = {
        key: {moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None) for moment in moments}
        for key, moments in taken.items()
    }
    no_taken: set[datetime] = set()
    now_utc = now.astimezone(UTC).replace(tzinfo=None)
    doctors = [(key, plan, taken_utc.get(key, no_taken)) for key, plan in plans.items()]
    day = first_day
    while day <= last_day:
        clinic = None if day in cal.closures else cal.weekly_plan.get(day.weekday())
        if clinic is not None:
            weekday = day.weekday()
            # Each doctor's hours that day: the clinic's (no plan), theirs, or none.
            hours = [(key, (time.min, time.max) if plan is None else plan.get(weekday), busy) for key, plan, busy in doctors]
            for start, end, start_utc, start_time, end_time in _day_grid(cal.tz, day, clinic[0], clinic[1], slot_minutes):
                if start_utc < now_utc:
                    continue
                for key, window, busy in hours:
                    if window is not None and window[0] <= start_time and end_time <= window[1] and start_utc not in busy:
                        yield key, start, end
        day += timedelta(days=1)
