"""The manager's reports (DESIGN.md §1.6): a few GROUP BY queries over figures stored on the leads.

A report covers the leads that arrived on a range of clinic dates, leaving out
spam and test leads (both are `excluded`; spam also has close_reason 'spam').
What a report groups by and counts is stored on the lead when it happens
(leads/services/report_facts.py): the clinic-local arrival date and hour, the
business minutes to the first call, whether a visit was booked and whether one
was attended; each call carries its lead's arrival date.  So every table of
the page is one SQLAlchemy Core query here, counting and summing in the
database over the range's leads, or over their calls (less those of the few
leads left out), never joining every lead to its appointments or calls:

- `_segments`: leads by source, UTM pair and attempts bucket (the totals, the
  attempts per lead and the source and campaign tables are sums of its rows);
- `_arrivals`: leads by arrival date and hour (the days and the weekday × hour table);
- `_first_calls`: called leads by business minutes to the first call (median,
  p90 and the share within the SLA, from the counts of each value);
- `_calls`: the calls to the range's leads by operator and outcome.

A new table is one more query function and one more field of `Report`.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app

from leads.domain.calendar import ClinicCalendar
from leads.extensions import db
from leads.models import LEFT_OUT_SQL, CallAttempt, Lead, User

MAX_RANGE_DAYS = 731  # two years, leap day included
ATTEMPT_BUCKETS = 7  # 0, 1, 2, 3, 4, 5, 6+


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


# -- the queries ---------------------------------------------------------------------------------


def counted_leads() -> list[Any]:
    """The leads every report counts: neither spam nor test leads (the others are the ones
    LEFT_OUT_SQL matches)."""
    return [sa.not_(Lead.excluded), sa.or_(Lead.close_reason.is_(None), Lead.close_reason != "spam")]


def _counted(first: date, last: date) -> list[Any]:
    """The leads a report counts that arrived from `first` to `last`."""
    return [Lead.arrival_day.between(first, last), *counted_leads()]


def _as_int(condition: Any) -> Any:
    return sa.case((condition, 1), else_=0)


def _funnel(first: date, last: date, *keys: Any) -> sa.Select:
    """The funnel counts (Counts' fields, and attempts) of the range's leads grouped by `keys`."""
    return (
        sa.select(
            *keys,
            sa.func.count().label("leads"),
            sa.func.sum(Lead.request_count).label("requests"),
            sa.func.sum(_as_int(Lead.reached)).label("reached"),
            sa.func.sum(_as_int(sa.or_(Lead.state == "booked", Lead.visit_booked))).label("booked"),
            sa.func.sum(_as_int(Lead.visit_attended)).label("attended"),
            sa.func.sum(Lead.attempts).label("attempts"),
        )
        .where(*_counted(first, last))
        .group_by(*keys)
    )


def _segments(first: date, last: date) -> Sequence[Any]:
    bucket = sa.case((Lead.attempts >= ATTEMPT_BUCKETS - 1, ATTEMPT_BUCKETS - 1), else_=Lead.attempts)
    keys = (Lead.source, Lead.utm_source, Lead.utm_campaign, bucket.label("bucket"))
    return db.session.execute(_funnel(first, last, *keys)).all()


def _arrivals(first: date, last: date) -> Sequence[Any]:
    return db.session.execute(_funnel(first, last, Lead.arrival_day, Lead.arrival_hour)).all()


def _first_calls(first: date, last: date) -> Sequence[Any]:
    return db.session.execute(
        sa.select(Lead.first_call_minutes, sa.func.count().label("leads"))
        .where(*_counted(first, last), Lead.first_call_minutes.is_not(None))
        .group_by(Lead.first_call_minutes)
        .order_by(Lead.first_call_minutes)
    ).all()


def _calls(first: date, last: date) -> Sequence[Any]:
    """The calls to the range's leads by operator and outcome.

    Read by the lead's arrival date stored on each call, leaving out the calls
    of the few leads every report leaves out (found through ix_leads_left_out):
    no join to every lead of the range.
    """
    left_out = sa.select(Lead.id).where(Lead.id == CallAttempt.lead_id, Lead.arrival_day.between(first, last),
                                        sa.text(LEFT_OUT_SQL))
    calls = (
        sa.select(
            CallAttempt.operator_id,
            CallAttempt.outcome,
            sa.func.count().label("calls"),
            sa.func.sum(_as_int(CallAttempt.reached)).label("reached"),
        )
        .where(CallAttempt.arrival_day.between(first, last), ~left_out.exists())
        .group_by(CallAttempt.operator_id, CallAttempt.outcome)
        .subquery()
    )
    return db.session.execute(
        sa.select(calls, User.display_name).outerjoin(User, User.id == calls.c.operator_id)
    ).all()


# -- the report ---------------------------------------------------------------------------------


def _counts(row: Any) -> Counts:
    return Counts(int(row.leads or 0), int(row.requests or 0), int(row.reached or 0), int(row.booked or 0),
                  int(row.attended or 0))


def _add(a: Counts, b: Counts) -> Counts:
    return Counts(a.leads + b.leads, a.requests + b.requests, a.reached + b.reached, a.booked + b.booked,
                  a.attended + b.attended)


def percentile(values: list[tuple[float, int]], q: float) -> float | None:
    """The `q` percentile (percentile_cont's definition) of values given as sorted (value, count) pairs.

    The value at 0-based position x = q·(n − 1) of the ordered values,
    interpolated linearly between positions ⌊x⌋ and ⌊x⌋ + 1.
    """
    n = sum(count for _, count in values)
    if n == 0:
        return None
    x = q * (n - 1)
    low = math.floor(x)

    def at(position: int) -> float:
        seen = 0
        for value, count in values:
            seen += count
            if seen > position:
                return value
        return values[-1][0]

    v0, v1 = at(low), at(min(low + 1, n - 1))
    return v0 + (v1 - v0) * (x - low)


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _by_leads(rows: dict[tuple[str, ...], Counts]) -> list[SegmentRow]:
    return sorted((SegmentRow(key, counts) for key, counts in rows.items()), key=lambda r: (-r.counts.leads, r.key))


def build_report(first: date, last: date) -> Report:
    """Every figure for the leads that arrived from `first` to `last` (clinic dates, inclusive).

    Raises ReportRangeError for a reversed or over-long range.
    """
    if last < first:
        raise ReportRangeError("the range ends before it starts")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ReportRangeError(f"the range is longer than {MAX_RANGE_DAYS} days")

    totals, attempts_total, buckets = Counts(), 0, [0] * ATTEMPT_BUCKETS
    sources: dict[tuple[str, ...], Counts] = defaultdict(Counts)
    campaigns: dict[tuple[str, ...], Counts] = defaultdict(Counts)
    for row in _segments(first, last):
        counts = _counts(row)
        totals = _add(totals, counts)
        attempts_total += int(row.attempts or 0)
        buckets[int(row.bucket)] += counts.leads
        sources[(row.source,)] = _add(sources[(row.source,)], counts)
        campaigns[(row.utm_source, row.utm_campaign)] = _add(campaigns[(row.utm_source, row.utm_campaign)], counts)

    days: dict[date, Counts] = defaultdict(Counts)
    heat: dict[tuple[int, int], int] = defaultdict(int)
    for row in _arrivals(first, last):
        days[row.arrival_day] = _add(days[row.arrival_day], _counts(row))
        heat[(row.arrival_day.weekday(), int(row.arrival_hour))] += int(row.leads)

    sla = current_app.config["CALLBACK_SLA_MINUTES"]
    minutes = [(float(row.first_call_minutes), int(row.leads)) for row in _first_calls(first, last)]
    called = sum(count for _, count in minutes)
    within = sum(count for value, count in minutes if value <= sla)

    outcomes: dict[str, tuple[int, int]] = {}
    operators: dict[int, OperatorRow] = {}
    for row in _calls(first, last):
        calls, reached = int(row.calls), int(row.reached or 0)
        seen = outcomes.get(row.outcome, (0, 0))
        outcomes[row.outcome] = (seen[0] + calls, seen[1] + reached)
        before = operators.get(row.operator_id) or OperatorRow(
            int(row.operator_id), row.display_name or f"#{row.operator_id}", 0, 0, 0
        )
        operators[row.operator_id] = OperatorRow(
            before.operator_id, before.name, before.calls + calls, before.reached + reached,
            before.booked + (calls if row.outcome == "booked" else 0),
        )

    return Report(
        first=first,
        last=last,
        totals=totals,
        first_call=FirstCall(called, totals.leads - called, _minutes(percentile(minutes, 0.5)),
                             _minutes(percentile(minutes, 0.9)), within, sla),
        attempts_total=attempts_total,
        attempts=tuple(buckets),
        outcomes=dict(sorted(outcomes.items(), key=lambda kv: (-kv[1][0], kv[0]))),
        operators=sorted(operators.values(), key=lambda r: (-r.calls, r.name)),
        sources=_by_leads(sources),
        campaigns=_by_leads(campaigns),
        days=dict(days),
        heat=dict(heat),
    )
