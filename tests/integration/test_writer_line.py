"""SQLite's intake writers take turns through a lock file: between threads, processes and forks."""
from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
import sqlalchemy as sa

from leads.db_setup import WriterLine


def _engine(path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


def _take_turn_and_report(path: str, line: WriterLine | None, started: float, queue) -> None:
    """In another process: wait for the turn, then say how long after `started` it came.

    A forked child is handed the parent's line (descriptor and thread lock inherited, the lock
    taken); a spawned one makes its own.
    """
    with (line or WriterLine()).turn(_engine(path)):
        queue.put(time.time() - started)


def _hold(line: WriterLine, engine: sa.Engine, seconds: float, holding: threading.Event) -> None:
    with line.turn(engine):
        holding.set()
        time.sleep(seconds)


def test_a_thread_of_the_same_process_waits_for_the_turn(tmp_path):
    """Threads share the process's lock file descriptor, which `flock` does not tell apart."""
    line, engine = WriterLine(), _engine(tmp_path / "db.sqlite3")
    holding = threading.Event()
    holder = threading.Thread(target=_hold, args=(line, engine, 0.3, holding))
    holder.start()
    holding.wait(5)
    asked = time.monotonic()
    with line.turn(engine):
        waited = time.monotonic() - asked
    holder.join()
    assert waited >= 0.2  # it waited for the holder


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_another_process_waits_for_the_turn(tmp_path, start_method):
    """`fork` is gunicorn's way: the child must not share the parent's lock through an inherited descriptor."""
    path = tmp_path / "db.sqlite3"
    line, engine = WriterLine(), _engine(path)
    context = multiprocessing.get_context(start_method)
    queue = context.Queue()
    with line.turn(engine):  # the parent's descriptor is open (and inherited by a forked child) before the child starts
        started = time.time()
        inherited = line if start_method == "fork" else None
        child = context.Process(target=_take_turn_and_report, args=(str(path), inherited, started, queue), daemon=True)
        child.start()
        time.sleep(0.5)
        assert queue.empty()  # the child is still waiting
    try:
        waited = queue.get(timeout=20)
    finally:
        child.kill()
        child.join(10)
    assert waited >= 0.5


def test_without_a_lock_file_the_write_goes_on(tmp_path):
    """A lock file that cannot be created: no turn to take, and no error for the patient."""
    with WriterLine().turn(_engine(tmp_path / "no-such-folder" / "db.sqlite3")):
        pass


def test_in_memory_and_postgresql_databases_have_no_line(tmp_path):
    line = WriterLine()
    with line.turn(sa.create_engine("sqlite://")), line.turn(sa.create_engine("sqlite://")):
        pass  # nested turns on in-memory databases: nothing is locked
    assert not list(tmp_path.iterdir())


def test_a_writer_gives_up_after_waiting_its_time(tmp_path):
    """Behind a turn held for long, the wait ends with an OperationalError, not a pile-up."""
    path = tmp_path / "db.sqlite3"
    holder_line, waiting_line = WriterLine(), WriterLine(wait_seconds=0.3)  # two descriptors: flock tells them apart
    with holder_line.turn(_engine(path)):
        asked = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="no turn to write"):
            with waiting_line.turn(_engine(path)):
                pass
        assert 0.3 <= time.monotonic() - asked < 3
    with waiting_line.turn(_engine(path)):  # free again: taken at once
        pass


def test_a_request_that_gets_no_turn_is_spooled_and_answered(app, client, backend, monkeypatch):
    """The database stays busy (another writer keeps the turn): the patient still gets the thanks page."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL writers need no turn")
    from leads.db_setup import writer_line
    from leads.extensions import db
    from leads.models import LeadRequest
    from leads.services.intake import spool

    monkeypatch.setattr(writer_line, "wait_seconds", 0.2)
    engine = db.engine
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with writer_line.turn(engine):
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(5)
        reply = client.post("/callback", data={"name": "Ольга", "phone": "+7 916 765-43-21", "consent": "y"})
    finally:
        done.set()
        holder.join()
    assert reply.status_code == 303
    assert spool().size() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LeadRequest)) == 0
