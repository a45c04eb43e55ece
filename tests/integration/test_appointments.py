"""The appointment book: booking as the `booked` outcome, refusals, moves, cancels, attendance,
free slots and the day's book (DESIGN.md §1.3, §1.5)."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import Appointment, AuditEntry, CallAttempt, Closure, Doctor, Lead, LeadEvent
from leads.services.appointments import (
    AppointmentError,
    SlotTaken,
    book_appointment,
    cancel_appointment,
    day_book,
    find_free_slots,
    first_free_slots,
    lead_appointments,
    mark_attendance,
    reschedule_appointment,
)
from leads.services.errors import LeadClaimedByOther
from tests.conftest import at, utc

NOW = at("2026-11-23 10:00")  # Monday, open
TUESDAY_11 = at("2026-11-24 11:00")
MORNINGS = '{"0": ["09:00", "14:00"], "2": ["09:00", "14:00"], "4": ["09:00", "14:00"]}'


@pytest.fixture
def operator(make_user):
    return make_user("operator", "olga")


def add_doctor(name: str = "Иванов", specialty: str = "Терапевт", plan: str | None = None, active: bool = True) -> int:
    doctor = Doctor(name=name, specialty=specialty, plan=plan, active=active)
    db.session.add(doctor)
    db.session.commit()
    return doctor.id


def add_lead(claimed_by: int | None = None, phone: str = "+79161234567", state: str = "new") -> int:
    lead = Lead(
        name="Анна Иванова",
        phone=phone,
        state=state,
        created_at=utc(NOW) - timedelta(minutes=5),
        next_call_at=utc(NOW) - timedelta(minutes=5),
        claimed_by_id=claimed_by,
        claim_expires_at=utc(NOW) + timedelta(minutes=10) if claimed_by else None,
    )
    db.session.add(lead)
    db.session.commit()
    return lead.id


def lead(lead_id: int) -> Lead:
    return db.session.get(Lead, lead_id, populate_existing=True)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def live_starts(doctor_id: int) -> list:
    return db.session.scalars(
        sa.select(Appointment.starts_at).where(Appointment.doctor_id == doctor_id, Appointment.status == "scheduled")
    ).all()


# -- booking ------------------------------------------------------------------------------------


def test_booking_closes_the_lead_as_booked_with_an_attempt_in_one_go(app, operator):
    doctor_id, lead_id = add_doctor(), add_lead(claimed_by=operator.id)
    booked = book_appointment(lead_id, operator.id, doctor_id, TUESDAY_11, note="Первичный приём", now=NOW)

    assert (booked.doctor_id, booked.lead_id, booked.status) == (doctor_id, lead_id, "scheduled")
    assert booked.start == TUESDAY_11 and booked.end == at("2026-11-24 11:30")
    assert str(booked.start.tzinfo) == "Europe/Moscow"
    assert (booked.patient_name, booked.phone, booked.doctor_name) == ("Анна Иванова", "+79161234567", "Иванов")
    row = lead(lead_id)
    assert (row.state, row.attempts, row.reached, row.last_outcome) == ("booked", 1, True, "booked")
    assert row.claimed_by_id is None and row.next_call_at is None
    attempt = db.session.scalars(sa.select(CallAttempt)).one()
    assert (attempt.outcome, attempt.reached, attempt.note, attempt.operator_id) == (
        "booked", True, "Первичный приём", operator.id)
    event = db.session.scalars(sa.select(LeadEvent).where(LeadEvent.kind == "outcome")).one()
    assert "booked: new → booked" in event.detail and "2026-11-24 11:00" in event.detail
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.lead_id == lead_id)) == "outcome"
    assert lead_appointments(lead_id) == [booked]


def assert_nothing_written(lead_id: int, operator_id: int) -> None:
    row = lead(lead_id)
    assert (row.state, row.attempts, row.claimed_by_id) == ("new", 0, operator_id)
    assert (count(Appointment), count(CallAttempt), count(LeadEvent), count(AuditEntry)) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("start", "code", "field"),
    [
        ("2026-11-23 09:30", "past", "slot"),
        ("2026-11-29 10:00", "closed_day", "slot"),
        ("2026-12-01 10:00", "closure", "slot"),
        ("2026-11-24 10:15", "off_grid", "slot"),
        ("2026-11-24 08:30", "outside_hours", "slot"),
        ("2026-11-24 19:45", "outside_hours", "slot"),
        ("2026-11-24 20:00", "outside_hours", "slot"),
    ],
)
def test_a_refused_slot_writes_nothing_and_the_lead_stays_open(app, operator, start, code, field):
    db.session.add(Closure(day=date(2026, 12, 1), reason="Санитарный день"))
    db.session.commit()
    doctor_id, lead_id = add_doctor(), add_lead(claimed_by=operator.id)
    with pytest.raises(AppointmentError) as refused:
        book_appointment(lead_id, operator.id, doctor_id, at(start), now=NOW)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert str(refused.value.message)
    assert_nothing_written(lead_id, operator.id)


def test_a_slot_outside_the_doctors_plan_is_refused(app, operator):
    doctor_id, lead_id = add_doctor(plan=MORNINGS), add_lead(claimed_by=operator.id)
    for start in (TUESDAY_11, at("2026-11-25 14:00")):  # a Tuesday; Wednesday after the plan
        with pytest.raises(AppointmentError) as refused:
            book_appointment(lead_id, operator.id, doctor_id, start, now=NOW)
        assert refused.value.code == "outside_doctor_plan"
    assert_nothing_written(lead_id, operator.id)
    assert book_appointment(lead_id, operator.id, doctor_id, at("2026-11-25 13:30"), now=NOW).status == "scheduled"


def test_an_inactive_doctor_is_refused(app, operator):
    doctor_id, lead_id = add_doctor(active=False), add_lead(claimed_by=operator.id)
    with pytest.raises(AppointmentError) as refused:
        book_appointment(lead_id, operator.id, doctor_id, TUESDAY_11, now=NOW)
    assert (refused.value.code, refused.value.field) == ("inactive_doctor", "doctor")
    assert_nothing_written(lead_id, operator.id)


def test_a_missing_doctor_is_refused(app, operator):
    lead_id = add_lead(claimed_by=operator.id)
    with pytest.raises(AppointmentError) as refused:
        book_appointment(lead_id, operator.id, 999, TUESDAY_11, now=NOW)
    assert (refused.value.code, refused.value.field) == ("not_found", "doctor")
    assert_nothing_written(lead_id, operator.id)


def test_only_the_claim_holder_or_a_manager_books(app, operator, make_user):
    other, manager = make_user("operator", "oleg"), make_user("manager", "maria")
    doctor_id, lead_id = add_doctor(), add_lead(claimed_by=operator.id)
    with pytest.raises(LeadClaimedByOther):
        book_appointment(lead_id, other.id, doctor_id, TUESDAY_11, now=NOW)
    assert_nothing_written(lead_id, operator.id)
    booked = book_appointment(lead_id, manager.id, doctor_id, TUESDAY_11, is_manager=True, now=NOW)
    assert lead(lead_id).state == "booked" and booked.lead_id == lead_id


def test_a_booked_lead_cannot_be_booked_again(app, operator):
    doctor_id, lead_id = add_doctor(), add_lead()
    book_appointment(lead_id, operator.id, doctor_id, TUESDAY_11, now=NOW)
    with pytest.raises(AppointmentError) as refused:
        book_appointment(lead_id, operator.id, doctor_id, TUESDAY_11 + timedelta(hours=1), now=NOW)
    assert refused.value.code == "lead_not_open"
    assert count(Appointment) == 1


def test_a_taken_slot_is_refused_with_free_slots_nearby_and_the_lead_kept_open(app, operator, make_user):
    second = make_user("operator", "oleg")
    doctor_id, other_doctor = add_doctor("Иванов"), add_doctor("Петров")
    add_doctor("Сидоров", specialty="Кардиолог")
    first_lead, second_lead = add_lead(), add_lead(claimed_by=second.id, phone="+79161112233")
    book_appointment(first_lead, operator.id, doctor_id, TUESDAY_11, now=NOW)

    with pytest.raises(SlotTaken) as taken:
        book_appointment(second_lead, second.id, doctor_id, TUESDAY_11, now=NOW)
    assert (taken.value.code, taken.value.field) == ("slot_taken", "slot")
    nearby = taken.value.nearby
    assert {(s.doctor_id, s.start) for s in nearby} >= {
        (doctor_id, at("2026-11-24 10:30")), (doctor_id, at("2026-11-24 11:30")), (other_doctor, TUESDAY_11)}
    assert (doctor_id, TUESDAY_11) not in {(s.doctor_id, s.start) for s in nearby}
    assert {s.specialty for s in nearby} == {"Терапевт"}
    assert [s.start for s in nearby] == sorted(s.start for s in nearby)
    row = lead(second_lead)
    assert (row.state, row.attempts, row.claimed_by_id) == ("new", 0, second.id)
    assert count(Appointment) == 1 and count(CallAttempt) == 1


# -- moving, cancelling, attendance -------------------------------------------------------------


def test_a_move_frees_the_old_slot_and_takes_the_new(app, operator):
    doctor_id, other_doctor = add_doctor("Иванов"), add_doctor("Петров")
    booked = book_appointment(add_lead(), operator.id, doctor_id, TUESDAY_11, now=NOW)
    moved = reschedule_appointment(booked.id, operator.id, doctor_id=other_doctor, start=at("2026-11-25 12:00"), now=NOW)
    assert (moved.id, moved.doctor_id, moved.start, moved.end) == (
        booked.id, other_doctor, at("2026-11-25 12:00"), at("2026-11-25 12:30"))
    assert live_starts(doctor_id) == [] and live_starts(other_doctor) == [utc(at("2026-11-25 12:00"))]
    # the old slot can be booked again
    again = book_appointment(add_lead(phone="+79160000001"), operator.id, doctor_id, TUESDAY_11, now=NOW)
    assert again.start == TUESDAY_11
    event = db.session.scalars(sa.select(LeadEvent).where(LeadEvent.kind == "appointment_moved")).one()
    assert "Иванов" in event.detail and "Петров" in event.detail
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "appointment_moved")) == 1


def test_a_move_onto_a_taken_slot_is_refused_and_the_old_slot_kept(app, operator):
    doctor_id = add_doctor()
    first = book_appointment(add_lead(), operator.id, doctor_id, TUESDAY_11, now=NOW)
    second = book_appointment(add_lead(phone="+79160000001"), operator.id, doctor_id, TUESDAY_11 + timedelta(hours=1), now=NOW)
    with pytest.raises(SlotTaken) as taken:
        reschedule_appointment(second.id, operator.id, doctor_id=doctor_id, start=TUESDAY_11, now=NOW)
    assert TUESDAY_11 not in [s.start for s in taken.value.nearby if s.doctor_id == doctor_id]
    assert sorted(live_starts(doctor_id)) == [utc(first.start), utc(second.start)]
    assert db.session.scalar(sa.select(sa.func.count()).where(LeadEvent.kind == "appointment_moved")) == 0


@pytest.mark.parametrize(("start", "code"), [("2026-11-23 09:30", "past"), ("2026-11-29 10:00", "closed_day")])
def test_a_move_to_a_refused_slot_keeps_the_appointment(app, operator, start, code):
    doctor_id = add_doctor()
    booked = book_appointment(add_lead(), operator.id, doctor_id, TUESDAY_11, now=NOW)
    with pytest.raises(AppointmentError) as refused:
        reschedule_appointment(booked.id, operator.id, doctor_id=doctor_id, start=at(start), now=NOW)
    assert refused.value.code == code
    assert live_starts(doctor_id) == [utc(TUESDAY_11)]


def test_a_cancel_needs_a_reason_and_frees_the_slot(app, operator):
    doctor_id, lead_id = add_doctor(), add_lead()
    booked = book_appointment(lead_id, operator.id, doctor_id, TUESDAY_11, now=NOW)
    for reason in ("", "   ", "x" * 201):
        with pytest.raises(AppointmentError) as refused:
            cancel_appointment(booked.id, operator.id, reason=reason, now=NOW)
        assert (refused.value.code, refused.value.field) == ("reason_required", "reason")
    assert live_starts(doctor_id) == [utc(TUESDAY_11)]

    cancel_appointment(booked.id, operator.id, reason="Пациент заболел", now=NOW)
    (cancelled,) = lead_appointments(lead_id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Пациент заболел")
    assert lead(lead_id).state == "booked"  # cancelling does not reopen the request
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "appointment_cancelled")) == 1
    with pytest.raises(AppointmentError) as refused:
        cancel_appointment(booked.id, operator.id, reason="again", now=NOW)
    assert refused.value.code == "not_live"
    with pytest.raises(AppointmentError) as refused:
        reschedule_appointment(booked.id, operator.id, doctor_id=doctor_id, start=TUESDAY_11, now=NOW)
    assert refused.value.code == "not_live"
    # the freed slot is bookable again
    assert book_appointment(add_lead(phone="+79160000001"), operator.id, doctor_id, TUESDAY_11, now=NOW).start == TUESDAY_11


def test_attendance_is_marked_only_once_the_start_has_passed(app, operator):
    doctor_id = add_doctor()
    booked = book_appointment(add_lead(), operator.id, doctor_id, TUESDAY_11, now=NOW)
    with time_machine.travel(utc(TUESDAY_11) - timedelta(seconds=1), tick=False):
        with pytest.raises(AppointmentError) as refused:
            mark_attendance(booked.id, operator.id, attended=True)
        assert (refused.value.code, refused.value.field) == ("too_early", "appointment")
    with time_machine.travel(utc(TUESDAY_11), tick=False):
        mark_attendance(booked.id, operator.id, attended=True)
    assert lead_appointments(booked.lead_id)[0].status == "attended"
    with pytest.raises(AppointmentError) as refused:
        mark_attendance(booked.id, operator.id, attended=False, now=TUESDAY_11 + timedelta(hours=1))
    assert refused.value.code == "not_live"
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "appointment_attended")) == 1


def test_a_no_show_keeps_the_slot_and_a_cancelled_one_cannot_be_marked(app, operator):
    doctor_id = add_doctor()
    came_not = book_appointment(add_lead(), operator.id, doctor_id, TUESDAY_11, now=NOW)
    mark_attendance(came_not.id, operator.id, attended=False, now=TUESDAY_11 + timedelta(minutes=40))
    assert live_starts(doctor_id) == [] and lead_appointments(came_not.lead_id)[0].status == "no_show"
    assert TUESDAY_11 not in [s.start for s in find_free_slots(doctor_id=doctor_id, first_day=date(2026, 11, 24), now=NOW)]
    cancelled = book_appointment(add_lead(phone="+79160000001"), operator.id, doctor_id, TUESDAY_11 + timedelta(hours=1), now=NOW)
    cancel_appointment(cancelled.id, operator.id, reason="Передумал", now=NOW)
    with pytest.raises(AppointmentError) as refused:
        mark_attendance(cancelled.id, operator.id, attended=True, now=TUESDAY_11 + timedelta(hours=2))
    assert refused.value.code == "not_live"
    with pytest.raises(AppointmentError) as refused:
        mark_attendance(999, operator.id, attended=True, now=NOW)
    assert refused.value.code == "not_found"


# -- free slots ---------------------------------------------------------------------------------


def test_free_slots_honour_the_past_taken_slots_plans_and_closures(app, operator):
    db.session.add(Closure(day=date(2026, 11, 25), reason="Санитарный день"))
    db.session.commit()
    ivanov, petrov = add_doctor("Иванов"), add_doctor("Петров", plan=MORNINGS)
    add_doctor("Сидоров", specialty="Кардиолог")
    add_doctor("Бывший", active=False)
    book_appointment(add_lead(), operator.id, ivanov, at("2026-11-23 12:00"), now=NOW)
    now = at("2026-11-23 10:10")

    slots = find_free_slots(specialty="Терапевт", first_day=date(2026, 11, 23), days=4, now=now)
    by_doctor = {name: [s.start for s in slots if s.doctor_name == name] for name in ("Иванов", "Петров")}
    assert by_doctor["Иванов"][0] == at("2026-11-23 10:30")  # 10:00 has started
    assert at("2026-11-23 12:00") not in by_doctor["Иванов"]  # taken
    assert len(by_doctor["Иванов"]) == (19 - 1) + 22 + 0 + 22  # Mon from 10:30, Tue, closed Wed, Thu
    assert by_doctor["Петров"] == [at("2026-11-23 10:30") + timedelta(minutes=30 * i) for i in range(7)]
    assert {s.specialty for s in slots} == {"Терапевт"}
    assert [(s.start, s.doctor_name) for s in slots] == sorted((s.start, s.doctor_name) for s in slots)
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)

    assert find_free_slots(specialty="Терапевт", first_day=date(2026, 11, 25), now=now) == []  # closure
    # a window that began yesterday (Sunday) keeps its end: today only
    assert {s.start.date() for s in find_free_slots(first_day=date(2026, 11, 22), days=2, now=now)} == {
        date(2026, 11, 23)}
    assert find_free_slots(first_day=date(2026, 11, 29), now=now) == []  # Sunday
    assert len(find_free_slots(first_day=date(2026, 11, 24), now=now, limit=5)) == 5
    only = find_free_slots(doctor_id=petrov, first_day=date(2026, 11, 24), days=2, now=now)
    assert only == []  # Tuesday is outside his plan, Wednesday is closed


def test_the_first_free_slots_start_from_the_patients_window(app, operator):
    ivanov = add_doctor("Иванов")
    first = first_free_slots(doctor_id=ivanov, count=3, now=at("2026-11-28 19:10"))  # Saturday evening
    assert [s.start for s in first] == [at("2026-11-28 19:30"), at("2026-11-30 09:00"), at("2026-11-30 09:30")]
    later = first_free_slots(doctor_id=ivanov, from_moment=at("2026-12-02 15:00"), count=2, now=NOW)
    assert [s.start for s in later] == [at("2026-12-02 15:00"), at("2026-12-02 15:30")]
    many = first_free_slots(count=200, now=NOW)
    assert len(many) == 200 and many[-1].start > at("2026-12-01 09:00")  # beyond the first week's days


def test_the_day_book_shows_appointments_free_and_off_cells(app, operator):
    ivanov, petrov = add_doctor("Иванов"), add_doctor("Петров", plan=MORNINGS)
    retired = add_doctor("Бывший", specialty="Хирург")
    add_doctor("Неактивный", specialty="Хирург", active=False)
    booked = book_appointment(add_lead(), operator.id, ivanov, at("2026-11-23 12:00"), now=NOW)
    old = book_appointment(add_lead(phone="+79160000001"), operator.id, retired, at("2026-11-23 16:00"), now=NOW)
    db.session.execute(sa.update(Doctor).where(Doctor.id == retired).values(active=False))
    db.session.commit()

    book = day_book(date(2026, 11, 23))
    assert [d.id for d in book.doctors] == [ivanov, petrov, retired]  # by specialty, then name
    assert book.times[0] == time(9) and book.times[-1] == time(19, 30) and len(book.times) == 22
    assert book.cells[(ivanov, time(12))] == booked
    assert book.cells[(retired, time(16))] == old
    assert book.cells[(ivanov, time(12, 30))] == "free"
    assert book.cells[(petrov, time(13, 30))] == "free" and book.cells[(petrov, time(14))] == "off"
    assert not book.closed

    sunday = day_book(date(2026, 11, 29))
    assert sunday.closed and sunday.times == [] and sunday.cells == {}
    db.session.add(Closure(day=date(2026, 11, 23), reason="Авария"))
    db.session.commit()
    closed = day_book(date(2026, 11, 23))
    assert closed.closed and closed.closure_reason == "Авария"
    assert closed.cells[(ivanov, time(12))] == booked and closed.cells[(ivanov, time(12, 30))] == "off"
