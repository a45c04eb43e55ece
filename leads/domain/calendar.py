"""The clinic calendar: weekly opening hours, closures, the appointment slot grid.

All instants are timezone-aware. Arithmetic on instants is done in UTC, because Python's
``aware + timedelta`` and ``aware - aware`` with the same tzinfo are wall-clock operations
that ignore a DST change in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_WEEKLY_PLAN",
    "CalendarError",
    "ClinicCalendar",
    "WeeklyPlan",
    "make_calendar",
]

# Weekday (0=Monday .. 6=Sunday) -> (opens, closes) in local wall time; a missing weekday is closed.
WeeklyPlan = Mapping[int, tuple[time, time]]

DEFAULT_WEEKLY_PLAN: WeeklyPlan = MappingProxyType(
    {weekday: (time(9, 0), time(20, 0)) for weekday in range(6)}
)

# How far ahead to search for an opening before deciding the calendar never opens.
SEARCH_HORIZON_DAYS = 400


class CalendarError(ValueError):
    """A calendar was misused (naive datetime, invalid plan) or never opens."""


def _default_plan() -> WeeklyPlan:
    return DEFAULT_WEEKLY_PLAN


def _validated_plan(plan: WeeklyPlan) -> WeeklyPlan:
    checked: dict[int, tuple[time, time]] = {}
    for weekday, hours in plan.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise CalendarError(f"weekday must be an int 0..6, got {weekday!r}")
        try:
            opens, closes = hours
        except (TypeError, ValueError):
            raise CalendarError(f"weekday {weekday}: expected (opens, closes)") from None
        if not isinstance(opens, time) or not isinstance(closes, time):
            raise CalendarError(f"weekday {weekday}: opening hours must be datetime.time values")
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise CalendarError(f"weekday {weekday}: opening hours are local wall times, no tzinfo")
        if not opens < closes:
            raise CalendarError(f"weekday {weekday}: opens {opens} is not before closes {closes}")
        checked[weekday] = (opens, closes)
    return MappingProxyType(checked)


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


@dataclass(frozen=True)
class ClinicCalendar:
    """Opening hours of one clinic in its time zone, minus closure dates."""

    tz: ZoneInfo
    # A mapping is unhashable; leaving it out of the hash keeps the calendar hashable.
    weekly_plan: WeeklyPlan = field(default_factory=_default_plan, hash=False)
    closures: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.tz, tzinfo):
            raise CalendarError(f"tz must be a tzinfo (ZoneInfo), got {self.tz!r}")
        object.__setattr__(self, "weekly_plan", _validated_plan(self.weekly_plan))
        closures = frozenset(self.closures)
        for day in closures:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise CalendarError(f"closures must be dates, got {day!r}")
        object.__setattr__(self, "closures", closures)

    # -- helpers -------------------------------------------------------------------------------

    def _check(self, t: datetime) -> datetime:
        if not isinstance(t, datetime):
            raise CalendarError(f"expected a datetime, got {t!r}")
        if t.tzinfo is None or t.utcoffset() is None:
            raise CalendarError(f"naive datetime refused: {t.isoformat()}")
        return t

    def _at(self, day: date, wall: time) -> datetime:
        # The UTC round trip normalises a wall time that does not exist on a spring-forward day.
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)

    def _first_open_day_from(self, day: date) -> tuple[datetime, datetime]:
        for offset in range(SEARCH_HORIZON_DAYS + 1):
            hours = self.opening_hours(day + timedelta(days=offset))
            if hours is not None:
                return hours
        raise CalendarError(f"no opening within {SEARCH_HORIZON_DAYS} days of {day.isoformat()}")

    # -- public API ----------------------------------------------------------------------------

    def local(self, t: datetime) -> datetime:
        """Return the aware datetime ``t`` converted to the clinic time zone."""
        return self._check(t).astimezone(self.tz)

    def opening_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """Return the aware (opening, closing) instants of a local date, or None if closed."""
        if isinstance(day, datetime):
            raise CalendarError("opening_hours takes a local date, not a datetime")
        if day in self.closures:
            return None
        hours = self.weekly_plan.get(day.weekday())
        if hours is None:
            return None
        return self._at(day, hours[0]), self._at(day, hours[1])

    def is_open(self, t: datetime) -> bool:
        """Tell whether the clinic is open at ``t`` (opening <= t < closing)."""
        return self.closing_time(t) is not None

    def closing_time(self, t: datetime) -> datetime | None:
        """Return the closing instant of the open interval containing ``t``; None if closed at t."""
        lt = self.local(t)
        hours = self.opening_hours(lt.date())
        if hours is None:
            return None
        opens, closes = hours
        return closes if _utc(opens) <= _utc(lt) < _utc(closes) else None

    def next_open(self, t: datetime) -> datetime:
        """Return ``t`` (in clinic time) if open, else the next opening instant."""
        lt = self.local(t)
        if self.is_open(lt):
            return lt
        today = self.opening_hours(lt.date())
        if today is not None and _utc(lt) < _utc(today[0]):
            return today[0]
        return self._first_open_day_from(lt.date() + timedelta(days=1))[0]

    def next_working_day_opening(self, t: datetime) -> datetime:
        """Return the opening instant of the first open day strictly after ``t``'s local date."""
        return self._first_open_day_from(self.local(t).date() + timedelta(days=1))[0]

    def business_minutes(self, a: datetime, b: datetime) -> float:
        """Return the minutes of opening time in [a, b); 0.0 when b <= a."""
        ua, ub = _utc(self._check(a)), _utc(self._check(b))
        if ub <= ua:
            return 0.0
        total = timedelta()
        day, last = self.local(a).date(), self.local(b).date()
        while day <= last:
            hours = self.opening_hours(day)
            if hours is not None:
                start, end = max(ua, _utc(hours[0])), min(ub, _utc(hours[1]))
                if end > start:
                    total += end - start
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def add_business_minutes(self, t: datetime, minutes: float) -> datetime:
        """Return the instant at which ``minutes`` of opening time have passed since ``t``.

        Zero minutes gives ``next_open(t)``; a deadline that uses up a day exactly is that
        day's closing instant.
        """
        if minutes < 0:
            raise CalendarError(f"minutes must not be negative, got {minutes}")
        remaining = timedelta(minutes=minutes)
        current = self.next_open(t)
        while True:
            closes = self.closing_time(current)
            assert closes is not None  # next_open always lands inside an open interval
            available = _utc(closes) - _utc(current)
            if remaining <= available:
                return (_utc(current) + remaining).astimezone(self.tz)
            remaining -= available
            current = self.next_open(closes)

    def slot_starts(self, day: date, slot_minutes: int = 30) -> list[datetime]:
        """Return the slot starts of a local date: every ``slot_minutes`` from opening, each slot
        ending by closing (default grid 09:00 .. 19:30)."""
        if slot_minutes <= 0:
            raise CalendarError(f"slot_minutes must be positive, got {slot_minutes}")
        hours = self.opening_hours(day)
        if hours is None:
            return []
        step = timedelta(minutes=slot_minutes)
        current, closes = _utc(hours[0]), _utc(hours[1])
        starts: list[datetime] = []
        while current + step <= closes:
            starts.append(current.astimezone(self.tz))
            current += step
        return starts

    def is_slot_start(self, start: datetime, slot_minutes: int = 30) -> bool:
        """Tell whether ``start`` is exactly a start of the slot grid of its local date."""
        local_start = self.local(start)
        instant = _utc(local_start)
        return any(_utc(s) == instant for s in self.slot_starts(local_start.date(), slot_minutes))

    def with_closures(self, closures: Iterable[date]) -> ClinicCalendar:
        """Return a copy of this calendar whose closures are exactly ``closures`` (not added)."""
        return replace(self, closures=frozenset(closures))


def make_calendar(
    tz_name: str = "Europe/Moscow",
    closures: Iterable[date] = (),
    weekly_plan: WeeklyPlan | None = None,
) -> ClinicCalendar:
    """Build a calendar from a time zone name, closure dates and an optional weekly plan."""
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone: {tz_name!r}") from exc
    plan = DEFAULT_WEEKLY_PLAN if weekly_plan is None else weekly_plan
    return ClinicCalendar(tz=tz, weekly_plan=plan, closures=frozenset(closures))
