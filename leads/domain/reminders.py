"""When the clinic reaches a booked patient again: confirmation calls and messages (issue 14).

Pure rules of time, no Flask or SQLAlchemy:

* a confirmation call is due at the opening of the working day that lies
  `days_before` working days before the visit (Sundays and closures are not
  working days: a Monday visit is confirmed on Saturday);
* a call that found nobody is tried again later the same working day, never
  after the clinic closes or the visit starts;
* a message to the patient is sent only inside sending hours (default
  09:00–21:00 clinic time, any day of the week); a reminder that would fall at
  night moves into them, and never to the visit's start or after it;
* a message that failed is tried again after an exponentially growing delay.

Arithmetic on instants is done in UTC (see leads/domain/calendar.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from leads.domain.calendar import CalendarError, ClinicCalendar

__all__ = [
    "DEFAULT_SENDING_HOURS",
    "SendingHours",
    "confirmation_due_at",
    "confirmation_retry_at",
    "into_sending_hours",
    "reminder_due_at",
    "retry_backoff",
    "working_day_before",
]


@dataclass(frozen=True)
class SendingHours:
    """The clinic-local hours in which a message may reach a patient: start <= t <= end."""

    start: time = time(9, 0)
    end: time = time(21, 0)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise CalendarError(f"sending hours start {self.start} is not before end {self.end}")


DEFAULT_SENDING_HOURS = SendingHours()


def working_day_before(cal: ClinicCalendar, day: date, days_before: int) -> date:
    """The clinic date `days_before` working days before `day` (0: `day` itself).

    A working day is one the calendar opens (not Sunday, not a closure).
    """
    if days_before < 0:
        raise CalendarError(f"days_before must not be negative, got {days_before}")
    current, left = day, days_before
    for _ in range(400 + 7 * days_before):
        if left == 0:
            return current
        current -= timedelta(days=1)
        if cal.opening_hours(current) is not None:
            left -= 1
    raise CalendarError(f"no working day within a year before {day.isoformat()}")


def confirmation_due_at(cal: ClinicCalendar, visit_start: datetime, days_before: int = 1) -> datetime:
    """When the confirmation call of a visit is due: the opening of the working day
    `days_before` working days before the visit's clinic date."""
    day = working_day_before(cal, cal.local(visit_start).date(), days_before)
    hours = cal.opening_hours(day)
    if hours is None:  # only `days_before == 0` on a closed day gets here
        raise CalendarError(f"the visit's day {day.isoformat()} is not a working day")
    return hours[0]


def confirmation_retry_at(
    cal: ClinicCalendar, now: datetime, visit_start: datetime, retry_minutes: int
) -> datetime | None:
    """The next try of a confirmation call nobody answered at `now`, or None when there
    is none: the try must fall the same clinic day, while the clinic is open, before
    the visit starts."""
    then = (now.astimezone(UTC) + timedelta(minutes=retry_minutes)).astimezone(cal.tz)
    closes = cal.closing_time(now)
    if closes is None or then >= closes or then >= visit_start:
        return None
    return then


def _at(day: date, wall: time, tz) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC).astimezone(tz)


def into_sending_hours(t: datetime, tz, hours: SendingHours = DEFAULT_SENDING_HOURS) -> datetime:
    """`t` if it lies inside sending hours, else the next start of them (clinic time)."""
    local = t.astimezone(tz)
    start, end = _at(local.date(), hours.start, tz), _at(local.date(), hours.end, tz)
    if local < start:
        return start
    if local > end:
        return _at(local.date() + timedelta(days=1), hours.start, tz)
    return local


def reminder_due_at(
    visit_start: datetime,
    hours_before: int,
    tz,
    hours: SendingHours = DEFAULT_SENDING_HOURS,
) -> datetime | None:
    """When a reminder `hours_before` the visit is sent, or None when it cannot be.

    Inside sending hours it is exactly `hours_before` the start.  Before they open
    it moves later, to their start, if that is still before the visit; otherwise
    (and after they close) it moves earlier, to the end of the sending hours before.
    """
    ideal = (visit_start.astimezone(UTC) - timedelta(hours=hours_before)).astimezone(tz)
    day = ideal.date()
    start, end = _at(day, hours.start, tz), _at(day, hours.end, tz)
    if ideal < start:
        if start < visit_start:
            return start
        due = _at(day - timedelta(days=1), hours.end, tz)
    elif ideal > end:
        due = end
    else:
        due = ideal
    return due if due < visit_start else None


def retry_backoff(attempts: int, base_seconds: int = 60, cap_seconds: int = 6 * 60 * 60) -> timedelta:
    """How long to wait before try number `attempts + 1` of a message that failed
    `attempts` times: base, 2×base, 4×base … at most `cap_seconds`."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** min(attempts - 1, 30)))
