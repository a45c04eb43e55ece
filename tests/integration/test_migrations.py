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
