"""The report's "after the booking" figures per week of visits (issue 14)."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment
from leads.outbox_models import ConfirmationTask, OutboxMessage
from leads.services.visit_report import FollowUpWeek, follow_up_by_week
from tests.conftest import at, utc
from tests.integration.test_appointments import add_doctor, add_lead

NOW = at("2026-12-10 12:00")


def visit(doctor_id: int, start: str, status: str = "attended", *, confirmed: bool = False,
          by_patient: bool = False, message: str | None = None, task: str | None = None) -> int:
    lead_id = add_lead(phone=f"+7916{abs(hash(start)) % 10_000_000:07d}", state="booked")
    starts = utc(at(start))
    appointment = Appointment(doctor_id=doctor_id, lead_id=lead_id, starts_at=starts, ends_at=starts + timedelta(minutes=30),
                              status=status, cancelled_by_patient=by_patient,
                              confirmed_at=starts - timedelta(days=1) if confirmed else None)
    db.session.add(appointment)
    db.session.flush()
    if message:
        db.session.add(OutboxMessage(idempotency_key=f"k{appointment.id}", appointment_id=appointment.id,
                                     lead_id=lead_id, kind="reminder", channel="sms", recipient="+7", status=message,
                                     visit_starts_at=starts, next_attempt_at=starts, attempts=1))
    if task:
        db.session.add(ConfirmationTask(appointment_id=appointment.id, lead_id=lead_id, visit_starts_at=starts,
                                        due_at=starts - timedelta(days=1), status=task))
    db.session.commit()
    return appointment.id


def test_weeks_split_no_shows_by_whether_the_patient_was_reached(app):
    doctor = add_doctor()
    # week of Monday 23 November
    visit(doctor, "2026-11-23 09:00", confirmed=True)                       # reached by confirmation
    visit(doctor, "2026-11-24 09:00", "no_show", message="sent")            # reached by a message
    visit(doctor, "2026-11-25 09:00", "no_show", message="failed")          # message failed: not reached
    visit(doctor, "2026-11-26 09:00", "no_show", task="unreached")          # call found nobody
    visit(doctor, "2026-11-27 09:00", "attended", task="reschedule")        # reached by the call
    visit(doctor, "2026-11-28 09:00", "cancelled", by_patient=True, task="cancelled")
    visit(doctor, "2026-11-29 23:30", "attended")                           # Sunday 23:30 local: still this week
    # week of Monday 30 November: 00:30 local on Monday is 21:30 UTC on Sunday
    visit(doctor, "2026-11-30 00:30", "scheduled", confirmed=True)
    weeks = follow_up_by_week(date(2026, 11, 23), date(2026, 12, 6), NOW)
    assert weeks == [
        FollowUpWeek(date(2026, 11, 23), visits=7, confirmed=1, cancelled_by_patient=1, finished_reached=3,
                     no_show_reached=1, finished_unreached=3, no_show_unreached=2),
        FollowUpWeek(date(2026, 11, 30), visits=1, confirmed=1, cancelled_by_patient=0, finished_reached=0,
                     no_show_reached=0, finished_unreached=0, no_show_unreached=0),
    ]


def test_a_range_starting_mid_week_counts_only_its_days_and_empty_weeks_show_zeros(app):
    doctor = add_doctor()
    visit(doctor, "2026-11-23 10:00")
    visit(doctor, "2026-11-26 10:00", "no_show")
    weeks = follow_up_by_week(date(2026, 11, 25), date(2026, 12, 1), NOW)
    assert [(w.week, w.visits, w.no_show_unreached) for w in weeks] == [
        (date(2026, 11, 23), 1, 1), (date(2026, 11, 30), 0, 0)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 2
