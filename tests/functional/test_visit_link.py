"""The patient's link /visit/<token> (issue 14): shows the visit, confirms, cancels (the slot is
free at once for another patient), and is a plain 404 when wrong or expired."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import Appointment, AuditEntry, LeadEvent
from leads.outbox_models import ConfirmationTask, OutboxMessage
from leads.services.appointments import book_appointment
from leads.services.visit_links import visit_token
from tests.conftest import at
from tests.integration.test_appointments import add_doctor, add_lead

NOW = at("2026-11-23 10:00")  # Monday
VISIT = at("2026-11-25 11:00")  # Wednesday


@pytest.fixture
def app_settings():
    return {"CLINIC_ADDRESS": "Москва, ул. Лесная, 5", "SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
            "PUBLIC_BASE_URL": "https://desk.clinic.example"}


@pytest.fixture
def booked(app, make_user):
    operator = make_user("operator", "olga")
    lead_id = add_lead(claimed_by=operator.id)
    info = book_appointment(lead_id, operator.id, add_doctor(), VISIT, messages_consent=True, now=NOW)
    return info


@pytest.fixture
def clock():
    with time_machine.travel(NOW + timedelta(hours=1), tick=False) as traveller:
        yield traveller


def test_the_page_shows_the_visit_and_nothing_more(client, booked, clock):
    answer = client.get(f"/visit/{visit_token(booked.id)}")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    for text in ("Ваш приём", "Иванов", "Терапевт", "среда 25 ноября 2026", "11:00–11:30", "Москва, ул. Лесная, 5",
                 "Я приду", "Отменить приём"):
        assert text in page
    assert "Анна" not in page and "916" not in page


def test_the_page_is_in_english_too(client, booked, clock):
    page = client.get(f"/visit/{visit_token(booked.id)}?lang=en").get_data(as_text=True)
    assert "Your visit" in page and "Wednesday 25 November 2026" in page and "I will come" in page


@pytest.mark.parametrize("token", ["nonsense", "MQ.forged-signature", "1"])
def test_a_wrong_token_is_a_plain_404(client, booked, clock, token):
    assert client.get(f"/visit/{token}").status_code == 404
    assert client.post(f"/visit/{token}/cancel").status_code == 404


def test_a_token_signed_with_another_key_is_a_404(app, client, booked, clock):
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("another-key", salt="visit-link").dumps(booked.id)
    assert client.get(f"/visit/{forged}").status_code == 404


def test_the_link_expires_when_the_visit_ends(client, booked):
    token = visit_token(booked.id)
    with time_machine.travel(at("2026-11-25 11:29"), tick=False):
        assert client.get(f"/visit/{token}").status_code == 200
    with time_machine.travel(at("2026-11-25 11:30"), tick=False):
        assert client.get(f"/visit/{token}").status_code == 404


def test_confirming_ends_the_confirmation_task_and_goes_on_the_timeline(client, booked, clock):
    token = visit_token(booked.id)
    answer = client.post(f"/visit/{token}/confirm", follow_redirects=True)
    assert "Спасибо! Ждём вас." in answer.get_data(as_text=True)
    assert "Вы подтвердили этот приём" in client.get(f"/visit/{token}").get_data(as_text=True)
    appointment = db.session.get(Appointment, booked.id, populate_existing=True)
    assert appointment.confirmed_at == NOW + timedelta(hours=1)
    assert db.session.scalars(sa.select(ConfirmationTask.status)).all() == ["confirmed"]
    event = db.session.scalars(sa.select(LeadEvent).where(LeadEvent.kind == "appointment_confirmed_by_patient")).one()
    assert event.detail == f"appointment {booked.id}" and event.user_id is None


def test_cancelling_frees_the_slot_at_once_for_another_patient(client, booked, clock, make_user):
    token = visit_token(booked.id)
    answer = client.post(f"/visit/{token}/cancel", follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Ваш приём отменён." in page and "Этот приём отменён." in page and "Я приду" not in page
    appointment = db.session.get(Appointment, booked.id, populate_existing=True)
    assert (appointment.status, appointment.cancelled_by_patient) == ("cancelled", True)
    assert db.session.scalars(sa.select(ConfirmationTask.status)).all() == ["cancelled"]
    assert set(db.session.scalars(sa.select(OutboxMessage.status).where(OutboxMessage.kind == "reminder"))) == {
        "cancelled"}
    event = db.session.scalars(sa.select(LeadEvent).where(LeadEvent.kind == "appointment_cancelled_by_patient")).one()
    assert event.detail == f"appointment {booked.id}"
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "appointment_cancelled_by_patient")).one()
    assert audit.user_id is None and audit.lead_id == booked.lead_id

    other = make_user("operator", "boris")
    second = add_lead(claimed_by=other.id, phone="+79160000001")
    rebooked = book_appointment(second, other.id, booked.doctor_id, VISIT, now=NOW + timedelta(hours=1))
    assert rebooked.start == VISIT and rebooked.id != booked.id

    again = client.post(f"/visit/{token}/cancel", follow_redirects=True)
    assert "уже нельзя отменить" in again.get_data(as_text=True)
