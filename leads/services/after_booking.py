"""What follows a booking (issue 14): the confirmation call and the messages of a visit,
kept in step with the appointment as it is booked, moved or cancelled.

Every function here adds to the caller's transaction and never commits, so an
appointment and its follow-up change together or not at all — except the
patient's own actions by link (`patient_confirms`, `patient_cancels`), which
are services of their own and commit.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from leads.domain.reminders import confirmation_due_at
from leads.extensions import db
from leads.models import Appointment, Lead, LeadEvent, UTCDateTime
from leads.outbox_models import OUTBOX_WAITING, ConfirmationTask, OutboxMessage
from leads.services.audit import record_audit
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.outbox import cancel_visit_messages, write_visit_messages
from leads.services.unit_of_work import unit_of_work


def _phone(lead_id: int) -> str:
    return db.session.scalar(sa.select(Lead.phone).where(Lead.id == lead_id)) or ""


def end_confirmation_task(appointment_id: int, status: str, now: datetime, user_id: int | None = None) -> bool:
    """Close the open confirmation task of a visit with `status`; True if there was one."""
    ended = db.session.execute(
        sa.update(ConfirmationTask)
        .where(ConfirmationTask.appointment_id == appointment_id, ConfirmationTask.status == "open")
        .values(status=status, done_at=now, done_by_id=user_id, claimed_by_id=None, claim_expires_at=None)
        .returning(ConfirmationTask.id),
        execution_options={"synchronize_session": False},
    ).scalar()
    return ended is not None


def plan_confirmation_task(appointment: Appointment, now: datetime) -> bool:
    """Add the visit's confirmation task when its day is still ahead; True if added.

    A visit booked on or after its confirmation day needs none: the booking
    call itself was the confirmation.
    """
    due = confirmation_due_at(clinic_calendar(now), appointment.starts_at,
                              current_app.config["CONFIRM_CALL_DAYS_BEFORE"])
    if due <= now:
        return False
    db.session.add(ConfirmationTask(appointment_id=appointment.id, lead_id=appointment.lead_id,
                                    visit_starts_at=appointment.starts_at, due_at=due, status="open",
                                    attempts=0, created_at=now))
    return True


def after_booked(appointment_id: int, now: datetime) -> None:
    """A visit was booked: plan its confirmation call and its messages."""
    appointment = db.session.get(Appointment, appointment_id, populate_existing=True)
    plan_confirmation_task(appointment, now)
    write_visit_messages(appointment, _phone(appointment.lead_id), now, booked=True)


def after_moved(appointment_id: int, now: datetime) -> None:
    """A visit moved: the old task and messages end, new ones follow the new time."""
    end_confirmation_task(appointment_id, "void", now)
    cancel_visit_messages(appointment_id, "the visit was moved")
    db.session.execute(sa.update(Appointment).where(Appointment.id == appointment_id).values(confirmed_at=None),
                       execution_options={"synchronize_session": False})
    after_booked(appointment_id, now)


def after_cancelled(appointment_id: int, now: datetime, *, by_patient: bool = False,
                    user_id: int | None = None) -> None:
    """A visit was cancelled: its task ends and its waiting messages are stopped."""
    end_confirmation_task(appointment_id, "cancelled" if by_patient else "void", now, user_id)
    cancel_visit_messages(appointment_id, "the visit was cancelled")


def forget_patient_contacts(lead_ids: list[int], now: datetime) -> None:
    """For anonymised leads: no more calls or messages, and no address kept (no commit).

    Open confirmation tasks end, waiting messages stop, and the e-mail of each
    appointment and the recipient of each message are removed.
    """
    no_sync = {"synchronize_session": False}
    db.session.execute(
        sa.update(ConfirmationTask).where(ConfirmationTask.lead_id.in_(lead_ids), ConfirmationTask.status == "open")
        .values(status="void", done_at=now, claimed_by_id=None, claim_expires_at=None), execution_options=no_sync)
    db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.lead_id.in_(lead_ids), OutboxMessage.status.in_(OUTBOX_WAITING))
        .values(status="cancelled", last_error="the patient's data were erased"), execution_options=no_sync)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.lead_id.in_(lead_ids)).values(recipient=""),
                       execution_options=no_sync)
    db.session.execute(sa.update(Appointment).where(Appointment.lead_id.in_(lead_ids)).values(email=""),
                       execution_options=no_sync)


# -- the patient, by their link ------------------------------------------------------------------


def _by_patient(lead_id: int, appointment_id: int, kind: str, now: datetime, ip: str) -> None:
    """The timeline event and the audit row (from the patient's `ip`) of what the patient did by their link."""
    detail = f"appointment {appointment_id}"
    db.session.add(LeadEvent(lead_id=lead_id, at=now, kind=kind, detail=detail))
    record_audit(None, kind, lead_id=lead_id, detail=detail, ip=ip, now=now)


def confirm_visit(appointment_id: int, now: datetime) -> int | None:
    """Mark a scheduled visit confirmed (the first time counts); its lead's id, None if not scheduled."""
    first_time = sa.func.coalesce(Appointment.confirmed_at, sa.literal(now, UTCDateTime()))
    return _update_scheduled(appointment_id, confirmed_at=first_time)


def cancel_visit_for_patient(appointment_id: int, now: datetime, user_id: int | None = None) -> int | None:
    """The patient cancels a visit still ahead: the slot is free at once, the task ends and the
    waiting messages stop; its lead's id, None if not scheduled (or already started)."""
    lead_id = _update_scheduled(appointment_id, Appointment.starts_at > now, status="cancelled",
                                cancelled_by_patient=True, cancel_reason="", updated_at=now)
    if lead_id is not None:
        after_cancelled(appointment_id, now, by_patient=True, user_id=user_id)
    return lead_id


def _update_scheduled(appointment_id: int, *conditions, **values) -> int | None:
    return db.session.execute(
        sa.update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == "scheduled", *conditions)
        .values(**values)
        .returning(Appointment.lead_id),
        execution_options={"synchronize_session": False},
    ).scalar()


def patient_confirms(appointment_id: int, now: datetime | None = None, ip: str = "") -> bool:
    """The patient says they are coming; commits. False when the visit is no longer scheduled."""
    now = now or now_utc()
    with unit_of_work():
        lead_id = confirm_visit(appointment_id, now)
        if lead_id is None:
            return False
        end_confirmation_task(appointment_id, "confirmed", now)
        _by_patient(lead_id, appointment_id, "appointment_confirmed_by_patient", now, ip)
        return True


def patient_cancels(appointment_id: int, now: datetime | None = None, ip: str = "") -> bool:
    """The patient cancels: the slot is free at once; commits. False when not scheduled."""
    now = now or now_utc()
    with unit_of_work():
        lead_id = cancel_visit_for_patient(appointment_id, now)
        if lead_id is None:
            return False
        _by_patient(lead_id, appointment_id, "appointment_cancelled_by_patient", now, ip)
        return True
