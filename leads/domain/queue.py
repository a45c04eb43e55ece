"""The order of the operators' queue (DESIGN.md §1.4), as pure rules.

A lead is *callable* for an operator when it is open, due, not held by someone
else's live claim and, for a personal callback of another operator, overdue by
more than the grace period.  Callable leads fall into tiers, served in this order:

1. my due personal callbacks;
2. due shared callbacks (no owner);
3. other operators' personal callbacks overdue by more than the grace period;
4. new leads with repeat requests, then 5. other new leads, both oldest first;
6. retries, by due time.

Inside a tier the order is the tier's own (`queue_sort_key`), ties broken by
due time and then id.  The service runs one indexed probe per tier, in tier
order; the unit tests cross-check that SQL against `order_queue` here.  Whether
the clinic is open is the calendar's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from leads.domain.outcomes import OPEN_STATES, LeadState

__all__ = [
    "QueueCandidate",
    "QueueTier",
    "claim_is_free",
    "is_due",
    "order_queue",
    "queue_sort_key",
    "tier_of",
]


class QueueTier(IntEnum):
    """A group of callable leads; a lower value is served first."""

    MY_CALLBACK = 1
    SHARED_CALLBACK = 2
    OVERDUE_CALLBACK = 3
    REPEAT_NEW = 4
    NEW = 5
    RETRY = 6


@dataclass(frozen=True)
class QueueCandidate:
    """What the queue needs to know about one lead."""

    id: int
    state: str
    next_call_at: datetime | None
    created_at: datetime
    request_count: int = 1
    callback_owner_id: int | None = None
    claimed_by_id: int | None = None
    claim_expires_at: datetime | None = None


def claim_is_free(lead: QueueCandidate, user_id: int, now: datetime) -> bool:
    """True unless someone other than ``user_id`` holds a claim that is still live at ``now``."""
    if lead.claimed_by_id is None or lead.claimed_by_id == user_id:
        return True
    return lead.claim_expires_at is None or lead.claim_expires_at <= now


def is_due(lead: QueueCandidate, now: datetime) -> bool:
    """True when the lead's next call time has come (a lead without one is never due)."""
    return lead.next_call_at is not None and lead.next_call_at <= now


def reserved_for_colleague(
    state: str, callback_owner_id: int | None, next_call_at: datetime | None, user_id: int, now: datetime,
    grace: timedelta,
) -> bool:
    """True while a lead is another operator's personal callback, not yet overdue by more than ``grace``.

    Until then only its owner (or a manager) may claim it or record on it, as
    the queue serves it to nobody else (`tier_of`).
    """
    if state != LeadState.CALLBACK or callback_owner_id is None or callback_owner_id == user_id:
        return False
    return next_call_at is None or now - next_call_at <= grace


def tier_of(lead: QueueCandidate, user_id: int, now: datetime, grace: timedelta) -> QueueTier | None:
    """The tier of ``lead`` in ``user_id``'s queue at ``now``, or None if it is not callable.

    The claim is not looked at here (see `claim_is_free`); a personal callback of
    another operator is callable only when overdue by *more* than ``grace``.
    """
    if lead.state not in OPEN_STATES or not is_due(lead, now):
        return None
    if lead.state == LeadState.CALLBACK:
        if lead.callback_owner_id == user_id:
            return QueueTier.MY_CALLBACK
        if lead.callback_owner_id is None:
            return QueueTier.SHARED_CALLBACK
        assert lead.next_call_at is not None  # is_due
        if now - lead.next_call_at > grace:
            return QueueTier.OVERDUE_CALLBACK
        return None
    if lead.state == LeadState.NEW:
        return QueueTier.REPEAT_NEW if lead.request_count > 1 else QueueTier.NEW
    return QueueTier.RETRY


def queue_sort_key(lead: QueueCandidate, tier: QueueTier) -> tuple:
    """The sort key of a callable ``lead`` of ``tier``: tier first, then the tier's own order.

    New leads go oldest first (by arrival); callbacks and retries by due time.
    """
    assert lead.next_call_at is not None  # only due leads have a tier
    if tier in (QueueTier.REPEAT_NEW, QueueTier.NEW):
        return (int(tier), lead.created_at, lead.next_call_at, lead.id)
    return (int(tier), lead.next_call_at, lead.id)


def order_queue(
    leads: Iterable[QueueCandidate], user_id: int, now: datetime, grace: timedelta
) -> list[QueueCandidate]:
    """The leads callable for ``user_id`` at ``now`` (claims included), in queue order."""
    ranked = []
    for lead in leads:
        tier = tier_of(lead, user_id, now, grace)
        if tier is not None and claim_is_free(lead, user_id, now):
            ranked.append((queue_sort_key(lead, tier), lead))
    ranked.sort(key=lambda pair: pair[0])
    return [lead for _, lead in ranked]
