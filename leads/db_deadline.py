"""A deadline on every PostgreSQL round trip, kept by the client: a frozen server cannot hold a worker.

The server's statement_timeout ends a slow statement, but a server that is
stopped (SIGSTOP, a hung host) enforces nothing, and its kernel still
acknowledges what the client sends, so TCP timeouts never fire: the client
would wait for ever (until gunicorn kills the worker).  Here each statement,
COMMIT and ROLLBACK arms a deadline for the thread that runs it, and a
watchdog thread shuts down the socket of a connection whose deadline passed:
the driver's wait ends with a connection error, SQLAlchemy discards that
connection, and the request spools (a patient) or answers 503 (staff).

The pool's own ping cannot be watched (it runs below the events), so the
ping is done here, under the same deadline, when a connection is checked out.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

import sqlalchemy as sa

log = logging.getLogger(__name__)


class StatementDeadline:
    """Watches the round trips of one engine's connections."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._armed: dict[int, tuple[float, int]] = {}  # thread id -> (deadline, socket descriptor)
        self._lock = threading.Lock()
        self._watchdog_pid = 0  # the process whose watchdog is running (0: none)

    def install(self, engine: sa.Engine) -> None:
        """Arm and disarm around every round trip of `engine`, and ping each connection checked out."""
        def arm(conn: sa.Connection, *args) -> None:
            if conn.invalidated or conn.closed:  # a rollback after the connection was lost: no round trip
                return
            self.arm(conn.connection.driver_connection)

        def disarm(*args) -> None:
            self.disarm()

        sa.event.listen(engine, "before_cursor_execute", arm)
        sa.event.listen(engine, "after_cursor_execute", disarm)
        sa.event.listen(engine, "handle_error", disarm)
        sa.event.listen(engine, "commit", arm)
        sa.event.listen(engine, "rollback", arm)
        sa.event.listen(engine.pool, "checkin", disarm)
        sa.event.listen(engine.pool, "checkout", self._ping)

    def arm(self, driver_connection) -> None:
        """Give the current thread's round trip on `driver_connection` until now + `seconds`."""
        with self._lock:
            self._armed[threading.get_ident()] = (time.monotonic() + self.seconds, driver_connection.fileno())
            if self._watchdog_pid != os.getpid():  # none running in this process (a forked worker starts its own)
                self._watchdog_pid = os.getpid()
                threading.Thread(target=self._watch, name="db-deadline", daemon=True).start()

    def disarm(self) -> None:
        """The current thread's round trip is over."""
        with self._lock:
            self._armed.pop(threading.get_ident(), None)

    def _ping(self, dbapi_connection, connection_record, connection_proxy) -> None:
        """Test the connection before use (in autocommit: no transaction left open), as pool_pre_ping would."""
        try:
            self.arm(dbapi_connection)
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            try:
                dbapi_connection.execute("SELECT 1")
            finally:
                dbapi_connection.autocommit = autocommit
        except Exception as error:  # the server closed it, or the deadline did: take another connection
            raise sa.exc.DisconnectionError(f"ping failed: {type(error).__name__}") from error
        finally:
            self.disarm()

    def _watch(self) -> None:
        """Shut down the sockets whose deadline passed; end when no round trip is armed (`arm` starts another)."""
        while True:
            time.sleep(min(0.25, self.seconds / 4))
            now = time.monotonic()
            with self._lock:
                for thread_id, (deadline, descriptor) in list(self._armed.items()):
                    if now >= deadline:
                        del self._armed[thread_id]
                        _shut_down(descriptor)
                if not self._armed:
                    self._watchdog_pid = 0
                    return


def _shut_down(descriptor: int) -> None:
    """End both directions of the socket behind `descriptor`, without closing the driver's descriptor."""
    log.error("database did not answer in time: connection shut down")
    try:
        with socket.socket(fileno=os.dup(descriptor)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass
