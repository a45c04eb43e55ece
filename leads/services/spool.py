"""The spool: where a request goes when the database cannot take it.

One JSON object a line, appended under an exclusive file lock and fsynced
before the patient is answered, so a request survives a crash of the app as
well as an outage of the database.  Replay rewrites the file atomically with
whatever could not be inserted yet.

The spool holds only requests waiting for the database to come back.  A
record the database refuses for its content goes to the dead-letter file
beside it (`<spool>.dead.jsonl`), with the reason, so replay never sticks on
it.  The spool is capped (`max_bytes`): past the cap `append` raises
SpoolFull and the request is not acknowledged.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

log = logging.getLogger(__name__)


class SpoolFull(Exception):
    """The spool reached its size cap."""


class RecordRefused(Exception):
    """The database refused a record for its content: it goes to the dead-letter file."""


class Spool:
    """A durable append-only queue of requests in one file."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = 0) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_suffix(self.path.suffix + ".lock")
        self.dead_letter_path = self.path.with_suffix(".dead.jsonl")
        self.max_bytes = max_bytes  # 0: no cap

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and return only once it is on disk; SpoolFull past `max_bytes`."""
        data = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if self.max_bytes and os.fstat(fd).st_size + len(data) > self.max_bytes:
                    raise SpoolFull(str(self.path))
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def dead_letter(self, record: dict[str, Any], reason: str) -> None:
        """Keep a record the database refused for its content, with the reason, in the dead-letter file."""
        entry = {"reason": reason, "at": datetime.now(timezone.utc).isoformat(), "record": record}
        data = (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.dead_letter_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _read(self) -> tuple[list[dict[str, Any]], list[str]]:
        if not self.path.exists():
            return [], []
        records, damaged = [], []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                damaged.append(line)  # kept in the file, never silently dropped
        return records, damaged

    def size(self) -> int:
        """How many records wait to be replayed: the file's lines, counted without parsing them."""
        try:
            with open(self.path, "rb") as spooled:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: spooled.read(1 << 20), b""))
        except FileNotFoundError:
            return 0

    def replay(self, insert: Callable[[dict[str, Any]], bool]) -> tuple[int, int]:
        """Call `insert` for each record; keep those it fails on.

        `insert` returns True if it stored the record, False if the record was
        already stored, raises RecordRefused if the database refused its
        content (the record moves to the dead-letter file), and raises anything
        else if it could not store it now: then the rest waits too, untried, for
        the next replay.  Returns (stored, still waiting).
        """
        with self._locked():
            records, damaged = self._read()
            stored = 0
            waiting: list[str] = list(damaged)
            for index, record in enumerate(records):
                try:
                    stored += 1 if insert(record) else 0
                except RecordRefused as refused:
                    log.error("spooled request %s refused by the database; moved to %s: %s",
                              record.get("public_id"), self.dead_letter_path, refused)
                    self.dead_letter(record, str(refused))
                except Exception:
                    log.warning("replay stopped: the database is still unavailable", exc_info=True)
                    waiting += [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records[index:]]
                    break
            self._rewrite(waiting)
        return stored, len(waiting)

    def drop(self, mentions: Callable[[str], bool]) -> int:
        """Remove every line of the spool and of the dead-letter file (damaged lines too) that
        `mentions` says yes to; how many."""
        dropped = 0
        with self._locked():
            for path in (self.path, self.dead_letter_path):
                if not path.exists():
                    continue
                lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
                kept = [line for line in lines if not mentions(line)]
                if len(kept) != len(lines):
                    self._rewrite(kept, path)
                dropped += len(lines) - len(kept)
        return dropped

    def _rewrite(self, lines: list[str], path: Path | None = None) -> None:
        path = path or self.path
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
