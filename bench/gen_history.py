#!/usr/bin/env python3
"""bench/gen_history.py: a year of history for the reports benchmark, fast.

Writes N leads (default 1,000,000) spread over the 365 days before --now, with
about three call attempts each (0 … 6, mean ≈ 3), an appointment for every
booked lead (attended, no-show, scheduled or cancelled), 2 % spam, a few
operators, sources and UTM campaigns.  Leads arrive mostly in opening hours
and on weekdays, as they would; each carries the figures the app stores on it
(clinic-local arrival date and hour, business minutes to the first call, by
the same functions; whether a visit was booked and whether it was attended),
and each call its lead's arrival date and its own clinic-local date.  Rows go in by PostgreSQL COPY or by SQLite executemany in
one transaction (never the ORM row by row); the schema is created from the
models on an empty database; ANALYZE runs at the end.

    .venv/bin/python bench/gen_history.py postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports
    .venv/bin/python bench/gen_history.py sqlite:////tmp/bench_reports.sqlite3 --leads 200000
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 12:00 in Moscow
OPERATORS = 12
DOCTORS = 10
SOURCES = (("form", 70), ("embed", 20), ("api", 10))
UTM = ((("", ""), 40), (("yandex", "spring"), 20), (("yandex", "autumn"), 10), (("google", "brand"), 15),
       (("google", "generic"), 10), (("vk", "promo"), 5))
ATTEMPTS = ((0, 4), (1, 12), (2, 18), (3, 26), (4, 18), (5, 10), (6, 12))  # mean ≈ 3.1
FAILED = ("no_answer", "no_answer", "no_answer", "busy", "voicemail")
REACHED_END = (("consulted", 30), ("declined", 40), ("callback", 30))
APPOINTMENT_STATUS = (("attended", 60), ("no_show", 15), ("scheduled", 15), ("cancelled", 10))

LEAD_COLUMNS = (
    "id", "public_id", "name", "phone", "state", "close_reason", "source", "comment", "page_url", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "request_count", "created_at",
    "last_request_at", "attempts", "first_attempt_at", "last_attempt_at", "last_outcome", "reached",
    "sla_breached", "excluded", "arrival_day", "arrival_hour", "first_call_minutes", "visit_booked",
    "visit_attended",
)
CALL_COLUMNS = ("lead_id", "operator_id", "at", "outcome", "reached", "note", "arrival_day", "day")
APPOINTMENT_COLUMNS = ("doctor_id", "lead_id", "starts_at", "ends_at", "status", "created_at", "cancel_reason")


def weighted(pairs):
    values, weights = zip(*pairs, strict=True)
    return lambda rnd: rnd.choices(values, weights)[0]


def arrivals(n: int, start: datetime, now: datetime, seed: int) -> list[datetime]:
    """n arrival times in the year from `start`, in order: a lead's id grows with its arrival, as
    in the app."""
    rnd = random.Random(seed + 1)
    times = []
    for _ in range(n):
        # Moscow 07:00–23:00 mostly (UTC+3), a few at night.
        hour = rnd.randrange(4, 20) if rnd.random() < 0.95 else rnd.randrange(24)
        created = start + timedelta(days=rnd.randrange(365), hours=hour, seconds=rnd.randrange(3600))
        times.append(created - timedelta(days=1) if created >= now else created)
    return sorted(times)


def generate(n: int, now: datetime, seed: int):
    """Yield ("lead" | "call" | "appointment", row) tuples; naive UTC datetimes."""
    from leads.domain.calendar import make_calendar
    from leads.services.report_facts import arrival_figures, first_call_minutes

    calendar = make_calendar("Europe/Moscow")
    rnd = random.Random(seed)
    source, utm, attempts_of = weighted(SOURCES), weighted(UTM), weighted(ATTEMPTS)
    reached_end, status_of = weighted(REACHED_END), weighted(APPOINTMENT_STATUS)
    start = (now - timedelta(days=365)).replace(tzinfo=None)
    slot = start
    for lead_id, created in enumerate(arrivals(n, start, now.replace(tzinfo=None), seed), start=1):
        spam = rnd.random() < 0.02
        attempts = 1 if spam else attempts_of(rnd)
        booked = not spam and attempts > 0 and rnd.random() < 0.35
        at = created
        arrival = arrival_figures(calendar, created.replace(tzinfo=UTC))
        calls = []
        for k in range(attempts):
            at += timedelta(minutes=rnd.randrange(2, 240 if k else 90))
            last = k == attempts - 1
            if spam:
                outcome, reached = "spam", False
            elif last and booked:
                outcome, reached = "booked", True
            elif last and rnd.random() < 0.5:
                outcome, reached = reached_end(rnd), True
            else:
                outcome, reached = rnd.choice(FAILED), False
            calls.append((lead_id, 1 + rnd.randrange(OPERATORS), at, outcome, reached, "", arrival["arrival_day"],
                          calendar.local(at.replace(tzinfo=UTC)).date()))
        reached_any = any(c[4] for c in calls)
        state = "booked" if booked else ("new" if attempts == 0 else "closed")
        s, (us, uc) = source(rnd), utm(rnd)
        minutes = first_call_minutes(calendar, created.replace(tzinfo=UTC), calls[0][2].replace(tzinfo=UTC)) \
            if calls else None
        requests = 2 if rnd.random() < 0.05 else 1
        status = status_of(rnd) if booked else None
        yield "lead", (
            lead_id, f"h{lead_id:015d}", f"Пациент {lead_id}", f"+7900{lead_id:07d}", state,
            "spam" if spam else None, s, "", "https://clinic.example/", "", us, "", uc, "", "",
            requests, created, created, attempts,
            calls[0][2] if calls else None, calls[-1][2] if calls else None, calls[-1][3] if calls else None,
            reached_any, False, spam, arrival["arrival_day"], arrival["arrival_hour"], minutes,
            booked, status == "attended",
        )
        for call in calls:
            yield "call", call
        if booked:
            slot += timedelta(minutes=30)  # every appointment its own slot: the unique index holds
            yield "appointment", (1 + lead_id % DOCTORS, lead_id, slot, slot + timedelta(minutes=30),
                                  status, at, "")


def _schema(url: str) -> None:
    """Tables from the models, on an emptied database."""
    from leads.app import create_app
    from leads.extensions import db

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()


def base_rows(now: datetime):
    naive = now.replace(tzinfo=None)
    users = [(i, f"bench-op-{i:02d}", f"Оператор {i:02d}", "operator", "x", True, f"tok{i}", naive)
             for i in range(1, OPERATORS + 1)]
    doctors = [(i, f"Доктор {i}", "therapist", True, naive) for i in range(1, DOCTORS + 1)]
    return users, doctors


USER_COLUMNS = ("id", "username", "display_name", "role", "password_hash", "active", "session_token", "created_at")
DOCTOR_COLUMNS = ("id", "name", "specialty", "active", "created_at")


def load_postgresql(url: str, n: int, now: datetime, seed: int) -> None:
    import psycopg

    users, doctors = base_rows(now)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cur:
        copies = {}
        for table, columns, rows in (("users", USER_COLUMNS, users), ("doctors", DOCTOR_COLUMNS, doctors)):
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        # One COPY stream at a time on a connection, and the calls need their leads first:
        # the generator is deterministic (seeded), so it runs twice — leads, then calls and appointments.
        with cur.copy(f"COPY leads ({', '.join(LEAD_COLUMNS)}) FROM STDIN") as copy:
            for kind, row in generate(n, now, seed):
                if kind == "lead":
                    copy.write_row(row)
        appointments = []
        with cur.copy(f"COPY call_attempts ({', '.join(CALL_COLUMNS)}) FROM STDIN") as copy:
            for kind, row in generate(n, now, seed):
                if kind == "call":
                    copy.write_row(row)
                    copies["call_attempts"] = copies.get("call_attempts", 0) + 1
                elif kind == "appointment":
                    appointments.append(row)
        with cur.copy(f"COPY appointments ({', '.join(APPOINTMENT_COLUMNS)}) FROM STDIN") as copy:
            for row in appointments:
                copy.write_row(row)
        copies["appointments"] = len(appointments)
        for table in ("users", "doctors", "leads", "call_attempts", "appointments"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
        print(f"  calls {copies['call_attempts']:,}, appointments {copies['appointments']:,}")


def load_sqlite(url: str, n: int, now: datetime, seed: int) -> None:
    import sqlite3

    users, doctors = base_rows(now)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")

    def insert(table, columns, rows):
        marks = ", ".join("?" for _ in columns)
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def text(row):  # SQLAlchemy's SQLite DateTime and Date storage formats
        return tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime)
                     else v.isoformat() if isinstance(v, date) else v for v in row)

    insert("users", USER_COLUMNS, map(text, users))
    insert("doctors", DOCTOR_COLUMNS, map(text, doctors))
    batch = {"lead": [], "call": [], "appointment": []}
    tables = {"lead": ("leads", LEAD_COLUMNS), "call": ("call_attempts", CALL_COLUMNS),
              "appointment": ("appointments", APPOINTMENT_COLUMNS)}
    counts = dict.fromkeys(batch, 0)
    for kind, row in generate(n, now, seed):
        batch[kind].append(text(row))
        counts[kind] += 1
        if len(batch[kind]) >= 50_000:
            insert(*tables[kind], batch[kind])
            batch[kind].clear()
    for kind, rows in batch.items():
        insert(*tables[kind], rows)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    print(f"  calls {counts['call']:,}, appointments {counts['appointment']:,}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="SQLAlchemy URL of a database whose tables may be dropped")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.url.rstrip("/").endswith(("/test", "/postgres")):
        parser.error("refusing to overwrite the test or postgres database")
    started = time.monotonic()
    _schema(args.url)
    print(f"{args.url}: {args.leads:,} leads over the year before {NOW:%Y-%m-%d}")
    loader = load_postgresql if args.url.startswith("postgresql") else load_sqlite
    loader(args.url, args.leads, NOW, args.seed)
    print(f"  done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
