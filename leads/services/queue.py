"""The operators' queue: what to call next, and who holds which lead (DESIGN.md §1.4).

The order is `leads.domain.queue.TIER_RULES`; each rule becomes one query here
(`_tier_query`), a range of the leads table's queue index (state,
next_call_at, then the columns the tiers read: see `leads.models`), or for the
new-lead tiers, served in arrival order, of (state, created_at).  Taking the next lead walks the tiers in order and claims the first
lead it can with a conditional update:

    UPDATE leads SET claimed_by_id = :me, claim_expires_at = :expires
    WHERE id = (SELECT id … WHERE id = :candidate AND the claim is free [FOR UPDATE SKIP LOCKED])
      AND the claim is free AND the lead is open RETURNING id

On PostgreSQL `SKIP LOCKED` lets concurrent operators pass over a row another
one is claiming.  SQLite ignores `SKIP LOCKED` silently, but its UPDATE takes
the single write lock before it reads, so the repeated claim check makes a lost
race come back empty, never with a lead someone else holds.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from leads.domain.calendar import ClinicCalendar
from leads.domain.outcomes import LeadState
from leads.domain.queue import TIER_RULES, CallbackOwner, QueueTier, TierRule, reserved_for_colleague
from leads.extensions import db
from leads.models import OPEN_STATE_VALUES, Lead, LeadEvent, User
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.errors import LeadClaimedByOther, LeadNotFound, LeadNotOpen, LeadReservedForColleague, QueueError
from leads.services.unit_of_work import unit_of_work

__all__ = [
    "QueueCounters",
    "QueueRow",
    "QueueView",
    "claim_lead",
    "queue_view",
    "release_lead",
    "take_next_lead",
]

# Per-operator transaction lock for take-next on PostgreSQL (class id "TAKE").
TAKE_LOCK = sa.text("SELECT pg_advisory_xact_lock(1413565253, :me)")
# Rounds of read-then-conditional-update in claim/release before giving up.
CLAIM_ROUNDS = 3


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
    suspected_automation: bool  # sent faster than a person types; not yet confirmed by a call
    waiting_minutes: float  # business minutes since created_at


@dataclass(frozen=True)
class QueueCounters:
    """The numbers above the queue."""

    callable_now: int  # callable for this operator now (0 while the clinic is closed)
    new: int  # leads never called yet
    callbacks_due_today: int  # callbacks (anyone's) due by the end of today's clinic date, overdue ones too
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
    db.session.execute(
        sa.insert(LeadEvent).values(lead_id=lead_id, at=now, kind=kind, user_id=user_id, detail=detail)
    )


# -- the rules as SQL ----------------------------------------------------------------------

def _claim_free(user_id: int, now: datetime) -> Any:
    """Nobody else holds a live claim: no claim, an expired one, or mine."""
    return sa.or_(Lead.claimed_by_id.is_(None), Lead.claim_expires_at <= now, Lead.claimed_by_id == user_id)


def _owner_where(owner: CallbackOwner, user_id: int, now: datetime, grace: timedelta) -> list[Any]:
    if owner is CallbackOwner.ME:
        return [Lead.callback_owner_id == user_id]
    if owner is CallbackOwner.NOBODY:
        return [Lead.callback_owner_id.is_(None)]
    if owner is CallbackOwner.OTHER_OVERDUE:
        return [Lead.callback_owner_id != user_id, Lead.next_call_at < now - grace]  # != drops NULL
    return []


def _tier_where(rule: TierRule, user_id: int, now: datetime, grace: timedelta) -> list[Any]:
    """The due leads of `rule`'s tier that `user_id` may take (`leads.domain.queue.tier_of`, in SQL)."""
    where = [Lead.state == rule.state.value, Lead.next_call_at <= now, _claim_free(user_id, now)]
    where += _owner_where(rule.owner, user_id, now, grace)
    if rule.repeat is not None:
        where.append(Lead.request_count > 1 if rule.repeat else Lead.request_count <= 1)
    return where


def _tier_query(rule: TierRule, user_id: int, now: datetime, grace: timedelta, *columns: Any) -> sa.Select:
    order = [getattr(Lead, name) for name in rule.order]
    return sa.select(*columns).where(*_tier_where(rule, user_id, now, grace)).order_by(*order)


def _held_lead_query(user_id: int, now: datetime, *columns: Any) -> sa.Select:
    """The open lead `user_id` holds with a live claim (the latest, should there be several)."""
    return (
        sa.select(*columns)
        .where(Lead.claimed_by_id == user_id, Lead.claim_expires_at > now, Lead.state.in_(OPEN_STATE_VALUES))
        .order_by(Lead.claim_expires_at.desc(), Lead.id.desc())
        .limit(1)
    )


def _set_claim(where: list[Any], user_id: int, expires: datetime) -> int | None:
    """Claim the lead matching `where` for `user_id` until `expires`; its id, or None if none matched."""
    return db.session.execute(
        sa.update(Lead)
        .where(*where)
        .values(claimed_by_id=user_id, claim_expires_at=expires)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    ).scalar()


# -- taking, claiming, releasing ---------------------------------------------------------

def take_next_lead(user_id: int, now: datetime | None = None, *, before: QueueTier | None = None) -> int | None:
    """Claim the top callable lead for CLAIM_MINUTES and return its id.

    If `user_id` already holds a live claim, that lead is returned instead (its
    claim renewed).  None while the clinic is closed or when nothing is callable.
    `before`: look only at the tiers served before that one (confirmation calls
    come in between, leads/services/confirmation_calls.py).
    """
    now = now or now_utc()
    grace, claim = _settings()
    with unit_of_work():
        if not clinic_calendar(now).is_open(now):
            return None
        if db.engine.dialect.name == "postgresql":
            # One take-next at a time per operator (a double click): the second
            # waits for the first to commit, then renews the lead it took instead
            # of claiming a second one.  Released at commit.
            db.session.execute(TAKE_LOCK, {"me": user_id})
        # An UPDATE first: on SQLite it takes the write lock, so nothing read after it can change.
        held = _held_lead_query(user_id, now, Lead.id).scalar_subquery()
        renewed = _set_claim([Lead.id == held, Lead.claimed_by_id == user_id], user_id, now + claim)
        if renewed is not None:
            return renewed
        for rule in TIER_RULES:
            if before is not None and rule.tier >= before:
                break
            top = _tier_query(rule, user_id, now, grace, Lead.id).limit(1).with_for_update(skip_locked=True)
            lead_id = db.session.scalar(top)
            if lead_id is not None:
                # Still free? (On PostgreSQL the row is locked now; on SQLite the write lock is held.)
                if _set_claim([Lead.id == lead_id, _claim_free(user_id, now)], user_id, now + claim) is not None:
                    _add_event(lead_id, "claimed", user_id, now, "take-next")
                    return lead_id
    return None


def claim_lead(lead_id: int, user_id: int, now: datetime | None = None, *, is_manager: bool = False) -> None:
    """Claim one open lead (from search or a list) for CLAIM_MINUTES.

    Renewing one's own claim is fine.  Raises LeadNotFound, LeadNotOpen,
    LeadClaimedByOther or (a colleague's personal callback, unless
    `is_manager`) LeadReservedForColleague.  Claims held on other leads are
    left alone.
    """
    now = now or now_utc()
    _, claim = _settings()
    with unit_of_work():
        for _ in range(CLAIM_ROUNDS):
            row = _claim_of(lead_id)
            if row.state not in OPEN_STATE_VALUES:
                raise LeadNotOpen(f"lead {lead_id} is {row.state}")
            live = row.claimed_by_id is not None and row.claim_expires_at is not None and row.claim_expires_at > now
            if live and row.claimed_by_id != user_id:
                raise LeadClaimedByOther(row.claimed_by_id, row.holder_name or "")
            check_not_reserved(row, user_id, is_manager=is_manager, now=now)
            if _replace_claim(lead_id, row, user_id, now + claim):
                if not (live and row.claimed_by_id == user_id):
                    _add_event(lead_id, "claimed", user_id, now)
                return
            # the claim changed under us: look again
    raise QueueError(f"lead {lead_id}: the claim kept changing, try again")


def release_lead(lead_id: int, user_id: int, *, is_manager: bool = False, now: datetime | None = None) -> None:
    """Give a claimed lead back to the queue.

    Only the holder or a manager may; LeadClaimedByOther otherwise (LeadNotFound
    for an unknown id).  Releasing a lead nobody holds does nothing.
    """
    now = now or now_utc()
    with unit_of_work():
        for _ in range(CLAIM_ROUNDS):
            row = _claim_of(lead_id)
            if row.claimed_by_id is None:
                return
            if row.claimed_by_id != user_id and not is_manager:
                if row.claim_expires_at is not None and row.claim_expires_at > now:
                    raise LeadClaimedByOther(row.claimed_by_id, row.holder_name or "")
                return  # an expired claim of someone else: the lead is free already
            if _replace_claim(lead_id, row, None, None):
                detail = "" if row.claimed_by_id == user_id else f"held by {row.holder_name}"
                _add_event(lead_id, "released", user_id, now, detail)
                return
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

# The fields of a QueueRow read from the lead, and their columns (its lead_id is the lead's id).
_ROW_FIELDS = tuple(f.name for f in fields(QueueRow) if f.name != "waiting_minutes")
_ROW_COLUMNS = tuple(Lead.id if name == "lead_id" else getattr(Lead, name) for name in _ROW_FIELDS)


def queue_view(user_id: int, now: datetime | None = None, limit: int = 30) -> QueueView:
    """The queue as `user_id` sees it: counters, the lead held, and what comes next.

    `upcoming` is what take-next would hand out, in order, without the held
    lead; it is listed while the clinic is closed too (take-next then refuses),
    so the operator sees what the morning brings.  Reads only.
    """
    now = now or now_utc()
    calendar = clinic_calendar(now)
    is_open = calendar.is_open(now)
    grace, _ = _settings()

    held = db.session.execute(_held_lead_query(user_id, now, *_ROW_COLUMNS)).first()
    rows: list[Any] = []
    for rule in TIER_RULES:
        if len(rows) >= limit:
            break
        query = _tier_query(rule, user_id, now, grace, *_ROW_COLUMNS)
        if held is not None:
            query = query.where(Lead.id != held.id)
        rows.extend(db.session.execute(query.limit(limit - len(rows))).all())
    counters = _counters(calendar, user_id, now, grace, is_open)

    waiting = _waiting_minutes(calendar, [r.created_at for r in rows] + ([held.created_at] if held else []), now)
    return QueueView(
        clinic_open=is_open,
        opens_at=None if is_open else calendar.next_open(now),
        counters=counters,
        current=_row(held, waiting) if held is not None else None,
        upcoming=[_row(r, waiting) for r in rows],
    )


def _row(row: Any, waiting: dict[datetime, float]) -> QueueRow:
    values = dict(zip(_ROW_FIELDS, row, strict=True))
    return QueueRow(**values, waiting_minutes=waiting[row.created_at])


def _waiting_minutes(calendar: ClinicCalendar, arrivals: list[datetime], now: datetime) -> dict[datetime, float]:
    """Business minutes from each arrival to `now`.

    Walked backwards from now, one gap at a time, so the calendar visits each
    day once however many rows there are.
    """
    result: dict[datetime, float] = {}
    total, previous = 0.0, now
    for arrival in sorted(set(arrivals), reverse=True):
        if arrival < previous:
            total += calendar.business_minutes(arrival, previous)
            previous = arrival
        result[arrival] = total
    return result


def _count(*where: Any) -> Any:
    return sa.select(sa.func.count()).select_from(Lead).where(*where).scalar_subquery()


def _counters(
    calendar: ClinicCalendar, user_id: int, now: datetime, grace: timedelta, is_open: bool
) -> QueueCounters:
    """All four counters in one statement."""
    today = calendar.local(now).date()
    day_ends = datetime.combine(today + timedelta(days=1), time.min, tzinfo=calendar.tz)
    callable_now = sum(
        (_count(*_tier_where(rule, user_id, now, grace)) for rule in TIER_RULES[1:]),
        _count(*_tier_where(TIER_RULES[0], user_id, now, grace)),
    )
    counted = db.session.execute(
        sa.select(
            callable_now.label("callable_now"),
            _count(Lead.state == LeadState.NEW.value).label("new"),
            # Due by the end of today: today's, and the overdue ones nobody has called yet.
            _count(Lead.state == LeadState.CALLBACK.value, Lead.next_call_at < day_ends).label("callbacks_due_today"),
            _count(Lead.state == LeadState.NEW.value, Lead.attempts == 0, Lead.sla_due_at < now).label("past_sla"),
        )
    ).one()
    return QueueCounters(
        callable_now=counted.callable_now if is_open else 0,
        new=counted.new,
        callbacks_due_today=counted.callbacks_due_today,
        past_sla=counted.past_sla,
    )


def lead_in_hand(user_id: int, now: datetime | None = None) -> tuple[int, str] | None:
    """(id, name) of the open lead `user_id` holds now, or None.  Reads only."""
    row = db.session.execute(_held_lead_query(user_id, now or now_utc(), Lead.id, Lead.name)).first()
    return (row.id, row.name) if row else None
