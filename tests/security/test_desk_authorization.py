"""Finding 9: a colleague's personal callback is theirs until it is overdue past the grace period,
and a nested route acts only on an object that belongs to the lead in its path."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment
from leads.services.appointments import book_appointment
from leads.services.calls import record_outcome
from tests.conftest import at
from tests.functional.test_booking_http import add_doctor, slot
from tests.functional.test_operator_desk import frozen
from tests.factories import lead, new_lead

JSON = {"Accept": "application/json"}
AGREED = "2026-11-23 12:00"  # Olga agreed to call Anna back at noon, for her only (grace: 15 minutes)


@pytest.fixture
def desk(app, make_user):
    clients = {}
    for role, name in (("operator", "olga"), ("operator", "pavel"), ("manager", "marina")):
        client = app.test_client()
        client.user = make_user(role, name)
        clients[name] = client
    return clients


@pytest.fixture
def olgas_callback(desk):
    lead_id = new_lead()
    record_outcome(
        lead_id, desk["olga"].user.id, "callback", callback_at=at(AGREED), callback_for_me=True, now=at("2026-11-23 10:00")
    )
    return lead_id


@pytest.mark.parametrize("moment", ["2026-11-23 11:00", "2026-11-23 12:00", "2026-11-23 12:15"])
def test_a_colleague_cannot_claim_or_close_a_personal_callback_before_the_grace_period_ends(desk, olgas_callback, moment):
    pavel = desk["pavel"]
    with frozen(moment, pavel):
        claimed = pavel.post(f"/operator/leads/{olgas_callback}/claim", headers=JSON)
        closed = pavel.post(f"/operator/leads/{olgas_callback}/outcome", data={"outcome": "declined"}, headers=JSON)
    assert claimed.status_code == 409 and closed.status_code == 409
    assert "Olga" in claimed.json["error"]
    assert lead(olgas_callback).state == "callback" and lead(olgas_callback).claimed_by_id is None


def test_a_colleague_cannot_book_it_either(desk, olgas_callback):
    doctor = add_doctor()
    with frozen("2026-11-23 11:00", desk["pavel"]):
        answer = desk["pavel"].post(
            f"/operator/leads/{olgas_callback}/book", data={"slot": slot(doctor, "2026-11-24 10:00")}, headers=JSON
        )
    assert answer.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_after_the_grace_period_anyone_may_take_it(desk, olgas_callback):
    with frozen("2026-11-23 12:16", desk["pavel"]):
        assert desk["pavel"].post(f"/operator/leads/{olgas_callback}/claim", headers=JSON).status_code == 200


def test_the_owner_and_a_manager_may_at_any_time(desk, olgas_callback):
    with frozen("2026-11-23 11:00", desk["olga"], desk["marina"]):
        assert desk["olga"].post(f"/operator/leads/{olgas_callback}/claim", headers=JSON).status_code == 200
        desk["olga"].post(f"/operator/leads/{olgas_callback}/release", headers=JSON)
        assert desk["marina"].post(f"/operator/leads/{olgas_callback}/claim", headers=JSON).status_code == 200


@pytest.fixture
def two_bookings(desk):
    doctor = add_doctor()
    mine, other = new_lead(phone="+79161111111"), new_lead(phone="+79162222222")
    olga = desk["olga"].user.id
    booked = {
        lead_id: book_appointment(lead_id, olga, doctor, at(when), now=at("2026-11-23 10:00")).id
        for lead_id, when in ((mine, "2026-11-24 10:00"), (other, "2026-11-24 11:00"))
    }
    return doctor, mine, other, booked


@pytest.mark.parametrize("action", ["cancel", "attendance", "reschedule"])
def test_a_nested_route_refuses_an_appointment_of_another_lead(desk, two_bookings, action):
    doctor, mine, other, booked = two_bookings
    data = {"cancel": {"reason": "по ошибке"}, "attendance": {"attended": "yes"},
            "reschedule": {"slot": slot(doctor, "2026-11-25 12:00")}}[action]
    with frozen("2026-11-24 12:00", desk["olga"]):
        answer = desk["olga"].post(f"/operator/leads/{mine}/appointments/{booked[other]}/{action}", data=data, headers=JSON)
    assert answer.status_code == 404
    untouched = db.session.get(Appointment, booked[other], populate_existing=True)
    assert untouched.status == "scheduled" and untouched.starts_at == at("2026-11-24 11:00")
