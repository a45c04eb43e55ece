"""The manager's reports (DESIGN.md §1.6), computed by the database.

A report covers the leads created in a range of clinic dates (from local
midnight to local midnight, so a zone with DST is handled), leaving out spam
and test leads (both are `excluded`; spam also has close_reason 'spam').
Every figure is an SQL aggregate; the page runs three statements whatever the
range, never one per row, and never loads lead rows into Python:

1. lead figures, grouped at once by nothing (the funnel), by day, by weekday
   and hour of arrival, by source and by utm_source/utm_campaign
   (PostgreSQL: GROUPING SETS, one pass; SQLite: UNION ALL over a
   materialised CTE);
2. the median and p90 of the time to the first call, in business minutes
   (PostgreSQL: percentile_cont; SQLite: ROW_NUMBER/COUNT interpolation, the
   same definition);
3. call figures by operator and by outcome.

Clinic-local time in SQL, the same on both databases: an instant's local
epoch is its UTC epoch plus the zone's offset, the offset being a CASE over
the few DST transitions of the period, computed here from the zone.  The local
day number is then `local_epoch // 86400`, the weekday and hour follow by
arithmetic.  Business minutes use a per-day VALUES table built from the
calendar: for each local day, its opening and closing epochs and the opening
seconds of all earlier days (`cum`).  The opening seconds since the table's
start up to an instant t on day d are
`cum(d) + clamp(t - opens(d), 0, closes(d) - opens(d))`, so the business
minutes between two instants are a difference of two equi-joined lookups.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from leads.domain.calendar import ClinicCalendar
from leads.extensions import db
from leads.services.clinic import clinic_calendar, now_utc

EPOCH_DAY = date(1970, 1, 1)  # a Thursday: weekday = (day number + 3) % 7, Monday = 0
ATTEMPT_BUCKETS = 7  # 0, 1, 2, 3, 4, 5, 6+
MAX_RANGE_DAYS = 731  # two years, leap day included
# A first call comes after the lead's day; the business-day table reaches this far past "now".
DAYS_PAST_NOW = 2


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


def _offset_sql(periods: list[tuple[int, int]], epoch_sql: str) -> str:
    """The zone offset (seconds) at `epoch_sql`, as a CASE over the DST periods."""
    if len(periods) == 1:
        return str(periods[0][1])
    whens = " ".join(f"WHEN {epoch_sql} < {nxt} THEN {off}" for (_, off), (nxt, _) in zip(periods, periods[1:]))
    return f"(CASE {whens} ELSE {periods[-1][1]} END)"


def _business_days_sql(calendar: ClinicCalendar, first: date, last: date) -> str:
    """VALUES (day number, opens epoch, closes epoch, opening seconds of earlier days) per local day."""
    rows, cum, day = [], 0, first
    while day <= last:
        hours = calendar.opening_hours(day)
        opens, closes = (_epoch(hours[0]), _epoch(hours[1])) if hours else (0, 0)
        rows.append(f"({(day - EPOCH_DAY).days}, {opens}, {closes}, {cum})")
        cum += closes - opens
        day += timedelta(days=1)
    return "VALUES " + ", ".join(rows)


@dataclass(frozen=True)
class _Dialect:
    """The few expressions that differ between PostgreSQL and SQLite."""

    name: str

    def epoch(self, column: str) -> str:
        """Seconds since 1970 of a naive-UTC timestamp column (milliseconds kept)."""
        if self.name == "postgresql":
            return f"date_part('epoch', {column})"
        # julianday() keeps milliseconds; rounding removes the binary fraction noise.
        return f"ROUND((julianday({column}) - 2440587.5) * 86400.0, 3)"

    def floor_div(self, expr: str, divisor: int) -> str:
        if self.name == "postgresql":
            return f"CAST(FLOOR(({expr}) / {divisor}) AS INTEGER)"
        return f"CAST(({expr}) / {divisor} AS INTEGER)"  # truncation = floor for instants after 1970

    def clamp(self, expr: str, high: str) -> str:
        """`expr` limited to [0, high]."""
        if self.name == "postgresql":
            return f"LEAST(GREATEST({expr}, 0), {high})"
        return f"MIN(MAX({expr}, 0), {high})"

    @property
    def materialized(self) -> str:
        return "MATERIALIZED"


LEAD_FILTER = (
    "l.created_at >= :since AND l.created_at < :until "
    "AND NOT l.excluded AND (l.close_reason IS NULL OR l.close_reason <> 'spam')"
)


def _facts_sql(d: _Dialect, periods: list[tuple[int, int]], with_appointments: bool) -> str:
    """One row per lead of the range: its funnel flags, local day/weekday/hour, business minutes."""
    ce, fe = d.epoch("l.created_at"), d.epoch("l.first_attempt_at")
    appointments = (
        "LEFT JOIN (SELECT lead_id, MAX(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) AS attended "
        "FROM appointments GROUP BY lead_id) ap ON ap.lead_id = l.id"
        if with_appointments
        else ""
    )
    booked = (
        "CASE WHEN l.state = 'booked' OR ap.lead_id IS NOT NULL THEN 1 ELSE 0 END" if with_appointments else "0"
    )
    attended = "COALESCE(ap.attended, 0)" if with_appointments else "0"
    inner = f"""
        SELECT l.request_count, l.attempts, l.source, l.utm_source, l.utm_campaign,
               CASE WHEN l.reached THEN 1 ELSE 0 END AS reached,
               {booked} AS booked, {attended} AS attended,
               {ce} AS ce, {ce} + {_offset_sql(periods, ce)} AS cle,
               {fe} AS fe, {fe} + {_offset_sql(periods, fe)} AS fle
        FROM leads l {appointments}
        WHERE {LEAD_FILTER}"""
    cday = d.floor_div("f.cle", 86400)
    opened = "({t}.cum + " + d.clamp("{e} - {t}.open_e", "{t}.close_e - {t}.open_e") + ")"
    minutes = (
        f"CASE WHEN f.fe IS NULL THEN NULL ELSE ROUND(CAST(("
        f"{opened.format(t='df', e='f.fe')} - {opened.format(t='dc', e='f.ce')}) / 60.0 AS NUMERIC), 2) END"
    )
    return f"""
        SELECT f.request_count, f.attempts, f.source, f.utm_source, f.utm_campaign,
               f.reached, f.booked, f.attended,
               {cday} AS cday,
               ({cday} + 3) % 7 AS weekday,
               {d.floor_div(f"f.cle - {cday} * 86400", 3600)} AS hour,
               {minutes} AS bm
        FROM ({inner}) f
        LEFT JOIN days dc ON dc.daynum = {cday}
        LEFT JOIN days df ON df.daynum = {d.floor_div("f.fle", 86400)}"""


# The groupings of the lead figures: name -> grouped columns.
GROUPINGS: dict[str, tuple[str, ...]] = {
    "total": (),
    "day": ("cday",),
    "heat": ("weekday", "hour"),
    "source": ("source",),
    "campaign": ("utm_source", "utm_campaign"),
}
GROUP_COLUMNS = ("cday", "weekday", "hour", "source", "utm_source", "utm_campaign")


def _grouping_mask(columns: tuple[str, ...]) -> int:
    """PostgreSQL's GROUPING(…) value of a grouping set (bit set = column not grouped)."""
    n = len(GROUP_COLUMNS)
    return sum(1 << (n - 1 - i) for i, c in enumerate(GROUP_COLUMNS) if c not in columns)


def _measures_sql() -> str:
    buckets = ", ".join(
        f"SUM(CASE WHEN attempts {'>=' if k == ATTEMPT_BUCKETS - 1 else '='} {k} THEN 1 ELSE 0 END) AS a{k}"
        for k in range(ATTEMPT_BUCKETS)
    )
    return (
        "COUNT(*) AS leads, SUM(request_count) AS requests, SUM(reached) AS reached, "
        "SUM(booked) AS booked, SUM(attended) AS attended, SUM(attempts) AS attempts, "
        f"{buckets}, COUNT(bm) AS called, SUM(CASE WHEN bm <= :sla THEN 1 ELSE 0 END) AS within_sla"
    )


def _lead_figures_sql(d: _Dialect, days_sql: str, periods: list[tuple[int, int]]) -> str:
    facts = _facts_sql(d, periods, with_appointments=True)
    if d.name == "postgresql":
        sets = ", ".join("(" + ", ".join(cols) + ")" for cols in GROUPINGS.values())
        return f"""
            WITH days(daynum, open_e, close_e, cum) AS ({days_sql})
            SELECT GROUPING({", ".join(GROUP_COLUMNS)}) AS g, {", ".join(GROUP_COLUMNS)}, {_measures_sql()}
            FROM ({facts}) x
            GROUP BY GROUPING SETS ({sets})"""
    selects = []
    for cols in GROUPINGS.values():
        keys = ", ".join(c if c in cols else f"NULL AS {c}" for c in GROUP_COLUMNS)
        group_by = f" GROUP BY {', '.join(cols)}" if cols else ""
        selects.append(f"SELECT {_grouping_mask(cols)} AS g, {keys}, {_measures_sql()} FROM facts{group_by}")
    return f"""
        WITH days(daynum, open_e, close_e, cum) AS ({days_sql}),
             facts AS {d.materialized} ({facts})
        """ + " UNION ALL ".join(selects)


def _percentiles_sql(d: _Dialect, days_sql: str, periods: list[tuple[int, int]]) -> str:
    facts = _facts_sql(d, periods, with_appointments=False)
    head = f"WITH days(daynum, open_e, close_e, cum) AS ({days_sql}), facts AS ({facts})"
    if d.name == "postgresql":
        return f"""{head}
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY bm) AS p50,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY bm) AS p90
            FROM facts WHERE bm IS NOT NULL"""
    # percentile_cont's definition: the value at 0-based position q·(n − 1) of the
    # ordered values, interpolated linearly between its two neighbours.
    value_at = "MAX(CASE WHEN r.rn = {pos} THEN r.bm END)"
    lo = "CAST(p.x AS INTEGER)"
    low, high = value_at.format(pos=lo), value_at.format(pos=f"{lo} + 1")
    return f"""{head},
        ranked AS (SELECT bm, ROW_NUMBER() OVER (ORDER BY bm) - 1 AS rn FROM facts WHERE bm IS NOT NULL),
        positions AS (
            SELECT q.q, (n.n - 1) * q.q AS x
            FROM (SELECT 0.5 AS q UNION ALL SELECT 0.9) q, (SELECT COUNT(*) AS n FROM ranked) n
            WHERE n.n > 0)
        SELECT MAX(CASE WHEN q = 0.5 THEN v END) AS p50, MAX(CASE WHEN q = 0.9 THEN v END) AS p90
        FROM (
            SELECT p.q, {low} + (p.x - {lo}) * (COALESCE({high}, {low}) - {low}) AS v
            FROM positions p, ranked r
            WHERE r.rn IN ({lo}, {lo} + 1)
            GROUP BY p.q, p.x) t"""


def _call_figures_sql(d: _Dialect) -> str:
    return f"""
        WITH g AS {d.materialized} (
            SELECT c.operator_id, c.outcome, COUNT(*) AS calls,
                   SUM(CASE WHEN c.reached THEN 1 ELSE 0 END) AS reached
            FROM call_attempts c JOIN leads l ON l.id = c.lead_id
            WHERE {LEAD_FILTER}
            GROUP BY c.operator_id, c.outcome)
        SELECT 'operator' AS kind, g.operator_id, u.display_name AS name, NULL AS outcome,
               SUM(g.calls) AS calls, SUM(g.reached) AS reached,
               SUM(CASE WHEN g.outcome = 'booked' THEN g.calls ELSE 0 END) AS booked
        FROM g LEFT JOIN users u ON u.id = g.operator_id
        GROUP BY g.operator_id, u.display_name
        UNION ALL
        SELECT 'outcome', NULL, NULL, g.outcome, SUM(g.calls), SUM(g.reached), NULL
        FROM g GROUP BY g.outcome"""


# -- the report ---------------------------------------------------------------------------------


def _counts(row: Any) -> Counts:
    return Counts(int(row.leads), int(row.requests or 0), int(row.reached or 0), int(row.booked or 0),
                  int(row.attended or 0))


def _minutes(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


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
    since, until = period_bounds(calendar, first, last)
    # First calls happen after arrival, up to now: the tables reach from the range's first day to then.
    horizon = max(last, calendar.local(now).date()) + timedelta(days=DAYS_PAST_NOW)
    days_sql = _business_days_sql(calendar, first, horizon)
    periods = _offset_periods(calendar, since, period_bounds(calendar, horizon, horizon)[1])
    d = _Dialect(db.session.get_bind().dialect.name)
    sla = current_app.config["CALLBACK_SLA_MINUTES"]
    params = {"since": since.replace(tzinfo=None), "until": until.replace(tzinfo=None), "sla": sla}

    totals, days, heat, sources, campaigns = Counts(), {}, {}, [], []
    called = within = attempts_total = 0
    attempts: tuple[int, ...] = (0,) * ATTEMPT_BUCKETS
    masks = {_grouping_mask(cols): name for name, cols in GROUPINGS.items()}
    for row in db.session.execute(sa.text(_lead_figures_sql(d, days_sql, periods)), params):
        kind, counts = masks[row.g], _counts(row)
        if kind == "total":
            totals, called, within = counts, int(row.called), int(row.within_sla or 0)
            attempts_total = int(row.attempts or 0)
            attempts = tuple(int(getattr(row, f"a{k}") or 0) for k in range(ATTEMPT_BUCKETS))
        elif kind == "day":
            days[EPOCH_DAY + timedelta(days=int(row.cday))] = counts
        elif kind == "heat":
            heat[(int(row.weekday), int(row.hour))] = counts.leads
        elif kind == "source":
            sources.append(SegmentRow((row.source,), counts))
        else:
            campaigns.append(SegmentRow((row.utm_source, row.utm_campaign), counts))

    p50 = p90 = None
    if called:
        pct = db.session.execute(sa.text(_percentiles_sql(d, days_sql, periods)), params).one()
        p50, p90 = _minutes(pct.p50), _minutes(pct.p90)

    outcomes, operators = {}, []
    for row in db.session.execute(sa.text(_call_figures_sql(d)), params):
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
