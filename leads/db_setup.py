"""Per-connection database settings."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
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


class TurnNotGiven(sa.exc.OperationalError):
    """The database stayed busy for longer than a writer waits for its turn."""


class WriterLine:
    """SQLite writers of one database file taking turns, each handed the turn soon after it is free.

    SQLite lets one connection write at a time; the others wait in its busy
    handler, which sleeps 1 ms, then 2, 5, 10 … between tries.  A request's
    write holds the lock for about 0.3 ms, so with two workers taking
    requests at once a waiting request slept three times longer than the
    write it waited for.  Writers that queue here hold an exclusive `flock`
    of a file beside the database (between processes) and a lock of their
    own (between threads of one process); a waiting writer tries again after
    20 µs, then 40, 80 … at most 0.5 ms.  Writers that do not queue here
    (operators' outcomes, the scheduler's jobs) still meet SQLite's busy
    handler as before.

    A writer waits at most `wait_seconds` for its turn, then gives up with
    `TurnNotGiven` (an OperationalError: the intake spools the request), so
    that requests do not pile up one busy timeout after another behind a
    database that stays locked.
    """

    FIRST_PAUSE = 20e-6
    LONGEST_PAUSE = 0.5e-3

    def __init__(self, wait_seconds: float = 5.0) -> None:
        self.wait_seconds = wait_seconds
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
        deadline = time.monotonic() + self.wait_seconds
        if not self._threads.acquire(timeout=self.wait_seconds):
            raise self._not_given()
        try:
            descriptor = self._descriptor(f"{os.path.abspath(database)}-write.lock")
            if descriptor is None:  # no lock file (a read-only folder): SQLite's busy handler alone
                yield
                return
            self._lock(descriptor, deadline)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _lock(self, descriptor: int, deadline: float) -> None:
        pause = self.FIRST_PAUSE
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._not_given() from None
                time.sleep(pause)
                pause = min(pause * 2, self.LONGEST_PAUSE)

    def _not_given(self) -> TurnNotGiven:
        reason = TimeoutError(f"no turn to write the database within {self.wait_seconds:g} s")
        return TurnNotGiven("(waiting for the turn to write)", None, reason)

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
