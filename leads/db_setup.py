"""Per-connection database settings, and what a database error means for a request."""
from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from leads.db_deadline import StatementDeadline

# SQLSTATE classes of PostgreSQL errors that say the database cannot take writes
# now, whatever is written: connection (08), read-only or aborted transaction
# (25), rollback for a conflict (40), insufficient resources (53), operator
# intervention: shutdown, statement timeout (57), system error (58).
_UNAVAILABLE_SQLSTATE_CLASSES = {"08", "25", "40", "53", "57", "58"}


def install_connection_settings(engine: sa.Engine, *, statement_timeout_ms: int, busy_timeout_ms: int) -> None:
    """Bound every statement's time on `engine`; on SQLite also WAL, foreign keys and the busy timeout.

    A database that is stuck makes a request fail within these bounds (and
    the intake spools it) instead of holding a worker until gunicorn kills it.
    """

    def on_connect(dbapi_connection, connection_record) -> None:
        cursor = dbapi_connection.cursor()
        if isinstance(dbapi_connection, sqlite3.Connection):
            # WAL lets readers go on while one writer writes; NORMAL sync is durable
            # across application crashes, which is what WAL needs.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            return
        if engine.dialect.name == "postgresql":
            cursor.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
            cursor.execute(f"SET lock_timeout = {int(statement_timeout_ms)}")
            cursor.close()
            dbapi_connection.commit()  # a SET inside a transaction rolled back later would be undone

    sa.event.listen(engine, "connect", on_connect)
    if engine.dialect.name == "postgresql":
        # The server's timeout first; the client's deadline for a server that answers nothing at all.
        StatementDeadline(statement_timeout_ms / 1000 + 1).install(engine)


def is_sqlite(engine: sa.engine.Engine) -> bool:
    """True when `engine` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def is_unavailable(error: sa.exc.SQLAlchemyError) -> bool:
    """True if `error` says the database cannot be written now (an outage), not that it refused the content.

    An outage's request waits in the spool for the database to come back; a
    refusal of the content (a value it cannot hold, a broken constraint) would
    be refused again at every replay.
    """
    if not isinstance(error, sa.exc.DBAPIError):
        return not isinstance(error, sa.exc.StatementError)  # e.g. the pool timed out: no connection
    if error.connection_invalidated or isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
