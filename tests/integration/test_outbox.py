"""Messages to the patient through the transactional outbox (issue 14): written with the
booking, sent by the outbox job over a real HTTP exchange and a real SMTP server on loopback,
retried with backoff, never twice."""
from __future__ import annotations

import threading
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from leads.extensions import db
from leads.models import DoNotCall
from leads.outbox_models import ConfirmationTask, OutboxMessage
from leads.services.appointments import book_appointment, cancel_appointment, reschedule_appointment
from leads.services.outbox import list_messages, retry_message, send_due_messages
from tests.conftest import at, utc
from tests.integration.test_appointments import add_doctor, add_lead
from tests.messaging_fakes import FakeSmsGateway, FakeSmtpServer

NOW = at("2026-11-23 10:00")  # Monday
VISIT = at("2026-11-25 11:00")  # Wednesday


@pytest.fixture(scope="module")
def gateway():
    server = FakeSmsGateway()
    yield server
    server.close()


@pytest.fixture(scope="module")
def smtp():
    server = FakeSmtpServer()
    yield server
    server.close()


@pytest.fixture
def app_settings(gateway, smtp):
    gateway.log.requests.clear()
    gateway.log.accepted.clear()
    gateway.log.fail_next, gateway.log.delay = 0, 0.0
    smtp.messages.clear()
    return {
        "SMS_GATEWAY_URL": gateway.url,
        "SMS_GATEWAY_TOKEN": "secret-token",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "SMTP_STARTTLS": False,
        "SMTP_FROM": "clinic@clinic.example",
        "CLINIC_NAME": "Клиника Здоровье",
        "CLINIC_ADDRESS": "Москва, ул. Лесная, 5",
        "PUBLIC_BASE_URL": "https://clinic.example",
        "REMINDER_HOURS_BEFORE": [24, 2],
    }


@pytest.fixture
def operator(make_user):
    return make_user("operator", "olga")


def book(operator, *, consent=True, email="anna@example.ru", phone="+79161234567", start=VISIT, now=NOW):
    doctor_id = db.session.scalar(sa.select(sa.text("id")).select_from(sa.text("doctors")).limit(1)) or add_doctor()
    lead_id = add_lead(claimed_by=operator.id, phone=phone)
    return book_appointment(lead_id, operator.id, doctor_id, start, messages_consent=consent, email=email, now=now)


def messages(**where) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


# -- written with the booking -------------------------------------------------------------------


def test_booking_writes_the_confirmation_and_reminders_for_each_channel_in_its_transaction(app, operator):
    booked = book(operator)
    rows = messages()
    assert [(m.kind, m.channel, m.next_attempt_at) for m in rows] == [
        ("booked", "sms", utc(NOW)), ("booked", "email", utc(NOW)),
        ("reminder", "sms", utc(at("2026-11-24 11:00"))), ("reminder", "email", utc(at("2026-11-24 11:00"))),
        ("reminder", "sms", utc(at("2026-11-25 09:00"))), ("reminder", "email", utc(at("2026-11-25 09:00"))),
    ]
    assert {m.recipient for m in rows if m.channel == "sms"} == {"+79161234567"}
    assert {m.recipient for m in rows if m.channel == "email"} == {"anna@example.ru"}
    assert all(m.status == "pending" and m.appointment_id == booked.id for m in rows)
    task = db.session.scalars(sa.select(ConfirmationTask)).one()
    assert (task.due_at, task.status) == (utc(at("2026-11-24 09:00")), "open")


def test_without_consent_for_messages_nothing_is_written(app, operator):
    book(operator, consent=False)
    assert messages() == []


def test_a_number_on_the_do_not_call_list_gets_no_message_even_by_email(app, operator):
    db.session.add(DoNotCall(phone="+79161234567", added_at=utc(NOW)))
    db.session.commit()
    book(operator)
    assert messages() == []


def test_a_channel_without_settings_is_off(app, operator):
    app.config["SMTP_HOST"] = ""
    book(operator)
    assert {m.channel for m in messages()} == {"sms"}


def test_a_booking_in_the_evening_sends_its_confirmation_in_the_morning(app, operator):
    book(operator, now=at("2026-11-23 21:30"), start=at("2026-11-25 11:00"))
    assert messages(kind="booked")[0].next_attempt_at == utc(at("2026-11-24 09:00"))


# -- sent by the job ----------------------------------------------------------------------------


def test_the_gateway_sees_the_exact_sms_request(app, operator, gateway):
    booked = book(operator, email="")
    assert send_due_messages(NOW) == {"sent": 1}
    [request] = gateway.log.requests
    assert request["path"] == "/sms/send"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request["body"], strict_parsing=True)
    assert set(form) == {"api_id", "to", "msg", "json"}
    assert (form["api_id"], form["to"], form["json"]) == (["secret-token"], ["79161234567"], ["1"])
    [text] = form["msg"]
    assert text.startswith("Клиника Здоровье: вы записаны на приём: Иванов (Терапевт), среда 25 ноября в 11:00.")
    assert "Москва, ул. Лесная, 5" in text and "https://clinic.example/visit/" in text
    assert "Анна" not in text
    row = messages(kind="booked")[0]
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, utc(NOW))
    assert booked.id == row.appointment_id


def test_the_smtp_server_receives_the_email_with_a_valid_ics_in_clinic_time(app, operator, smtp):
    book(operator)
    app.config["SMS_GATEWAY_URL"] = ""  # only e-mail goes out in this test
    send_due_messages(NOW)
    [(sender, recipients, raw)] = smtp.messages
    assert (sender, recipients) == ("clinic@clinic.example", ["anna@example.ru"])
    mail = message_from_bytes(raw, policy=default_policy)
    assert mail["Subject"] == "Клиника Здоровье: ваша запись"
    assert mail["Message-ID"].startswith("<a") and mail["Message-ID"].endswith("@clinic.example>")
    [attachment] = [part for part in mail.iter_attachments()]
    assert attachment.get_content_type() == "text/calendar" and attachment.get_filename() == "visit.ics"
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == VISIT and str(event.decoded("dtstart").tzinfo) == "Europe/Moscow"
    assert event.decoded("dtend") == at("2026-11-25 11:30")
    assert str(event["location"]) == "Москва, ул. Лесная, 5"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Moscow"]


def test_a_failing_gateway_is_retried_with_backoff_and_the_patient_gets_one_message(app, operator, gateway):
    book(operator, email="")
    gateway.log.fail_next = 2
    assert send_due_messages(NOW) == {"pending": 1}
    row = messages(kind="booked")[0]
    assert (row.attempts, row.next_attempt_at, row.last_error) == (
        1, utc(NOW) + timedelta(minutes=1), "SMS gateway answered HTTP 500")
    assert send_due_messages(NOW + timedelta(seconds=59)) == {}  # not yet due
    assert send_due_messages(NOW + timedelta(minutes=1)) == {"pending": 1}
    assert messages(kind="booked")[0].next_attempt_at == utc(NOW) + timedelta(minutes=3)
    assert send_due_messages(NOW + timedelta(minutes=3)) == {"sent": 1}
    assert send_due_messages(NOW + timedelta(minutes=30)) == {}
    assert len(gateway.log.requests) == 3 and len(gateway.log.accepted) == 1


def test_after_the_last_attempt_the_message_is_failed_listed_and_can_be_retried(app, operator, gateway):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    book(operator, email="")
    gateway.log.fail_next = 2
    send_due_messages(NOW)
    send_due_messages(NOW + timedelta(minutes=1))
    [failed] = [row for row in list_messages() if row.status == "failed"]
    assert (failed.kind, failed.channel, failed.attempts) == ("booked", "sms", 2)
    retry_message(failed.id, now=NOW + timedelta(minutes=2))
    assert send_due_messages(NOW + timedelta(minutes=2)) == {"sent": 1}
    assert len(gateway.log.accepted) == 1


def test_two_schedulers_at_once_send_each_message_once(app, operator, gateway):
    for n in range(4):
        book(operator, email="", phone=f"+7916123456{n}", start=VISIT + timedelta(minutes=30 * n))
    gateway.log.delay = 0.05
    results = []

    def scheduler() -> None:
        with app.app_context():
            results.append(send_due_messages(NOW))
            db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.get("sent", 0) for r in results) == 4
    assert sorted(parse_qs(b)["to"][0] for b in gateway.log.accepted) == [f"7916123456{n}" for n in range(4)]


def test_a_cancelled_visit_sends_nothing_more(app, operator, gateway):
    booked = book(operator, email="")
    send_due_messages(NOW)
    cancel_appointment(booked.id, operator.id, reason="Пациент заболел", now=NOW + timedelta(minutes=5))
    assert {m.status for m in messages(kind="reminder")} == {"cancelled"}
    assert send_due_messages(at("2026-11-25 09:00")) == {}
    assert db.session.scalars(sa.select(ConfirmationTask.status)).all() == ["void"]


def test_a_moved_visit_gets_new_messages_and_a_new_task_for_the_new_time(app, operator, gateway):
    booked = book(operator, email="")
    new_start = at("2026-11-27 15:00")  # Friday
    reschedule_appointment(booked.id, operator.id, doctor_id=booked.doctor_id, start=new_start,
                           now=NOW + timedelta(minutes=5))
    live = messages(status="pending")
    assert {m.visit_starts_at for m in live} == {utc(new_start)}
    assert {m.kind for m in live} == {"booked", "reminder"}
    tasks = db.session.execute(sa.select(ConfirmationTask.status, ConfirmationTask.due_at)
                               .order_by(ConfirmationTask.id)).all()
    assert tasks == [("void", utc(at("2026-11-24 09:00"))), ("open", utc(at("2026-11-26 09:00")))]


def test_a_stale_row_for_an_old_time_is_not_sent(app, operator, gateway):
    booked = book(operator, email="")
    old = messages(kind="booked")[0]
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == old.id)
                       .values(visit_starts_at=utc(VISIT) - timedelta(hours=1)))
    db.session.commit()
    assert send_due_messages(NOW) == {"cancelled": 1}
    assert gateway.log.requests == [] and booked.id


# -- the command line ---------------------------------------------------------------------------


def test_the_outbox_command_lists_waiting_and_failed_messages_and_retries_one(app, operator, gateway, runner):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    book(operator, email="")
    gateway.log.fail_next = 1
    send_due_messages(NOW)
    failed = messages(status="failed")[0]
    listed = runner.invoke(args=["outbox"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].startswith(f"{failed.id}\tfailed\tsms\tbooked\t") and "SMS gateway answered HTTP 500" in lines[0]
    assert sum("\tpending\t" in line for line in lines) == 2  # the two reminders
    assert "+7916" not in listed.output  # no phone numbers on the terminal
    retried = runner.invoke(args=["outbox", "retry", str(failed.id)])
    assert retried.exit_code == 0 and "will be sent" in retried.output
    assert failed.id in {m.id for m in messages(status="pending")}
    again = runner.invoke(args=["outbox", "retry", str(failed.id)])
    assert again.exit_code == 1 and "has not failed" in again.output
    missing = runner.invoke(args=["outbox", "retry", "999999"])
    assert missing.exit_code == 1 and "no such message" in missing.output


def test_erasing_the_patient_stops_calls_and_messages_and_forgets_the_addresses(app, operator, gateway):
    from leads.models import Appointment
    from leads.services.erasure import erase_patient

    booked = book(operator)
    send_due_messages(NOW)  # the booking confirmations go out
    erase_patient("+79161234567", operator.id, now=NOW + timedelta(minutes=5))
    assert {(m.kind, m.status) for m in messages()} == {("booked", "sent"), ("reminder", "cancelled")}
    assert {m.recipient for m in messages()} == {""}
    assert db.session.get(Appointment, booked.id, populate_existing=True).email == ""
    assert db.session.scalars(sa.select(ConfirmationTask.status)).all() == ["void"]
    assert send_due_messages(at("2026-11-25 09:00")) == {}
