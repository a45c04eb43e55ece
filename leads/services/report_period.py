"""The period the manager's report opens on when none is asked for: one with data.

This week (Monday to Sunday) when anything happened in it so far — a lead
arrived (spam and test leads aside, as in the report) or a call was made.
Otherwise the `RECENT_DAYS` days up to the last day that had either, so a
manager opening the page on a quiet Monday morning, or after a holiday, sees
figures rather than zeros.  With no data at all, this week.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from leads.extensions import db
from leads.models import CallAttempt, Lead
from leads.services.reports import counted_leads

RECENT_DAYS = 30


@dataclass(frozen=True)
class DefaultPeriod:
    """Clinic dates, both included; `this_week` False when this week had nothing and the
    period is the RECENT_DAYS days up to `last`, the last day with a lead or a call."""

    first: date
    last: date
    this_week: bool


def _last_arrival(until: date) -> date | None:
    return db.session.scalar(sa.select(sa.func.max(Lead.arrival_day)).where(Lead.arrival_day <= until,
                                                                            *counted_leads()))


def _last_call_day(until: date) -> date | None:
    return db.session.scalar(sa.select(sa.func.max(CallAttempt.day)).where(CallAttempt.day <= until))


def default_period(today: date) -> DefaultPeriod:
    """The period of the report page opened without one (`today` is the clinic's date)."""
    monday = today - timedelta(days=today.weekday())
    week = DefaultPeriod(monday, monday + timedelta(days=6), this_week=True)
    arrived = _last_arrival(today)
    if arrived is not None and arrived >= monday:
        return week
    last = max((day for day in (arrived, _last_call_day(today)) if day is not None), default=None)
    if last is None or last >= monday:
        return week
    return DefaultPeriod(last - timedelta(days=RECENT_DAYS - 1), last, this_week=False)
