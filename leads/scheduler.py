"""The one scheduler process: `flask --app wsgi scheduler` (DESIGN.md §2, §4).

APScheduler runs the jobs in whichever process starts it, so a job would run
once per process (per gunicorn worker, per reloader child).  Exactly one
process runs them here, chosen by a lock that dies with its holder:

* PostgreSQL: a session-level advisory lock, `pg_try_advisory_lock(class,
  schema)`, taken on a dedicated connection kept open for as long as this
  process leads.  The second key is a hash of the current schema, so two
  deployments (or two test sessions) in separate schemas of one database do
  not shut each other out, while every process of one deployment competes.
* SQLite: `fcntl.flock` on instance/scheduler.lock.

A process that does not get the lock waits as a hot standby and tries again
every SCHEDULER_POLL_SECONDS (default 5); when the leader dies — even by
kill -9 — the database closes its session (or the kernel its file), the lock
is free, and a standby leads within one poll.  The leader also checks its
lock every poll and stops its jobs if it has lost it (its connection broke).

On PostgreSQL the lock is a lease: the leader's lock session stays in an open
(read-only, snapshot-free) transaction that it renews every poll, under
`idle_in_transaction_session_timeout` = SCHEDULER_LEASE_SECONDS (default three
polls).  A leader that is frozen (SIGSTOP, a hung host: its kernel still keeps
the TCP session alive) stops renewing, the server ends its session, and a
standby takes over; the old leader, once it runs again, finds its lock gone
at its next poll and stops its jobs.

Interval jobs run at once when a process starts leading; daily jobs (the
retention) only at their time.  A standby says whether another scheduler
holds the lock or the database cannot be reached.

Settings read here, from the environment, because only this process uses them:
SCHEDULER_TICK_SECONDS (every job every N seconds instead of its own
schedule; for tests and demos), SCHEDULER_POLL_SECONDS and SCHEDULER_LEASE_SECONDS.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from leads.extensions import db
from leads.jobs import JOBS

log = logging.getLogger(__name__)

# pg_try_advisory_lock(int4, int4): the first key says "Callback Desk scheduler"
# ("CBDS" in ASCII), the second is the schema's hash.
ADVISORY_LOCK_CLASS = 0x43424453
LOCK_FILE_NAME = "scheduler.lock"
DEFAULT_POLL_SECONDS = 5


def _env_seconds(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise RuntimeError(f"{name} must be positive")
    return value


def tick_seconds() -> int | None:
    """SCHEDULER_TICK_SECONDS: run every job this often (None: each job's own schedule)."""
    return _env_seconds("SCHEDULER_TICK_SECONDS", None)


def poll_seconds() -> int:
    """SCHEDULER_POLL_SECONDS: how often a standby tries the lock and a leader checks it."""
    return _env_seconds("SCHEDULER_POLL_SECONDS", DEFAULT_POLL_SECONDS) or DEFAULT_POLL_SECONDS


def lease_seconds() -> int:
    """SCHEDULER_LEASE_SECONDS: how long a leader that stops renewing keeps the PostgreSQL lock (3 polls)."""
    return _env_seconds("SCHEDULER_LEASE_SECONDS", 3 * poll_seconds()) or 3 * poll_seconds()


# -- the singleton lock ------------------------------------------------------------------------

class SingletonLock(Protocol):
    """A lock held by at most one process, released when that process dies."""

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this process now holds it.

        Raises LockUnreachable when it cannot tell (the database is down).
        """

    def still_held(self) -> bool:
        """True while this process still holds the lock."""

    def release(self) -> None:
        """Give the lock up (and close what held it)."""


class LockUnreachable(Exception):
    """The lock's database cannot be reached: nobody can tell who leads."""


class PostgresAdvisoryLock:
    """A session-level advisory lock on a connection of its own, kept as a lease while held."""

    _TRY = sa.text("SELECT pg_try_advisory_lock(:lock_class, hashtext(current_schema()))")
    _UNLOCK = sa.text("SELECT pg_advisory_unlock(:lock_class, hashtext(current_schema()))")

    def __init__(self, url: sa.URL, lease_seconds: int = 15, connect_timeout: int = 5) -> None:
        # NullPool: the lock's connection is never shared with, or handed back to, a pool.
        self.engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": connect_timeout})
        self.lease_seconds = lease_seconds
        self.connection: sa.Connection | None = None

    def acquire(self) -> bool:
        try:
            connection = self.engine.connect()
        except SQLAlchemyError as exc:
            raise LockUnreachable(exc.__class__.__name__) from exc
        try:
            lease_ms = int(self.lease_seconds * 1000)
            connection.exec_driver_sql(f"SET idle_in_transaction_session_timeout = {lease_ms}")
            connection.commit()
            got = bool(connection.execute(self._TRY, {"lock_class": ADVISORY_LOCK_CLASS}).scalar())
        except SQLAlchemyError as exc:
            connection.close()
            raise LockUnreachable(exc.__class__.__name__) from exc
        if not got:
            connection.close()
            return False
        # Left in its transaction: the server ends the session (and the lock) if no renewal comes.
        self.connection = connection
        return True

    def still_held(self) -> bool:
        """Renew the lease: a statement in the open transaction restarts the server's idle clock."""
        if self.connection is None:
            return False
        try:
            self.connection.execute(sa.text("SELECT 1")).scalar()
            return True
        except SQLAlchemyError:
            self._close()
            return False

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.execute(self._UNLOCK, {"lock_class": ADVISORY_LOCK_CLASS})
                self.connection.commit()
            except SQLAlchemyError:
                pass  # closing the session below releases it anyway
        self._close()
        self.engine.dispose()

    def _close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except SQLAlchemyError:
                pass
            self.connection = None


class FileLock:
    """`flock` on a file: the kernel releases it when the holding process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")  # who leads, for a person looking
        handle.flush()
        self.file = handle
        return True

    def still_held(self) -> bool:
        return self.file is not None

    def release(self) -> None:
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None


def make_lock(app: Flask) -> SingletonLock:
    """The lock for the app's database: advisory on PostgreSQL, a file beside the instance otherwise."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(url, lease_seconds(), app.config["DATABASE_CONNECT_TIMEOUT_SECONDS"])
    return FileLock(Path(app.instance_path) / LOCK_FILE_NAME)


# -- the scheduler -----------------------------------------------------------------------------

def build_scheduler(app: Flask, tick: int | None = None) -> BackgroundScheduler:
    """A BackgroundScheduler with every job of leads.jobs.JOBS; interval jobs run once at start too.

    One worker thread: the jobs run one after another, so they never compete
    for SQLite's write lock or for the same leads.
    """
    scheduler = BackgroundScheduler(
        timezone=timezone.utc,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    start = datetime.now(timezone.utc)
    for spec in JOBS:
        if tick:
            trigger = IntervalTrigger(seconds=tick, timezone=timezone.utc)
        elif spec.every_seconds:
            trigger = IntervalTrigger(seconds=spec.every_seconds, timezone=timezone.utc)
        else:
            hour, minute = spec.daily_at or (3, 30)
            trigger = CronTrigger(hour=hour, minute=minute, timezone=app.config["CLINIC_TIMEZONE"])
        # A daily job at its time only: a restart at noon must not anonymise at noon.
        first = {"next_run_time": start} if tick or spec.every_seconds else {}
        scheduler.add_job(spec.func, trigger, args=[app], id=spec.id, name=spec.id, **first)
    return scheduler


def run_scheduler(
    app: Flask,
    stop: threading.Event,
    *,
    tick: int | None = None,
    poll: int | None = None,
    lock: SingletonLock | None = None,
) -> None:
    """Lead or stand by until `stop` is set; run the jobs while leading."""
    poll = poll or poll_seconds()
    tick = tick if tick is not None else tick_seconds()
    lock = lock or make_lock(app)
    # APScheduler's own "Running job…" lines would repeat each job's heartbeat.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    standing_by = ""
    while not stop.is_set():
        try:
            got = lock.acquire()
            reason = "another scheduler holds the lock"
        except LockUnreachable as unreachable:
            got, reason = False, f"the database cannot be reached ({unreachable})"
        if not got:
            if standing_by != reason:
                log.info("scheduler standby (pid %d): %s; trying every %d s", os.getpid(), reason, poll)
                standing_by = reason
            stop.wait(poll)
            continue
        standing_by = ""
        log.info("scheduler leading (pid %d): running %d jobs", os.getpid(), len(JOBS))
        scheduler = build_scheduler(app, tick)
        scheduler.start()
        try:
            while not stop.wait(poll):
                if not lock.still_held():
                    log.error("scheduler lost its lock (pid %d); stopping the jobs", os.getpid())
                    break
        finally:
            scheduler.shutdown(wait=True)
            lock.release()
    log.info("scheduler stopped (pid %d)", os.getpid())


def run_jobs_once(app: Flask, lock: SingletonLock | None = None) -> bool:
    """Run every job once now, if no scheduler is running (for cron or a manual run); False if one is.

    Raises LockUnreachable when the database cannot be reached.
    """
    lock = lock or make_lock(app)
    if not lock.acquire():  # LockUnreachable when the database is down
        return False
    try:
        from importlib import import_module

        for spec in JOBS:
            module, name = spec.func.split(":")
            getattr(import_module(module), name)(app)
    finally:
        lock.release()
    return True
