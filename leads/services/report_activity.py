"""The report by activity date: the calls made in a period (whenever their leads arrived),
how many reached the patient and how many booked, per operator and per day."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from leads.domain.outcomes import Outcome
from leads.extensions import db
from leads.models import CallAttempt, User
from leads.services.clinic import clinic_calendar


@dataclass(frozen=True)
class Activity:
    """Calls made, the patient reached, visits booked."""

    calls: int = 0
    reached: int = 0
    booked: int = 0


@dataclass(frozen=True)
class ActivityReport:
    """The period's calls by operator (name, figures) and by clinic day (every day up to the last)."""

    operators: list[tuple[str, Activity]]
    days: list[tuple[date, Activity]]
    total: Activity


def _add(a: Activity, reached: bool, booked: bool) -> Activity:
    return Activity(a.calls + 1, a.reached + int(reached), a.booked + int(booked))


def activity_report(first: date, last: date) -> ActivityReport:
    """The calls made from `first` to `last` (clinic dates, both included)."""
    tz = clinic_calendar().tz
    since = datetime.combine(first, time(), tzinfo=tz)
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)
    rows = db.session.execute(
        sa.select(CallAttempt.at, CallAttempt.reached, CallAttempt.outcome, User.display_name, User.username)
        .join(User, User.id == CallAttempt.operator_id)
        .where(CallAttempt.at >= since, CallAttempt.at < until)
    ).all()
    by_operator: dict[str, Activity] = defaultdict(Activity)
    by_day: dict[date, Activity] = defaultdict(Activity)
    total = Activity()
    for row in rows:
        booked = row.outcome == Outcome.BOOKED.value
        name = row.display_name or row.username
        by_operator[name] = _add(by_operator[name], row.reached, booked)
        day = row.at.astimezone(tz).date()
        by_day[day] = _add(by_day[day], row.reached, booked)
        total = _add(total, row.reached, booked)
    days = [(first + timedelta(days=n), by_day[first + timedelta(days=n)]) for n in range((last - first).days + 1)]
    operators = sorted(by_operator.items(), key=lambda item: (-item[1].calls, item[0]))
    return ActivityReport(operators=operators, days=days, total=total)
