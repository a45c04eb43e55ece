"""The queue's SQL: each tier's probe through its own partial index, built once.

`leads.services.queue` runs these statements; see its docstring for why each
tier is one indexed probe and take-next one statement.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import TableClause

from leads.domain.outcomes import LeadState
from leads.domain.queue import QueueTier
from leads.models import OPEN_STATE_VALUES, Lead


class LeadsThrough(TableClause):
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


@compiles(LeadsThrough)
def _compile_leads(element: LeadsThrough, compiler: Any, **kw: Any) -> str:
    return compiler.visit_table(element, **kw)


@compiles(LeadsThrough, "sqlite")
def _compile_leads_indexed_by(element: LeadsThrough, compiler: Any, **kw: Any) -> str:
    text = compiler.visit_table(element, **kw)
    return f"{text} INDEXED BY {element.index_name}" if kw.get("asfrom") else text


# Each tier's probe and its partial index (leads.models._queue_indexes), which
# serves its WHERE, its claim check and its ORDER BY: the first free entry ends the scan.
CALLBACKS_BY_OWNER = LeadsThrough("ix_leads_queue_callback_owner")
CALLBACKS_BY_DUE = LeadsThrough("ix_leads_queue_callback_due")
NEW_REPEAT = LeadsThrough("ix_leads_queue_new_repeat")
NEW_FIRST = LeadsThrough("ix_leads_queue_new_first")
TIER_TABLE: dict[QueueTier, LeadsThrough] = {
    QueueTier.MY_CALLBACK: CALLBACKS_BY_OWNER,
    QueueTier.SHARED_CALLBACK: CALLBACKS_BY_OWNER,
    QueueTier.OVERDUE_CALLBACK: CALLBACKS_BY_DUE,
    QueueTier.REPEAT_NEW: NEW_REPEAT,
    QueueTier.NEW: NEW_FIRST,
    QueueTier.RETRY: LeadsThrough("ix_leads_queue_retry"),
}
CLAIMED = LeadsThrough("ix_leads_claimed_by")
PAST_SLA = LeadsThrough("ix_leads_queue_past_sla")

# The values every statement is built with (see `statement_values`).
INSTANT = Lead.__table__.c.next_call_at.type
ME_PARAM = sa.bindparam("me", type_=sa.Integer())
NOW_PARAM = sa.bindparam("now", type_=INSTANT)
OVERDUE_BEFORE = sa.bindparam("overdue_before", type_=INSTANT)  # now - grace
EXPIRES = sa.bindparam("expires", type_=INSTANT)
HELD_ID = sa.bindparam("held_id", type_=sa.Integer())  # 0 when nothing is held
ROW_LIMIT = sa.bindparam("limit", type_=sa.Integer())
DAY_STARTS = sa.bindparam("day_starts", type_=INSTANT)
DAY_ENDS = sa.bindparam("day_ends", type_=INSTANT)


def statement_values(user_id: int, now: datetime, grace: timedelta, **more: Any) -> dict[str, Any]:
    return {"me": user_id, "now": now, "overdue_before": now - grace, **more}


def sql_literal(value: str | int) -> Any:
    """A constant written into the SQL, so a partial index's predicate can match it."""
    return sa.literal_column(f"'{value}'" if isinstance(value, str) else str(int(value)))


def in_state(t: Any, state: LeadState) -> Any:
    return t.c.state == sql_literal(state.value)


def claim_free(t: Any) -> Any:
    """Nobody else holds a live claim: no claim, an expired one, or mine."""
    return sa.or_(t.c.claimed_by_id.is_(None), t.c.claim_expires_at <= NOW_PARAM, t.c.claimed_by_id == ME_PARAM)


def tier_where(tier: QueueTier) -> list[Any]:
    """The WHERE terms selecting the due leads of `tier` (claims aside); mirrors `tier_of`."""
    t = TIER_TABLE[tier]
    due = t.c.next_call_at <= NOW_PARAM
    if tier is QueueTier.MY_CALLBACK:
        return [in_state(t, LeadState.CALLBACK), t.c.callback_owner_id == ME_PARAM, due]
    if tier is QueueTier.SHARED_CALLBACK:
        return [in_state(t, LeadState.CALLBACK), t.c.callback_owner_id.is_(None), due]
    if tier is QueueTier.OVERDUE_CALLBACK:
        # Overdue by *more* than the grace period: exactly the grace period is not enough.
        return [
            in_state(t, LeadState.CALLBACK),
            t.c.callback_owner_id.is_not(None),
            t.c.callback_owner_id != ME_PARAM,
            t.c.next_call_at < OVERDUE_BEFORE,
        ]
    if tier is QueueTier.REPEAT_NEW:
        return [in_state(t, LeadState.NEW), t.c.request_count > sql_literal(1), due]
    if tier is QueueTier.NEW:
        return [in_state(t, LeadState.NEW), t.c.request_count <= sql_literal(1), due]
    return [in_state(t, LeadState.RETRY), due]


def tier_order(tier: QueueTier) -> list[Any]:
    """The ORDER BY of `tier`; mirrors `queue_sort_key` and the tier's index."""
    t = TIER_TABLE[tier]
    if tier in (QueueTier.REPEAT_NEW, QueueTier.NEW):
        return [t.c.created_at, t.c.next_call_at, t.c.id]
    return [t.c.next_call_at, t.c.id]


def tier_query(tier: QueueTier, *names: str) -> sa.Select:
    """SELECT the columns `names` of the leads of `tier` callable for :me, in queue order."""
    t = TIER_TABLE[tier]
    return sa.select(*(t.c[name] for name in names)).where(*tier_where(tier), claim_free(t)).order_by(*tier_order(tier))


def top_callable(*, lock: bool) -> Any:
    """The id of the top callable lead for :me: the first tier probe that finds one.

    COALESCE evaluates its arguments in order and stops at the first non-null,
    so a tier's probe runs only when every tier before it came back empty (an
    InitPlan on PostgreSQL, a run-once subroutine on SQLite).  With `lock`, each
    probe is `FOR UPDATE SKIP LOCKED` (PostgreSQL; dropped by SQLite).
    """
    probes = []
    for tier in QueueTier:
        probe = tier_query(tier, "id").limit(1)
        if lock:
            probe = probe.with_for_update(skip_locked=True)
        probes.append(probe.scalar_subquery())
    return sa.func.coalesce(*probes)


@cache
def take_statement() -> sa.Update:
    return (
        sa.update(Lead)
        .where(Lead.id == top_callable(lock=True), claim_free(Lead.__table__))
        .values(claimed_by_id=ME_PARAM, claim_expires_at=EXPIRES)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    )


@cache
def peek_statement() -> sa.Select:
    return sa.select(top_callable(lock=False))


def held_lead_query(*names: str) -> sa.Select:
    """The open lead :me holds with a live claim (the latest, should there be several)."""
    t = CLAIMED
    return (
        sa.select(*(t.c[name] for name in names))
        .where(
            t.c.claimed_by_id.is_not(None),  # the partial index's predicate, spelled out
            t.c.claimed_by_id == ME_PARAM,
            t.c.claim_expires_at > NOW_PARAM,
            t.c.state.in_(OPEN_STATE_VALUES),
        )
        .order_by(t.c.claim_expires_at.desc(), t.c.id.desc())
        .limit(1)
    )


@cache
def renew_statement() -> sa.Update:
    return (
        sa.update(Lead)
        .where(Lead.id == held_lead_query("id").scalar_subquery(), Lead.claimed_by_id == ME_PARAM)
        .values(claim_expires_at=EXPIRES)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    )


