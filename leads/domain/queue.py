"""The order of the operators' queue (DESIGN.md §1.4), as pure rules.

A lead is *callable* for an operator when it is open, due, not held by someone
else's live claim and, for a personal callback of another operator, overdue by
more than the grace period.  Callable leads fall into tiers, served in this order:

1. my due personal callbacks;
2. due shared callbacks (no owner);
3. other operators' personal callbacks overdue by more than the grace period;
4. new leads with repeat requests, then 5. other new leads, both oldest first;
6. retries, by due time.

`TIER_RULES` is the one definition of this order: which leads belong to each
tier and how a tier is sorted (ties broken by due time and then id).  The
functions here apply it to values; `leads.services.queue` turns the same rules
into one query per tier.  Whether the clinic is open is the calendar's
business, not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, IntEnum

from leads.domain.outcomes import OPEN_STATES, LeadState

__all__ = [
    "TIER_RULES",
    "CallbackOwner",
    "QueueCandidate",
    "QueueTier",
    "TierRule",
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


class CallbackOwner(Enum):
    """Whose callback a tier holds, seen from the operator asking."""

    ANY = "any"  # not a callback tier: the owner does not matter
    ME = "me"
    NOBODY = "nobody"  # a shared callback
    OTHER_OVERDUE = "other_overdue"  # someone else's, overdue by more than the grace period


BY_DUE_TIME = ("next_call_at", "id")
BY_ARRIVAL = ("created_at", "next_call_at", "id")


@dataclass(frozen=True)
class TierRule:
    """Which due leads make up `tier`, and the order inside it (QueueCandidate field names)."""

    tier: QueueTier
    state: LeadState
    owner: CallbackOwner = CallbackOwner.ANY
    repeat: bool | None = None  # True: repeat requests only (request_count > 1); False: first requests only
    order: tuple[str, ...] = BY_DUE_TIME


TIER_RULES: tuple[TierRule, ...] = (
    TierRule(QueueTier.MY_CALLBACK, LeadState.CALLBACK, CallbackOwner.ME),
    TierRule(QueueTier.SHARED_CALLBACK, LeadState.CALLBACK, CallbackOwner.NOBODY),
    TierRule(QueueTier.OVERDUE_CALLBACK, LeadState.CALLBACK, CallbackOwner.OTHER_OVERDUE),
    TierRule(QueueTier.REPEAT_NEW, LeadState.NEW, repeat=True, order=BY_ARRIVAL),
    TierRule(QueueTier.NEW, LeadState.NEW, repeat=False, order=BY_ARRIVAL),
    TierRule(QueueTier.RETRY, LeadState.RETRY),
)
RULE_OF_TIER = {rule.tier: rule for rule in TIER_RULES}


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


def _owner_matches(owner: CallbackOwner, lead: QueueCandidate, user_id: int, now: datetime, grace: timedelta) -> bool:
    if owner is CallbackOwner.ME:
        return lead.callback_owner_id == user_id
    if owner is CallbackOwner.NOBODY:
        return lead.callback_owner_id is None
    if owner is CallbackOwner.OTHER_OVERDUE:
        assert lead.next_call_at is not None  # only due leads are matched
        # Overdue by *more* than the grace period: exactly the grace period is not enough.
        return lead.callback_owner_id not in (None, user_id) and now - lead.next_call_at > grace
    return True


def _rule_matches(rule: TierRule, lead: QueueCandidate, user_id: int, now: datetime, grace: timedelta) -> bool:
    if lead.state != rule.state or not _owner_matches(rule.owner, lead, user_id, now, grace):
        return False
    return rule.repeat is None or (lead.request_count > 1) == rule.repeat


def tier_of(lead: QueueCandidate, user_id: int, now: datetime, grace: timedelta) -> QueueTier | None:
    """The tier of ``lead`` in ``user_id``'s queue at ``now``, or None if it is not callable.

    The claim is not looked at here (see `claim_is_free`).
    """
    if lead.state not in OPEN_STATES or not is_due(lead, now):
        return None
    for rule in TIER_RULES:
        if _rule_matches(rule, lead, user_id, now, grace):
            return rule.tier
    return None


def queue_sort_key(lead: QueueCandidate, tier: QueueTier) -> tuple:
    """The sort key of a callable ``lead`` of ``tier``: tier first, then the tier's own order."""
    return (int(tier), *(getattr(lead, name) for name in RULE_OF_TIER[tier].order))


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
