"""After the booking (issue 14): the messages to send and the confirmation calls to make.

Imported at the end of leads/models.py so that they share its metadata.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import orm as so

from leads.models import Model, UTCDateTime, utcnow

# A message still to send (or being sent); the others are final.
OUTBOX_WAITING = ("pending", "sending")
OPEN_TASK_SQL = "status = 'open'"


class OutboxMessage(Model):
    """One message to one patient over one channel, written in the transaction that
    decided it (transactional outbox) and sent by the scheduler's outbox job.

    `idempotency_key` names what the message is about (the appointment, the kind,
    the visit's start, the channel), so writing it twice stores one row; the job
    claims a row with a conditional UPDATE before sending, so two schedulers never
    send one row twice.  `status`: pending → sending → sent | failed | cancelled.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    appointment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("appointments.id"), index=True)
    lead_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("leads.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))  # booked | reminder
    channel: so.Mapped[str] = so.mapped_column(sa.String(8))  # sms | email
    recipient: so.Mapped[str] = so.mapped_column(sa.String(254))
    # The visit's start the message speaks of: a moved visit makes its old messages void.
    visit_starts_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    # While `sending`: the instant after which a crashed sender's claim may be taken over.
    claim_expires_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sent_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)


class ConfirmationTask(Model):
    """A call to make before a visit to hear that the patient is coming.

    One open task per appointment (a partial unique index).  `status`: open →
    confirmed | reschedule | cancelled | unreached | void (the visit was
    cancelled or moved without the call).
    """

    __tablename__ = "confirmation_tasks"
    __table_args__ = (
        sa.Index(
            "uq_confirmation_tasks_open_appointment",
            "appointment_id",
            unique=True,
            sqlite_where=sa.text(OPEN_TASK_SQL),
            postgresql_where=sa.text(OPEN_TASK_SQL),
        ),
        sa.Index(
            "ix_confirmation_tasks_queue",
            "due_at",
            "id",
            sqlite_where=sa.text(OPEN_TASK_SQL),
            postgresql_where=sa.text(OPEN_TASK_SQL),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    appointment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("appointments.id"))
    lead_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("leads.id"), index=True)
    visit_starts_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    due_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="open")
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    claimed_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"))
    claim_expires_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    done_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    done_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"))
