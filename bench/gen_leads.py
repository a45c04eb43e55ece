#!/usr/bin/env python3
"""bench/gen_leads.py: fill a migrated database with N leads in realistic states, fast.

Most leads are history (booked or closed, spread over --days before --now); a
few percent (--open-share) are open and recent, as the operators' queue sees
them: new (some with a later preferred window, some repeat requests), retries
(some due, some later) and callbacks (personal to one of the operators, or
shared; some due, some later).  A few open leads are held: a live claim by
operators bench-op-11 .. bench-op-20 (colleagues busy on the phone), and an
expired claim now and then.  Operators bench-op-01 .. bench-op-NN are created
when missing (password "bench", role operator).

Rows are written in batches: executemany on one SQLite transaction, COPY on
PostgreSQL (never the ORM one row at a time); PostgreSQL then gets VACUUM
ANALYZE, as autovacuum would give it after such a load.  SQLite gets no ANALYZE
unless --sqlite-analyze (an app that never runs it is the common case).

    .venv/bin/python bench/gen_leads.py sqlite:////tmp/bench_queue.sqlite3 --leads 1000000
    .venv/bin/python bench/gen_leads.py postgresql+psycopg://postgres@127.0.0.1:5432/bench_queue
    .venv/bin/python bench/gen_leads.py --help

The database must already be migrated (`flask --app wsgi db upgrade`, or let
bench/queue do it).  Leads are added to whatever is there; phones and public
ids continue after the highest lead id, so they stay unique.
"""
from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

MOSCOW = ZoneInfo("Europe/Moscow")
BATCH = 20_000
OPERATORS = 20
# Operators whose number is above this hold live claims; the others are free to take next.
BUSY_FROM = 11
SLA = timedelta(minutes=15)

COLUMNS = (
    "public_id", "name", "phone", "state", "close_reason", "source", "comment", "page_url", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "request_count",
    "created_at", "last_request_at", "next_call_at", "sla_due_at", "attempts", "first_attempt_at",
    "last_attempt_at", "last_outcome", "reached", "callback_owner_id", "claimed_by_id", "claim_expires_at",
    "sla_breached", "excluded", "closed_at",
)
NAMES = ("Анна", "Иван", "Мария", "Олег", "Елена", "Сергей", "Ольга", "Дмитрий", "Наталья", "Алексей")
SOURCES = ("form", "form", "form", "api", "embed")
UTM = (("", "", ""), ("yandex", "cpc", "spring"), ("google", "cpc", "brand"), ("vk", "social", "promo"))
CLOSED_OUTCOMES = (
    ("consulted", "consulted", True), ("declined", "declined", True), ("no_answer", "unreachable", False),
    ("wrong_number", "wrong_number", False), ("spam", "spam", False), ("do_not_call", "do_not_call", True),
)
RETRY_OUTCOMES = ("no_answer", "no_answer", "busy", "voicemail")


def default_now() -> datetime:
    """Last Wednesday 12:00 in Moscow: inside opening hours, whenever the bench runs."""
    today = datetime.now(MOSCOW).date()
    wednesday = today - timedelta(days=(today.weekday() - 2) % 7)
    return datetime(wednesday.year, wednesday.month, wednesday.day, 12, 0, tzinfo=MOSCOW).astimezone(UTC)


def ensure_operators(engine: sa.Engine, count: int) -> dict[int, int]:
    """Operator number (1..count) -> user id, creating bench-op-NN users as needed."""
    users = sa.table(
        "users", sa.column("id"), sa.column("username"), sa.column("display_name"), sa.column("role"),
        sa.column("password_hash"), sa.column("active"), sa.column("session_token"), sa.column("created_at"),
    )
    from werkzeug.security import generate_password_hash

    password = generate_password_hash("bench", method="pbkdf2:sha256:1")
    ids: dict[int, int] = {}
    with engine.begin() as conn:
        for number in range(1, count + 1):
            username = f"bench-op-{number:02d}"
            found = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
            if found is None:
                found = conn.execute(
                    sa.insert(users).values(
                        username=username, display_name=f"Оператор {number:02d}", role="operator",
                        password_hash=password, active=True, session_token=f"bench-session-{number:02d}",
                        created_at=datetime.now(UTC).replace(tzinfo=None),
                    ).returning(users.c.id)
                ).scalar_one()
            ids[number] = found
    return ids


def _naive(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC).replace(tzinfo=None)


class LeadMaker:
    """Builds lead rows (tuples in COLUMNS order) around one reference instant."""

    def __init__(self, rng: random.Random, now: datetime, operators: dict[int, int], first_number: int,
                 open_count: int) -> None:
        self.rng, self.now, self.operators, self.number = rng, now, operators, first_number
        self.free_ops = [uid for n, uid in operators.items() if n < BUSY_FROM]
        self.busy_ops = [uid for n, uid in operators.items() if n >= BUSY_FROM] or self.free_ops
        # About one live claim per busy operator across all open leads.
        self.live_claim_chance = len(self.busy_ops) / max(open_count, 1)

    def _common(self, created: datetime) -> list:
        rng = self.rng
        self.number += 1
        utm = rng.choice(UTM)
        return [
            f"bench{self.number:012d}", f"{rng.choice(NAMES)} {self.number % 997}", f"+79{self.number:09d}",
            None, None, rng.choice(SOURCES), "", "https://clinic.example/", "", utm[0], utm[1], utm[2], "", "",
        ]

    def history(self, created: datetime) -> tuple:
        """A lead that ended long ago: booked, or closed for one of the reasons."""
        rng = self.rng
        row = self._common(created)
        first = created + timedelta(minutes=rng.expovariate(1 / 20))
        attempts = rng.choice((1, 1, 1, 2, 2, 3, 6))
        last = first + timedelta(hours=rng.uniform(0, 30) * (attempts - 1))
        if rng.random() < 0.35:
            row[3], outcome, reached = "booked", "booked", True
        else:
            outcome, row[4], reached = rng.choice(CLOSED_OUTCOMES)
            row[3] = "closed"
        return (*row, 1, _naive(created), _naive(created), None, _naive(created + SLA), attempts, _naive(first),
                _naive(last), outcome, reached, None, None, None, first > created + SLA, outcome == "spam",
                _naive(last))

    def open_lead(self, created: datetime) -> tuple:
        """A lead still in the queue: new 40 %, retry 35 %, callback 25 %."""
        rng, now = self.rng, self.now
        row = self._common(created)
        kind = rng.random()
        requests, attempts, first = 1, 0, None
        last_request, outcome, reached, owner = created, None, False, None
        if kind < 0.40:
            row[3] = "new"
            due = created
            if rng.random() < 0.10:  # asked for a window later on
                due = created + timedelta(hours=rng.uniform(1, 60))
            if rng.random() < 0.08:  # asked again: due now
                requests = rng.choice((2, 2, 3))
                last_request = created + (now - created) * rng.random()
                due = min(due, last_request)
        else:
            attempts = rng.randint(1, 5)
            first = created + timedelta(minutes=rng.expovariate(1 / 20))
            if kind < 0.75:
                row[3], outcome = "retry", rng.choice(RETRY_OUTCOMES)
                due = now + timedelta(hours=rng.uniform(-6, 24))
            else:
                row[3], outcome, reached = "callback", "callback", True
                due = now + timedelta(hours=rng.uniform(-24, 72))
                if rng.random() < 0.4:
                    owner = rng.choice(list(self.operators.values()))
            due = max(due, first + timedelta(minutes=10))
        holder, expires = None, None
        if due <= now and rng.random() < self.live_claim_chance:
            holder, expires = rng.choice(self.busy_ops), now + timedelta(minutes=rng.uniform(1, 9))
        elif rng.random() < 0.01:
            holder, expires = rng.choice(self.free_ops), now - timedelta(minutes=rng.uniform(1, 600))
        return (*row, requests, _naive(created), _naive(last_request), _naive(due), _naive(created + SLA),
                attempts, _naive(first), _naive(first), outcome, reached, owner, holder, _naive(expires),
                False, False, None)


def arrivals(rng: random.Random, count: int, now: datetime, days: float, open_share: float) -> Iterator[tuple]:
    """(created_at, is_open) in time order: history uniform over `days`, open leads mostly recent."""
    open_count = round(count * open_share)
    span = days * 86400
    history = sorted(rng.uniform(86400, span) for _ in range(count - open_count))
    # Open leads: most from the last few days, a tail of forgotten ones up to 60 days old.
    recent = sorted(min(rng.expovariate(1 / (3 * 86400)), 60 * 86400) + 60 for _ in range(open_count))
    merged = heapq.merge(
        ((-age, False) for age in reversed(history)), ((-age, True) for age in reversed(recent))
    )
    for negative_age, is_open in merged:
        yield now + timedelta(seconds=negative_age), is_open


def generate(url: str, count: int, *, now: datetime | None = None, open_share: float = 0.03, days: float = 730,
             operators: int = OPERATORS, seed: int = 1, sqlite_analyze: bool = False, quiet: bool = False) -> dict:
    """Insert `count` leads into the database at `url`; returns the numbers for a report."""
    now = now or default_now()
    rng = random.Random(seed)
    engine = sa.create_engine(url)
    started = time.perf_counter()
    try:
        ops = ensure_operators(engine, operators)
        with engine.connect() as conn:
            first = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM leads")).scalar_one()
        maker = LeadMaker(rng, now, ops, first, round(count * open_share))
        rows = (maker.open_lead(t) if is_open else maker.history(t)
                for t, is_open in arrivals(rng, count, now, days, open_share))
        if engine.dialect.name == "postgresql":
            _copy_postgresql(engine, rows)
        else:
            _insert_sqlite(engine, rows, analyze=sqlite_analyze)
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    if not quiet:
        print(f"gen_leads: {count} leads in {seconds:.1f} s into {engine.url.render_as_string(hide_password=True)}"
              f" (now = {now.isoformat()})", file=sys.stderr)
    return {"leads": count, "seconds": seconds, "now": now, "operators": ops}


def _batches(rows: Iterator[tuple]) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_value(value):
    # The same text SQLAlchemy's SQLite DateTime writes, so comparisons and ORDER BY agree.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _insert_sqlite(engine: sa.Engine, rows: Iterator[tuple], *, analyze: bool) -> None:
    sql = f"INSERT INTO leads ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for batch in _batches(rows):
            cursor.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in batch])
        raw.commit()
        if analyze:
            cursor.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()


def _copy_postgresql(engine: sa.Engine, rows: Iterator[tuple]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY leads ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        raw.driver_connection.autocommit = True
        cursor.execute("VACUUM ANALYZE leads")
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    parser.add_argument("database_url", help="SQLAlchemy URL of a migrated database")
    parser.add_argument("--leads", type=int, default=1_000_000, help="how many leads to add (default 1,000,000)")
    parser.add_argument("--open-share", type=float, default=0.03, help="share of open leads (default 0.03)")
    parser.add_argument("--days", type=float, default=730, help="how far back the history goes (default 730)")
    parser.add_argument("--operators", type=int, default=OPERATORS, help="operators bench-op-NN (default 20)")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="reference instant with offset (default: last Wednesday 12:00 Moscow)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite-analyze", action="store_true", help="run ANALYZE on SQLite after loading")
    args = parser.parse_args(argv)
    generate(args.database_url, args.leads, now=args.now, open_share=args.open_share, days=args.days,
             operators=args.operators, seed=args.seed, sqlite_analyze=args.sqlite_analyze)
    return 0


if __name__ == "__main__":
    sys.exit(main())
