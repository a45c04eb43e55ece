"""The SQL of the manager's report (see leads/services/reports.py for what it computes and why).

Statement builders only.  `lead_cells_sql` and `call_cells_sql` count the leads created in
[:since, :until) per local day (the cells that report_cells stores); `lead_figures_sql` and
`call_figures_sql` add up stored cells of the days :day0 … :day1 and, optionally, cells
computed on the spot for the leads of [:since, :until), into every figure of the page (:sla).
"""
from __future__ import annotations

from dataclasses import dataclass

ATTEMPT_BUCKETS = 7  # 0, 1, 2, 3, 4, 5, 6+


@dataclass(frozen=True)
class Dialect:
    """The few expressions that differ between PostgreSQL and SQLite."""

    name: str

    def micros(self, column: str) -> str:
        """Microseconds since 1970 of a naive-UTC timestamp column, as an integer.

        PostgreSQL's epoch (a double) is within a fraction of a microsecond of the exact value,
        which the cast rounds back to; SQLite's julianday() keeps milliseconds.
        """
        if self.name == "postgresql":
            return f"CAST(date_part('epoch', {column}) * 1000000 AS BIGINT)"
        return f"(CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER) * 1000)"

    def clamp(self, expr: str, low: str, high: str) -> str:
        """`expr` limited to [low, high]."""
        if self.name == "postgresql":
            return f"LEAST(GREATEST({expr}, {low}), {high})"
        return f"MIN(MAX({expr}, {low}), {high})"

    def fence(self) -> str:
        """Ends a subquery so that it is computed once per row, not inlined into each use."""
        return "OFFSET 0" if self.name == "postgresql" else "LIMIT -1 OFFSET 0"


LEAD_FILTER = (
    "l.created_at >= :since AND l.created_at < :until "
    "AND NOT l.excluded AND (l.close_reason IS NULL OR l.close_reason <> 'spam')"
)


def lead_ids(column: str) -> str:
    """`column` (a lead id) within :id_lo … :id_hi, the lowest and highest id of the leads of
    [:since, :until).  Implied by the join to those leads, so the figures do not depend on it;
    but leads get their ids as they arrive, so the calls and appointments of a few days are
    one short range of the lead_id indexes, not a scan of every call."""
    return f"{column} BETWEEN :id_lo AND :id_hi"


US_DAY, US_HOUR, US_CENTIMINUTE = 86_400_000_000, 3_600_000_000, 600_000


class ReportDays:
    """The business-day table of a report, and how an instant finds its day in it.

    For each local day: its opening and closing instants and `base` = the opening time of all
    earlier days minus the opening instant (microseconds), so that the opening time from the
    table's start up to an instant t of that day is `clamp(t, opens, closes) + base`
    (a closed day opens and closes at 0).  PostgreSQL: three constant arrays indexed by
    (local day number − first day number + 1), a constant-time subscript and no join (an index
    outside the table gives NULL, as an unmatched outer join would).  SQLite: a VALUES table
    joined on the day number.
    """

    def __init__(self, d: Dialect, rows: list[tuple[int, int, int, int]]):
        self.d, self.base = d, rows[0][0]
        self.rows = [(n, o * 10**6, c * 10**6, cum * 10**6 - o * 10**6) for n, o, c, cum in rows]

    def with_clause(self) -> str:
        """The WITH clause the SQLite form needs (empty on PostgreSQL)."""
        if self.d.name == "postgresql":
            return ""
        values = ", ".join(f"({n}, {o}, {c}, {base})" for n, o, c, base in self.rows)
        return f"WITH days(daynum, opens, closes, base) AS (VALUES {values})"

    def joins(self, days: dict[str, str]) -> str:
        """LEFT JOINs of the day table as alias -> day-number expression (SQLite only)."""
        if self.d.name == "postgresql":
            return ""
        return " ".join(f"LEFT JOIN days {a} ON {a}.daynum = {expr}" for a, expr in days.items())

    def opened(self, alias: str, day: str, micros: str) -> str:
        """Opening microseconds from the table's start to the instant `micros` of local day `day`."""
        if self.d.name == "postgresql":
            k = f"({day} - {self.base - 1})"

            def at(i: int) -> str:
                return "('{" + ",".join(str(r[i]) for r in self.rows) + "}'::int8[])" + f"[{k}]"

            return f"({self.d.clamp(micros, at(1), at(2))} + {at(3)})"
        return f"({self.d.clamp(micros, f'{alias}.opens', f'{alias}.closes')} + {alias}.base)"


def _offset_sql(periods: list[tuple[int, int]], micros_sql: str) -> str:
    """The zone offset (microseconds) at `micros_sql`, as a CASE over the DST periods."""
    if len(periods) == 1:
        return str(periods[0][1] * 10**6)
    whens = " ".join(f"WHEN {micros_sql} < {nxt * 10**6} THEN {off * 10**6}"
                     for (_, off), (nxt, _) in zip(periods, periods[1:]))
    return f"(CASE {whens} ELSE {periods[-1][1] * 10**6} END)"


def _facts_sql(d: Dialect, days: ReportDays, periods: list[tuple[int, int]]) -> str:
    """One row per lead of the range: its funnel flags, local day and hour, business minutes.

    Local day and hour are integer divisions of the local microseconds (instants after 1970).
    `bm` is the business time to the first call in hundredths of a minute, rounded half up
    (ROUND(minutes, 2) done in exact integers: business time never runs backwards, so it is
    not negative); NULL for a lead never called.  On PostgreSQL the steps are LATERAL VALUES
    rows, which the planner inlines; fencing them with OFFSET 0 (to compute each step once)
    was measured: it stops the parallel scan and was no faster on a year of history.
    """
    ce, fe = d.micros("l.created_at"), d.micros("l.first_attempt_at")
    local = {"cle": f"{ce} + {_offset_sql(periods, ce)}", "fle": f"{fe} + {_offset_sql(periods, fe)}"}
    business = f"{days.opened('df', 'f.fday', 'f.fe')} - {days.opened('dc', 'f.cday', 'f.ce')}"
    bm = f"CAST(FLOOR(({business} + {US_CENTIMINUTE // 2}) / {US_CENTIMINUTE}.0) AS INTEGER)"
    if d.name != "postgresql":
        bm = f"(({business}) + {US_CENTIMINUTE // 2}) / {US_CENTIMINUTE}"
    lead = """l.request_count, l.attempts, l.source, l.utm_source, l.utm_campaign,
               CASE WHEN l.reached THEN 1 ELSE 0 END AS reached,
               CASE WHEN l.state = 'booked' OR ap.lead_id IS NOT NULL THEN 1 ELSE 0 END AS booked,
               COALESCE(ap.attended, 0) AS attended"""
    # The appointments of the range's leads only: a day's recount must not read every appointment.
    source = f"""leads l
        LEFT JOIN (SELECT a.lead_id, MAX(CASE WHEN a.status = 'attended' THEN 1 ELSE 0 END) AS attended
                   FROM appointments a JOIN leads l ON l.id = a.lead_id
                   WHERE {LEAD_FILTER} AND {lead_ids('a.lead_id')}
                   GROUP BY a.lead_id) ap ON ap.lead_id = l.id"""
    if d.name == "postgresql":
        return f"""
            SELECT {lead}, f.cday, f.hour, CASE WHEN f.fe IS NULL THEN NULL ELSE {bm} END AS bm
            FROM {source}
            CROSS JOIN LATERAL (VALUES ({ce}, {fe})) e(ce, fe)
            CROSS JOIN LATERAL (VALUES ({local['cle'].replace(ce, 'e.ce')},
                                        {local['fle'].replace(fe, 'e.fe')})) t(cle, fle)
            CROSS JOIN LATERAL (VALUES (e.ce, e.fe, t.cle / {US_DAY}, t.fle / {US_DAY},
                                        t.cle % {US_DAY} / {US_HOUR})) f(ce, fe, cday, fday, hour)
            WHERE {LEAD_FILTER}"""
    inner = f"""
        SELECT {lead}, {ce} AS ce, {local['cle']} AS cle, {fe} AS fe, {local['fle']} AS fle
        FROM {source}
        WHERE {LEAD_FILTER}"""
    return f"""
        SELECT f.request_count, f.attempts, f.source, f.utm_source, f.utm_campaign,
               f.reached, f.booked, f.attended, f.cday, f.hour,
               CASE WHEN f.fe IS NULL THEN NULL ELSE {bm} END AS bm
        FROM (SELECT i.*, i.cle / {US_DAY} AS cday, i.fle / {US_DAY} AS fday, i.cle % {US_DAY} / {US_HOUR} AS hour
              FROM ({inner}) i {d.fence()}) f
        {days.joins({'dc': 'f.cday', 'df': 'f.fday'})}"""


CELL_COLUMNS = (
    "kind", "day", "hour", "source", "utm_source", "utm_campaign", "bucket", "bm",
    "leads", "requests", "reached", "booked", "attended", "attempts", "operator_id", "outcome", "calls",
)
LEAD_KINDS, CALL_KIND = "1, 2, 3", 4


def lead_cells_sql(d: Dialect, days: ReportDays, periods: list[tuple[int, int]]) -> str:
    """The lead cells of every local day of [:since, :until), from one pass over its leads.

    Each lead is counted three times, under three kinds of key, in one aggregation:
    1 = (day, hour), 2 = (day, source, UTM pair, attempts bucket), 3 = (day, business minutes
    to the first call).  That is a few hundred groups a day whatever the number of leads;
    every figure of the report is a sum over the cells of one kind.  The columns are those
    of CELL_COLUMNS, in that order.
    """
    facts = _facts_sql(d, days, periods)
    bucket = f"CASE WHEN f.attempts >= {ATTEMPT_BUCKETS - 1} THEN {ATTEMPT_BUCKETS - 1} ELSE f.attempts END"
    no_calls = "CAST(NULL AS INTEGER) AS operator_id, CAST(NULL AS VARCHAR) AS outcome, CAST(NULL AS INTEGER) AS calls"

    def when(kinds: str, expr: str) -> str:
        return f"CASE WHEN k.kind IN ({kinds}) THEN {expr} END"

    if d.name == "postgresql":  # one hashed pass, three grouping sets
        return f"""
            SELECT CASE WHEN GROUPING(hour) = 0 THEN 1 WHEN GROUPING(source) = 0 THEN 2 ELSE 3 END AS kind,
                   cday AS day, hour, source, utm_source, utm_campaign, bucket, bm,
                   COUNT(*) AS leads, SUM(request_count) AS requests, SUM(reached) AS reached,
                   SUM(booked) AS booked, SUM(attended) AS attended, SUM(attempts) AS attempts, {no_calls}
            FROM (SELECT f.*, {bucket} AS bucket FROM ({facts}) f) f
            GROUP BY GROUPING SETS ((cday, hour), (cday, source, utm_source, utm_campaign, bucket), (cday, bm))"""
    # no GROUPING SETS: each lead thrice, once per kind of key
    return f"""{days.with_clause()}
        SELECT k.kind, f.cday AS day, {when('1', 'f.hour')} AS hour,
               {when('2', 'f.source')} AS source, {when('2', 'f.utm_source')} AS utm_source,
               {when('2', 'f.utm_campaign')} AS utm_campaign, {when('2', bucket)} AS bucket,
               {when('3', 'f.bm')} AS bm,
               COUNT(*) AS leads, SUM(f.request_count) AS requests, SUM(f.reached) AS reached,
               SUM(f.booked) AS booked, SUM(f.attended) AS attended, SUM(f.attempts) AS attempts, {no_calls}
        FROM ({facts}) f CROSS JOIN (SELECT 1 AS kind UNION ALL SELECT 2 UNION ALL SELECT 3) k
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""


def call_cells_sql(d: Dialect, periods: list[tuple[int, int]]) -> str:
    """The call cells of every local day of [:since, :until): (day of the lead's arrival,
    operator, outcome) -> calls and reached calls, for the calls to the leads of those days."""
    ce = d.micros("l.created_at")
    day = f"({ce} + {_offset_sql(periods, ce)}) / {US_DAY}"
    i, t = "CAST(NULL AS INTEGER)", "CAST(NULL AS VARCHAR)"
    return f"""
        SELECT {CALL_KIND} AS kind, {day} AS day, {i} AS hour, {t} AS source, {t} AS utm_source,
               {t} AS utm_campaign, {i} AS bucket, {i} AS bm, {i} AS leads, {i} AS requests,
               SUM(CASE WHEN c.reached THEN 1 ELSE 0 END) AS reached, {i} AS booked, {i} AS attended,
               {i} AS attempts, c.operator_id, c.outcome, COUNT(*) AS calls
        FROM call_attempts c JOIN leads l ON l.id = c.lead_id
        WHERE {LEAD_FILTER} AND {lead_ids('c.lead_id')}
        GROUP BY {day}, c.operator_id, c.outcome"""


def stored_cells_sql(kinds: str) -> str:
    """The stored cells of the days :day0 … :day1 of the given kinds."""
    return f"SELECT {', '.join(CELL_COLUMNS)} FROM report_cells WHERE kind IN ({kinds}) AND day BETWEEN :day0 AND :day1"


def lead_figures_sql(d: Dialect, live: str | None) -> str:
    """Every lead figure and the first-call percentiles, as sums over the cells.

    The cells are the stored ones of :day0 … :day1 and, when `live` (lead_cells_sql) is given,
    those computed on the spot for [:since, :until).  The
    percentiles follow percentile_cont: the value at 0-based position x = q·(n − 1) of the
    ordered values, interpolated linearly between positions ⌊x⌋ and ⌊x⌋ + 1; the value at
    position p is the smallest whose running count exceeds p.
    """
    real = "DOUBLE PRECISION" if d.name == "postgresql" else "REAL"
    cells = stored_cells_sql(LEAD_KINDS) + (f" UNION ALL SELECT * FROM ({live}) live" if live is not None else "")
    # Only the day-and-hour cells need their day: the others are added up over the days first.
    keys = "CASE WHEN kind = 1 THEN day END AS day, hour, source, utm_source, utm_campaign, bucket, bm"
    counts = "SUM(leads), SUM(requests), SUM(reached), SUM(booked), SUM(attended)"
    nulls = "NULL, NULL, NULL, NULL"
    named = ", ".join(f"SUM({c}) AS {c}" for c in ("leads", "requests", "reached", "booked", "attended"))
    interpolated = "v0 + (COALESCE(v1, v0) - v0) * (x - lo)"
    value = f"CAST(bm AS {real}) / 100"
    # ⌊x⌋ (x >= 0): PostgreSQL's cast rounds, SQLite's truncates.
    lo = "CAST(FLOOR(p.x) AS INTEGER)" if d.name == "postgresql" else "CAST(p.x AS INTEGER)"
    return f"""
        WITH m AS MATERIALIZED (
            SELECT kind, {keys}, SUM(leads) AS leads, SUM(requests) AS requests, SUM(reached) AS reached,
                   SUM(booked) AS booked, SUM(attended) AS attended, SUM(attempts) AS attempts
            FROM ({cells}) c
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8),
        b AS MATERIALIZED (SELECT bm, leads FROM m WHERE kind = 3 AND bm IS NOT NULL),
        r AS (SELECT {value} AS v, SUM(leads) OVER (ORDER BY bm) AS upto FROM b),
        p AS MATERIALIZED (SELECT q.q, CAST(n.n - 1 AS {real}) * q.q AS x
              FROM (SELECT CAST(0.5 AS {real}) AS q UNION ALL SELECT CAST(0.9 AS {real})) q,
                   (SELECT SUM(leads) AS n FROM b) n
              WHERE n.n > 0),
        v AS (SELECT p.q, p.x, {lo} AS lo, MIN(CASE WHEN r.upto > {lo} THEN r.v END) AS v0,
                     MIN(CASE WHEN r.upto > {lo} + 1 THEN r.v END) AS v1
              FROM p, r GROUP BY p.q, p.x)
        SELECT 'total' AS kind, CAST(NULL AS INTEGER) AS n1, CAST(NULL AS INTEGER) AS n2,
               CAST(NULL AS VARCHAR) AS t1, CAST(NULL AS VARCHAR) AS t2, {named},
               SUM(attempts) AS attempts, CAST(NULL AS {real}) AS p50, CAST(NULL AS {real}) AS p90
        FROM m WHERE kind = 2
        UNION ALL
        SELECT 'bucket', bucket, NULL, NULL, NULL, SUM(leads), {nulls}, NULL, NULL, NULL FROM m WHERE kind = 2
        GROUP BY bucket
        UNION ALL
        SELECT 'source', NULL, NULL, source, NULL, {counts}, NULL, NULL, NULL FROM m WHERE kind = 2 GROUP BY source
        UNION ALL
        SELECT 'campaign', NULL, NULL, utm_source, utm_campaign, {counts}, NULL, NULL, NULL FROM m WHERE kind = 2
        GROUP BY utm_source, utm_campaign
        UNION ALL
        SELECT 'day', day, NULL, NULL, NULL, {counts}, NULL, NULL, NULL FROM m WHERE kind = 1 GROUP BY day
        UNION ALL
        SELECT 'heat', (day + 3) % 7, hour, NULL, NULL, SUM(leads), {nulls}, NULL, NULL, NULL FROM m WHERE kind = 1
        GROUP BY (day + 3) % 7, hour
        UNION ALL
        SELECT 'first_call', NULL, NULL, NULL, NULL, SUM(CASE WHEN bm IS NOT NULL THEN leads END),
               SUM(CASE WHEN bm <= :sla * 100 THEN leads END), NULL, NULL, NULL, NULL, NULL, NULL
        FROM m WHERE kind = 3
        UNION ALL
        SELECT 'percentiles', NULL, NULL, NULL, NULL, {nulls}, NULL, NULL,
               MAX(CASE WHEN q = 0.5 THEN {interpolated} END), MAX(CASE WHEN q = 0.9 THEN {interpolated} END)
        FROM v"""


def call_figures_sql(live: str | None) -> str:
    """Calls by operator and by outcome, as sums over the stored call cells of :day0 … :day1
    and, when `live` (call_cells_sql) is given, the cells of [:since, :until) computed on the spot."""
    cells = stored_cells_sql(str(CALL_KIND)) + (f" UNION ALL SELECT * FROM ({live}) live" if live is not None else "")
    return f"""
        WITH g AS MATERIALIZED (
            SELECT operator_id, outcome, SUM(calls) AS calls, SUM(reached) AS reached
            FROM ({cells}) c
            GROUP BY operator_id, outcome)
        SELECT 'operator' AS kind, g.operator_id, u.display_name AS name, NULL AS outcome,
               SUM(g.calls) AS calls, SUM(g.reached) AS reached,
               SUM(CASE WHEN g.outcome = 'booked' THEN g.calls ELSE 0 END) AS booked
        FROM g LEFT JOIN users u ON u.id = g.operator_id
        GROUP BY g.operator_id, u.display_name
        UNION ALL
        SELECT 'outcome', NULL, NULL, g.outcome, SUM(g.calls), SUM(g.reached), NULL
        FROM g GROUP BY g.outcome"""
