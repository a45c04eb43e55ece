"""The operators' queue: what to call next, and who holds which lead (DESIGN.md §1.4).

The order is defined in `leads.domain.queue`.  Here each tier is one indexed
probe (`ORDER BY … LIMIT n` on a small partial index of open leads, see
`leads.models._queue_indexes`), so taking the next lead costs a few short
index scans however long the history grows — never one sort of every open
lead by a CASE expression.

Taking a lead is one atomic statement:

    UPDATE leads SET claimed_by_id = :me, claim_expires_at = :expires
    WHERE id = COALESCE((tier 1 probe), (tier 2 probe), …)   -- each LIMIT 1 [FOR UPDATE SKIP LOCKED]
      AND (the claim is still free) RETURNING id

COALESCE stops at the first tier that finds a lead, so later probes never run.
On PostgreSQL `SKIP LOCKED` lets concurrent operators pass over each other's
row.  SQLite ignores `SKIP LOCKED` silently, but an UPDATE takes SQLite's single
write lock before it reads, so its subqueries always see the latest claims; the
repeated claim check makes a lost race come back empty, never with a lead
someone else holds.

The statements are built once, with bind parameters, so that each call only
binds values: no SQL building, cache-key hashing or re-planning per request.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import TableClause

from leads.domain.calendar import ClinicCalendar
from leads.domain.outcomes import LeadState
from leads.domain.queue import QueueTier
from leads.extensions import db
from leads.models import OPEN_STATE_VALUES, Lead, LeadEvent, User
from leads.services.clinic import clinic_calendar, now_utc

__all__ = [
    "LeadClaimedByOther",
    "LeadNotFound",
    "LeadNotOpen",
    "QueueCounters",
    "QueueError",
    "QueueRow",
    "QueueView",
    "claim_lead",
    "queue_view",
    "release_lead",
    "take_next_lead",
]

# Rounds of take-next before giving up while leads still look callable: the
# statement comes back empty with leads left only when (PostgreSQL) the free
# rows were locked by someone else for a moment.
TAKE_ROUNDS = 3
# Rounds of read-then-conditional-update in claim/release before giving up.
CLAIM_ROUNDS = 3


class QueueError(Exception):
    """A queue operation was refused."""


class LeadNotFound(QueueError):
    """No lead has this id."""


class LeadNotOpen(QueueError):
    """The lead is booked or closed: nobody calls it from the queue any more."""


class LeadClaimedByOther(QueueError):
    """Another operator holds a live claim on the lead."""

    def __init__(self, holder_id: int, holder_name: str) -> None:
        super().__init__(f"lead is held by {holder_name}")
        self.holder_id = holder_id
        self.holder_name = holder_name


@dataclass(frozen=True)
class QueueRow:
    """One lead as the queue shows it."""

    lead_id: int
    name: str
    phone: str  # E.164
    state: str
    created_at: datetime
    next_call_at: datetime | None
    attempts: int
    last_outcome: str | None
    request_count: int
    claimed_by_id: int | None
    claim_expires_at: datetime | None
    callback_owner_id: int | None
    sla_due_at: datetime | None
    waiting_minutes: float  # business minutes since created_at


@dataclass(frozen=True)
class QueueCounters:
    """The numbers above the queue."""

    callable_now: int  # callable for this operator now (0 while the clinic is closed)
    new: int  # leads never called yet
    callbacks_due_today: int  # callbacks (anyone's) due on today's clinic date
    past_sla: int  # new leads not called by their SLA deadline


@dataclass(frozen=True)
class QueueView:
    """Everything the queue page shows one operator."""

    clinic_open: bool
    opens_at: datetime | None  # the next opening, when closed
    counters: QueueCounters
    current: QueueRow | None  # the lead this operator holds
    upcoming: list[QueueRow]  # what take-next would give, in order


# -- SQL building blocks --------------------------------------------------------------------

class _LeadsThrough(TableClause):
    """The leads table read through one named index: `leads INDEXED BY <index>` on SQLite.

    Without ANALYZE statistics (the usual case) SQLite rates the full
    (state, next_call_at) index above a small partial index, and then sorts
    every due lead of the state to find the first.  INDEXED BY pins the plan; if
    the index could not serve the query SQLite refuses it with an error instead
    of silently scanning.  PostgreSQL plans from its own statistics and sees a
    plain `leads`.
    """

    inherit_cache = True

    def __init__(self, index_name: str) -> None:
        super().__init__(Lead.__tablename__, *(sa.column(c.name, c.type) for c in Lead.__table__.c))
        self.index_name = index_name

    def _gen_cache_key(self, anon_map: Any, bindparams: Any) -> tuple:
        # One instance per index, never altered: its identity is its cache key, as for a Table
        # (the default would hash all its columns on every statement).
        return (self,)


@compiles(_LeadsThrough)
def _compile_leads(element: _LeadsThrough, compiler: Any, **kw: Any) -> str:
    return compiler.visit_table(element, **kw)


@compiles(_LeadsThrough, "sqlite")
def _compile_leads_indexed_by(element: _LeadsThrough, compiler: Any, **kw: Any) -> str:
    text = compiler.visit_table(element, **kw)
    return f"{text} INDEXED BY {element.index_name}" if kw.get("asfrom") else text


# Each tier's probe and its partial index (leads.models._queue_indexes), which
# serves its WHERE, its claim check and its ORDER BY: the first free entry ends the scan.
_CALLBACKS_BY_OWNER = _LeadsThrough("ix_leads_queue_callback_owner")
_CALLBACKS_BY_DUE = _LeadsThrough("ix_leads_queue_callback_due")
_NEW_REPEAT = _LeadsThrough("ix_leads_queue_new_repeat")
_NEW_FIRST = _LeadsThrough("ix_leads_queue_new_first")
_TIER_TABLE: dict[QueueTier, _LeadsThrough] = {
    QueueTier.MY_CALLBACK: _CALLBACKS_BY_OWNER,
    QueueTier.SHARED_CALLBACK: _CALLBACKS_BY_OWNER,
    QueueTier.OVERDUE_CALLBACK: _CALLBACKS_BY_DUE,
    QueueTier.REPEAT_NEW: _NEW_REPEAT,
    QueueTier.NEW: _NEW_FIRST,
    QueueTier.RETRY: _LeadsThrough("ix_leads_queue_retry"),
}
_CLAIMED = _LeadsThrough("ix_leads_claimed_by")
_PAST_SLA = _LeadsThrough("ix_leads_queue_past_sla")

# The values every statement is built with (see `_values`).
_INSTANT = Lead.__table__.c.next_call_at.type
_ME = sa.bindparam("me", type_=sa.Integer())
_NOW = sa.bindparam("now", type_=_INSTANT)
_OVERDUE_BEFORE = sa.bindparam("overdue_before", type_=_INSTANT)  # now - grace
_EXPIRES = sa.bindparam("expires", type_=_INSTANT)
_HELD_ID = sa.bindparam("held_id", type_=sa.Integer())  # 0 when nothing is held
_LIMIT = sa.bindparam("limit", type_=sa.Integer())
_DAY_STARTS = sa.bindparam("day_starts", type_=_INSTANT)
_DAY_ENDS = sa.bindparam("day_ends", type_=_INSTANT)


def _values(user_id: int, now: datetime, grace: timedelta, **more: Any) -> dict[str, Any]:
    return {"me": user_id, "now": now, "overdue_before": now - grace, **more}


def _literal(value: str | int) -> Any:
    """A constant written into the SQL, so a partial index's predicate can match it."""
    return sa.literal_column(f"'{value}'" if isinstance(value, str) else str(int(value)))


def _in_state(t: Any, state: LeadState) -> Any:
    return t.c.state == _literal(state.value)


def _claim_free(t: Any) -> Any:
    """Nobody else holds a live claim: no claim, an expired one, or mine."""
    return sa.or_(t.c.claimed_by_id.is_(None), t.c.claim_expires_at <= _NOW, t.c.claimed_by_id == _ME)


def _tier_where(tier: QueueTier) -> list[Any]:
    """The WHERE terms selecting the due leads of `tier` (claims aside); mirrors `tier_of`."""
    t = _TIER_TABLE[tier]
    due = t.c.next_call_at <= _NOW
    if tier is QueueTier.MY_CALLBACK:
        return [_in_state(t, LeadState.CALLBACK), t.c.callback_owner_id == _ME, due]
    if tier is QueueTier.SHARED_CALLBACK:
        return [_in_state(t, LeadState.CALLBACK), t.c.callback_owner_id.is_(None), due]
    if tier is QueueTier.OVERDUE_CALLBACK:
        # Overdue by *more* than the grace period: exactly the grace period is not enough.
        return [
            _in_state(t, LeadState.CALLBACK),
            t.c.callback_owner_id.is_not(None),
            t.c.callback_owner_id != _ME,
            t.c.next_call_at < _OVERDUE_BEFORE,
        ]
    if tier is QueueTier.REPEAT_NEW:
        return [_in_state(t, LeadState.NEW), t.c.request_count > _literal(1), due]
    if tier is QueueTier.NEW:
        return [_in_state(t, LeadState.NEW), t.c.request_count <= _literal(1), due]
    return [_in_state(t, LeadState.RETRY), due]


def _tier_order(tier: QueueTier) -> list[Any]:
    """The ORDER BY of `tier`; mirrors `queue_sort_key` and the tier's index."""
    t = _TIER_TABLE[tier]
    if tier in (QueueTier.REPEAT_NEW, QueueTier.NEW):
        return [t.c.created_at, t.c.next_call_at, t.c.id]
    return [t.c.next_call_at, t.c.id]


def _tier_query(tier: QueueTier, *names: str) -> sa.Select:
    """SELECT the columns `names` of the leads of `tier` callable for :me, in queue order."""
    t = _TIER_TABLE[tier]
    return sa.select(*(t.c[name] for name in names)).where(*_tier_where(tier), _claim_free(t)).order_by(*_tier_order(tier))


def _top_callable(*, lock: bool) -> Any:
    """The id of the top callable lead for :me: the first tier probe that finds one.

    COALESCE evaluates its arguments in order and stops at the first non-null,
    so a tier's probe runs only when every tier before it came back empty (an
    InitPlan on PostgreSQL, a run-once subroutine on SQLite).  With `lock`, each
    probe is `FOR UPDATE SKIP LOCKED` (PostgreSQL; dropped by SQLite).
    """
    probes = []
    for tier in QueueTier:
        probe = _tier_query(tier, "id").limit(1)
        if lock:
            probe = probe.with_for_update(skip_locked=True)
        probes.append(probe.scalar_subquery())
    return sa.func.coalesce(*probes)


@cache
def _take_statement() -> sa.Update:
    return (
        sa.update(Lead)
        .where(Lead.id == _top_callable(lock=True), _claim_free(Lead.__table__))
        .values(claimed_by_id=_ME, claim_expires_at=_EXPIRES)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    )


@cache
def _peek_statement() -> sa.Select:
    return sa.select(_top_callable(lock=False))


def _held(*names: str) -> sa.Select:
    """The open lead :me holds with a live claim (the latest, should there be several)."""
    t = _CLAIMED
    return (
        sa.select(*(t.c[name] for name in names))
        .where(
            t.c.claimed_by_id.is_not(None),  # the partial index's predicate, spelled out
            t.c.claimed_by_id == _ME,
            t.c.claim_expires_at > _NOW,
            t.c.state.in_(OPEN_STATE_VALUES),
        )
        .order_by(t.c.claim_expires_at.desc(), t.c.id.desc())
        .limit(1)
    )


@cache
def _renew_statement() -> sa.Update:
    return (
        sa.update(Lead)
        .where(Lead.id == _held("id").scalar_subquery(), Lead.claimed_by_id == _ME)
        .values(claim_expires_at=_EXPIRES)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    )


def _settings() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return timedelta(minutes=config["CALLBACK_GRACE_MINUTES"]), timedelta(minutes=config["CLAIM_MINUTES"])


def _add_event(lead_id: int, kind: str, user_id: int, now: datetime, detail: str = "") -> None:
    # A plain INSERT: no ORM object to track on the hot path of take-next.
    db.session.execute(
        sa.insert(LeadEvent.__table__).values(lead_id=lead_id, at=now, kind=kind, user_id=user_id, detail=detail)
    )


# -- taking, claiming, releasing ---------------------------------------------------------

def take_next_lead(user_id: int, now: datetime | None = None) -> int | None:
    """Claim the top callable lead for CLAIM_MINUTES and return its id.

    If `user_id` already holds a live claim, that lead is returned instead (its
    claim renewed).  None while the clinic is closed or when nothing is callable.
    Commits.
    """
    now = now or now_utc()
    if not clinic_calendar(now).is_open(now):
        db.session.rollback()
        return None
    grace, claim = _settings()
    values = _values(user_id, now, grace, expires=now + claim)

    held = db.session.execute(_renew_statement(), values).scalar()
    if held is not None:
        db.session.commit()
        return held
    for _ in range(TAKE_ROUNDS):
        lead_id = db.session.execute(_take_statement(), values).scalar()
        if lead_id is not None:
            _add_event(lead_id, "claimed", user_id, now, "take-next")
            db.session.commit()
            return lead_id
        # Empty-handed: the queue is empty, or (PostgreSQL) the only free rows
        # were locked by someone else for a moment.  Look without locking.
        if db.session.execute(_peek_statement(), values).scalar() is None:
            break
    db.session.commit()  # nothing changed; ends the transaction (and SQLite's write lock)
    return None


def claim_lead(lead_id: int, user_id: int, now: datetime | None = None) -> None:
    """Claim one open lead (from search or a list) for CLAIM_MINUTES.

    Renewing one's own claim is fine.  Raises LeadNotFound, LeadNotOpen or
    LeadClaimedByOther.  Claims held on other leads are left alone.  Commits.
    """
    now = now or now_utc()
    _, claim = _settings()
    for _ in range(CLAIM_ROUNDS):
        row = _claim_of(lead_id)
        if row.state not in OPEN_STATE_VALUES:
            db.session.rollback()
            raise LeadNotOpen(f"lead {lead_id} is {row.state}")
        live = row.claimed_by_id is not None and row.claim_expires_at is not None and row.claim_expires_at > now
        if live and row.claimed_by_id != user_id:
            db.session.rollback()
            raise LeadClaimedByOther(row.claimed_by_id, row.holder_name or "")
        if _replace_claim(lead_id, row, user_id, now + claim):
            if not (live and row.claimed_by_id == user_id):
                _add_event(lead_id, "claimed", user_id, now)
            db.session.commit()
            return
        db.session.rollback()  # the claim changed under us: look again
    raise QueueError(f"lead {lead_id}: the claim kept changing, try again")


def release_lead(lead_id: int, user_id: int, *, is_manager: bool = False, now: datetime | None = None) -> None:
    """Give a claimed lead back to the queue.

    Only the holder or a manager may; LeadClaimedByOther otherwise (LeadNotFound
    for an unknown id).  Releasing a lead nobody holds does nothing.  Commits.
    """
    now = now or now_utc()
    for _ in range(CLAIM_ROUNDS):
        row = _claim_of(lead_id)
        if row.claimed_by_id is None:
            db.session.rollback()
            return
        if row.claimed_by_id != user_id and not is_manager:
            live = row.claim_expires_at is not None and row.claim_expires_at > now
            db.session.rollback()
            if live:
                raise LeadClaimedByOther(row.claimed_by_id, row.holder_name or "")
            return  # an expired claim of someone else: the lead is free already
        if _replace_claim(lead_id, row, None, None):
            detail = "" if row.claimed_by_id == user_id else f"held by {row.holder_name}"
            _add_event(lead_id, "released", user_id, now, detail)
            db.session.commit()
            return
        db.session.rollback()
    raise QueueError(f"lead {lead_id}: the claim kept changing, try again")


def _claim_of(lead_id: int) -> Any:
    """The lead's state and claim with the holder's name; LeadNotFound if there is no such lead."""
    row = db.session.execute(
        sa.select(Lead.state, Lead.claimed_by_id, Lead.claim_expires_at, User.display_name.label("holder_name"))
        .outerjoin(User, User.id == Lead.claimed_by_id)
        .where(Lead.id == lead_id)
    ).one_or_none()
    if row is None:
        db.session.rollback()
        raise LeadNotFound(f"no lead {lead_id}")
    return row


def _replace_claim(lead_id: int, seen: Any, holder_id: int | None, expires: datetime | None) -> bool:
    """Set the claim only if it is still exactly what was read (`seen`); True if it was set."""
    where = [
        Lead.id == lead_id,
        Lead.claimed_by_id.is_not_distinct_from(seen.claimed_by_id),
        Lead.claim_expires_at.is_not_distinct_from(seen.claim_expires_at),
    ]
    if holder_id is not None:
        where.append(Lead.state.in_(OPEN_STATE_VALUES))
    updated = db.session.execute(
        sa.update(Lead)
        .where(*where)
        .values(claimed_by_id=holder_id, claim_expires_at=expires)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    return updated is not None


# -- the queue page ----------------------------------------------------------------------

# The columns of a QueueRow, in field order (its lead_id is the lead's id).
_ROW_COLUMNS = tuple("id" if f.name == "lead_id" else f.name for f in fields(QueueRow) if f.name != "waiting_minutes")


@cache
def _held_rows_statement() -> sa.Select:
    return _held(*_ROW_COLUMNS)


@cache
def _tier_rows_statement(tier: QueueTier) -> sa.Select:
    """Up to :limit rows of `tier`, without the lead :me holds."""
    t = _TIER_TABLE[tier]
    return _tier_query(tier, *_ROW_COLUMNS).where(t.c.id != _HELD_ID).limit(_LIMIT)


def queue_view(user_id: int, now: datetime | None = None, limit: int = 30) -> QueueView:
    """The queue as `user_id` sees it: counters, the lead held, and what comes next.

    `upcoming` is what take-next would hand out, in order, without the held
    lead; it is listed while the clinic is closed too (take-next then refuses),
    so the operator sees what the morning brings.
    """
    now = now or now_utc()
    calendar = clinic_calendar(now)
    is_open = calendar.is_open(now)
    grace, _ = _settings()
    values = _values(user_id, now, grace)

    held = db.session.execute(_held_rows_statement(), values).first()
    values["held_id"] = held.id if held is not None else 0  # ids start at 1
    rows: list[Any] = []
    for tier in QueueTier:
        if len(rows) >= limit:
            break
        rows.extend(db.session.execute(_tier_rows_statement(tier), {**values, "limit": limit - len(rows)}).all())
    counters = _counters(calendar, now, values, is_open)

    waiting = _waiting_minutes(calendar, [r.created_at for r in rows] + ([held.created_at] if held else []), now)
    return QueueView(
        clinic_open=is_open,
        opens_at=None if is_open else calendar.next_open(now),
        counters=counters,
        current=_row(held, waiting) if held is not None else None,
        upcoming=[_row(r, waiting) for r in rows],
    )


def _row(row: Any, waiting: dict[datetime, float]) -> QueueRow:
    return QueueRow(*row, waiting_minutes=waiting[row.created_at])


def _waiting_minutes(calendar: ClinicCalendar, arrivals: list[datetime], now: datetime) -> dict[datetime, float]:
    """Business minutes from each arrival to `now`.

    Walked backwards from now, one gap at a time, so the calendar visits each
    day once however many rows there are (an old lead would cost a loop over
    every day since it arrived, per row).
    """
    result: dict[datetime, float] = {}
    total, previous = 0.0, now
    for arrival in sorted(set(arrivals), reverse=True):
        if arrival < previous:
            total += calendar.business_minutes(arrival, previous)
            previous = arrival
        result[arrival] = total
    return result


def _count(t: _LeadsThrough, *where: Any) -> Any:
    return sa.select(sa.func.count()).select_from(t).where(*where).scalar_subquery()


def _sum(counts: list[Any]) -> Any:
    return sum(counts[1:], counts[0])


@cache
def _counters_statement() -> sa.Select:
    """All four counters in one statement, each a count over small partial indexes that hold
    every column it reads (no visit to the table rows)."""
    new_leads = _sum([
        _count(_NEW_REPEAT, _in_state(_NEW_REPEAT, LeadState.NEW), _NEW_REPEAT.c.request_count > _literal(1)),
        _count(_NEW_FIRST, _in_state(_NEW_FIRST, LeadState.NEW), _NEW_FIRST.c.request_count <= _literal(1)),
    ])
    callbacks = _CALLBACKS_BY_DUE
    return sa.select(
        _sum([_count(_TIER_TABLE[tier], *_tier_where(tier), _claim_free(_TIER_TABLE[tier])) for tier in QueueTier])
        .label("callable_now"),
        new_leads.label("new"),
        _count(
            callbacks,
            _in_state(callbacks, LeadState.CALLBACK),
            callbacks.c.next_call_at >= _DAY_STARTS,
            callbacks.c.next_call_at < _DAY_ENDS,
        ).label("callbacks_due_today"),
        _count(
            _PAST_SLA, _in_state(_PAST_SLA, LeadState.NEW), _PAST_SLA.c.attempts == _literal(0), _PAST_SLA.c.sla_due_at < _NOW
        ).label("past_sla"),
    )


def _counters(calendar: ClinicCalendar, now: datetime, values: dict[str, Any], is_open: bool) -> QueueCounters:
    today = calendar.local(now).date()
    day = {
        "day_starts": datetime.combine(today, time.min, tzinfo=calendar.tz),
        "day_ends": datetime.combine(today + timedelta(days=1), time.min, tzinfo=calendar.tz),
    }
    counted = db.session.execute(_counters_statement(), {**values, **day}).one()
    return QueueCounters(
        callable_now=counted.callable_now if is_open else 0,
        new=counted.new,
        callbacks_due_today=counted.callbacks_due_today,
        past_sla=counted.past_sla,
    )
