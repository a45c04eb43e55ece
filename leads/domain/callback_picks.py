"""Quick choices for a callback's time: in an hour, this evening, tomorrow at the same time, the
next working day's morning — each offered only when the clinic is open then."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from leads.domain.calendar import ClinicCalendar

STEP = timedelta(minutes=15)  # callbacks fall on quarter hours
EVENING = time(18, 0)
MIN_AHEAD = timedelta(minutes=30)  # a quick choice sooner than this is no use


@dataclass(frozen=True)
class QuickPick:
    """One quick choice: what it is (``in_an_hour``, ``this_evening``, ``tomorrow``,
    ``next_working_morning``) and its instant in clinic time."""

    kind: str
    at: datetime


def _quarter_up(moment: datetime) -> datetime:
    """The first quarter hour at or after `moment` (clinic time, seconds dropped)."""
    moment = moment.replace(second=0, microsecond=0)
    late = moment.minute % 15
    return moment + timedelta(minutes=15 - late) if late else moment


def _open_at(calendar: ClinicCalendar, moment: datetime) -> bool:
    """Open at `moment` and still open a quarter hour later (a call fits before closing)."""
    closes = calendar.closing_time(moment)
    return closes is not None and moment.astimezone(UTC) + STEP <= closes.astimezone(UTC)


def quick_picks(calendar: ClinicCalendar, now: datetime) -> list[QuickPick]:
    """The quick choices open at their time, in time order, without repeats."""
    local = calendar.local(now)
    # In UTC: aware + timedelta in a zone with DST would be wall-clock arithmetic.
    in_an_hour = calendar.local(_quarter_up(local).astimezone(UTC) + timedelta(hours=1))
    evening = datetime.combine(local.date(), EVENING, tzinfo=calendar.tz)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), _quarter_up(local).time(), tzinfo=calendar.tz)
    candidates = [
        QuickPick("in_an_hour", in_an_hour),
        QuickPick("this_evening", evening),
        QuickPick("tomorrow", tomorrow),
        QuickPick("next_working_morning", calendar.next_working_day_opening(now)),
    ]
    picks: list[QuickPick] = []
    for pick in candidates:
        ahead = pick.at.astimezone(UTC) - now.astimezone(UTC)
        if ahead >= MIN_AHEAD and _open_at(calendar, pick.at) and all(p.at != pick.at for p in picks):
            picks.append(pick)
    return sorted(picks, key=lambda p: p.at)
