"""The spool: where a request goes when the database cannot take it.

One JSON object a line, appended under an exclusive file lock and fsynced
before the patient is answered, so a request survives a crash of the app as
well as an outage of the database.  Replay rewrites the file atomically with
whatever could not be inserted yet.
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


class Spool:
    """A durable append-only queue of requests in one file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_suffix(self.path.suffix + ".lock")

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
        """Write one record and return only once it is on disk."""
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
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
        """How many records wait to be replayed."""
        records, damaged = self._read()
        return len(records) + len(damaged)

    def replay(self, insert: Callable[[dict[str, Any]], bool]) -> tuple[int, int]:
        """Call `insert` for each record; keep those it fails on.

        `insert` returns True if it stored the record, False if the record was
        already stored, and raises if it could not store it now.  Returns
        (stored, still waiting).
        """
        with self._locked():
            records, damaged = self._read()
            stored = 0
            waiting: list[str] = list(damaged)
            for record in records:
                try:
                    stored += 1 if insert(record) else 0
                except Exception:
                    waiting.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
            self._rewrite(waiting)
        return stored, len(waiting)

    def drop(self, mentions: Callable[[str], bool]) -> int:
        """Remove every waiting record (damaged lines too) whose line `mentions` says yes to; how many."""
        with self._locked():
            if not self.path.exists():
                return 0
            lines = [line for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
            kept = [line for line in lines if not mentions(line)]
            if len(kept) != len(lines):
                self._rewrite(kept)
        return len(lines) - len(kept)

    def _rewrite(self, lines: list[str]) -> None:
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
