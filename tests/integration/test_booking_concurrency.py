"""Fifty operators booking one doctor's slot at once: exactly one appointment (DESIGN.md §1.5).

Each of 50 leads is claimed by its own operator; every operator books the same
doctor and slot for their lead at the same moment.  The partial unique index
decides: one booking, 49 `SlotTaken` refusals with free slots nearby, and the
49 leads untouched — still open, due and held by their operator (the claim is
kept: the operator is still on the phone and offers a slot nearby).
Threads each push their own app context (their own session); processes each
build their own app on the same database.
"""
from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment, CallAttempt, Doctor, Lead, User
from leads.services.appointments import SlotTaken, book_appointment
from tests.conftest import at, utc

pytestmark = pytest.mark.slow

NOW = at("2026-11-23 10:00")  # Monday, open
SLOT = at("2026-11-24 11:00")
ATTEMPTS = 50


def seed() -> tuple[int, list[tuple[int, int]]]:
    """A doctor, and 50 (lead, operator) pairs: each lead claimed by its own operator."""
    doctor = Doctor(name="Иванов", specialty="Терапевт")
    db.session.add(doctor)
    db.session.execute(
        sa.insert(User),
        [{"username": f"op-{i:02d}", "display_name": f"Оператор {i}", "role": "operator", "password_hash": "-"}
         for i in range(ATTEMPTS)],
    )
    operator_ids = db.session.scalars(sa.select(User.id).order_by(User.id)).all()
    db.session.execute(
        sa.insert(Lead),
        [
            {
                "public_id": f"race-{i}",
                "name": f"Пациент {i}",
                "phone": f"+7926{i:07d}",
                "state": "new",
                "created_at": utc(NOW) - timedelta(minutes=5),
                "last_request_at": utc(NOW) - timedelta(minutes=5),
                "next_call_at": utc(NOW) - timedelta(minutes=5),
                "claimed_by_id": operator_id,
                "claim_expires_at": utc(NOW) + timedelta(minutes=10),
            }
            for i, operator_id in enumerate(operator_ids)
        ],
    )
    db.session.commit()
    pairs = db.session.execute(sa.select(Lead.id, Lead.claimed_by_id).order_by(Lead.id)).all()
    return doctor.id, [tuple(pair) for pair in pairs]


def book(app, doctor_id: int, lead_id: int, operator_id: int, ready: threading.Barrier, start_at: float) -> str:
    """One operator's attempt: 'booked', or 'taken' (with nearby slots offered)."""
    with app.app_context():
        try:
            ready.wait()
            time.sleep(max(0.0, start_at - time.time()))
            try:
                book_appointment(lead_id, operator_id, doctor_id, SLOT, now=NOW)
            except SlotTaken as taken:
                assert taken.nearby and SLOT not in [s.start for s in taken.nearby]
                return "taken"
            return "booked"
        finally:
            db.session.remove()


def in_threads(app, doctor_id: int, pairs: list[tuple[int, int]], start_at: float) -> list[str]:
    ready = threading.Barrier(len(pairs))
    with ThreadPoolExecutor(len(pairs)) as pool:
        futures = [pool.submit(book, app, doctor_id, lead_id, op, ready, start_at) for lead_id, op in pairs]
        return [future.result() for future in futures]


def book_in_a_process(database_url: str, instance: str, doctor_id: int, pairs, both_up) -> list[str]:
    """Runs in a fresh (spawned) process: its own app on the shared database."""
    import os

    os.environ["INSTANCE_PATH"] = instance
    from leads.app import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    try:
        both_up.wait(60)  # start together, so that the two processes race
        return in_threads(app, doctor_id, pairs, time.time())
    finally:
        with app.app_context():
            db.engine.dispose()


def assert_one_booking_and_the_rest_untouched(results: list[str], pairs: list[tuple[int, int]]) -> None:
    assert Counter(results) == {"booked": 1, "taken": ATTEMPTS - 1}
    db.session.remove()
    appointments = db.session.scalars(sa.select(Appointment)).all()
    assert len(appointments) == 1 and appointments[0].starts_at == utc(SLOT)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 1
    winner = appointments[0].lead_id
    leads = {lead.id: lead for lead in db.session.scalars(sa.select(Lead))}
    assert leads[winner].state == "booked" and leads[winner].claimed_by_id is None
    for lead_id, operator_id in pairs:
        if lead_id == winner:
            continue
        lead = leads[lead_id]
        assert (lead.state, lead.attempts, lead.claimed_by_id) == ("new", 0, operator_id)
        assert lead.claim_expires_at == utc(NOW) + timedelta(minutes=10)
        assert lead.next_call_at <= utc(NOW)


def test_fifty_operators_in_threads_book_one_slot_once(app):
    doctor_id, pairs = seed()
    results = in_threads(app, doctor_id, pairs, time.time())
    assert_one_booking_and_the_rest_untouched(results, pairs)


def test_operators_in_two_processes_book_one_slot_once(app, tmp_path):
    doctor_id, pairs = seed()
    db.session.remove()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    halves = [pairs[0::2], pairs[1::2]]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(2, mp_context=context) as pool:
        both_up = manager.Barrier(2)
        futures = [
            pool.submit(book_in_a_process, url, str(tmp_path / f"p{i}"), doctor_id, half, both_up)
            for i, half in enumerate(halves)
        ]
        results = [result for future in futures for result in future.result()]
    assert_one_booking_and_the_rest_untouched(results, pairs)
