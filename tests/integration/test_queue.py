"""The operators' queue on a real database (DESIGN.md §1.4): take next, claims, the queue view."""
from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from leads.domain.queue import TIER_RULES, QueueCandidate, order_queue
from leads.extensions import db
from leads.models import Closure, Lead, LeadEvent
from leads.services import queue as queue_service
from leads.services.queue import (
    LeadClaimedByOther,
    LeadNotFound,
    LeadNotOpen,
    claim_lead,
    queue_view,
    release_lead,
    take_next_lead,
)
from tests.conftest import at, utc

NOW = utc(at("2026-11-25 12:00"))  # Wednesday
GRACE = timedelta(minutes=15)
_phones = itertools.count(1)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def add_lead(
    state: str = "new",
    *,
    due: datetime | None = None,
    created: datetime | None = None,
    requests: int = 1,
    owner: int | None = None,
    held_by: int | None = None,
    held_until: datetime | None = None,
    sla_due_at: datetime | None = None,
    attempts: int = 0,
) -> int:
    """Store one lead (due 5 minutes before NOW, created an hour before, by default); its id."""
    created = created or NOW - minutes(60)
    lead = Lead(
        name=f"Пациент {next(_phones)}",
        phone=f"+7916{next(_phones):07d}",
        state=state,
        created_at=created,
        last_request_at=created,
        next_call_at=due if due is not None else NOW - minutes(5),
        sla_due_at=sla_due_at or created + minutes(15),
        request_count=requests,
        callback_owner_id=owner,
        claimed_by_id=held_by,
        claim_expires_at=held_until or (NOW + minutes(5) if held_by else None),
        attempts=attempts,
    )
    db.session.add(lead)
    db.session.commit()
    return lead.id


def finish(lead_id: int) -> None:
    """What recording an outcome does to the queue: the lead leaves it and the claim ends."""
    db.session.execute(
        sa.update(Lead).where(Lead.id == lead_id).values(state="closed", claimed_by_id=None, claim_expires_at=None)
    )
    db.session.commit()


def take_all(user_id: int, now: datetime = NOW) -> list[int]:
    """Take next and finish, until the queue is empty."""
    taken = []
    while (lead_id := take_next_lead(user_id, now)) is not None:
        taken.append(lead_id)
        finish(lead_id)
    return taken


def events(lead_id: int) -> list[tuple[str, int | None]]:
    rows = db.session.execute(
        sa.select(LeadEvent.kind, LeadEvent.user_id).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
    )
    return [tuple(row) for row in rows]


def claim_of(lead_id: int) -> tuple[int | None, datetime | None]:
    lead = db.session.get(Lead, lead_id)
    db.session.refresh(lead)
    return lead.claimed_by_id, lead.claim_expires_at


@pytest.fixture
def me(make_user):
    return make_user("operator", "me").id


@pytest.fixture
def other(make_user):
    return make_user("operator", "other").id


@pytest.fixture
def third(make_user):
    return make_user("operator", "third").id


# -- order ------------------------------------------------------------------------------

def test_take_next_serves_the_tiers_in_order(app, me, other):
    retry = add_lead("retry", due=NOW - minutes(300))
    first_new = add_lead("new", created=NOW - minutes(500), due=NOW - minutes(500))
    repeat = add_lead("new", created=NOW - minutes(10), due=NOW - minutes(10), requests=2)
    overdue_of_other = add_lead("callback", due=NOW - minutes(60), owner=other)
    shared = add_lead("callback", due=NOW - minutes(1))
    mine = add_lead("callback", due=NOW - minutes(1), owner=me)
    add_lead("callback", due=NOW - minutes(5), owner=other)  # not overdue enough for me
    add_lead("retry", due=NOW + minutes(1))  # not due

    assert take_all(me) == [mine, shared, overdue_of_other, repeat, first_new, retry]


@pytest.mark.parametrize(("overdue", "taken"), [(15, False), (16, True)])
def test_others_personal_callback_waits_for_the_grace_period(app, me, other, overdue, taken):
    callback = add_lead("callback", due=NOW - minutes(overdue), owner=other)
    assert take_next_lead(me, NOW) == (callback if taken else None)
    assert take_next_lead(other, NOW) == (None if taken else callback)


def random_leads(rng: random.Random, users: list[int], count: int) -> list[int]:
    """A mixed data set with many ties in time; claims only by others than users[0]."""
    ids = []
    for _ in range(count):
        held_by = rng.choice([None, None, None, users[1], users[2]])
        ids.append(
            add_lead(
                rng.choice(["new", "new", "retry", "callback", "callback", "booked", "closed"]),
                due=NOW - minutes(rng.choice([-30, -1, 0, 1, 5, 14, 15, 16, 30, 120])),
                created=NOW - minutes(rng.choice([0, 30, 60, 600, 6000])),
                requests=rng.choice([1, 1, 2, 3]),
                owner=rng.choice([None, *users]),
                held_by=held_by,
                held_until=NOW + minutes(rng.choice([-5, 0, 5])) if held_by else None,
            )
        )
    return ids


def candidates() -> list[QueueCandidate]:
    rows = db.session.scalars(sa.select(Lead)).all()
    return [
        QueueCandidate(
            id=r.id, state=r.state, next_call_at=r.next_call_at, created_at=r.created_at,
            request_count=r.request_count, callback_owner_id=r.callback_owner_id,
            claimed_by_id=r.claimed_by_id, claim_expires_at=r.claim_expires_at,
        )
        for r in rows
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_take_next_and_the_view_follow_the_domain_order_on_mixed_data(app, me, other, third, seed):
    random_leads(random.Random(seed), [me, other, third], 150)
    expected = [c.id for c in order_queue(candidates(), me, NOW, GRACE)]
    assert len(expected) > 30

    view = queue_view(me, NOW, limit=1000)
    assert [row.lead_id for row in view.upcoming] == expected
    assert view.counters.callable_now == len(expected)
    assert [row.lead_id for row in queue_view(me, NOW, limit=7).upcoming] == expected[:7]
    assert take_all(me) == expected


# -- claims -----------------------------------------------------------------------------

@pytest.mark.parametrize("expired_by", [minutes(0), minutes(1), minutes(600)])
def test_an_expired_claim_frees_the_lead(app, me, other, expired_by):
    lead_id = add_lead(held_by=other, held_until=NOW - expired_by)
    assert take_next_lead(me, NOW) == lead_id
    assert claim_of(lead_id) == (me, NOW + minutes(10))


def test_a_live_claim_of_someone_else_hides_the_lead(app, me, other):
    add_lead(held_by=other, held_until=NOW + minutes(1), created=NOW - minutes(90))
    free = add_lead(created=NOW - minutes(30))
    assert [row.lead_id for row in queue_view(me, NOW).upcoming] == [free]
    assert take_next_lead(me, NOW) == free
    finish(free)
    assert take_next_lead(me, NOW) is None


def test_take_next_gives_back_the_lead_i_hold_and_renews_the_claim(app, me):
    older = add_lead(created=NOW - minutes(300))
    mine = add_lead(created=NOW - minutes(30))
    claim_lead(mine, me, NOW - minutes(3))
    assert take_next_lead(me, NOW) == mine
    assert claim_of(mine) == (me, NOW + minutes(10))
    assert claim_of(older) == (None, None)
    assert events(mine) == [("claimed", me)]


def test_take_next_writes_a_claimed_event_and_sets_the_claim(app, me):
    lead_id = add_lead()
    assert take_next_lead(me, NOW) == lead_id
    assert claim_of(lead_id) == (me, NOW + minutes(10))
    assert events(lead_id) == [("claimed", me)]


def test_nothing_callable_gives_none(app, me):
    add_lead("booked")
    add_lead("closed")
    add_lead("new", due=NOW + minutes(1))
    assert take_next_lead(me, NOW) is None


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-11-29 12:00", False),  # Sunday
        ("2026-11-30 08:59", False),
        ("2026-11-30 09:00", True),
        ("2026-11-30 19:59", True),
        ("2026-11-30 20:00", False),
    ],
)
def test_take_next_refuses_while_the_clinic_is_closed(app, me, moment, is_open):
    now = utc(at(moment))
    lead_id = add_lead(created=now - minutes(600), due=now - minutes(600))
    assert take_next_lead(me, now) == (lead_id if is_open else None)
    view = queue_view(me, now)
    assert view.clinic_open is is_open
    if is_open:
        assert view.current.lead_id == lead_id and view.opens_at is None
    else:
        assert [row.lead_id for row in view.upcoming] == [lead_id]
        assert view.counters.callable_now == 0
        assert view.opens_at == at("2026-11-30 09:00" if moment < "2026-11-30 09:00" else "2026-12-01 09:00")


def test_a_closure_day_closes_the_queue(app, me):
    db.session.add(Closure(day=date(2026, 11, 25), reason="Праздник"))
    db.session.commit()
    add_lead()
    assert take_next_lead(me, NOW) is None
    assert queue_view(me, NOW).opens_at == at("2026-11-26 09:00")


def test_claim_lead_refuses_unknown_closed_and_held_leads(app, me, other):
    with pytest.raises(LeadNotFound):
        claim_lead(999_999, me, NOW)
    with pytest.raises(LeadNotOpen):
        claim_lead(add_lead("booked"), me, NOW)
    held = add_lead(held_by=other, held_until=NOW + minutes(2))
    with pytest.raises(LeadClaimedByOther) as refused:
        claim_lead(held, me, NOW)
    assert (refused.value.holder_id, refused.value.holder_name) == (other, "Other")


def test_claim_lead_takes_any_open_lead_and_renewing_is_quiet(app, me):
    later = add_lead("retry", due=NOW + minutes(120))  # not due, still claimable by hand
    claim_lead(later, me, NOW)
    claim_lead(later, me, NOW + minutes(4))
    assert claim_of(later) == (me, NOW + minutes(14))
    assert events(later) == [("claimed", me)]


def test_release_by_the_holder_gives_the_lead_back(app, me, other):
    lead_id = add_lead()
    assert take_next_lead(me, NOW) == lead_id
    release_lead(lead_id, me, now=NOW)
    assert claim_of(lead_id) == (None, None)
    assert events(lead_id) == [("claimed", me), ("released", me)]
    assert take_next_lead(other, NOW) == lead_id


def test_release_by_someone_else_is_refused_but_a_manager_may(app, me, other, make_user):
    manager = make_user("manager", "boss").id
    lead_id = add_lead()
    assert take_next_lead(me, NOW) == lead_id
    with pytest.raises(LeadClaimedByOther) as refused:
        release_lead(lead_id, other, now=NOW)
    assert (refused.value.holder_id, refused.value.holder_name) == (me, "Me")
    assert claim_of(lead_id)[0] == me

    release_lead(lead_id, manager, is_manager=True, now=NOW)
    assert claim_of(lead_id) == (None, None)
    assert events(lead_id) == [("claimed", me), ("released", manager)]


def test_releasing_a_free_lead_does_nothing_and_an_unknown_one_is_not_found(app, me):
    lead_id = add_lead()
    release_lead(lead_id, me, now=NOW)
    assert events(lead_id) == []
    with pytest.raises(LeadNotFound):
        release_lead(999_999, me, now=NOW)


# -- the view ---------------------------------------------------------------------------

def test_counters(app, me, other):
    add_lead("new", sla_due_at=NOW - minutes(1))  # past the SLA, callable
    add_lead("new", sla_due_at=NOW + minutes(5))  # callable
    add_lead("new", due=NOW + minutes(30), sla_due_at=NOW + minutes(45))  # not due yet
    add_lead("new", held_by=other, sla_due_at=NOW - minutes(30))  # held by other, past the SLA
    add_lead("callback", due=utc(at("2026-11-25 09:00")), owner=me)  # due today, mine
    add_lead("callback", due=utc(at("2026-11-25 19:30")))  # due today, later
    add_lead("callback", due=NOW - minutes(5), owner=other)  # due today, not callable for me
    add_lead("callback", due=utc(at("2026-11-24 19:30")))  # yesterday's, overdue: still to do today
    add_lead("callback", due=utc(at("2026-11-26 09:00")))  # tomorrow
    add_lead("retry", due=NOW - minutes(1), attempts=2)
    add_lead("booked")

    counters = queue_view(me, NOW).counters
    assert counters == queue_service.QueueCounters(callable_now=5, new=4, callbacks_due_today=4, past_sla=2)


def test_the_view_shows_my_lead_apart_and_waiting_in_business_minutes(app, me):
    yesterday_evening = add_lead(created=utc(at("2026-11-24 19:00")), due=utc(at("2026-11-24 19:00")))
    this_morning = add_lead(created=utc(at("2026-11-25 10:30")), due=utc(at("2026-11-25 10:30")))
    assert take_next_lead(me, NOW) == yesterday_evening

    view = queue_view(me, NOW)
    assert view.clinic_open and view.opens_at is None
    assert view.current.lead_id == yesterday_evening
    assert view.current.claimed_by_id == me
    assert view.current.waiting_minutes == 60 + 180  # 19:00-20:00 and 09:00-12:00
    assert [(r.lead_id, r.waiting_minutes) for r in view.upcoming] == [(this_morning, 90)]
    assert view.upcoming[0].phone.startswith("+7916")


# -- the plan: every tier is read through the queue's indexes -------------------------------

QUEUE_INDEXES = ("ix_leads_queue", "ix_leads_state_created_at")  # by due time; new leads by arrival


@pytest.mark.parametrize("rule", TIER_RULES, ids=lambda rule: rule.tier.name)
def test_each_tier_is_read_through_the_queue_indexes(app, me, rule):
    query = queue_service._tier_query(rule, me, NOW, GRACE, Lead.id).limit(1)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(sa.text("SET enable_seqscan = off"))  # an empty table would be scanned
            plan = "\n".join(connection.execute(sa.text(f"EXPLAIN {compiled}")).scalars())
        else:
            plan = "\n".join(row[-1] for row in connection.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert any(index in plan for index in QUEUE_INDEXES), plan
