"""`flask demo`: what `make run` shows a new clinic, loaded through the real services."""
from __future__ import annotations

import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import Appointment, CallAttempt, Doctor, Lead, User
from tests.conftest import at


def test_demo_loads_logins_doctors_and_leads_in_many_states_once(runner):
    with time_machine.travel(at("2026-11-25 15:00"), tick=False):
        first = runner.invoke(args=["demo"])
        again = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "demo login: operator / operator-demo-pass (operator)" in first.output
    assert {u for u in db.session.scalars(sa.select(User.role))} == {"operator", "manager", "admin"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Doctor)) == 5
    states = set(db.session.scalars(sa.select(Lead.state)))
    assert {"new", "retry", "booked", "closed"} <= states
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) > 10
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) > 0
    assert "already loaded" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 40


def test_demo_names_agree_in_gender_and_requests_fall_in_the_current_week(runner):
    with time_machine.travel(at("2026-11-26 15:00"), tick=False):  # a Thursday
        assert runner.invoke(args=["demo"]).exit_code == 0
    names = list(db.session.scalars(sa.select(Lead.name)))
    for name in names:
        first, last = name.split()
        female = first in {"Анна", "Мария", "Ольга", "Елена", "Наталья"}
        assert last.endswith("а") == female, name
    arrived = list(db.session.scalars(sa.select(Lead.created_at)))
    assert min(arrived) >= at("2026-11-23 00:00") and max(arrived) <= at("2026-11-26 15:00")
