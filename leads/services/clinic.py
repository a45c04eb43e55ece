"""The clinic's calendar as configured: time zone, weekly plan and closures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from leads.domain.calendar import ClinicCalendar, make_calendar
from leads.extensions import db
from leads.models import Closure

# Closures further back than this cannot change any answer the app gives.
CLOSURE_LOOKBACK = timedelta(days=400)


def now_utc() -> datetime:
    """The current instant (a single place for tests to freeze)."""
    return datetime.now(timezone.utc)


def clinic_calendar(now: datetime | None = None) -> ClinicCalendar:
    """The calendar with the closures recorded in the database."""
    since = ((now or now_utc()) - CLOSURE_LOOKBACK).date()
    days = db.session.scalars(sa.select(Closure.day).where(Closure.day >= since)).all()
    return make_calendar(current_app.config["CLINIC_TIMEZONE"], closures=days)


def calendar_or_default(now: datetime | None = None) -> ClinicCalendar:
    """The calendar with closures; without them while the database is down.

    Used where an answer must be given anyway (the patient's form and promise).
    """
    try:
        return clinic_calendar(now)
    except SQLAlchemyError:
        db.session.rollback()
        return make_calendar(current_app.config["CLINIC_TIMEZONE"])
