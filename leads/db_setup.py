"""Per-connection database settings."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator

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


class WriterLine:
    """SQLite writers of one database file taking turns, each woken the moment the one before is done.

    SQLite lets one connection write at a time; the others wait in its busy
    handler, which polls: it sleeps 1 ms, then 2, 5, 10 … and tries again.
    A request's write holds the lock for about 0.3 ms, so with two workers
    taking requests at once a waiting request slept three times longer than
    the write it waited for.  Writers that queue here instead block on an
    exclusive `flock` of a file beside the database (between processes) and
    a lock of their own (between threads of one process): the kernel hands
    the turn over at once.  Writers that do not queue here (operators'
    outcomes, the scheduler's jobs) still meet the busy handler as before.
    """

    def __init__(self) -> None:
        self._threads = threading.Lock()
        self._files: dict[tuple[int, str], int] = {}  # (process, lock file) -> descriptor
        # A child forked while a thread held the turn would inherit that lock taken, for ever.
        os.register_at_fork(after_in_child=self._forget_parents_turn)

    def _forget_parents_turn(self) -> None:
        self._threads = threading.Lock()

    @contextmanager
    def turn(self, engine: sa.engine.Engine) -> Iterator[None]:
        """Hold the turn to write `engine`'s SQLite file (no turn to take for an in-memory database)."""
        database = engine.url.database if is_sqlite(engine) else None
        if not database or database == ":memory:" or database.startswith("file:"):
            yield
            return
        with self._threads:
            descriptor = self._descriptor(f"{os.path.abspath(database)}-write.lock")
            if descriptor is None:  # no lock file (a read-only folder): SQLite's busy handler alone
                yield
                return
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)

    def _descriptor(self, path: str) -> int | None:
        # Opened per process: a descriptor inherited across fork() shares its lock with the parent.
        key = (os.getpid(), path)
        if key not in self._files:
            try:
                self._files[key] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                return None
        return self._files[key]


writer_line = WriterLine()
