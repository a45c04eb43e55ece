"""Confirmation calls in the operators' queue (issue 14): when they come, in which order,
and what each outcome does to the visit."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment, Lead, LeadEvent
from leads.outbox_models import ConfirmationTask
from leads.services.appointments import book_appointment, cancel_appointment, reschedule_appointment
from leads.services.confirmation_calls import (
    ConfirmationError,
    due_confirmations,
    expire_confirmations,
    record_confirmation,
    take_next_call,
    take_next_confirmation,
)
from tests.conftest import at, utc
from tests.integration.test_appointments import add_doctor, add_lead

BOOKED_AT = at("2026-11-23 10:00")  # Monday
VISIT = at("2026-11-25 11:00")  # Wednesday: its confirmation call is due Tuesday 09:00
TUESDAY_10 = at("2026-11-24 10:00")


@pytest.fixture
def operators(make_user):
    return make_user("operator", "olga"), make_user("operator", "boris")


@pytest.fixture
def booked(app, operators):
    lead_id = add_lead(claimed_by=operators[0].id)
    return book_appointment(lead_id, operators[0].id, add_doctor(), VISIT, now=BOOKED_AT)


def task() -> ConfirmationTask:
    return db.session.scalars(sa.select(ConfirmationTask).order_by(ConfirmationTask.id.desc())
                              .execution_options(populate_existing=True)).first()


def waiting_lead(state: str, phone: str) -> int:
    lead_id = add_lead(phone=phone, state=state)
    db.session.execute(sa.update(Lead).where(Lead.id == lead_id).values(next_call_at=utc(TUESDAY_10) - timedelta(hours=1)))
    db.session.commit()
    return lead_id


def test_the_call_is_due_from_the_working_day_before_and_not_earlier(booked, operators):
    me = operators[0].id
    assert due_confirmations(me, at("2026-11-24 08:59")) == []
    assert take_next_confirmation(me, at("2026-11-23 19:00")) is None
    [call] = due_confirmations(me, at("2026-11-24 09:00"))
    assert (call.appointment_id, call.patient_name, call.phone) == (booked.id, "Анна Иванова", "+79161234567")
    assert call.visit_start == VISIT


def test_take_next_serves_new_requests_first_then_confirmations_then_retries(booked, operators):
    me = operators[1].id
    new_lead = waiting_lead("new", "+79160000001")
    retry_lead = waiting_lead("retry", "+79160000002")
    assert take_next_call(me, TUESDAY_10) == ("lead", new_lead)
    record_done(new_lead)
    assert take_next_call(me, TUESDAY_10) == ("confirmation", task().id)
    assert take_next_call(me, TUESDAY_10) == ("confirmation", task().id)  # held: the same call again
    record_confirmation(task().id, me, "confirmed", now=TUESDAY_10)
    assert take_next_call(me, TUESDAY_10) == ("lead", retry_lead)


def record_done(lead_id: int) -> None:
    db.session.execute(sa.update(Lead).where(Lead.id == lead_id).values(state="closed", claimed_by_id=None))
    db.session.commit()


def test_two_operators_never_get_the_same_call(booked, operators):
    first, second = operators
    assert take_next_confirmation(first.id, TUESDAY_10) == task().id
    assert take_next_confirmation(second.id, TUESDAY_10) is None
    assert due_confirmations(second.id, TUESDAY_10) == []
    with pytest.raises(ConfirmationError) as refused:
        record_confirmation(task().id, second.id, "confirmed", now=TUESDAY_10)
    assert refused.value.code == "held_by_other"
    # the claim expires after CLAIM_MINUTES
    assert take_next_confirmation(second.id, TUESDAY_10 + timedelta(minutes=10)) == task().id


def test_confirmed_marks_the_visit_and_the_timeline(booked, operators):
    call = record_confirmation(task().id, operators[0].id, "confirmed", now=TUESDAY_10)
    assert call.status == "confirmed"
    assert db.session.get(Appointment, booked.id, populate_existing=True).confirmed_at == utc(TUESDAY_10)
    kinds = db.session.scalars(sa.select(LeadEvent.kind).where(LeadEvent.lead_id == booked.lead_id)).all()
    assert "appointment_confirmed_on_call" in kinds
    with pytest.raises(ConfirmationError) as again:
        record_confirmation(task().id, operators[0].id, "confirmed", now=TUESDAY_10)
    assert again.value.code == "not_open"


def test_cancelled_by_the_patient_frees_the_slot_for_another_lead(booked, operators):
    record_confirmation(task().id, operators[0].id, "cancelled", now=TUESDAY_10)
    appointment = db.session.get(Appointment, booked.id, populate_existing=True)
    assert (appointment.status, appointment.cancelled_by_patient) == ("cancelled", True)
    assert task().status == "cancelled"
    other = add_lead(claimed_by=operators[1].id, phone="+79160000003")
    assert book_appointment(other, operators[1].id, booked.doctor_id, VISIT, now=TUESDAY_10).start == VISIT


def test_no_answer_comes_back_later_the_same_day_then_gives_up_at_closing(booked, operators):
    me = operators[0].id
    call = record_confirmation(task().id, me, "no_answer", now=TUESDAY_10)
    assert (call.status, call.due_at, call.attempts) == ("open", at("2026-11-24 11:00"), 1)
    assert due_confirmations(me, at("2026-11-24 10:59")) == []
    assert len(due_confirmations(me, at("2026-11-24 11:00"))) == 1
    last = record_confirmation(task().id, me, "no_answer", now=at("2026-11-24 19:15"))
    assert (last.status, last.attempts) == ("unreached", 2)


def test_a_cancelled_visit_takes_its_call_out_of_the_queue(booked, operators):
    cancel_appointment(booked.id, operators[0].id, reason="Передумала", now=BOOKED_AT + timedelta(hours=1))
    assert due_confirmations(operators[0].id, TUESDAY_10) == []
    assert task().status == "void"


def test_a_moved_visit_gets_a_call_for_the_new_date(booked, operators):
    reschedule_appointment(booked.id, operators[0].id, doctor_id=booked.doctor_id, start=at("2026-11-28 12:00"),
                           now=BOOKED_AT + timedelta(hours=1))
    assert due_confirmations(operators[0].id, TUESDAY_10) == []
    assert (task().status, task().due_at) == ("open", utc(at("2026-11-27 09:00")))


def test_reschedule_ends_the_call_and_the_move_plans_a_new_one(booked, operators):
    record_confirmation(task().id, operators[0].id, "reschedule", now=TUESDAY_10)
    assert task().status == "reschedule"
    reschedule_appointment(booked.id, operators[0].id, doctor_id=booked.doctor_id, start=at("2026-11-30 12:00"),
                           now=TUESDAY_10)
    assert (task().status, task().due_at) == ("open", utc(at("2026-11-28 09:00")))  # Saturday before a Monday


def test_never_after_the_visit_starts(booked, operators):
    assert due_confirmations(operators[0].id, at("2026-11-25 11:00")) == []
    assert expire_confirmations(at("2026-11-25 11:00")) == 1
    assert task().status == "unreached"


def test_an_unknown_outcome_is_refused(booked, operators):
    with pytest.raises(ConfirmationError) as refused:
        record_confirmation(task().id, operators[0].id, "maybe", now=TUESDAY_10)
    assert refused.value.code == "unknown_outcome"
