"""The order of the operators' queue (DESIGN.md §1.4), without a database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from leads.domain.queue import QueueCandidate, QueueTier, claim_is_free, order_queue, queue_sort_key, tier_of

ME, OTHER, THIRD = 1, 2, 3
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday 12:00 in Moscow
GRACE = timedelta(minutes=15)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def lead(
    lead_id: int,
    state: str = "new",
    *,
    due: float = 5,
    created: float = 60,
    requests: int = 1,
    owner: int | None = None,
    held_by: int | None = None,
    held_for: float = 5,
) -> QueueCandidate:
    """A lead due `due` minutes ago, created `created` minutes ago."""
    return QueueCandidate(
        id=lead_id,
        state=state,
        next_call_at=ago(due),
        created_at=ago(created),
        request_count=requests,
        callback_owner_id=owner,
        claimed_by_id=held_by,
        claim_expires_at=NOW + timedelta(minutes=held_for) if held_by else None,
    )


def ids(leads: list[QueueCandidate], user_id: int = ME) -> list[int]:
    return [candidate.id for candidate in order_queue(leads, user_id, NOW, GRACE)]


def test_tiers_are_served_in_the_documented_order():
    leads = [
        lead(1, "retry", due=300),
        lead(2, "new", created=500, due=500),
        lead(3, "new", created=10, due=10, requests=2),
        lead(4, "callback", due=60, owner=OTHER),
        lead(5, "callback", due=1, owner=None),
        lead(6, "callback", due=1, owner=ME),
    ]
    assert ids(leads) == [6, 5, 4, 3, 2, 1]
    assert [tier_of(c, ME, NOW, GRACE) for c in sorted(leads, key=lambda c: -c.id)] == list(QueueTier)


def test_my_personal_callbacks_come_before_older_shared_ones():
    assert ids([lead(1, "callback", due=120), lead(2, "callback", due=1, owner=ME)]) == [2, 1]


def test_personal_callbacks_are_for_their_owner_first():
    mine_for_other = lead(1, "callback", due=5, owner=ME)
    assert tier_of(mine_for_other, ME, NOW, GRACE) is QueueTier.MY_CALLBACK
    assert tier_of(mine_for_other, OTHER, NOW, GRACE) is None


@pytest.mark.parametrize(
    ("overdue_minutes", "callable_for_others"),
    [(0, False), (14, False), (15, False), (15.001, True), (16, True), (600, True)],
)
def test_others_personal_callback_becomes_callable_only_after_the_grace_period(overdue_minutes, callable_for_others):
    callback = lead(1, "callback", due=overdue_minutes, owner=OTHER)
    expected = QueueTier.OVERDUE_CALLBACK if callable_for_others else None
    assert tier_of(callback, ME, NOW, GRACE) is expected
    assert ids([callback]) == ([1] if callable_for_others else [])


def test_overdue_callbacks_of_others_come_after_shared_and_before_new():
    leads = [
        lead(1, "new", created=900, due=900, requests=3),
        lead(2, "callback", due=16, owner=OTHER),
        lead(3, "callback", due=2),
        lead(4, "callback", due=200, owner=THIRD),
    ]
    assert ids(leads) == [3, 4, 2, 1]


def test_repeat_requests_come_first_among_new_leads_then_oldest_first():
    leads = [
        lead(1, "new", created=300, due=300),
        lead(2, "new", created=20, due=20, requests=2),
        lead(3, "new", created=100, due=100),
        lead(4, "new", created=50, due=1, requests=4),  # repeat made it due again just now
    ]
    assert ids(leads) == [4, 2, 1, 3]


def test_new_leads_go_by_arrival_not_by_due_time():
    # Lead 1 arrived first but asked for a later window; it is still the oldest request.
    assert ids([lead(1, "new", created=120, due=5), lead(2, "new", created=60, due=60)]) == [1, 2]


def test_retries_go_by_due_time_after_every_new_lead():
    leads = [
        lead(1, "retry", due=10, created=5000),
        lead(2, "retry", due=90, created=10),
        lead(3, "new", created=1, due=1),
    ]
    assert ids(leads) == [3, 2, 1]


def test_ties_are_broken_by_due_time_then_id():
    leads = [
        lead(9, "retry", due=30),
        lead(7, "retry", due=30),
        lead(8, "new", created=40, due=30),
        lead(6, "new", created=40, due=35),
        lead(5, "new", created=40, due=30),
    ]
    assert ids(leads) == [6, 5, 8, 7, 9]


def test_leads_not_yet_due_are_not_callable():
    future = QueueCandidate(id=1, state="retry", next_call_at=NOW + timedelta(seconds=1), created_at=ago(60))
    exactly_now = QueueCandidate(id=2, state="retry", next_call_at=NOW, created_at=ago(60))
    no_time = QueueCandidate(id=3, state="new", next_call_at=None, created_at=ago(60))
    assert ids([future, exactly_now, no_time]) == [2]


@pytest.mark.parametrize("state", ["booked", "closed"])
def test_booked_and_closed_leads_are_never_in_the_queue(state):
    assert tier_of(lead(1, state), ME, NOW, GRACE) is None


def test_a_live_claim_of_someone_else_hides_the_lead():
    assert ids([lead(1, held_by=OTHER, held_for=1)]) == []
    assert claim_is_free(lead(1, held_by=OTHER, held_for=1), OTHER, NOW)


@pytest.mark.parametrize("held_for", [0, -1, -600])
def test_an_expired_claim_frees_the_lead(held_for):
    assert ids([lead(1, held_by=OTHER, held_for=held_for)]) == [1]


def test_my_own_claim_does_not_hide_the_lead_from_me():
    assert ids([lead(1, held_by=ME, held_for=5)]) == [1]


def random_leads(rng: random.Random, count: int) -> list[QueueCandidate]:
    """Leads in every state, due around now, some claimed, with many ties."""
    leads = []
    for lead_id in range(1, count + 1):
        held_by = rng.choice([None, None, None, ME, OTHER, THIRD])
        leads.append(
            QueueCandidate(
                id=lead_id,
                state=rng.choice(["new", "new", "retry", "callback", "callback", "booked", "closed"]),
                next_call_at=ago(rng.choice([-30, -1, 0, 1, 5, 14, 15, 16, 30, 120])),
                created_at=ago(rng.choice([0, 30, 60, 600, 6000])),
                request_count=rng.choice([1, 1, 2, 3]),
                callback_owner_id=rng.choice([None, ME, OTHER, THIRD]),
                claimed_by_id=held_by,
                claim_expires_at=NOW + timedelta(minutes=rng.choice([-5, 0, 5])) if held_by else None,
            )
        )
    return leads


@pytest.mark.parametrize("seed", range(5))
def test_order_on_random_leads_keeps_every_rule(seed):
    rng = random.Random(seed)
    leads = random_leads(rng, 300)
    ordered = order_queue(leads, ME, NOW, GRACE)
    tiers = [tier_of(c, ME, NOW, GRACE) for c in ordered]
    assert tiers == sorted(tiers), "tiers are contiguous and in order"
    assert len({c.id for c in ordered}) == len(ordered)
    keys = [queue_sort_key(c, t) for c, t in zip(ordered, tiers, strict=True)]
    assert keys == sorted(keys)
    left_out = {c.id for c in leads} - {c.id for c in ordered}
    for candidate in leads:
        if candidate.id in left_out:
            assert (
                candidate.state in ("booked", "closed")
                or candidate.next_call_at > NOW
                or not claim_is_free(candidate, ME, NOW)
                or (candidate.callback_owner_id not in (None, ME) and candidate.state == "callback"
                    and NOW - candidate.next_call_at <= GRACE)
            )
