"""The report follows every kind of change at once, from the figures stored on the leads.

Data: the hand-counted week of test_reports.py (Mon 23 – Sun 29 November 2026), reported on
Tuesday 1 December.  Each test changes something a later report must show and reports again.
"""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment, CallAttempt, Doctor, Lead
from leads.services.appointments import book_appointment, cancel_appointment, mark_attendance
from leads.services.calls import record_outcome
from leads.services.doctors import add_closure, remove_closure
from leads.services.erasure import erase_patient
from leads.services.reports import build_report
from tests.conftest import at, utc
from tests.factories import lead, new_lead
from tests.integration.test_reports import MONDAY, NOW, SUNDAY, store_history


def report_again():
    return build_report(MONDAY, SUNDAY)


@pytest.fixture
def ids(app, make_user):
    return store_history(make_user)


@pytest.fixture
def before(ids):
    return report_again()


def test_intake_stores_the_clinic_local_day_and_hour_of_arrival(app):
    # 02:30 on Tuesday in Moscow is still Monday (23:30) in UTC.
    lead_id = new_lead(created="2026-11-24 02:30")
    assert (lead(lead_id).arrival_day, lead(lead_id).arrival_hour) == (date(2026, 11, 24), 2)


def test_the_first_call_stores_its_business_minutes_and_later_calls_keep_them(app, make_user):
    operator = make_user("operator", "pavel")
    lead_id = new_lead(created="2026-11-23 19:50")  # Monday, ten minutes before closing
    record_outcome(lead_id, operator.id, "no_answer", now=utc(at("2026-11-24 09:20")))
    assert lead(lead_id).first_call_minutes == 30
    record_outcome(lead_id, operator.id, "no_answer", now=utc(at("2026-11-24 10:00")))
    assert lead(lead_id).first_call_minutes == 30


def test_an_outcome_recorded_later_is_counted(before, ids, make_user):
    operator = make_user("operator", "pavel")
    record_outcome(ids["L8"], operator.id, "no_answer", now=utc(at("2026-12-01 11:00")))

    again = report_again()
    assert again.first_call.called == before.first_call.called + 1
    assert again.attempts_total == before.attempts_total + 1
    assert "Pavel" in [row.name for row in again.operators]


def test_a_visit_marked_attended_is_counted(before, ids, make_user):
    visit = db.session.scalar(sa.select(Appointment.id).where(Appointment.lead_id == ids["L4"]))
    mark_attendance(visit, make_user("operator", "pavel").id, attended=True, now=utc(at("2026-12-02 10:10")))

    assert report_again().totals.attended == before.totals.attended + 1


def test_a_visit_booked_is_counted_and_stays_counted_when_cancelled_or_missed(before, ids, make_user):
    # L8 (Wednesday, never called) gets a visit on Thursday 3 December, booked by a manager.
    manager = make_user("manager", "marina")
    doctor = db.session.scalar(sa.select(Doctor.id))
    visit = book_appointment(ids["L8"], manager.id, doctor, at("2026-12-03 11:00"), is_manager=True,
                             now=utc(at(NOW)))
    booked = report_again()
    assert (booked.totals.booked, booked.totals.attended) == (before.totals.booked + 1, before.totals.attended)
    assert booked.days[date(2026, 11, 25)].booked == before.days[date(2026, 11, 25)].booked + 1

    cancel_appointment(visit.id, manager.id, reason="Пациент передумал", now=utc(at(NOW)))
    assert report_again().totals == booked.totals

    # L4's visit (Wednesday 2 December) missed: still booked, not attended.
    missed = db.session.scalar(sa.select(Appointment.id).where(Appointment.lead_id == ids["L4"]))
    mark_attendance(missed, manager.id, attended=False, now=utc(at("2026-12-02 10:10")))
    assert report_again().totals == booked.totals


def test_erasing_a_patient_keeps_their_visits_counted(before, ids, make_user):
    # L4's visit still ahead is cancelled by the erasure; L4 stays booked.
    erase_patient(lead(ids["L4"]).phone, make_user("manager", "marina").id, now=utc(at(NOW)))

    assert report_again().totals == before.totals


def test_a_lead_closed_as_spam_leaves_every_figure(before, ids):
    db.session.execute(sa.update(Lead).where(Lead.id == ids["L12"]).values(excluded=True, close_reason="spam"))
    db.session.commit()

    again = report_again()
    assert again.totals.leads == before.totals.leads - 1
    assert sum(calls for calls, _ in again.outcomes.values()) == sum(c for c, _ in before.outcomes.values()) - 1


def test_a_repeat_request_on_an_old_lead_is_counted(before, ids):
    db.session.execute(sa.update(Lead).where(Lead.id == ids["L5"]).values(request_count=Lead.request_count + 1))
    db.session.commit()

    assert report_again().totals.requests == before.totals.requests + 1


def test_a_lead_stored_late_on_an_ended_day_is_counted(before):
    # A request spooled on Wednesday while the database was down, stored with its own time.
    new_lead(phone="+79160009999", created="2026-11-25 16:00")

    again = report_again()
    assert again.totals.leads == before.totals.leads + 1
    assert again.days[date(2026, 11, 25)].leads == before.days[date(2026, 11, 25)].leads + 1


def test_a_call_deleted_or_changed_is_counted(before, ids):
    calls = db.session.scalars(sa.select(CallAttempt).where(CallAttempt.lead_id == ids["L11"])).all()
    db.session.delete(calls[0])
    calls[1].outcome = "busy"
    db.session.commit()

    assert report_again().outcomes["busy"][0] == before.outcomes.get("busy", (0, 0))[0] + 1


def test_a_closure_added_or_removed_counts_the_first_calls_it_falls_between_again(before, make_user):
    # Fri 27 becomes a holiday: it falls between arrival and first call for L12 and L13 (as in test_reports).
    admin = make_user("admin", "root")
    closure = add_closure(date(2026, 11, 27), "holiday", user_id=admin.id)
    closed = report_again().first_call
    assert (closed.median, closed.p90) == (17.5, 31.5)

    remove_closure(closure.id, user_id=admin.id)
    assert report_again().first_call == before.first_call


def test_a_lead_arriving_today_is_counted_at_once(ids):
    first = build_report(MONDAY, SUNDAY)
    new_lead(phone="+79160008888", created="2026-11-27 12:00")
    assert build_report(MONDAY, SUNDAY).totals.leads == first.totals.leads + 1
