"""The baseline for bench/submit: a bare Flask app that inserts one row per POST.

It is what "taking a callback request" costs with nothing of the app around
it: Flask parses a small JSON body, Flask-SQLAlchemy inserts one row into
`bench_bare` and commits, and a small JSON reply goes back.  It uses the same
engine settings as the app (`Config.SQLALCHEMY_ENGINE_OPTIONS` through
`engine_options`, as create_app() applies them) and, on SQLite, the app's own
connect hook (`leads.db_setup`: WAL, busy_timeout, synchronous=NORMAL,
foreign keys), so the difference between the two is the app's own work, not a
different database set-up.

Run by bench/submit as
    gunicorn --pythonpath bench 'bare_app:create_app()'      (cwd: the project root)
with BARE_DATABASE_URL pointing at the same database the app was measured on.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy

from config import Config, engine_options
from leads.db_setup import install_connection_settings


class Base(so.DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class BareRow(db.Model):
    """One request: about what a lead row holds at its smallest."""

    __tablename__ = "bench_bare"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True))
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    phone: so.Mapped[str] = so.mapped_column(sa.String(20), index=True)


def _install_settings(engine: sa.Engine) -> None:
    """The app's own connection settings (WAL, busy and statement timeouts)."""
    install_connection_settings(
        engine, statement_timeout_ms=Config.DATABASE_STATEMENT_TIMEOUT_MS, busy_timeout_ms=Config.SQLITE_BUSY_TIMEOUT_MS
    )


def create_app(database_url: str | None = None) -> Flask:
    """The bare app on `database_url` (default: $BARE_DATABASE_URL)."""
    app = Flask(__name__)
    url = database_url or os.environ["BARE_DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    # The app's pooled connections are pinged before use (leads.db_deadline): so are these.
    pre_ping = {"pool_pre_ping": not url.startswith("sqlite")}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url, {**Config.SQLALCHEMY_ENGINE_OPTIONS, **pre_ping})
    db.init_app(app)
    with app.app_context():
        _install_settings(db.engine)

    @app.post("/bare")
    def insert_one():
        payload = request.get_json()
        row = BareRow(
            created_at=datetime.now(timezone.utc),
            name=str(payload["name"])[:100],
            phone=str(payload["phone"])[:20],
        )
        db.session.add(row)
        db.session.flush()
        row_id = row.id
        db.session.commit()
        return jsonify({"id": row_id}), 201

    @app.get("/ping")
    def ping():
        return "ok"

    return app


def create_schema(database_url: str) -> None:
    """Create `bench_bare` (before the workers start, so they do not race to create it)."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    _install_settings(engine)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()
