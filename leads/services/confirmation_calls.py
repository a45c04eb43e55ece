"""Confirmation calls in the operators' queue (issue 14).

A confirmation task (leads/services/after_booking.py makes them) is due from
the opening of the working day CONFIRM_CALL_DAYS_BEFORE the visit.  Take-next
serves the lead tiers before retries first, then due confirmation calls, then
retries (`take_next_call`).  A task is claimed like a lead — a conditional
UPDATE (with `FOR UPDATE SKIP LOCKED` on PostgreSQL) — so two operators never
call one patient about one visit.

Outcomes: `confirmed` (the visit is confirmed), `reschedule` (the call is done;
the operator moves the visit in the booking panel, which makes a new task for
the new date), `cancelled` (by the patient: the slot is free at once),
`no_answer` (tried again CONFIRM_RETRY_MINUTES later the same day, while the
clinic is open and before the visit; else the task ends `unreached`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from leads.domain.queue import QueueTier
from leads.domain.reminders import confirmation_retry_at
from leads.extensions import db
from leads.models import Appointment, Doctor, Lead, LeadEvent
from leads.outbox_models import ConfirmationTask
from leads.services.after_booking import cancel_visit_for_patient, confirm_visit
from leads.services.audit import record_audit
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.queue import take_next_lead
from leads.services.unit_of_work import unit_of_work

__all__ = ["ConfirmationCall", "ConfirmationError", "due_confirmations", "expire_confirmations", "open_confirmation",
           "record_confirmation", "take_next_call", "take_next_confirmation"]

OUTCOMES = ("confirmed", "reschedule", "cancelled", "no_answer")
EVENT_KINDS = {
    "confirmed": "appointment_confirmed_on_call",
    "reschedule": "confirmation_reschedule",
    "cancelled": "appointment_cancelled_on_call",
    "no_answer": "confirmation_no_answer",
}
MESSAGES = {
    "not_found": _l("This confirmation call does not exist (any more)."),
    "not_open": _l("This confirmation call is already done."),
    "held_by_other": _l("Another operator is making this call."),
    "unknown_outcome": _l("Choose what came of the call."),
}


class ConfirmationError(Exception):
    """A confirmation call was refused; `code` says why, `message` tells a person."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = MESSAGES[code]


@dataclass(frozen=True)
class ConfirmationCall:
    """One confirmation call as the desk shows it (times in clinic time)."""

    id: int
    appointment_id: int
    lead_id: int
    patient_name: str
    phone: str
    doctor_name: str
    specialty: str
    visit_start: datetime
    due_at: datetime
    attempts: int
    status: str
    held_by_me: bool


def _claim_free(user_id: int, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(ConfirmationTask.claimed_by_id.is_(None), ConfirmationTask.claimed_by_id == user_id,
                  ConfirmationTask.claim_expires_at <= now)


def _callable(user_id: int, now: datetime) -> list[sa.ColumnElement[bool]]:
    return [ConfirmationTask.status == "open", ConfirmationTask.due_at <= now,
            ConfirmationTask.visit_starts_at > now, _claim_free(user_id, now)]


def _claim_minutes() -> timedelta:
    return timedelta(minutes=current_app.config["CLAIM_MINUTES"])


def _set_claim(where: list, user_id: int, now: datetime) -> int | None:
    return db.session.execute(
        sa.update(ConfirmationTask).where(*where)
        .values(claimed_by_id=user_id, claim_expires_at=now + _claim_minutes())
        .returning(ConfirmationTask.id),
        execution_options={"synchronize_session": False},
    ).scalar()


def take_next_confirmation(user_id: int, now: datetime | None = None) -> int | None:
    """Claim the confirmation call `user_id` holds, else the next due one; its id or None."""
    now = now or now_utc()
    with unit_of_work():
        if not clinic_calendar(now).is_open(now):
            return None
        mine = [ConfirmationTask.status == "open", ConfirmationTask.claimed_by_id == user_id,
                ConfirmationTask.claim_expires_at > now, ConfirmationTask.visit_starts_at > now]
        held = sa.select(ConfirmationTask.id).where(*mine).limit(1).scalar_subquery()
        renewed = _set_claim([ConfirmationTask.id == held, *mine], user_id, now)
        if renewed is not None:
            return renewed
        top = (sa.select(ConfirmationTask.id).where(*_callable(user_id, now))
               .order_by(ConfirmationTask.due_at, ConfirmationTask.id).limit(1)
               .with_for_update(skip_locked=True).scalar_subquery())
        return _set_claim([ConfirmationTask.id == top, *_callable(user_id, now)], user_id, now)


def take_next_call(user_id: int, now: datetime | None = None) -> tuple[str, int] | None:
    """What `user_id` calls next: ("lead", id) or ("confirmation", id), or None.

    Order: the lead tiers before retries, then confirmation calls, then retries.
    """
    now = now or now_utc()
    lead_id = take_next_lead(user_id, now, before=QueueTier.RETRY)
    if lead_id is not None:
        return "lead", lead_id
    task_id = take_next_confirmation(user_id, now)
    if task_id is not None:
        return "confirmation", task_id
    lead_id = take_next_lead(user_id, now)
    return ("lead", lead_id) if lead_id is not None else None


def _call_statement() -> sa.Select:
    return (sa.select(ConfirmationTask, Lead.name, Lead.phone, Doctor.name, Doctor.specialty)
            .join(Lead, Lead.id == ConfirmationTask.lead_id)
            .join(Appointment, Appointment.id == ConfirmationTask.appointment_id)
            .join(Doctor, Doctor.id == Appointment.doctor_id))


def _call(row, user_id: int, now: datetime) -> ConfirmationCall:
    task, name, phone, doctor, specialty = row
    cal = clinic_calendar(now)
    held = task.claimed_by_id == user_id and task.claim_expires_at is not None and task.claim_expires_at > now
    return ConfirmationCall(task.id, task.appointment_id, task.lead_id, name, phone, doctor, specialty,
                            cal.local(task.visit_starts_at), cal.local(task.due_at), task.attempts, task.status, held)


def due_confirmations(user_id: int, now: datetime | None = None, limit: int = 30) -> list[ConfirmationCall]:
    """The confirmation calls due now that `user_id` may make, in the order take-next serves them."""
    now = now or now_utc()
    rows = db.session.execute(_call_statement().where(*_callable(user_id, now))
                              .order_by(ConfirmationTask.due_at, ConfirmationTask.id).limit(limit)).all()
    return [_call(row, user_id, now) for row in rows]


def open_confirmation(task_id: int, user_id: int, now: datetime | None = None, ip: str = "") -> ConfirmationCall:
    """One confirmation call for the desk; opening it is audited.  Commits.

    :raise ConfirmationError: "not_found".
    """
    now = now or now_utc()
    with unit_of_work():
        call = _read_call(task_id, user_id, now)
        record_audit(user_id, "open_card", lead_id=call.lead_id, detail=f"appointment {call.appointment_id}",
                     ip=ip, now=now)
        return call


def _read_call(task_id: int, user_id: int, now: datetime) -> ConfirmationCall:
    row = db.session.execute(_call_statement().where(ConfirmationTask.id == task_id)
                             .execution_options(populate_existing=True)).first()
    if row is None:
        raise ConfirmationError("not_found")
    return _call(row, user_id, now)


def record_confirmation(task_id: int, user_id: int, outcome: str, *, is_manager: bool = False,
                        now: datetime | None = None, ip: str = "") -> ConfirmationCall:
    """Record what came of a confirmation call; commits.  Returns the call as it is then:
    still `open` (with its new due time) when it is tried again later.

    :raise ConfirmationError: "unknown_outcome", "not_found", "not_open", "held_by_other".
    """
    now = now or now_utc()
    if outcome not in OUTCOMES:
        raise ConfirmationError("unknown_outcome")
    with unit_of_work():
        task = db.session.get(ConfirmationTask, task_id, populate_existing=True)
        if task is None:
            raise ConfirmationError("not_found")
        if task.status != "open" or task.visit_starts_at <= now:
            raise ConfirmationError("not_open")
        held = task.claimed_by_id is not None and task.claim_expires_at is not None and task.claim_expires_at > now
        if held and task.claimed_by_id != user_id and not is_manager:
            raise ConfirmationError("held_by_other")
        appointment_id, lead_id = task.appointment_id, task.lead_id
        retry_at = None
        if outcome == "no_answer":
            retry_at = confirmation_retry_at(clinic_calendar(now), now, task.visit_starts_at,
                                             current_app.config["CONFIRM_RETRY_MINUTES"])
        if not _close_or_postpone(task, user_id, outcome, retry_at, now):
            raise ConfirmationError("not_open")
        if outcome == "confirmed":
            confirm_visit(appointment_id, now)
        elif outcome == "cancelled":
            cancel_visit_for_patient(appointment_id, now, user_id)
        detail = f"appointment {appointment_id}"
        db.session.add(LeadEvent(lead_id=lead_id, at=now, kind=EVENT_KINDS[outcome], user_id=user_id, detail=detail))
        record_audit(user_id, EVENT_KINDS[outcome], lead_id=lead_id, detail=detail, ip=ip, now=now)
        return _read_call(task_id, user_id, now)


def _close_or_postpone(task: ConfirmationTask, user_id: int, outcome: str, retry_at: datetime | None,
                       now: datetime) -> bool:
    """One conditional UPDATE of the task as read (same status and attempts); True if it won."""
    if retry_at is not None:
        values = {"due_at": retry_at}
    else:
        status = {"confirmed": "confirmed", "reschedule": "reschedule", "cancelled": "cancelled",
                  "no_answer": "unreached"}[outcome]
        values = {"status": status, "done_at": now, "done_by_id": user_id}
    updated = db.session.execute(
        sa.update(ConfirmationTask)
        .where(ConfirmationTask.id == task.id, ConfirmationTask.status == "open",
               ConfirmationTask.attempts == task.attempts)
        .values(attempts=task.attempts + 1, claimed_by_id=None, claim_expires_at=None, **values)
        .returning(ConfirmationTask.id),
        execution_options={"synchronize_session": False},
    ).scalar()
    return updated is not None


def expire_confirmations(now: datetime | None = None) -> int:
    """End the open tasks whose visit has started (nobody reached the patient in time); how many."""
    now = now or now_utc()
    with unit_of_work():
        return db.session.execute(
            sa.update(ConfirmationTask)
            .where(ConfirmationTask.status == "open", ConfirmationTask.visit_starts_at <= now)
            .values(status="unreached", done_at=now, claimed_by_id=None, claim_expires_at=None),
            execution_options={"synchronize_session": False},
        ).rowcount

