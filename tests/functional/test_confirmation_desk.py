"""Confirmation calls on the desk over HTTP (issue 14): in the queue, taken with "Take next",
and each outcome button."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment
from leads.outbox_models import ConfirmationTask
from leads.services.appointments import book_appointment
from tests.conftest import at
from tests.functional.test_operator_desk import frozen
from tests.integration.test_appointments import add_doctor, add_lead

VISIT = at("2026-11-25 11:00")  # Wednesday; its confirmation call is due Tuesday 09:00


@pytest.fixture
def booked(app, make_user):
    booker = make_user("operator", "boris")
    lead_id = add_lead(claimed_by=booker.id)
    return book_appointment(lead_id, booker.id, add_doctor(), VISIT, now=at("2026-11-23 10:00"))


def task_id() -> int:
    return db.session.scalar(sa.select(ConfirmationTask.id))


def test_the_queue_lists_the_call_and_take_next_opens_it(operator_client, booked):
    with frozen("2026-11-24 10:00", operator_client):
        page = operator_client.get("/operator/").get_data(as_text=True)
        assert "Confirmation calls" in page and "Анна Иванова" in page and "Wednesday 25 November, 11:00" in page
        taken = operator_client.post("/operator/next")
        assert taken.status_code == 303 and taken.location.endswith(f"/operator/confirmations/{task_id()}")
        call = operator_client.get(taken.location).get_data(as_text=True)
        assert 'href="tel:+79161234567"' in call and "Иванов — Терапевт" in call
        for label in ("Confirmed", "Wants another time", "Cancelled by the patient", "No answer"):
            assert label in call


def test_not_in_the_queue_before_its_day(operator_client, booked):
    with frozen("2026-11-23 19:00", operator_client):
        assert "Confirmation calls" not in operator_client.get("/operator/").get_data(as_text=True)
        assert operator_client.post("/operator/next", headers={"Accept": "application/json"}).json == {"lead_id": None}


def test_confirmed_goes_back_to_the_queue_with_the_visit_confirmed(operator_client, booked):
    with frozen("2026-11-24 10:00", operator_client):
        answer = operator_client.post(f"/operator/confirmations/{task_id()}/outcome", data={"outcome": "confirmed"},
                                      follow_redirects=True)
        assert "The visit is confirmed." in answer.get_data(as_text=True)
        assert "Confirmation calls" not in answer.get_data(as_text=True)
    assert db.session.get(Appointment, booked.id, populate_existing=True).confirmed_at is not None


def test_reschedule_opens_the_booking_panel_to_move_the_visit(operator_client, booked):
    with frozen("2026-11-24 10:00", operator_client):
        answer = operator_client.post(f"/operator/confirmations/{task_id()}/outcome", data={"outcome": "reschedule"})
        assert answer.status_code == 303
        assert answer.location.endswith(f"/operator/leads/{booked.lead_id}?reschedule={booked.id}#booking")


def test_no_answer_says_when_the_call_comes_back(operator_client, booked):
    with frozen("2026-11-24 10:00", operator_client):
        answer = operator_client.post(f"/operator/confirmations/{task_id()}/outcome", data={"outcome": "no_answer"},
                                      follow_redirects=True)
        assert "No answer: the call comes back at 11:00." in answer.get_data(as_text=True)


def test_a_done_call_or_an_unknown_one_is_refused(operator_client, booked):
    with frozen("2026-11-24 10:00", operator_client):
        operator_client.post(f"/operator/confirmations/{task_id()}/outcome", data={"outcome": "confirmed"})
        again = operator_client.post(f"/operator/confirmations/{task_id()}/outcome", data={"outcome": "confirmed"},
                                     headers={"Accept": "application/json"})
        assert again.status_code == 409 and "already done" in again.json["error"]
        bad = operator_client.post(f"/operator/confirmations/{task_id()}/outcome", data={"outcome": "maybe"},
                                   headers={"Accept": "application/json"})
        assert bad.status_code == 422 and bad.json["errors"] == {"outcome": ["Choose what came of the call."]}
        assert operator_client.get("/operator/confirmations/999999").status_code == 404
