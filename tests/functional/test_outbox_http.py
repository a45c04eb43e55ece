"""The manager sees failed messages to patients and can send one again (issue 14)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.outbox_models import OutboxMessage
from leads.services.appointments import book_appointment
from tests.conftest import at, sign_in
from tests.integration.test_appointments import add_doctor, add_lead

NOW = at("2026-11-23 10:00")


@pytest.fixture
def app_settings():
    return {"SMS_GATEWAY_URL": "http://127.0.0.1:9/unreachable", "SMS_GATEWAY_TOKEN": "t",
            "PUBLIC_BASE_URL": "https://desk.clinic.example"}


@pytest.fixture
def manager_client(app, make_user):
    client = app.test_client()
    client.user = make_user("manager", "maria")
    sign_in(client, client.user)
    return client


def failed_message(make_user) -> OutboxMessage:
    operator = make_user("operator", "olga")
    lead_id = add_lead(claimed_by=operator.id)
    book_appointment(lead_id, operator.id, add_doctor(), at("2026-11-25 11:00"), messages_consent=True, now=NOW)
    message = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booked")).one()
    message.status, message.attempts, message.last_error = "failed", 8, "SMS gateway answered HTTP 500"
    db.session.commit()
    return message


def test_the_manager_sees_the_failed_message_first_without_patient_data(manager_client, make_user):
    message = failed_message(make_user)
    page = manager_client.get("/manager/messages").get_data(as_text=True)
    assert "Сообщения пациентам" in page and "Не отправлено: 1. Ждут отправки: 1." in page
    assert page.index("SMS gateway answered HTTP 500") < page.index("напоминание")
    assert f'/manager/messages/{message.id}/retry' in page
    assert "+7916" not in page and "Анна" not in page


def test_send_again_puts_the_failed_message_back_in_line(manager_client, make_user):
    message = failed_message(make_user)
    answer = manager_client.post(f"/manager/messages/{message.id}/retry", follow_redirects=True)
    assert "Сообщение будет отправлено снова в течение минуты." in answer.get_data(as_text=True)
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("pending", 0)
    again = manager_client.post(f"/manager/messages/{message.id}/retry", follow_redirects=True)
    assert "нечего отправлять снова" in again.get_data(as_text=True)
    assert manager_client.post("/manager/messages/999999/retry").status_code == 404


def test_operators_may_not_see_the_outbox(operator_client):
    assert operator_client.get("/manager/messages").status_code == 403


def test_the_booking_panel_asks_for_consent_and_refuses_a_bad_email_next_to_the_field(operator_client):
    lead_id = add_lead(claimed_by=operator_client.user.id)
    doctor_id = add_doctor()
    card = operator_client.get(f"/operator/leads/{lead_id}").get_data(as_text=True)
    assert "Пациент согласен получать сообщения об этом приёме" in card
    slot = f"{doctor_id}/2026-11-25T11:00"
    refused = operator_client.post(f"/operator/leads/{lead_id}/book",
                                   data={"slot": slot, "messages_consent": "y", "email": "anna@"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="book-email-error">Введите адрес электронной почты вида name@example.ru' in page
    assert 'value="anna@"' in page and 'name="messages_consent" value="y" checked' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_booking_with_consent_and_email_plans_both_channels(app, operator_client):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_FROM="clinic@clinic.example")
    lead_id = add_lead(claimed_by=operator_client.user.id)
    slot = f"{add_doctor()}/2026-11-25T11:00"
    with time_machine.travel(NOW, tick=False):
        sign_in(operator_client, operator_client.user)  # a cookie signed at the real time looks future-dated
        booked = operator_client.post(f"/operator/leads/{lead_id}/book",
                                      data={"slot": slot, "messages_consent": "y", "email": " anna@example.ru "})
    assert booked.status_code == 303
    rows = db.session.execute(sa.select(OutboxMessage.channel, OutboxMessage.recipient)
                              .where(OutboxMessage.kind == "booked")).all()
    assert sorted(rows) == [("email", "anna@example.ru"), ("sms", "+79161234567")]
