"""Fixtures: an app on each database, clients, and a clean schema per test.

Every test that takes `app` runs on SQLite and, when TEST_DATABASE_URL is set,
on PostgreSQL too (skipped otherwise).  Each pytest session gets its own
SQLite file and its own PostgreSQL schema, so sessions never collide.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import g

from leads.app import create_app
from leads.extensions import db, limiter
from leads.services.consent import forget_cached_versions

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """One database per backend for the whole session, schema created once."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"}
    schema = None
    if PG_URL:
        schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        separator = "&" if "?" in PG_URL else "?"
        urls["postgresql"] = f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    for url in urls.values():
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.create_all()
            db.engine.dispose()
    yield urls
    if schema:
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


def _fresh_request_globals() -> None:
    for name in list(vars(g)):
        delattr(g, name)


@pytest.fixture(params=BACKENDS)
def backend(request, database_urls) -> str:
    """The database this test runs on."""
    if request.param not in database_urls:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return request.param


@pytest.fixture
def app_settings() -> dict:
    """Settings a test module can override by redefining this fixture."""
    return {}


@pytest.fixture
def app(backend, database_urls, app_settings, tmp_path, monkeypatch):
    """The app on a clean database; its spool lives in the test's tmp dir."""
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_urls[backend],
        "SPOOL_PATH": str(tmp_path / "spool.jsonl"),
        "WTF_CSRF_ENABLED": False,
        **app_settings,
    }
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app("testing", settings)
    # Tests keep one app context open so they can query the database; Flask
    # then reuses it, and its `g`, for every test request.  Production has a
    # fresh `g` per request (Babel's locale, Flask-Login's user): so must tests.
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    forget_cached_versions()
    with application.app_context():
        _empty_all_tables()
        if application.config["RATELIMIT_ENABLED"]:
            limiter.reset()  # the limiter instance is shared by every app in this process
        yield application
        db.session.remove()
        db.engine.dispose()
    forget_cached_versions()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def at(text: str, tz: str = "Europe/Moscow") -> datetime:
    """An aware instant from clinic-local 'YYYY-MM-DD HH:MM'."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


@pytest.fixture
def make_user(app):
    """make_user(role, username=None, password=...) -> a stored User."""
    from werkzeug.security import generate_password_hash

    from leads.models import User

    def make(role: str = "operator", username: str | None = None, password: str = "correct horse battery"):
        user = User(
            username=username or f"{role}-{uuid.uuid4().hex[:6]}",
            display_name=(username or role).title(),
            role=role,
            # One PBKDF2 round: the tests are about who may do what, not the hash.
            password_hash=generate_password_hash(password, method="pbkdf2:sha256:1"),
            active=True,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


def sign_in(client, user) -> None:
    """Put `user` in the test client's session, as a successful login would."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.fixture
def operator_client(app, make_user):
    """A client signed in as an operator (the user is `client.user`)."""
    client = app.test_client()
    client.user = make_user("operator")
    sign_in(client, client.user)
    return client
