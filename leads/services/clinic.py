"""The clinic's calendar as configured: time zone, weekly plan and closures.

Closures change a few times a year but are read on every request, so each
process keeps them for CALENDAR_CACHE_SECONDS; a change made in this process
(`forget_closures`) is seen at once, one made in another worker within that
time.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from leads.domain.calendar import ClinicCalendar, make_calendar
from leads.extensions import db
from leads.models import Closure

# Closures further back than this cannot change any answer the app gives.
CLOSURE_LOOKBACK = timedelta(days=400)

_cache_lock = threading.Lock()
# database engine -> time zone -> (monotonic time read, the calendar with those closures)
_calendar_cache: WeakKeyDictionary[sa.Engine, dict[str, tuple[float, ClinicCalendar]]] = WeakKeyDictionary()


def now_utc() -> datetime:
    """The current instant (a single place for tests to freeze)."""
    return datetime.now(timezone.utc)


def forget_closures() -> None:
    """Drop this process's cached closures (call after adding or removing one)."""
    with _cache_lock:
        _calendar_cache.clear()


def _closures_since(now: datetime) -> sa.Select:
    return sa.select(Closure.day).where(Closure.day >= (now - CLOSURE_LOOKBACK).date())


def fresh_calendar(now: datetime) -> ClinicCalendar:
    """The calendar with the closures the session sees now (its own changes included), not the cached ones."""
    closures = db.session.scalars(_closures_since(now))
    return make_calendar(current_app.config["CLINIC_TIMEZONE"], closures=closures)


def clinic_calendar(now: datetime | None = None) -> ClinicCalendar:
    """The calendar with the closures recorded in the database (kept CALENDAR_CACHE_SECONDS)."""
    return _calendar(now, lambda query: db.session.scalars(query).all())


def _read_apart(query: sa.Select) -> Sequence[date]:
    with db.engine.connect() as connection:
        return connection.scalars(query).all()


def _calendar(now: datetime | None, read: Callable[[sa.Select], Sequence[date]]) -> ClinicCalendar:
    ttl = current_app.config["CALENDAR_CACHE_SECONDS"]
    engine, tz_name = db.engine, current_app.config["CLINIC_TIMEZONE"]
    if ttl > 0:
        with _cache_lock:
            cached = _calendar_cache.get(engine, {}).get(tz_name)
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
    calendar = make_calendar(tz_name, closures=read(_closures_since(now or now_utc())))
    if ttl > 0:
        with _cache_lock:
            _calendar_cache.setdefault(engine, {})[tz_name] = (time.monotonic(), calendar)
    return calendar


def calendar_or_default(now: datetime | None = None) -> ClinicCalendar:
    """The calendar with closures; without them while the database is down.

    Used where an answer must be given anyway (the patient's form and promise).
    The closures are read on a connection of their own, outside the caller's
    transaction, so that failing to read them leaves the session as it was.
    """
    try:
        return _calendar(now, _read_apart)
    except SQLAlchemyError:
        return make_calendar(current_app.config["CLINIC_TIMEZONE"])
