"""The report by activity date: the calls made in a period (whenever their leads arrived),
how many reached the patient and how many booked, per operator and per day."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from leads.domain.outcomes import Outcome
from leads.extensions import db
from leads.models import CallAttempt, User


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


def activity_report(first: date, last: date) -> ActivityReport:
    """The calls made from `first` to `last` (clinic dates, both included).

    One GROUP BY over the calls by operator and the clinic-local date stored
    on each call when it was recorded (leads/services/calls.py); the operators'
    names are joined to its rows, not to every call.
    """
    calls = (
        sa.select(
            CallAttempt.operator_id,
            CallAttempt.day,
            sa.func.count().label("calls"),
            sa.func.sum(sa.case((CallAttempt.reached, 1), else_=0)).label("reached"),
            sa.func.sum(sa.case((CallAttempt.outcome == Outcome.BOOKED.value, 1), else_=0)).label("booked"),
        )
        .where(CallAttempt.day.between(first, last))
        .group_by(CallAttempt.operator_id, CallAttempt.day)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(calls, User.display_name, User.username).join(User, User.id == calls.c.operator_id)
    ).all()
    by_operator: dict[str, Activity] = defaultdict(Activity)
    by_day: dict[date, Activity] = defaultdict(Activity)
    total = Activity()
    for row in rows:
        figures = Activity(int(row.calls), int(row.reached or 0), int(row.booked or 0))
        name = row.display_name or row.username
        by_operator[name] = _add(by_operator[name], figures)
        by_day[row.day] = _add(by_day[row.day], figures)
        total = _add(total, figures)
    days = [(first + timedelta(days=n), by_day[first + timedelta(days=n)]) for n in range((last - first).days + 1)]
    operators = sorted(by_operator.items(), key=lambda item: (-item[1].calls, item[0]))
    return ActivityReport(operators=operators, days=days, total=total)


def _add(a: Activity, b: Activity) -> Activity:
    return Activity(a.calls + b.calls, a.reached + b.reached, a.booked + b.booked)
