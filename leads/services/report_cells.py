"""The report's stored cells: each ended day is counted once, then read back.

A year of history is a million leads and three million calls; counting them for every
report would take seconds.  The figures of a day of arrivals are its cells (a few hundred
aggregate rows, leads/services/report_sql.py), and the cells of a day change only when one
of its leads, their calls or their appointments do.  So `refresh` stores the cells of every
ended day of a report's range once, and the report adds up stored cells and counts only
the days that have not ended (today) on the spot.

Keeping them right:
- Triggers (leads/report_triggers.py) append the arrival time of every lead whose figures
  may have changed to report_dirty; `refresh` takes those rows and drops the cells of their
  days, which are then counted again.
- A closure added, moved or removed changes the business minutes of the leads that arrived
  before it and were first called after it: a trigger on closures marks their days, and the
  counting reads the closures from the database after taking the marks (each process caches
  its closures for a minute).
- Each stored day records the rest of the calendar it was counted with (time zone, weekly
  plan, and CELLS_VERSION): a change drops every day counted with another.
- PostgreSQL counts inside the writing transaction, refreshes taking turns by an advisory
  lock; a change committed while it counts keeps its row for the next refresh.  SQLite has
  one writer for the whole database, so it counts by plain reads first and holds the write
  lock only to count again the few days changed meanwhile and to write the cells.

Figures are the same whether a day is stored or counted on the spot: tests compare both.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from leads.domain.calendar import ClinicCalendar
from leads.extensions import db
from leads.models import ReportCell, ReportDirty, ReportSealedDay
from leads.services.clinic import fresh_calendar
from leads.services.report_sql import CELL_COLUMNS

log = logging.getLogger(__name__)

EPOCH_DAY = date(1970, 1, 1)  # a Thursday: weekday = (day number + 3) % 7, Monday = 0
# Bump when the meaning of a stored cell changes: every stored day is counted again.
CELLS_VERSION = 2

# Days counted and committed together when many are missing.
WINDOW_DAYS = 31
# Storing this many days at once refreshes the table's planner statistics.
ANALYZE_AFTER_DAYS = 28
# (first day, last day, calendar) -> [(SELECT statement, parameters)] that count those days' cells.
CellSelects = Callable[[date, date, ClinicCalendar], list[tuple[str, dict]]]


def day_number(day: date) -> int:
    return (day - EPOCH_DAY).days


def calendar_key(calendar: ClinicCalendar) -> str:
    """What the stored cells depend on besides the data and the closures, as a short hash."""
    plan = sorted((weekday, opens.isoformat(), closes.isoformat())
                  for weekday, (opens, closes) in calendar.weekly_plan.items())
    text = repr((CELLS_VERSION, str(calendar.tz), plan))
    return hashlib.sha256(text.encode()).hexdigest()


def _take_turn() -> None:
    """PostgreSQL: one refresh at a time, and settings for the counting statements."""
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.report_cells'))"))
    # The counting statements are long (constant arrays, CASEs) and costed high: PostgreSQL's
    # JIT spent seconds compiling them for a run of about one.  Off for this transaction only;
    # and memory enough to group a month's leads without sorting them on disk.
    db.session.execute(sa.text("SET LOCAL jit = off"))
    db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))


def _days_of(calendar: ClinicCalendar, arrivals: list[datetime]) -> set[int]:
    return {day_number(calendar.local(t).date()) for t in set(arrivals)}


def _drop_days(days: set[int]) -> None:
    if days:
        db.session.execute(sa.delete(ReportCell).where(ReportCell.day.in_(days)))
        db.session.execute(sa.delete(ReportSealedDay).where(ReportSealedDay.day.in_(days)))


def forget_days_of(arrivals: list[datetime], calendar: ClinicCalendar) -> None:
    """Drop the stored cells of the days these leads arrived on: the next report counts them
    again from the leads (an erasure must not leave a patient's campaign text in a cell).
    Does not commit."""
    _drop_days(_days_of(calendar, arrivals))


def _other_calendar_days(key: str) -> set[int]:
    return set(db.session.scalars(sa.select(ReportSealedDay.day).where(ReportSealedDay.calendar_key != key)))


def _stored_days(lo: int, hi: int) -> set[int]:
    return set(db.session.scalars(sa.select(ReportSealedDay.day).where(ReportSealedDay.day.between(lo, hi))))


def _counting_statements(days: list[int], selects: CellSelects,
                         calendar: ClinicCalendar) -> Iterator[tuple[str, dict]]:
    """The SELECTs that count the cells of `days`, one set per run of consecutive days."""
    for a, b in _runs(days):
        yield from selects(EPOCH_DAY + timedelta(days=a), EPOCH_DAY + timedelta(days=b), calendar)


def _insert_counted(days: list[int], selects: CellSelects, calendar: ClinicCalendar) -> None:
    """Count `days` into report_cells, in the database (INSERT … SELECT)."""
    columns = ", ".join(CELL_COLUMNS)
    for sql, params in _counting_statements(days, selects, calendar):
        db.session.execute(sa.text(f"INSERT INTO report_cells ({columns}) SELECT * FROM ({sql}) cells"), params)


def _seal(days: list[int], key: str, now: datetime) -> None:
    if not days:
        return
    db.session.execute(sa.insert(ReportSealedDay), [{"day": n, "calendar_key": key, "sealed_at": now} for n in days])
    if len(days) >= ANALYZE_AFTER_DAYS:
        # Fresh statistics, or the planner takes a table just filled for empty and sorts
        # the cells on disk where a hash would do (measured: 490 ms against 130 ms a year).
        db.session.execute(sa.text("ANALYZE report_cells"))


def _runs(days: list[int]) -> list[tuple[int, int]]:
    """Consecutive day numbers as (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for n in days:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


@dataclass(frozen=True)
class Refreshed:
    """What `refresh` did: the last day of the range now stored (None when no day of the range
    has ended, or when the cells could not be written: the report then counts every day on
    the spot), and how many days it counted."""

    stored_upto: date | None
    counted: int = 0


def refresh(first: date, last: date, calendar: ClinicCalendar, now: datetime,
            selects: CellSelects) -> Refreshed:
    """Store the cells of every ended day of first…last that is not stored yet, and count again
    the stored days whose leads changed (of any range); commit."""
    upto = min(last, calendar.local(now).date() - timedelta(days=1))
    if upto < first:
        return Refreshed(None)
    key, lo, hi = calendar_key(calendar), day_number(first), day_number(upto)
    step = (_refresh_in_one_transaction if db.session.get_bind().dialect.name == "postgresql"
            else _refresh_count_then_write)
    try:
        # A window at a time, each committed: a long range (a year never stored) keeps what it
        # has counted if it is cut short, and SQLite's write lock is held for a window's cells.
        counted = step(calendar, key, lo, min(hi, lo + WINDOW_DAYS - 1), now, selects)  # takes every mark
        for start in range(lo + WINDOW_DAYS, hi + 1, WINDOW_DAYS):
            end = min(hi, start + WINDOW_DAYS - 1)
            if len(_stored_days(start, end)) < end - start + 1:
                counted += step(calendar, key, start, end, now, selects)
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("report cells not stored; the report counts every day on the spot", exc_info=True)
        return Refreshed(None)
    return Refreshed(upto, counted)


def _refresh_in_one_transaction(calendar: ClinicCalendar, key: str, lo: int, hi: int, now: datetime,
                                selects: CellSelects) -> int:
    """PostgreSQL: readers and writers never wait for each other, so the counting happens in the
    writing transaction.  The DELETE takes the change rows visible now; a change committed later
    keeps its row for the next refresh."""
    _take_turn()
    arrivals = db.session.scalars(sa.delete(ReportDirty).returning(ReportDirty.created_at)).all()
    _drop_days(_days_of(calendar, arrivals) | _other_calendar_days(key))
    stored = _stored_days(lo, hi)
    missing = [n for n in range(lo, hi + 1) if n not in stored]
    if missing:
        _insert_counted(missing, selects, fresh_calendar(now))
        _seal(missing, key, now)
    db.session.commit()
    return len(missing)


def _become_writer(last_seen: int) -> list[datetime]:
    """SQLite: take the database's write lock (the DELETE is this transaction's first write, so
    nothing changes under us from here on) and every change row; return the arrival times of
    the changes written after row `last_seen`, which the counting may have missed."""
    late = db.session.scalars(sa.delete(ReportDirty).where(ReportDirty.id > last_seen)
                              .returning(ReportDirty.created_at)).all()
    db.session.execute(sa.delete(ReportDirty).where(ReportDirty.id <= last_seen))
    return late


def _refresh_count_then_write(calendar: ClinicCalendar, key: str, lo: int, hi: int, now: datetime,
                              selects: CellSelects) -> int:
    """SQLite: the writer holds the whole database, and a patient's request must not wait for a
    year being counted.  So the days are counted by plain reads first; then, as the writer, the
    changes committed since those reads are taken too, the days they touch counted again there
    (a few at most), and the counted cells written."""
    seen = db.session.execute(sa.select(ReportDirty.id, ReportDirty.created_at)).all()
    last_seen = max((row.id for row in seen), default=0)
    stale = _days_of(calendar, [row.created_at for row in seen]) | _other_calendar_days(key)
    stored = _stored_days(lo, hi) - stale
    missing = [n for n in range(lo, hi + 1) if n not in stored]
    counted: dict[int, list] = {}
    counting = fresh_calendar(now) if missing else calendar
    for sql, params in _counting_statements(missing, selects, counting):
        for row in db.session.execute(sa.text(sql), params).mappings():
            counted.setdefault(int(row["day"]), []).append(dict(row))
    late_days = _days_of(calendar, _become_writer(last_seen))
    late_in_range = sorted(n for n in late_days if lo <= n <= hi)
    _drop_days(stale | late_days | set(missing))
    rows = [row for n in missing if n not in late_days for row in counted.get(n, [])]
    if rows:
        db.session.execute(sa.insert(ReportCell), rows)
    _insert_counted(late_in_range, selects, fresh_calendar(now) if late_in_range else counting)
    sealed = sorted(set(missing) | set(late_in_range))
    _seal(sealed, key, now)
    db.session.commit()
    return len(sealed)
