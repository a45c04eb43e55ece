"""Per-connection database settings."""
from __future__ import annotations

import sqlite3

import sqlalchemy as sa

SQLITE_BUSY_TIMEOUT_MS = 15_000  # writers queue behind each other instead of failing
_installed = False


def _on_connect(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer writes; NORMAL sync is durable
    # across application crashes, which is what WAL needs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def install_sqlite_pragmas() -> None:
    """Apply WAL mode, a busy timeout and foreign keys to every SQLite connection."""
    global _installed
    if not _installed:
        sa.event.listen(sa.engine.Engine, "connect", _on_connect)
        _installed = True


def is_sqlite(engine: sa.engine.Engine) -> bool:
    """True when `engine` talks to SQLite."""
    return engine.dialect.name == "sqlite"
