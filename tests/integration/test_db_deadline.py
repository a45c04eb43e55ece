"""The client-side deadline's watchdog runs only while a round trip is armed.

A process that built many apps (a test run, a worker's reloads) kept one
forever-polling watchdog thread each; idle, none may remain.
"""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from leads.extensions import db


def _watchdogs() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "db-deadline")


def test_no_watchdog_thread_outlives_the_round_trips(app, backend):
    if backend != "postgresql":
        pytest.skip("the deadline watches PostgreSQL connections")
    with app.app_context():
        for _ in range(3):
            db.session.execute(sa.text("SELECT 1"))
            db.session.commit()
    deadline = time.monotonic() + 5
    while _watchdogs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _watchdogs() == 0


def test_a_frozen_round_trip_is_still_cut_after_an_idle_spell(app, backend):
    if backend != "postgresql":
        pytest.skip("the deadline watches PostgreSQL connections")
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.session.commit()
        time.sleep(1)  # the watchdog has ended
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError):
            # pg_sleep stands for a server that does not answer; the server's own
            # statement_timeout is lifted so only the client's deadline can end it.
            db.session.execute(sa.text("SET LOCAL statement_timeout = 0"))
            db.session.execute(sa.text("SELECT pg_sleep(60)"))
        db.session.rollback()
    assert time.monotonic() - started < 30
