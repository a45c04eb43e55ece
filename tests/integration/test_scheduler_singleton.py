"""Exactly one `flask --app wsgi scheduler` runs the jobs; a standby takes over when it dies.

Two real processes on the test database (SQLite: the file lock; PostgreSQL:
the advisory lock), every job every second, standbys polling every second.
Who runs the jobs is read from each process's log (one line per job run) and
from the database (the SLA watch flags a lead).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
from pathlib import Path

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Lead
from tests.factories import new_lead

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")
TIMEOUT = 30  # seconds: start-up on a busy machine, and the takeover
JOB_LINE = "job sla_watch done"

pytestmark = pytest.mark.slow


class Scheduler:
    """One scheduler process with its log in a file."""

    def __init__(self, name: str, env: dict[str, str], tmp_path: Path) -> None:
        self.log_path = tmp_path / f"{name}.log"
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(FLASK), "--app", "wsgi", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def job_runs(self) -> int:
        return self.log().count(JOB_LINE)

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> float:
        """Seconds until `text` appears in the log; fails after `timeout`."""
        start = time.monotonic()
        while text not in self.log():
            if time.monotonic() - start > timeout:
                pytest.fail(f"{text!r} not logged within {timeout} s:\n{self.log()}")
            if self.process.poll() is not None:
                pytest.fail(f"the scheduler exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.2)
        return time.monotonic() - start

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log_file.close()


@pytest.fixture
def start_scheduler(app, tmp_path):
    """start_scheduler(name) -> a running Scheduler on the test's database; all stopped at the end."""
    env = {
        **os.environ,
        "FLASK_ENV_CONFIG": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path / "scheduler-instance"),  # shared: the SQLite lock file lives here
        "SPOOL_PATH": str(tmp_path / "spool.jsonl"),
        "SCHEDULER_TICK_SECONDS": "1",
        "SCHEDULER_POLL_SECONDS": "1",
        "LOG_LEVEL": "INFO",
    }
    started: list[Scheduler] = []

    def start(name: str) -> Scheduler:
        started.append(Scheduler(name, env, tmp_path))
        return started[-1]

    yield start
    for scheduler in started:
        scheduler.stop()


def wait_until_flagged(lead_id: int, timeout: float = TIMEOUT) -> None:
    start = time.monotonic()
    while True:
        db.session.rollback()  # a fresh snapshot: the scheduler writes from another process
        if db.session.scalar(sa.select(Lead.sla_breached).where(Lead.id == lead_id)):
            return
        if time.monotonic() - start > timeout:
            pytest.fail("the SLA watch did not flag the lead")
        time.sleep(0.2)


def test_one_scheduler_runs_the_jobs_and_a_standby_takes_over_when_it_is_killed(app, start_scheduler):
    first = start_scheduler("first")
    first.wait_for("scheduler leading")
    second = start_scheduler("second")
    second.wait_for("scheduler standby")

    late = new_lead(phone="+79161230001", created="2026-01-12 10:00")  # long past its SLA
    wait_until_flagged(late)
    runs_before = first.job_runs()
    time.sleep(3)
    assert first.job_runs() > runs_before, "the leader keeps running its jobs"
    assert second.job_runs() == 0 and "scheduler leading" not in second.log()

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    took_over = second.wait_for("scheduler leading")
    assert took_over < 60

    later = new_lead(phone="+79161230002", created="2026-01-12 10:00")
    wait_until_flagged(later)
    assert second.job_runs() > 0

    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(TIMEOUT) == 0
    assert "scheduler stopped" in second.log()


def test_a_frozen_leader_loses_its_postgresql_lease_to_a_standby(app, backend):
    """A leader that stops renewing (SIGSTOP: its session stays open) is replaced within the lease."""
    if backend != "postgresql":
        pytest.skip("the lease is PostgreSQL's idle_in_transaction_session_timeout")
    from leads.scheduler import PostgresAdvisoryLock

    leader, standby = PostgresAdvisoryLock(db.engine.url, lease_seconds=1), PostgresAdvisoryLock(db.engine.url)
    try:
        assert leader.acquire() and not standby.acquire()
        time.sleep(0.6)
        assert leader.still_held()  # renewed in time: still leading
        time.sleep(0.6)
        assert not standby.acquire()
        time.sleep(1.5)  # frozen: no renewal within the lease
        assert standby.acquire()
        assert not leader.still_held()  # thawed, it finds the lock gone and stops its jobs
    finally:
        leader.release()
        standby.release()


def test_the_standby_says_the_database_is_unreachable_not_that_another_leads(app, tmp_path, caplog):
    import logging
    import threading

    from leads.scheduler import PostgresAdvisoryLock, run_scheduler

    caplog.set_level(logging.INFO, logger="leads.scheduler")
    unreachable = PostgresAdvisoryLock(sa.make_url("postgresql+psycopg://postgres@127.0.0.1:9/none"), connect_timeout=1)
    stop = threading.Event()
    runner = threading.Thread(target=run_scheduler, args=(app, stop), kwargs={"poll": 1, "lock": unreachable})
    runner.start()
    time.sleep(0.5)
    stop.set()
    runner.join(10)
    assert "the database cannot be reached" in caplog.text
    assert "another scheduler holds the lock" not in caplog.text


def test_the_retention_runs_at_its_time_not_when_a_scheduler_starts(app):
    from leads.scheduler import build_scheduler

    scheduler = build_scheduler(app)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    local = jobs["retention"].astimezone(ZoneInfo(app.config["CLINIC_TIMEZONE"]))
    assert (local.hour, local.minute) == (3, 30)
    assert jobs["sla_watch"] <= datetime.now(timezone.utc)  # interval jobs still run at once
