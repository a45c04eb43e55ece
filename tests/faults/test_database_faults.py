"""The proof of issue 10: with gunicorn serving the app, the database fails under a patients' load.

For each fault: no 5xx to a patient, every acknowledged request (303, 201) is
exactly one stored request once the database is back and the spool replayed,
the spool drains, and /healthz tells the truth within a bounded time.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest
import requests
import sqlalchemy as sa

from tests.faults.servers import Gunicorn, Load, add_users, app_environment, flask, signed_in

pytestmark = pytest.mark.slow

# How long a fault lasts, and the longest a patient or /healthz may wait during one: about 5 s by
# the settings (a 3 s deadline on the pooled connection, a 2 s connect timeout), with room for a
# loaded machine, and well under gunicorn's 30 s worker timeout.
FAULT_SECONDS = 6
LONGEST_ANSWER_SECONDS = 12
STAFF_PASSWORD = "fault-suite-operator-pass-7"


def health(server: Gunicorn) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = requests.get(f"{server.url}/healthz", timeout=30)
    return response.status_code, response.json(), time.monotonic() - started


def stored_public_ids(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT public_id FROM lead_requests")).scalars())
    finally:
        engine.dispose()


def run_through_a_fault(tmp_path, database_url: str, begin_fault, end_fault) -> None:
    """Serve, load, fault, restore, replay; then check what the patients were told against what is stored."""
    env = app_environment(database_url, tmp_path)
    flask(env, "db", "upgrade")
    server = Gunicorn(env, tmp_path)
    try:
        assert health(server)[:2] == (200, {"database": "ok", "spool": 0})
        load = Load(server.url).start()
        time.sleep(1)
        undo = begin_fault()
        try:
            time.sleep(1)
            status, report, seconds = health(server)
            assert (status, report["database"]) == (503, "unavailable")
            assert seconds < LONGEST_ANSWER_SECONDS
            time.sleep(FAULT_SECONDS)
        finally:
            end_fault(undo)
        time.sleep(2)
        load.stop()
        status, report, seconds = health(server)
        assert (status, report["database"]) == (200, "ok")
        assert report["spool"] > 0, "the fault spooled nothing: it was not a fault for the app"
    finally:
        server.stop()
    assert set(load.statuses) <= {201, 303}, f"answers other than 201/303: {load.statuses}"
    assert load.slowest < LONGEST_ANSWER_SECONDS
    replay = flask(env, "spool", "replay")
    assert "still waiting 0" in replay.stdout
    stored = stored_public_ids(database_url)
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(load.acknowledged)


def test_postgresql_stopped_then_started(tmp_path, private_postgres):
    run_through_a_fault(tmp_path, private_postgres.url, private_postgres.stop, lambda _: private_postgres.start())


def test_postgresql_frozen_then_thawed(tmp_path, private_postgres):
    run_through_a_fault(tmp_path, private_postgres.url, private_postgres.freeze, private_postgres.thaw)


def test_postgresql_read_only_then_writable(tmp_path, private_postgres):
    run_through_a_fault(
        tmp_path,
        private_postgres.url,
        lambda: private_postgres.set_read_only(True),
        lambda _: private_postgres.set_read_only(False),
    )


def test_postgresql_stopped_staff_get_a_503_page_and_stay_signed_in(tmp_path, private_postgres):
    """A signed-in operator's page, form post and program call while the database is stopped:
    503 with the reason and a retry (the user cannot even be looked up), and still signed in after."""
    env = app_environment(private_postgres.url, tmp_path)
    flask(env, "db", "upgrade")
    add_users(private_postgres.url, "operator", STAFF_PASSWORD, ["operator"])
    server = Gunicorn(env, tmp_path)
    try:
        session, token = signed_in(server.url, "operator", STAFF_PASSWORD)
        private_postgres.stop()
        try:
            page = session.get(f"{server.url}/operator/", allow_redirects=False, timeout=30)
            form = session.post(f"{server.url}/operator/next", data={"csrf_token": token},
                                allow_redirects=False, timeout=30)
            program = session.post(f"{server.url}/operator/next", allow_redirects=False, timeout=30,
                                   headers={"X-CSRFToken": token, "Accept": "application/json"})
        finally:
            private_postgres.start()
        after = session.get(f"{server.url}/operator/", allow_redirects=False, timeout=30)
    finally:
        server.stop()
    for answer in (page, form):
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert "База данных сейчас недоступна" in answer.text
    assert program.status_code == 503 and "База данных" in program.json()["error"]
    assert after.status_code == 200


HOLD_THE_WRITE_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


def test_sqlite_write_locked_by_another_process(tmp_path):
    path = tmp_path / "desk.sqlite3"

    def lock():
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline().strip() == "locked"
        return holder

    def unlock(holder):
        holder.communicate("\n", timeout=10)

    run_through_a_fault(tmp_path, f"sqlite:///{path}", lock, unlock)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
