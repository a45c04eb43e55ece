"""No request is ever lost: the database refuses writes → spool → replay, once."""
from __future__ import annotations

import json
import re
import logging
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Lead, LeadRequest
from leads.services.intake import replay_spool, spool, store_request

VALID = {"name": "Ольга", "phone": "+7 916 765-43-21", "consent": "y"}


@contextmanager
def new_connections_through(event: str, listener):
    """Every connection opened from now on goes through `listener` (the pool is emptied first)."""
    engine = db.engine
    db.session.remove()
    engine.dispose()
    sa.event.listen(engine, event, listener)
    try:
        yield
    finally:
        db.session.remove()
        sa.event.remove(engine, event, listener)
        engine.dispose()


def database_refuses_writes():
    """Every new connection is read-only: the database itself refuses the writes."""
    statement = (
        "PRAGMA query_only = ON"
        if db.engine.dialect.name == "sqlite"
        else "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
    )

    def read_only(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if db.engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    return new_connections_through("connect", read_only)


def database_unreachable():
    """No connection can be opened, as with the server stopped: looking up the signed-in user fails too."""

    def refuse(dialect, _record, _args, _params):
        raise dialect.loaded_dbapi.OperationalError("connection refused (test)")

    return new_connections_through("do_connect", refuse)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_request_the_database_refuses_is_spooled_and_the_patient_sees_thanks(client):
    with database_refuses_writes():
        response = client.post("/callback", data=VALID)
        assert response.status_code == 303
        thanks = client.get(response.headers["Location"])
        assert thanks.status_code == 200
    assert count(LeadRequest) == 0
    assert spool().size() == 1
    record = json.loads(spool().path.read_text())
    assert record["public_id"] == response.headers["Location"].rsplit("/", 1)[1]
    assert record["phone"] == "+79167654321"


def test_replay_inserts_each_spooled_request_exactly_once(client, runner):
    with database_refuses_writes():
        locations = [client.post("/callback", data={**VALID, "phone": f"+7916765432{i}"}).headers["Location"]
                     for i in range(3)]
        # A repeat request for the first phone, spooled too.
        client.post("/api/v1/leads", json={**VALID, "consent": True, "phone": "+79167654320"})
    assert spool().size() == 4

    result = runner.invoke(args=["spool", "replay"])
    assert result.exit_code == 0, result.output
    assert "stored 4, still waiting 0" in result.output
    assert count(Lead) == 3 and count(LeadRequest) == 4
    stored_ids = set(db.session.scalars(sa.select(LeadRequest.public_id)))
    assert {location.rsplit("/", 1)[1] for location in locations} <= stored_ids
    assert all(db.session.scalars(sa.select(LeadRequest.spooled)))
    assert db.session.scalar(sa.select(Lead.request_count).where(Lead.phone == "+79167654320")) == 2

    assert runner.invoke(args=["spool", "replay"]).output.strip() == "stored 0, still waiting 0"
    assert count(LeadRequest) == 4


def test_replaying_a_record_already_stored_does_not_store_it_twice(client):
    with database_refuses_writes():
        client.post("/callback", data=VALID)
    line = spool().path.read_text()
    replay_spool()
    # The same record arrives again (say, a copy of the file was replayed elsewhere).
    spool().path.write_text(line)
    assert replay_spool() == (0, 0)
    assert count(LeadRequest) == 1


def test_a_failed_replay_keeps_the_records(client):
    with database_refuses_writes():
        client.post("/callback", data=VALID)
        assert replay_spool() == (0, 1)
    assert spool().size() == 1
    assert replay_spool() == (1, 0)


def test_the_spooled_request_keeps_its_original_time_and_promise(client):
    with database_refuses_writes():
        location = client.post("/callback", data=VALID).headers["Location"]
        promise_before = promise_on(client.get(location))
    record = json.loads(spool().path.read_text())
    replay_spool()
    row = db.session.scalar(sa.select(LeadRequest))
    assert row.created_at.isoformat() == record["created_at"]
    assert promise_on(client.get(location)) == promise_before


def promise_on(thanks) -> str:
    """The promise as the thanks page words it (the page repeats the number only once it is stored)."""
    return re.search(r'<p class="promise">(.*?)</p>', thanks.get_data(as_text=True), re.S).group(1)


def test_health_reports_the_database_and_the_spool(client):
    assert client.get("/healthz").json == {"database": "ok", "spool": 0}
    with database_refuses_writes():
        client.post("/callback", data=VALID)
    assert client.get("/healthz").json == {"database": "ok", "spool": 1}


def test_a_write_refused_half_way_leaves_nothing_half_written(client):
    """The request row is refused after the lead's upsert ran: the lead is as it was, and the
    refusal is SQLAlchemy's IntegrityError (which replay and the spool rely on), on both databases."""
    with database_refuses_writes():
        client.post("/callback", data=VALID)
    [line] = spool().path.read_text().splitlines()
    record = json.loads(line)
    assert store_request(record, replay=True) is True
    with pytest.raises(sa.exc.IntegrityError):
        store_request(record)  # not a replay: no look-up first, the unique request id refuses it
    db.session.rollback()
    assert count(LeadRequest) == 1
    assert db.session.scalar(sa.select(Lead.request_count)) == 1


def test_a_refused_write_is_logged_without_the_patients_name_or_phone(client, caplog, monkeypatch):
    """The database's error (statement, parameters, refused key) goes to the log; the patient's data does not."""
    # Alembic's logging set-up (the migration tests run it) disables the loggers that exist by then.
    monkeypatch.setattr(logging.getLogger("leads.services.intake"), "disabled", False)
    client.post("/callback", data={**VALID, "phone": "+7 916 000-00-01"})  # the consent text is known from now on
    caplog.set_level(logging.ERROR)
    with database_refuses_writes():
        assert client.post("/callback", data=VALID).status_code == 303
    assert "spooled" in caplog.text
    assert "Traceback" in caplog.text  # the error itself is kept for whoever mends the database
    assert "Ольга" not in caplog.text
    assert "765" not in caplog.text and "+7916" not in caplog.text

    # A refused key quoted by PostgreSQL (or SQLite) is masked as well.
    try:
        raise RuntimeError('duplicate key value: Key (phone)=(+79167654321) already exists.')
    except RuntimeError:
        logging.getLogger("leads.test").exception("write refused")
    assert "+79167654321" not in caplog.text and "Key (phone)=([phone])" in caplog.text
