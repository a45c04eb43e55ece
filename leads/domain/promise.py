"""When the patient should expect the call: the promise shown after a callback request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from leads.domain.calendar import SEARCH_HORIZON_DAYS, CalendarError, ClinicCalendar

__all__ = [
    "CallPromise",
    "InvalidWindow",
    "parse_preferred_window",
    "preferred_windows",
    "promise_call",
]


class InvalidWindow(CalendarError):
    """The chosen preferred window is not one of the windows offered to the patient."""


PromiseKind = Literal["within", "after", "window"]


@dataclass(frozen=True)
class CallPromise:
    """What the reply promises: within N minutes, after an opening instant, or in a window."""

    kind: PromiseKind
    minutes: int | None = None  # kind == "within": the SLA minutes
    at: datetime | None = None  # kind == "after": the opening instant; "window": window start
    until: datetime | None = None  # kind == "window": window end


def promise_call(
    cal: ClinicCalendar,
    now: datetime,
    sla_minutes: int,
    preferred: tuple[datetime, datetime] | None = None,
) -> CallPromise:
    """Decide what to promise a patient who asks for a call at ``now``.

    A preferred window that has not ended yet wins. Otherwise, while open with the whole SLA
    before closing (ending exactly at closing counts), promise "within" the SLA; else promise
    "after" the next opening.
    """
    now = cal.local(now)
    if sla_minutes < 0:
        raise ValueError(f"sla_minutes must not be negative, got {sla_minutes}")
    if preferred is not None:
        start, end = cal.local(preferred[0]), cal.local(preferred[1])
        if end.astimezone(UTC) <= start.astimezone(UTC):
            raise InvalidWindow(f"window ends before it starts: {start} .. {end}")
        if end.astimezone(UTC) > now.astimezone(UTC):
            return CallPromise(kind="window", at=start, until=end)
    closes = cal.closing_time(now)
    if closes is None:
        return CallPromise(kind="after", at=cal.next_open(now))
    if now.astimezone(UTC) + timedelta(minutes=sla_minutes) <= closes.astimezone(UTC):
        return CallPromise(kind="within", minutes=sla_minutes)
    return CallPromise(kind="after", at=cal.next_open(closes))


def preferred_windows(
    cal: ClinicCalendar,
    now: datetime,
    days: int = 3,
    window_minutes: int = 30,
) -> list[tuple[datetime, datetime]]:
    """List the windows a patient may choose: grid windows starting strictly after ``now``.

    They cover the next ``days`` open days, today included only if a window remains today.
    """
    now_utc = cal.local(now).astimezone(UTC)
    step = timedelta(minutes=window_minutes)
    windows: list[tuple[datetime, datetime]] = []
    counted = 0
    day = cal.local(now).date()
    for _ in range(SEARCH_HORIZON_DAYS + 1):
        if counted >= days:
            break
        day_windows = [
            (start, (start.astimezone(UTC) + step).astimezone(cal.tz))
            for start in cal.slot_starts(day, window_minutes)
            if start.astimezone(UTC) > now_utc
        ]
        if day_windows:
            windows.extend(day_windows)
            counted += 1
        day += timedelta(days=1)
    return windows


def parse_preferred_window(
    cal: ClinicCalendar,
    now: datetime,
    start: datetime,
    window_minutes: int = 30,
    days: int = 3,
) -> tuple[datetime, datetime]:
    """Return the offered window starting at ``start``; raise InvalidWindow if none is offered."""
    instant = cal.local(start).astimezone(UTC)
    for window in preferred_windows(cal, now, days=days, window_minutes=window_minutes):
        if window[0].astimezone(UTC) == instant:
            return window
    raise InvalidWindow(f"not an offered window start: {start.isoformat()}")
