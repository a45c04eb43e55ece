"""What the background jobs do (DESIGN.md §1.3, §1.4, §1.7), as plain functions.

Each function takes `now` (the clock is injected, so tests freeze it by
passing a value), owns its transaction, and is idempotent: running it twice
at the same instant changes nothing the second time.  The scheduler
(leads/jobs.py, leads/scheduler.py) only calls them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from leads.domain.outcomes import LeadState
from leads.domain.throttle import FAILURE_MEMORY
from leads.extensions import db
from leads.models import Appointment, Doctor, Lead, LeadEvent, LoginFailure
from leads.services.clinic import clinic_calendar
from leads.services.erasure import anonymise_leads
from leads.services.unit_of_work import changed_rows

log = logging.getLogger(__name__)

# States after which nobody calls the lead again: retention counts from them.
FINISHED_STATES = (LeadState.BOOKED.value, LeadState.CLOSED.value)
# One retention run anonymises at most this many leads, so one transaction
# stays short; the next run takes the rest.
RETENTION_BATCH = 500


# -- SLA watch -------------------------------------------------------------------------------

def flag_sla_breaches(now: datetime) -> int:
    """Flag new leads nobody has tried to call by their SLA deadline; how many were flagged.

    The deadline is `Lead.sla_due_at` (CALLBACK_SLA_MINUTES business minutes
    from arrival or from the preferred window's start), computed at intake.
    A lead stored without one (an old row) gets it computed here from the
    calendar and stored, so the comparison is the same for every lead.
    A deadline reached exactly is breached: the SLA minutes are used up.
    """
    _fill_missing_sla_deadlines(now)
    flagged = changed_rows(
        sa.update(Lead)
        .where(
            Lead.state == LeadState.NEW.value,
            Lead.attempts == 0,
            Lead.sla_breached.is_(False),
            Lead.suspected_automation.is_(False),  # out of the SLA until a person is reached
            Lead.sla_due_at <= now,
        )
        .values(sla_breached=True)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return flagged


def _fill_missing_sla_deadlines(now: datetime) -> None:
    rows = db.session.execute(
        sa.select(Lead.id, Lead.created_at, Lead.preferred_start).where(
            Lead.state == LeadState.NEW.value, Lead.attempts == 0, Lead.sla_due_at.is_(None)
        )
    ).all()
    if not rows:
        return
    calendar = clinic_calendar(now)
    minutes = current_app.config["CALLBACK_SLA_MINUTES"]
    for lead_id, created_at, preferred_start in rows:
        due = calendar.add_business_minutes(preferred_start or created_at, minutes)
        db.session.execute(
            sa.update(Lead).where(Lead.id == lead_id, Lead.sla_due_at.is_(None)).values(sla_due_at=due)
        )


# -- callback grace --------------------------------------------------------------------------

def share_overdue_callbacks(now: datetime) -> int:
    """Personal callbacks overdue by more than CALLBACK_GRACE_MINUTES become shared; how many.

    The owner is cleared (anyone may call) and the timeline says why.  A lead
    someone holds by a live claim is left alone: they are on it right now.
    The edge matches the queue's (leads/domain/queue.py): overdue by exactly
    the grace period is still the owner's.
    """
    limit = now - timedelta(minutes=current_app.config["CALLBACK_GRACE_MINUTES"])
    overdue = db.session.execute(
        sa.select(Lead.id, Lead.callback_owner_id).where(
            Lead.state == LeadState.CALLBACK.value,
            Lead.callback_owner_id.is_not(None),
            Lead.next_call_at < limit,
            sa.or_(Lead.claim_expires_at.is_(None), Lead.claim_expires_at <= now),
        )
    ).all()
    shared = 0
    for lead_id, owner_id in overdue:
        # Conditional: an outcome recorded meanwhile wins over the job.
        updated = changed_rows(
            sa.update(Lead)
            .where(Lead.id == lead_id, Lead.state == LeadState.CALLBACK.value, Lead.callback_owner_id == owner_id)
            .values(callback_owner_id=None)
            .execution_options(synchronize_session=False)
        )
        if updated:
            shared += 1
            db.session.add(
                LeadEvent(
                    lead_id=lead_id,
                    at=now,
                    kind="callback_shared",
                    user_id=None,
                    detail=f"personal callback of user {owner_id} overdue; now shared",
                )
            )
    db.session.commit()
    return shared


# -- retention -------------------------------------------------------------------------------

def retention_cutoff(now: datetime) -> datetime:
    """Leads whose last activity is before this instant are anonymised."""
    return now - timedelta(days=current_app.config["RETENTION_DAYS"])


def leads_past_retention(now: datetime, limit: int | None = None) -> list[int]:
    """Ids of finished leads whose last activity is more than RETENTION_DAYS before `now`.

    Last activity: closing, the last request, the last call, and the lead's
    appointments (their time and their last change) — a booked patient's
    data stay while the visit is ahead or recent.
    """
    cutoff = retention_cutoff(now)

    def before_cutoff(column):
        return sa.or_(column.is_(None), column < cutoff)

    recent_appointment = (
        sa.select(Appointment.id)
        .where(
            Appointment.lead_id == Lead.id,
            sa.or_(Appointment.starts_at >= cutoff, sa.and_(Appointment.updated_at.is_not(None), Appointment.updated_at >= cutoff)),
        )
        .exists()
    )
    statement = (
        sa.select(Lead.id)
        .where(
            Lead.state.in_(FINISHED_STATES),
            Lead.anonymized_at.is_(None),
            Lead.created_at < cutoff,
            Lead.last_request_at < cutoff,
            before_cutoff(Lead.closed_at),
            before_cutoff(Lead.last_attempt_at),
            ~recent_appointment,
        )
        .order_by(Lead.id)
    )
    if limit:
        statement = statement.limit(limit)
    return list(db.session.scalars(statement))


def anonymise_expired_leads(now: datetime) -> int:
    """Anonymise finished leads past RETENTION_DAYS (name and phone removed, statistics kept); how many."""
    total = 0
    while ids := leads_past_retention(now, limit=RETENTION_BATCH):
        total += anonymise_leads(ids, now, reason="retention")
        db.session.commit()
        if len(ids) < RETENTION_BATCH:
            break
    return total


# -- appointments to mark --------------------------------------------------------------------

@dataclass(frozen=True)
class AppointmentToMark:
    """A visit whose time has passed while it still says 'scheduled'."""

    appointment_id: int
    lead_id: int
    doctor_id: int
    starts_at: datetime
    ends_at: datetime
    doctor_name: str
    patient_name: str


def appointments_to_mark(now: datetime, limit: int = 200) -> list[AppointmentToMark]:
    """Appointments that have ended and are still `scheduled`: mark attended or no-show, oldest first."""
    rows = db.session.execute(
        sa.select(
            Appointment.id,
            Appointment.lead_id,
            Appointment.doctor_id,
            Appointment.starts_at,
            Appointment.ends_at,
            Doctor.name,
            Lead.name,
        )
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Lead, Lead.id == Appointment.lead_id)
        .where(Appointment.status == "scheduled", Appointment.ends_at <= now)
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(limit)
    ).all()
    return [AppointmentToMark(*row) for row in rows]


def count_appointments_to_mark(now: datetime) -> int:
    """How many ended appointments still wait for attended / no-show."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.status == "scheduled", Appointment.ends_at <= now
        )
    ) or 0


# -- failed sign-ins -------------------------------------------------------------------------

def purge_login_failures(now: datetime) -> int:
    """Delete failed sign-ins older than the throttle remembers (random usernames included); how many."""
    purged = changed_rows(sa.delete(LoginFailure).where(LoginFailure.at <= now - FAILURE_MEMORY))
    db.session.commit()
    return purged
