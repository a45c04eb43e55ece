"""The report's stored cells: each ended day is counted once, then read back.

A year of history is a million leads and three million calls; counting them for every
report would take seconds.  The figures of a day of arrivals are its cells (a few hundred
aggregate rows, leads/services/report_sql.py), and the cells of a day change only when one
of its leads, their calls or their appointments do.  So `refresh` stores the cells of every
ended day of a report's range once, and the report adds up stored cells and counts only
the days that have not ended (today) on the spot.

Keeping them right:
- Triggers (leads/report_triggers.py) append the arrival time of every lead whose figures
  may have changed to report_dirty; `refresh` first takes those rows and drops the cells of
  their days, which are then counted again.  A write that commits while a refresh counts is
  left in report_dirty and handled by the next one.
- Each stored day records the calendar it was counted with (time zone, weekly plan,
  closures, and CELLS_VERSION): a changed calendar drops every day counted with another.
- Refreshes take turns: a PostgreSQL advisory lock for the transaction; SQLite lets one
  writer in at a time and `refresh` writes before it reads.

Figures are the same whether a day is stored or counted on the spot: tests compare both.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from leads.domain.calendar import ClinicCalendar
from leads.extensions import db
from leads.models import ReportCell, ReportDirty, ReportSealedDay
from leads.services.report_sql import CELL_COLUMNS

log = logging.getLogger(__name__)

EPOCH_DAY = date(1970, 1, 1)  # a Thursday: weekday = (day number + 3) % 7, Monday = 0
# Bump when the meaning of a stored cell changes: every stored day is counted again.
CELLS_VERSION = 1

# Storing this many days at once refreshes the table's planner statistics.
ANALYZE_AFTER_DAYS = 28
# (first day, last day) -> [(INSERT … SELECT statement, parameters)] that count those days.
CellStatements = Callable[[date, date], list[tuple[str, dict]]]


def day_number(day: date) -> int:
    return (day - EPOCH_DAY).days


def calendar_key(calendar: ClinicCalendar) -> str:
    """What the stored cells depend on besides the data, as a short hash."""
    plan = sorted((weekday, opens.isoformat(), closes.isoformat())
                  for weekday, (opens, closes) in calendar.weekly_plan.items())
    text = repr((CELLS_VERSION, str(calendar.tz), plan, sorted(calendar.closures)))
    return hashlib.sha256(text.encode()).hexdigest()


def insert_cells_sql(select: str) -> str:
    """INSERT of the cells that `select` (lead_cells_sql or call_cells_sql) yields."""
    return f"INSERT INTO report_cells ({', '.join(CELL_COLUMNS)}) SELECT * FROM ({select}) cells"


def _take_turn() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.report_cells'))"))
        # The counting statements are long (constant arrays, CASEs) and costed high: PostgreSQL's
        # JIT spent seconds compiling them for a run of about one.  Off for this transaction only;
        # and memory enough to group a month's leads without sorting them on disk.
        db.session.execute(sa.text("SET LOCAL jit = off"))
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))


def _drop_days(days: set[int]) -> None:
    if days:
        db.session.execute(sa.delete(ReportCell).where(ReportCell.day.in_(days)))
        db.session.execute(sa.delete(ReportSealedDay).where(ReportSealedDay.day.in_(days)))


def _drop_changed(calendar: ClinicCalendar, key: str) -> None:
    """Drop the cells of the days whose leads changed and of the days counted with another calendar."""
    # A write first: on SQLite it makes this transaction the writer before anything is read.
    arrivals = db.session.scalars(sa.delete(ReportDirty).returning(ReportDirty.created_at)).all()
    changed = {day_number(calendar.local(t).date()) for t in set(arrivals)}
    other = db.session.scalars(sa.select(ReportSealedDay.day).where(ReportSealedDay.calendar_key != key))
    _drop_days(changed | set(other))


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
            statements: CellStatements) -> Refreshed:
    """Store the cells of every ended day of first…last that is not stored yet; commit."""
    upto = min(last, calendar.local(now).date() - timedelta(days=1))
    if upto < first:
        return Refreshed(None)
    key = calendar_key(calendar)
    try:
        _take_turn()
        _drop_changed(calendar, key)
        lo, hi = day_number(first), day_number(upto)
        stored = set(db.session.scalars(
            sa.select(ReportSealedDay.day).where(ReportSealedDay.day.between(lo, hi))))
        missing = [n for n in range(lo, hi + 1) if n not in stored]
        for a, b in _runs(missing):
            for sql, params in statements(EPOCH_DAY + timedelta(days=a), EPOCH_DAY + timedelta(days=b)):
                db.session.execute(sa.text(sql), params)
        if missing:
            db.session.execute(sa.insert(ReportSealedDay),
                               [{"day": n, "calendar_key": key, "sealed_at": now} for n in missing])
        if len(missing) >= ANALYZE_AFTER_DAYS:
            # Fresh statistics, or the planner takes a table just filled for empty and sorts
            # the cells on disk where a hash would do (measured: 490 ms against 130 ms a year).
            db.session.execute(sa.text("ANALYZE report_cells"))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("report cells not stored; the report counts every day on the spot", exc_info=True)
        return Refreshed(None)
    return Refreshed(upto, len(missing))
