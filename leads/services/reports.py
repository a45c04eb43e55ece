"""The manager's reports (DESIGN.md §1.6), computed by the database.

A report covers the leads created in a range of clinic dates (from local
midnight to local midnight, so a zone with DST is handled), leaving out spam
and test leads (both are `excluded`; spam also has close_reason 'spam').
Every figure is an SQL aggregate, never computed from lead rows loaded into
Python:

1. each local day of arrivals is summed up as cells (report_sql.py): its
   leads counted under three kinds of key — (hour), (source, UTM pair,
   attempts bucket), business minutes to the first call — and its calls by
   (operator, outcome); a few hundred rows a day whatever the number of leads;
2. the cells of ended days are stored once and kept right by triggers
   (report_cells.py); the days not ended yet (today) are counted on the spot;
3. two statements add the cells up into every figure: the funnel, the splits
   by day, weekday × hour, source and campaign, the attempts buckets, the
   median and p90 (percentile_cont's definition, over the counts of each
   distinct value), and the calls by operator and by outcome.

Clinic-local time in SQL, the same on both databases, in integer
microseconds: an instant's local time is its UTC time plus the zone's offset,
the offset being a CASE over the few DST transitions of the period, computed
here from the zone.  The local day number is then `local // 86400e6`, the hour
follows by arithmetic.  Business minutes use a per-day table built from the
calendar: for each local day, its opening and closing instants and `base`, the
opening time of all earlier days minus the opening instant.  The opening time
since the table's start up to an instant t on day d is
`clamp(t, opens(d), closes(d)) + base(d)`, so the business minutes between two
instants are a difference of two lookups — on PostgreSQL subscripts of
constant arrays (no join), on SQLite joins to a VALUES table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from leads.domain.calendar import ClinicCalendar
from leads.extensions import db
from leads.models import Lead
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.report_cells import EPOCH_DAY, CellSelects, day_number, refresh
from leads.services.report_sql import (
    ATTEMPT_BUCKETS,
    Dialect,
    ReportDays,
    call_cells_sql,
    call_figures_sql,
    lead_cells_sql,
    lead_figures_sql,
)

MAX_RANGE_DAYS = 731  # two years, leap day included
# A first call comes after the lead's day; the business-day table reaches this far past "now".
DAYS_PAST_NOW = 2
# The scheduler keeps this many ended days stored: a year's report, and last year's month.
KEEP_STORED_DAYS = 400


class ReportRangeError(ValueError):
    """The date range cannot be reported (reversed, empty, too long)."""


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Funnel counts of a group of leads."""

    leads: int = 0
    requests: int = 0
    reached: int = 0
    booked: int = 0
    attended: int = 0


@dataclass(frozen=True)
class SegmentRow:
    """A source or a UTM source/campaign pair and its leads."""

    key: tuple[str, ...]
    counts: Counts


@dataclass(frozen=True)
class OperatorRow:
    """Calls made by one operator to the leads of the range."""

    operator_id: int
    name: str
    calls: int
    reached: int
    booked: int


@dataclass(frozen=True)
class FirstCall:
    """Time from arrival to the first call, in business minutes (called leads only)."""

    called: int
    not_called: int
    median: float | None
    p90: float | None
    within_sla: int
    sla_minutes: int


@dataclass(frozen=True)
class Report:
    """Every figure of the manager's report for one range of clinic dates."""

    first: date
    last: date
    totals: Counts
    first_call: FirstCall
    attempts_total: int
    attempts: tuple[int, ...]  # leads with 0, 1, … 5, 6+ attempts
    outcomes: dict[str, tuple[int, int]]  # outcome -> (calls, reached calls)
    operators: list[OperatorRow]
    sources: list[SegmentRow]
    campaigns: list[SegmentRow]
    days: dict[date, Counts]
    heat: dict[tuple[int, int], int] = field(default_factory=dict)  # (weekday, hour) -> leads


def period_bounds(calendar: ClinicCalendar, first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants of local midnight opening `first` and closing `last`."""
    since = datetime.combine(first, time(0), tzinfo=calendar.tz).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=calendar.tz).astimezone(UTC)
    return since, until


# -- SQL building blocks ------------------------------------------------------------------------


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def _offset_periods(calendar: ClinicCalendar, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """[(from UTC epoch, offset seconds)] covering [start, end): one row per DST period."""
    def offset(epoch: int) -> int:
        return int(datetime.fromtimestamp(epoch, calendar.tz).utcoffset().total_seconds())

    t, stop = _epoch(start), _epoch(end)
    periods = [(t, offset(t))]
    while t < stop:
        step = min(t + 86400, stop)
        if offset(step) != periods[-1][1]:
            lo, hi = t, step  # the offset changes in (lo, hi]: find the first second of the new one
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == periods[-1][1]:
                    lo = mid
                else:
                    hi = mid
            periods.append((hi, offset(hi)))
        t = step
    return periods


def _business_days(calendar: ClinicCalendar, first: date, last: date) -> list[tuple[int, int, int, int]]:
    """(day number, opens epoch, closes epoch, opening seconds of earlier days) per local day."""
    rows, cum, day = [], 0, first
    while day <= last:
        hours = calendar.opening_hours(day)
        opens, closes = (_epoch(hours[0]), _epoch(hours[1])) if hours else (0, 0)
        rows.append(((day - EPOCH_DAY).days, opens, closes, cum))
        cum += closes - opens
        day += timedelta(days=1)
    return rows


def _cell_selects(first: date, last: date, now: datetime,
                  calendar: ClinicCalendar) -> tuple[str, str, dict[str, Any]]:
    """The lead-cell and call-cell SELECTs of the days first…last, and their parameters."""
    since, until = period_bounds(calendar, first, last)
    # First calls happen after arrival, up to now: the tables reach from the range's first day to then.
    horizon = max(last, calendar.local(now).date()) + timedelta(days=DAYS_PAST_NOW)
    days = ReportDays(d := _dialect(), _business_days(calendar, first, horizon))
    periods = _offset_periods(calendar, since, period_bounds(calendar, horizon, horizon)[1])
    params = {"since": since.replace(tzinfo=None), "until": until.replace(tzinfo=None)}
    # The COUNT keeps the planner from its MIN/MAX shortcut (walk the primary key from one end
    # until a lead of the range turns up), which took 0.4 s for one day of a 1,000,000-lead year.
    ids = db.session.execute(sa.select(sa.func.min(Lead.id), sa.func.max(Lead.id), sa.func.count())
                             .where(Lead.created_at >= since, Lead.created_at < until)).one()
    params.update(id_lo=ids[0], id_hi=ids[1])
    return lead_cells_sql(d, days, periods), call_cells_sql(d, periods), params


def _dialect() -> Dialect:
    return Dialect(db.session.get_bind().dialect.name)


def _counting(now: datetime) -> CellSelects:
    def selects(first: date, last: date, calendar: ClinicCalendar) -> list[tuple[str, dict]]:
        leads_sql, calls_sql, params = _cell_selects(first, last, now, calendar)
        return [(leads_sql, params), (calls_sql, params)]

    return selects


# -- the report ---------------------------------------------------------------------------------


def _counts(row: Any) -> Counts:
    return Counts(int(row.leads or 0), int(row.requests or 0), int(row.reached or 0), int(row.booked or 0),
                  int(row.attended or 0))


def _minutes(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def store_report_cells(now: datetime) -> int:
    """Bring the stored cells of the last KEEP_STORED_DAYS ended days up to date; commits.

    Returns how many days were counted (changed, or not stored before).
    """
    calendar = clinic_calendar(now)
    yesterday = calendar.local(now).date() - timedelta(days=1)
    return refresh(yesterday - timedelta(days=KEEP_STORED_DAYS - 1), yesterday, calendar, now,
                   _counting(now)).counted


def build_report(first: date, last: date, now: datetime | None = None) -> Report:
    """Every figure for the leads created from `first` to `last` (clinic dates, inclusive).

    Raises ReportRangeError for a reversed or over-long range.
    """
    if last < first:
        raise ReportRangeError("the range ends before it starts")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ReportRangeError(f"the range is longer than {MAX_RANGE_DAYS} days")
    now = now or now_utc()
    calendar = clinic_calendar(now)
    stored_upto = refresh(first, last, calendar, now, _counting(now)).stored_upto
    params: dict[str, Any] = {"sla": current_app.config["CALLBACK_SLA_MINUTES"], "day0": day_number(first),
                              "day1": day_number(stored_upto) if stored_upto else day_number(first) - 1}
    live_leads = live_calls = None
    live_first = stored_upto + timedelta(days=1) if stored_upto else first
    if live_first <= last:  # the days not ended yet (or all, when nothing could be stored)
        live_leads, live_calls, live_params = _cell_selects(live_first, last, now, calendar)
        params.update(live_params)
        if db.session.get_bind().dialect.name == "postgresql":
            # See report_cells._take_turn: no JIT for these statements.
            db.session.execute(sa.text("SET LOCAL jit = off"))
    lead_sql, call_sql = lead_figures_sql(_dialect(), live_leads), call_figures_sql(live_calls)
    sla = params["sla"]

    totals, days, heat, sources, campaigns = Counts(), {}, {}, [], []
    called = within = attempts_total = 0
    buckets = [0] * ATTEMPT_BUCKETS
    p50 = p90 = None
    for row in db.session.execute(sa.text(lead_sql), params):
        if row.kind == "total":
            totals, attempts_total = _counts(row), int(row.attempts or 0)
        elif row.kind == "bucket":
            buckets[int(row.n1)] = int(row.leads)
        elif row.kind == "day":
            days[EPOCH_DAY + timedelta(days=int(row.n1))] = _counts(row)
        elif row.kind == "heat":
            heat[(int(row.n1), int(row.n2))] = int(row.leads)
        elif row.kind == "source":
            sources.append(SegmentRow((row.t1,), _counts(row)))
        elif row.kind == "campaign":
            campaigns.append(SegmentRow((row.t1, row.t2), _counts(row)))
        elif row.kind == "first_call":
            called, within = int(row.leads or 0), int(row.requests or 0)  # the columns reused
        else:
            p50, p90 = _minutes(row.p50), _minutes(row.p90)
    attempts = tuple(buckets)

    outcomes, operators = {}, []
    for row in db.session.execute(sa.text(call_sql), params):
        if row.kind == "operator":
            operators.append(OperatorRow(int(row.operator_id), row.name or f"#{row.operator_id}",
                                         int(row.calls), int(row.reached), int(row.booked)))
        else:
            outcomes[row.outcome] = (int(row.calls), int(row.reached))

    def by_leads(rows: list[SegmentRow]) -> list[SegmentRow]:
        return sorted(rows, key=lambda r: (-r.counts.leads, r.key))

    return Report(
        first=first,
        last=last,
        totals=totals,
        first_call=FirstCall(called, totals.leads - called, p50, p90, within, sla),
        attempts_total=attempts_total,
        attempts=attempts,
        outcomes=dict(sorted(outcomes.items(), key=lambda kv: (-kv[1][0], kv[0]))),
        operators=sorted(operators, key=lambda r: (-r.calls, r.name)),
        sources=by_leads(sources),
        campaigns=by_leads(campaigns),
        days=days,
        heat=heat,
    )
