"""A database that is read-only or locked: staff get 503 and a retry, patients are spooled, /healthz says so."""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager

import pytest
import time_machine

from leads.extensions import db
from leads.services.intake import spool
from tests.conftest import at, sign_in
from tests.factories import new_lead
from tests.integration.test_spool import database_refuses_writes

FORM = {"name": "Пётр", "phone": "+79161234567", "consent": "y"}


def test_health_says_unavailable_while_the_database_refuses_writes(client):
    assert client.get("/healthz").json["database"] == "ok"
    with database_refuses_writes():
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unavailable"


def test_operators_get_a_503_with_a_retry_not_a_500(app, operator_client):
    new_lead()
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        sign_in(operator_client, operator_client.user)
        operator_client.set_cookie("lang", "en")
        with database_refuses_writes():
            page = operator_client.post("/operator/next")
            program = operator_client.post("/operator/next", headers={"Accept": "application/json"})
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "The database is unavailable right now" in page.get_data(as_text=True)
    assert program.status_code == 503 and "database" in program.json["error"]


@pytest.fixture
def app_settings():
    return {"SQLITE_BUSY_TIMEOUT_MS": 300}


@contextmanager
def write_locked(app):
    """Another process's connection holds SQLite's write lock."""
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_write_locked_sqlite_spools_within_the_busy_timeout_and_health_says_so(app, backend, client):
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    client.post("/callback", data={**FORM, "phone": "+79161234560"})  # the consent text is known from now on
    with write_locked(app):
        started = time.monotonic()
        assert client.post("/callback", data=FORM).status_code == 303
        health = client.get("/healthz")
        elapsed = time.monotonic() - started
    assert health.status_code == 503 and health.json == {"database": "unavailable", "spool": 1}
    assert elapsed < 3
    assert spool().size() == 1
