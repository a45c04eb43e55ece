"""Operators taking next at once: every lead claimed exactly once, none twice, none skipped.

Each operator takes the next lead, finishes it as recording an outcome would
(state closed, claim ended) and takes again until nothing is left for them.
Threads each push their own app context (so their own session); processes each
build their own app on the same database.
"""
from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Lead, LeadEvent, User
from leads.services.queue import take_next_lead
from tests.conftest import at, utc

pytestmark = pytest.mark.slow

NOW = utc(at("2026-11-25 12:00"))  # Wednesday noon: open
LEADS = 500
OPERATORS = 20


def seed(operator_ids: list[int], count: int = LEADS) -> set[int]:
    """`count` callable leads of every tier; some personal callbacks only their owner may take yet."""
    rng = random.Random(7)
    rows = []
    for index in range(count):
        created = NOW - timedelta(minutes=rng.randint(20, 3000))
        kind = rng.choice(["new", "new", "repeat", "retry", "shared", "overdue", "personal"])
        state = {"repeat": "new", "shared": "callback", "overdue": "callback", "personal": "callback"}.get(kind, kind)
        due = NOW - timedelta(minutes=rng.randint(0, 10) if kind == "personal" else rng.randint(16, 600))
        rows.append(
            {
                "public_id": f"concurrency-{index}",
                "name": f"Пациент {index}",
                "phone": f"+7926{index:07d}",
                "state": state,
                "created_at": created,
                "last_request_at": created,
                "next_call_at": due,
                "sla_due_at": created + timedelta(minutes=15),
                "request_count": 2 if kind == "repeat" else 1,
                "callback_owner_id": rng.choice(operator_ids) if kind in ("overdue", "personal") else None,
            }
        )
    db.session.execute(sa.insert(Lead), rows)
    db.session.commit()
    return set(db.session.scalars(sa.select(Lead.id)))


def add_operators(count: int) -> list[int]:
    users = [
        User(username=f"op-{i:02d}", display_name=f"Оператор {i}", role="operator", password_hash="-")
        for i in range(count)
    ]
    db.session.add_all(users)
    db.session.commit()
    return [user.id for user in users]


def work_the_queue(app, user_id: int) -> list[int]:
    """One operator: take next, finish it, again, until take-next gives nothing."""
    taken = []
    with app.app_context():
        try:
            while (lead_id := take_next_lead(user_id, NOW)) is not None:
                taken.append(lead_id)
                finished = db.session.execute(
                    sa.update(Lead)
                    .where(Lead.id == lead_id, Lead.claimed_by_id == user_id)
                    .values(state="closed", claimed_by_id=None, claim_expires_at=None)
                )
                assert finished.rowcount == 1, f"lead {lead_id} was not held by {user_id} any more"
                db.session.commit()
        finally:
            db.session.remove()
    return taken


def in_threads(app, operator_ids: list[int]) -> list[int]:
    with ThreadPoolExecutor(len(operator_ids)) as pool:
        results = list(pool.map(lambda user_id: work_the_queue(app, user_id), operator_ids))
    return [lead_id for taken in results for lead_id in taken]


def operators_in_a_process(database_url: str, instance: str, operator_ids: list[int]) -> list[int]:
    """Runs in a fresh (spawned) process: its own app on the shared database."""
    import os

    os.environ["INSTANCE_PATH"] = instance
    from leads.app import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    try:
        return in_threads(app, operator_ids)
    finally:
        with app.app_context():
            db.engine.dispose()


def in_processes(app, operator_ids: list[int], tmp_path) -> list[int]:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    halves = [operator_ids[0::2], operator_ids[1::2]]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(operators_in_a_process, url, str(tmp_path / f"p{i}"), half) for i, half in enumerate(halves)
        ]
        return [lead_id for future in futures for lead_id in future.result()]


def assert_each_lead_taken_once(taken: list[int], lead_ids: set[int]) -> None:
    twice = [lead_id for lead_id, times in Counter(taken).items() if times > 1]
    assert twice == [], f"claimed more than once: {twice}"
    assert set(taken) == lead_ids, f"never claimed: {sorted(lead_ids - set(taken))[:20]}"
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).where(Lead.state != "closed")) == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(Lead.claimed_by_id.is_not(None))) == 0
    claimed_events = db.session.scalar(sa.select(sa.func.count()).where(LeadEvent.kind == "claimed"))
    assert claimed_events == len(lead_ids)


def test_twenty_operators_in_threads_take_each_lead_exactly_once(app):
    operator_ids = add_operators(OPERATORS)
    lead_ids = seed(operator_ids)
    taken = in_threads(app, operator_ids)
    assert_each_lead_taken_once(taken, lead_ids)


def test_operators_in_two_processes_take_each_lead_exactly_once(app, tmp_path):
    operator_ids = add_operators(8)
    lead_ids = seed(operator_ids)
    db.session.remove()
    taken = in_processes(app, operator_ids, tmp_path)
    assert_each_lead_taken_once(taken, lead_ids)


def test_an_operator_clicking_take_next_eight_times_at_once_holds_one_lead(app):
    operator_ids = add_operators(2)
    seed(operator_ids, count=50)
    db.session.remove()

    def click(_):
        with app.app_context():
            try:
                return take_next_lead(operator_ids[0], NOW)
            finally:
                db.session.remove()

    for _round in range(5):
        with ThreadPoolExecutor(8) as pool:
            answers = set(pool.map(click, range(8)))
        held = db.session.scalars(sa.select(Lead.id).where(Lead.claimed_by_id == operator_ids[0])).all()
        assert len(held) == 1 and answers == set(held)
        db.session.execute(sa.update(Lead).where(Lead.id == held[0]).values(state="closed", claimed_by_id=None))
        db.session.commit()
