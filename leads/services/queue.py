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

from leads.domain.calendar import ClinicCalendar
from leads.domain.outcomes import LeadState
from leads.domain.queue import QueueTier, reserved_for_colleague
from leads.extensions import db
from leads.models import OPEN_STATE_VALUES, Lead, LeadEvent, User
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.queue_sql import (
    CALLBACKS_BY_DUE,
    DAY_ENDS,
    DAY_STARTS,
    HELD_ID,
    LeadsThrough,
    NEW_FIRST,
    NEW_REPEAT,
    NOW_PARAM,
    PAST_SLA,
    ROW_LIMIT,
    TIER_TABLE,
    claim_free,
    held_lead_query,
    in_state,
    peek_statement,
    renew_statement,
    sql_literal,
    statement_values,
    take_statement,
    tier_query,
    tier_where,
)

__all__ = [
    "LeadClaimedByOther",
    "LeadNotFound",
    "LeadNotOpen",
    "LeadReservedForColleague",
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
# Per-operator transaction lock for take-next on PostgreSQL (class id "TAKE").
TAKE_LOCK = sa.text("SELECT pg_advisory_xact_lock(1413565253, :me)")
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


class LeadReservedForColleague(QueueError):
    """The lead is another operator's personal callback, theirs until `free_at`."""

    def __init__(self, owner_name: str, free_at: datetime) -> None:
        super().__init__(f"lead is {owner_name}'s personal callback until {free_at.isoformat()}")
        self.owner_name = owner_name
        self.free_at = free_at


def check_not_reserved(lead: Any, user_id: int, *, is_manager: bool, now: datetime) -> None:
    """Refuse a colleague's personal callback before its grace period ends (managers excepted).

    `lead` has state, callback_owner_id and next_call_at (a Lead or a row).
    :raise LeadReservedForColleague:
    """
    grace, _ = _settings()
    if is_manager or not reserved_for_colleague(
        lead.state, lead.callback_owner_id, lead.next_call_at, user_id, now, grace
    ):
        return
    owner = db.session.get(User, lead.callback_owner_id)
    raise LeadReservedForColleague(owner.display_name if owner else "", (lead.next_call_at or now) + grace)


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
    values = statement_values(user_id, now, grace, expires=now + claim)
    if db.engine.dialect.name == "postgresql":
        # One take-next at a time per operator (a double click): the second
        # waits for the first to commit, then renews the lead it took instead
        # of claiming a second one.  Released at commit.
        db.session.execute(TAKE_LOCK, {"me": user_id})

    held = db.session.execute(renew_statement(), values).scalar()
    if held is not None:
        db.session.commit()
        return held
    for _ in range(TAKE_ROUNDS):
        lead_id = db.session.execute(take_statement(), values).scalar()
        if lead_id is not None:
            _add_event(lead_id, "claimed", user_id, now, "take-next")
            db.session.commit()
            return lead_id
        # Empty-handed: the queue is empty, or (PostgreSQL) the only free rows
        # were locked by someone else for a moment.  Look without locking.
        if db.session.execute(peek_statement(), values).scalar() is None:
            break
    db.session.commit()  # nothing changed; ends the transaction (and SQLite's write lock)
    return None


def claim_lead(lead_id: int, user_id: int, now: datetime | None = None, *, is_manager: bool = False) -> None:
    """Claim one open lead (from search or a list) for CLAIM_MINUTES.

    Renewing one's own claim is fine.  Raises LeadNotFound, LeadNotOpen,
    LeadClaimedByOther or (a colleague's personal callback, unless
    `is_manager`) LeadReservedForColleague.  Claims held on other leads are
    left alone.  Commits.
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
        try:
            check_not_reserved(row, user_id, is_manager=is_manager, now=now)
        except LeadReservedForColleague:
            db.session.rollback()
            raise
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
        sa.select(
            Lead.state, Lead.claimed_by_id, Lead.claim_expires_at, Lead.callback_owner_id, Lead.next_call_at,
            User.display_name.label("holder_name"),
        )
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
    return held_lead_query(*_ROW_COLUMNS)


@cache
def _tier_rows_statement(tier: QueueTier) -> sa.Select:
    """Up to :limit rows of `tier`, without the lead :me holds."""
    t = TIER_TABLE[tier]
    return tier_query(tier, *_ROW_COLUMNS).where(t.c.id != HELD_ID).limit(ROW_LIMIT)


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
    values = statement_values(user_id, now, grace)

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


def _count(t: LeadsThrough, *where: Any) -> Any:
    return sa.select(sa.func.count()).select_from(t).where(*where).scalar_subquery()


def _sum(counts: list[Any]) -> Any:
    return sum(counts[1:], counts[0])


@cache
def _counters_statement() -> sa.Select:
    """All four counters in one statement, each a count over small partial indexes that hold
    every column it reads (no visit to the table rows)."""
    new_leads = _sum([
        _count(NEW_REPEAT, in_state(NEW_REPEAT, LeadState.NEW), NEW_REPEAT.c.request_count > sql_literal(1)),
        _count(NEW_FIRST, in_state(NEW_FIRST, LeadState.NEW), NEW_FIRST.c.request_count <= sql_literal(1)),
    ])
    callbacks = CALLBACKS_BY_DUE
    return sa.select(
        _sum([_count(TIER_TABLE[tier], *tier_where(tier), claim_free(TIER_TABLE[tier])) for tier in QueueTier])
        .label("callable_now"),
        new_leads.label("new"),
        _count(
            callbacks,
            in_state(callbacks, LeadState.CALLBACK),
            callbacks.c.next_call_at >= DAY_STARTS,
            callbacks.c.next_call_at < DAY_ENDS,
        ).label("callbacks_due_today"),
        _count(
            PAST_SLA, in_state(PAST_SLA, LeadState.NEW), PAST_SLA.c.attempts == sql_literal(0), PAST_SLA.c.sla_due_at < NOW_PARAM
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
