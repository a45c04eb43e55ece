"""A database that is read-only or locked: staff get 503 and a retry, patients are spooled, /healthz says so."""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.services.intake import spool
from tests.conftest import at, sign_in
from tests.factories import new_lead
from tests.integration.test_spool import database_refuses_writes, database_unreachable

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


@contextmanager
def database_lost_at(table: str):
    """The database goes away at the first statement on `table`: it and everything after it fail."""
    engine = db.engine
    lost = []

    def fail(cursor, statement, parameters, context):
        if lost or f"FROM {table}" in statement:
            lost.append(statement)
            raise context.dialect.loaded_dbapi.OperationalError("server closed the connection (test)")

    sa.event.listen(engine, "do_execute", fail)
    try:
        yield lost
    finally:
        sa.event.remove(engine, "do_execute", fail)
        db.session.remove()


def test_a_form_post_while_the_database_is_unreachable_is_a_503_page_and_keeps_the_sign_in(app, operator_client):
    """The user cannot even be looked up: the page still says what happened, and the session survives it."""
    lead_id = new_lead()
    operator_client.set_cookie("lang", "en")
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        sign_in(operator_client, operator_client.user)
        with database_unreachable():
            page = operator_client.post(f"/operator/leads/{lead_id}/outcome", data={"outcome": "no_answer"})
        after = operator_client.get("/operator/")
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "The database is unavailable right now" in page.get_data(as_text=True)
    assert after.status_code == 200


def test_a_database_lost_in_the_middle_of_a_page_is_a_503_page(app, operator_client):
    """The user was looked up, then the database went away: the error page needs nothing more from it."""
    lead_id = new_lead()
    operator_client.set_cookie("lang", "en")
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        sign_in(operator_client, operator_client.user)
        with database_lost_at("leads") as lost:
            page = operator_client.get(f"/operator/leads/{lead_id}")
    assert lost, "the page never read the leads table"
    assert page.status_code == 503
    assert "The database is unavailable right now" in page.get_data(as_text=True)


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


def test_a_connection_lost_in_the_middle_of_a_write_spools_the_request(app, backend, client):
    """The server ends the session between the lead's upsert and the request row (a crash, a restart)."""
    if backend != "postgresql":
        pytest.skip("a server that ends the session")
    import sqlalchemy as sa

    client.post("/callback", data={**FORM, "phone": "+79161234560"})  # the consent text is known from now on
    killer = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)

    def end_the_session(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO lead_requests"):
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.begin() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    sa.event.listen(db.engine, "before_cursor_execute", end_the_session)
    try:
        response = client.post("/callback", data=FORM)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", end_the_session)
        killer.dispose()
    assert response.status_code == 303
    assert spool().size() == 1
    assert not spool().dead_letter_path.exists()
