"""The committed migrations build exactly the schema the models describe."""
from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from leads.app import create_app
from leads.extensions import db
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_builds_the_models_schema(empty_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == []


def _trigger_names(connection: sa.Connection) -> set[str]:
    if connection.dialect.name == "postgresql":
        query = "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid " \
                "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return set(connection.exec_driver_sql(query).scalars())


def test_upgrade_leaves_no_trigger_as_the_models_make_none(empty_database_url, database_urls, tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    backend = "postgresql" if empty_database_url.startswith("postgresql") else "sqlite"
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade()
        with db.engine.connect() as connection:
            from_migrations = _trigger_names(connection)
        db.engine.dispose()
    modelled = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_urls[backend]})
    with modelled.app_context():
        with db.engine.connect() as connection:
            from_models = _trigger_names(connection)
        db.engine.dispose()
    assert from_migrations == from_models == set()


def test_upgrade_fills_the_report_figures_of_stored_visits_and_calls(empty_database_url, tmp_path, monkeypatch):
    # Two leads of Tuesday 24 November (Moscow): the first with an attended visit, the second with
    # a cancelled one; their calls a minute before and at local midnight (21:00 UTC).
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url, "CLINIC_TIMEZONE": "Europe/Moscow"})
    with app.app_context():
        upgrade(revision="4c6eb5981adb")
        with db.engine.begin() as c:
            c.exec_driver_sql("INSERT INTO users (id, username, display_name, role, password_hash, active, session_token,"
                              " created_at) VALUES (1, 'olga', 'Olga', 'operator', 'x', true, 't', '2026-11-01 00:00')")
            c.exec_driver_sql("INSERT INTO doctors (id, name, specialty, active, created_at)"
                              " VALUES (1, 'House', 'therapist', true, '2026-11-01 00:00')")
            for lead_id, created in ((1, "2026-11-23 21:30"), (2, "2026-11-24 10:00")):
                c.exec_driver_sql(
                    "INSERT INTO leads (id, public_id, name, phone, state, source, comment, page_url, referrer, utm_source,"
                    " utm_medium, utm_campaign, utm_term, utm_content, request_count, created_at, last_request_at,"
                    " attempts, reached, sla_breached, excluded, arrival_day, arrival_hour) VALUES"
                    f" ({lead_id}, 'p{lead_id}', 'Anna', '+7916000000{lead_id}', 'booked', 'form', '', '', '', '', '', '',"
                    f" '', '', 1, '{created}', '{created}', 1, true, false, false, '2026-11-24', 0)")
            c.exec_driver_sql("INSERT INTO call_attempts (lead_id, operator_id, at, outcome, reached, note) VALUES"
                              " (1, 1, '2026-11-24 20:59', 'booked', true, ''), (2, 1, '2026-11-24 21:00', 'booked', true, '')")
            c.exec_driver_sql(
                "INSERT INTO appointments (doctor_id, lead_id, starts_at, ends_at, status, created_at, cancel_reason,"
                " messages_consent, email, cancelled_by_patient) VALUES"
                " (1, 1, '2026-11-25 07:00', '2026-11-25 07:30', 'attended', '2026-11-24 20:59', '', false, '', false),"
                " (1, 2, '2026-11-26 07:00', '2026-11-26 07:30', 'cancelled', '2026-11-24 21:00', 'no', false, '', false)")
        upgrade()
        with db.engine.connect() as c:
            visits = c.exec_driver_sql("SELECT visit_booked, visit_attended FROM leads ORDER BY id").all()
            calls = c.exec_driver_sql("SELECT arrival_day, day FROM call_attempts ORDER BY id").all()
        db.engine.dispose()
    assert [tuple(map(bool, row)) for row in visits] == [(True, True), (True, False)]
    assert [tuple(str(day) for day in row) for row in calls] == [("2026-11-24", "2026-11-24"), ("2026-11-24", "2026-11-25")]
