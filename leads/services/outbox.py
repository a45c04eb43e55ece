"""The transactional outbox of messages to patients (issue 14).

Writing: `write_visit_messages` adds the rows of one visit — the booking
confirmation at once (inside sending hours), a reminder REMINDER_HOURS_BEFORE
each — to the caller's transaction, so a booking and its messages commit or
vanish together.  Only with the patient's consent for messages, never to a
number on the do-not-call list, and only over channels that are configured.
Each row's idempotency key (appointment, kind, visit start, channel) is unique
in the database: writing the same plan twice stores it once.

Sending: `send_due_messages` (the scheduler's outbox job) claims one due row
at a time with a conditional UPDATE (`FOR UPDATE SKIP LOCKED` in its subquery
on PostgreSQL; SQLite's single writer makes the UPDATE itself the arbiter)
and commits the claim before talking to the provider, so two schedulers never
send one row.  A failure is tried again after an exponential backoff, moved
into sending hours, up to OUTBOX_MAX_ATTEMPTS; then the row is `failed` and
the manager sees it.  A sender that died mid-send leaves its claim to expire
(CLAIM_SECONDS); the row is then sent again — at least once, with the key in
the SMS body and the e-mail's Message-ID for the provider to drop a repeat.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from config import parse_message_hours
from leads.domain.reminders import SendingHours, into_sending_hours, reminder_due_at, retry_backoff
from leads.extensions import db
from leads.models import Appointment, Doctor, DoNotCall, Lead
from leads.outbox_models import OUTBOX_WAITING, OutboxMessage
from leads.services.channels import Channel, ChannelError, OutgoingMessage, configured_channels
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.visit_messages import VisitFacts, message_text, visit_ics

log = logging.getLogger(__name__)

CLAIM_SECONDS = 5 * 60  # far longer than a provider's timeout


class OutboxError(Exception):
    """A message cannot be retried: `code` is "not_found" or "not_failed"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class OutboxRow:
    """A message as the manager and the CLI see it (no text, no recipient)."""

    id: int
    appointment_id: int
    kind: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None


def sending_hours() -> SendingHours:
    """MESSAGE_HOURS as the domain's SendingHours."""
    start, end = parse_message_hours(current_app.config["MESSAGE_HOURS"])
    return SendingHours(start, end)


def channels() -> dict[str, Channel]:
    """The configured channels (tests replace them through the app's settings)."""
    return configured_channels(current_app.config)


def may_message(appointment: Appointment, phone: str) -> bool:
    """The patient agreed to messages about the visit and their number is not on the do-not-call list."""
    if not appointment.messages_consent:
        return False
    return db.session.get(DoNotCall, phone) is None


def _insert(values: list[dict]) -> None:
    if not values:
        return
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(OutboxMessage).values(values).on_conflict_do_nothing(index_elements=["idempotency_key"]))


def write_visit_messages(appointment: Appointment, phone: str, now: datetime, *, booked: bool) -> int:
    """Add the messages of a visit to the current transaction (no commit); how many were planned.

    `booked`: include the booking confirmation (a new or moved visit); reminders always.
    """
    if not may_message(appointment, phone):
        return 0
    tz = clinic_calendar(now).tz
    hours = sending_hours()
    plan: list[tuple[str, datetime]] = []
    if booked:
        plan.append(("booked", into_sending_hours(now, tz, hours)))
    for hours_before in current_app.config["REMINDER_HOURS_BEFORE"]:
        due = reminder_due_at(appointment.starts_at, hours_before, tz, hours)
        if due is not None and due > now:
            plan.append((f"reminder{hours_before}", due))
    recipients = {"sms": phone, "email": appointment.email}
    start_key = int(appointment.starts_at.timestamp())
    rows = [
        {
            "idempotency_key": f"a{appointment.id}:{kind}:{start_key}:{channel}",
            "appointment_id": appointment.id,
            "lead_id": appointment.lead_id,
            "kind": "booked" if kind == "booked" else "reminder",
            "channel": channel,
            "recipient": recipients[channel],
            "visit_starts_at": appointment.starts_at,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": due,
            "last_error": "",
            "created_at": now,
        }
        for kind, due in plan
        for channel in channels()
        if recipients.get(channel)
    ]
    _insert(rows)
    return len(rows)


def cancel_visit_messages(appointment_id: int, reason: str) -> None:
    """Stop the waiting messages of a visit (cancelled or moved); no commit."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.appointment_id == appointment_id, OutboxMessage.status == "pending")
        .values(status="cancelled", last_error=reason),
        execution_options={"synchronize_session": False},
    )


# -- sending ------------------------------------------------------------------------------------


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claim_expires_at <= now),
    )


def claim_next_message(now: datetime) -> int | None:
    """Claim the next due message for this sender and commit the claim; its id or None."""
    candidate = (
        sa.select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == candidate, _due(now))
        .values(
            status="sending",
            attempts=OutboxMessage.attempts + 1,
            claim_expires_at=now + timedelta(seconds=CLAIM_SECONDS),
        )
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    ).scalar()
    db.session.commit()
    return claimed


def _finish(message_id: int, **values) -> None:
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
        .values(claim_expires_at=None, **values),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _why_not_send(message: OutboxMessage, appointment: Appointment, phone: str, now: datetime) -> str | None:
    if appointment.status != "scheduled":
        return "the visit is no longer scheduled"
    if appointment.starts_at != message.visit_starts_at:
        return "the visit was moved"
    if appointment.starts_at <= now:
        return "the visit has started"
    if not may_message(appointment, phone):
        return "no consent for messages or the number is on the do-not-call list"
    return None


def _outgoing(message: OutboxMessage, appointment: Appointment) -> OutgoingMessage:
    cal = clinic_calendar()
    doctor = db.session.get(Doctor, appointment.doctor_id)
    facts = VisitFacts(appointment.id, doctor.name, doctor.specialty, cal.local(appointment.starts_at),
                       cal.local(appointment.ends_at))
    subject, text = message_text(message.kind, facts)
    ics = visit_ics(facts, subject) if message.channel == "email" else None
    return OutgoingMessage(key=message.idempotency_key, recipient=message.recipient, text=text, subject=subject, ics=ics)


def send_message(message_id: int, now: datetime, available: dict[str, Channel]) -> str:
    """Send one claimed message and record what came of it; the new status."""
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    appointment = db.session.get(Appointment, message.appointment_id, populate_existing=True)
    phone = db.session.scalar(sa.select(Lead.phone).where(Lead.id == message.lead_id))
    reason = _why_not_send(message, appointment, phone, now)
    channel = available.get(message.channel)
    if reason is None and channel is None:
        reason = f"the {message.channel} channel is not configured"
    if reason is not None:
        _finish(message_id, status="cancelled", last_error=reason)
        return "cancelled"
    outgoing = _outgoing(message, appointment)
    attempts = message.attempts
    db.session.rollback()  # no transaction held open while the provider answers
    try:
        channel.send(outgoing)
    except ChannelError as exc:
        if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            _finish(message_id, status="failed", last_error=str(exc)[:500])
            log.warning("outbox message %d failed for good: %s", message_id, exc)
            return "failed"
        delay = retry_backoff(attempts, current_app.config["OUTBOX_BACKOFF_SECONDS"])
        retry_at = into_sending_hours(now + delay, clinic_calendar(now).tz, sending_hours())
        _finish(message_id, status="pending", next_attempt_at=retry_at, last_error=str(exc)[:500])
        return "pending"
    _finish(message_id, status="sent", sent_at=now, last_error="")
    return "sent"


def send_due_messages(now: datetime | None = None, *, limit: int = 100) -> dict[str, int]:
    """Send the messages due at `now`, one claim at a time; counts by resulting status."""
    now = now or now_utc()
    available = channels()
    counts: dict[str, int] = {}
    for _ in range(limit):
        message_id = claim_next_message(now)
        if message_id is None:
            break
        status = send_message(message_id, now, available)
        counts[status] = counts.get(status, 0) + 1
    return counts


# -- looking and retrying ------------------------------------------------------------------------


def list_messages(statuses: tuple[str, ...] = (*OUTBOX_WAITING, "failed"), limit: int = 200) -> list[OutboxRow]:
    """Messages in `statuses`, failed first, then by next attempt."""
    rows = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.status.in_(statuses))
        .order_by(sa.case((OutboxMessage.status == "failed", 0), else_=1), OutboxMessage.next_attempt_at,
                  OutboxMessage.id)
        .limit(limit)
    )
    return [
        OutboxRow(m.id, m.appointment_id, m.kind, m.channel, m.status, m.attempts, m.next_attempt_at, m.last_error,
                  m.sent_at)
        for m in rows
    ]


def retry_message(message_id: int, now: datetime | None = None) -> None:
    """Put a failed message back in line, to be sent at the next run; commits.

    :raise OutboxError: "not_found", "not_failed".
    """
    now = now or now_utc()
    if db.session.get(OutboxMessage, message_id) is None:
        raise OutboxError("not_found")
    changed = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.commit()
    if not changed:
        raise OutboxError("not_failed")
