"""The background jobs: thin, importable wrappers around leads/services/maintenance.py.

Each job gets the app (APScheduler passes it as the job's argument), opens an
app context, reads the clock once, calls one service and logs one line: that
line is the scheduler's heartbeat.  The work itself is in the services, as
plain functions of `now`, so tests call those directly.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import Flask

from leads.extensions import db
from leads.services.clinic import now_utc

log = logging.getLogger(__name__)


def _run(app: Flask, name: str, work: Callable[[datetime], object]) -> object:
    with app.app_context():
        try:
            result = work(now_utc())
        except Exception:
            db.session.rollback()
            log.exception("job %s failed (pid %d)", name, os.getpid())
            raise
        finally:
            db.session.remove()
    log.info("job %s done: %s (pid %d)", name, result, os.getpid())
    return result


def sla_watch(app: Flask) -> object:
    """Flag new leads not called within the SLA."""
    from leads.services.maintenance import flag_sla_breaches

    return _run(app, "sla_watch", lambda now: f"{flag_sla_breaches(now)} flagged")


def callback_grace(app: Flask) -> object:
    """Share personal callbacks overdue by more than the grace period."""
    from leads.services.maintenance import share_overdue_callbacks

    return _run(app, "callback_grace", lambda now: f"{share_overdue_callbacks(now)} shared")


def spool_replay(app: Flask) -> object:
    """Store requests spooled while the database was down."""
    from leads.services.intake import replay_spool

    def replay(now: datetime) -> str:
        stored, waiting = replay_spool()
        return f"{stored} stored, {waiting} waiting"

    return _run(app, "spool_replay", replay)


def retention(app: Flask) -> object:
    """Anonymise finished leads older than RETENTION_DAYS."""
    from leads.services.maintenance import anonymise_expired_leads

    return _run(app, "retention", lambda now: f"{anonymise_expired_leads(now)} anonymised")


def appointments_to_mark(app: Flask) -> object:
    """Count past visits still 'scheduled' (the manager marks them attended or no-show)."""
    from leads.services.maintenance import count_appointments_to_mark

    return _run(app, "appointments_to_mark", lambda now: f"{count_appointments_to_mark(now)} to mark")


def login_failures(app: Flask) -> object:
    """Forget failed sign-ins older than the throttle remembers."""
    from leads.services.maintenance import purge_login_failures

    return _run(app, "login_failures", lambda now: f"{purge_login_failures(now)} purged")


def outbox(app: Flask) -> object:
    """Send the messages to patients that are due (issue 14)."""
    from leads.services.outbox import send_due_messages

    def send(now: datetime) -> str:
        counts = send_due_messages(now)
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due"

    return _run(app, "outbox", send)


def confirmations(app: Flask) -> object:
    """End the confirmation calls whose visit has started without them."""
    from leads.services.confirmation_calls import expire_confirmations

    return _run(app, "confirmations", lambda now: f"{expire_confirmations(now)} ended unreached")


@dataclass(frozen=True)
class JobSpec:
    """One job: its id, its function as an importable reference, and how often it runs."""

    id: str
    func: str  # "module:function", so a job store could persist it
    every_seconds: int | None = None  # an interval …
    daily_at: tuple[int, int] | None = None  # … or a clinic-local (hour, minute)


JOBS = (
    JobSpec("sla_watch", "leads.jobs:sla_watch", every_seconds=60),
    JobSpec("callback_grace", "leads.jobs:callback_grace", every_seconds=60),
    JobSpec("spool_replay", "leads.jobs:spool_replay", every_seconds=60),
    JobSpec("outbox", "leads.jobs:outbox", every_seconds=30),
    JobSpec("confirmations", "leads.jobs:confirmations", every_seconds=5 * 60),
    JobSpec("appointments_to_mark", "leads.jobs:appointments_to_mark", every_seconds=15 * 60),
    JobSpec("login_failures", "leads.jobs:login_failures", every_seconds=15 * 60),
    # At night, when nobody works with the leads it rewrites.
    JobSpec("retention", "leads.jobs:retention", daily_at=(3, 30)),
)
