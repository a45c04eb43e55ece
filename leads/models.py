"""Database models (SQLAlchemy 2.0, typed).

Times are stored as UTC and come back timezone-aware (`UTCDateTime`); the
clinic's time zone is applied only when showing them.  Constraints that keep
the data right under concurrency live here, in the database: one open lead per
phone number, unique public ids.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Optional

import sqlalchemy as sa
from sqlalchemy import orm as so
from sqlalchemy.types import TypeDecorator

from leads.domain.outcomes import OPEN_STATES, LeadState
from leads.extensions import Base, db

if TYPE_CHECKING:
    Model = Base  # what db.Model is built on, spelled so that a type checker can follow it
else:
    Model = db.Model


QUEUE_INDEX_COLUMNS = (
    "state", "next_call_at", "created_at", "request_count", "callback_owner_id", "claimed_by_id",
    "claim_expires_at", "sla_due_at", "attempts",
)


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC (called per row, never at import)."""
    return datetime.now(timezone.utc)


def new_public_id() -> str:
    """An unguessable identifier safe to show in a URL."""
    return secrets.token_urlsafe(16)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the column.

    SQLite has no time zone type, so both databases store naive UTC and this
    type refuses naive input rather than guessing what it meant.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class LeadStateType(TypeDecorator):
    """A lead's state: stored as its text, read back as a LeadState (an unknown text is refused)."""

    impl = sa.String(16)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else LeadState(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else LeadState(value)


OPEN_STATE_VALUES = tuple(sorted(state.value for state in OPEN_STATES))
# Written out literally: SQLite matches a partial index (and an upsert's
# conflict target) only against its predicate as written, never bound values.
OPEN_STATES_SQL = "state IN (" + ", ".join(f"'{s}'" for s in OPEN_STATE_VALUES) + ")"
# The leads every report leaves out: spam and test leads (leads/services/reports.py).
LEFT_OUT_SQL = "(excluded OR close_reason = 'spam')"  # in parentheses: ANDed into queries as text


class ConsentDocument(Model):
    """One version of the consent text a patient agreed to, exactly as shown."""

    __tablename__ = "consent_documents"
    __table_args__ = (sa.UniqueConstraint("locale", "version", name="uq_consent_documents_locale_version"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    locale: so.Mapped[str] = so.mapped_column(sa.String(8))
    version: so.Mapped[int] = so.mapped_column(sa.Integer)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class User(Model):
    """A person who signs in: operator, manager or admin."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    role: so.Mapped[str] = so.mapped_column(sa.String(16))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    # Rotated on logout, password reset and deactivation: every cookie that
    # carries the old token stops working at once.
    session_token: so.Mapped[str] = so.mapped_column(sa.String(64), default=new_public_id)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_login_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    # Two-factor sign-in (managers, admins): the TOTP key, and the last time step used,
    # so that one code never signs in twice.
    totp_secret: so.Mapped[Optional[str]] = so.mapped_column(sa.String(64))
    totp_last_step: so.Mapped[Optional[int]] = so.mapped_column(sa.BigInteger)
    # The desk's "save and next": recording an outcome takes the next lead in the same action.
    save_and_next: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False, server_default=sa.false())

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class RecoveryCode(Model):
    """A one-time code that replaces the authenticator app once (kept as a SHA-256)."""

    __tablename__ = "recovery_codes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    code_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    used_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)


class TwoFactorRole(Model):
    """A role whose people must sign in with a second factor (set by an admin)."""

    __tablename__ = "two_factor_roles"

    role: so.Mapped[str] = so.mapped_column(sa.String(16), primary_key=True)


class LoginFailure(Model):
    """A failed sign-in, kept for throttling by username."""

    __tablename__ = "login_failures"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    ip: so.Mapped[str] = so.mapped_column(sa.String(64))
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)


class Lead(Model):
    """A person to call back: one open lead per phone, many requests."""

    __tablename__ = "leads"
    __table_args__ = (
        # One open lead per phone number, enforced by the database so that
        # concurrent repeat requests can never create a second one.
        sa.Index(
            "uq_leads_open_phone",
            "phone",
            unique=True,
            sqlite_where=sa.text(OPEN_STATES_SQL),
            postgresql_where=sa.text(OPEN_STATES_SQL),
        ),
        # The queue's one index (leads/services/queue.py): each tier is a range of
        # (state, next_call_at), and the columns after them are what the tiers and
        # counters filter and sort on, so the open leads are read from the index alone.
        sa.Index("ix_leads_queue", *QUEUE_INDEX_COLUMNS),
        # The new-lead tiers are served in arrival order: read in that order, a state's first
        # free lead is near the start.  Without it PostgreSQL's planner may walk
        # ix_leads_created_at from the oldest lead past every closed one (bench/queue, 1M leads:
        # 0.3 s a take-next once the repeat requests are called).
        sa.Index("ix_leads_state_created_at", "state", "created_at"),
        sa.Index("ix_leads_created_at", "created_at"),
        sa.Index("ix_leads_arrival_day", "arrival_day"),
        # The few leads every report leaves out (spam, test leads), by arrival: the report leaves
        # out their calls (leads/services/reports.py `_calls`).
        sa.Index("ix_leads_left_out", "arrival_day", "id", sqlite_where=sa.text(LEFT_OUT_SQL),
                 postgresql_where=sa.text(LEFT_OUT_SQL)),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    public_id: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_public_id)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    phone: so.Mapped[str] = so.mapped_column(sa.String(20), index=True)
    state: so.Mapped[LeadState] = so.mapped_column(LeadStateType, default=LeadState.NEW)
    close_reason: so.Mapped[Optional[str]] = so.mapped_column(sa.String(32))
    source: so.Mapped[str] = so.mapped_column(sa.String(16), default="form")
    comment: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    preferred_start: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    preferred_end: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    page_url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    referrer: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    utm_source: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    utm_medium: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    utm_campaign: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    utm_term: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    utm_content: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    request_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_request_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    next_call_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    # When the first call is due by the SLA, in business minutes from arrival
    # (or from the preferred window's start): "past the SLA" is a comparison.
    sla_due_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    first_attempt_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    last_attempt_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    last_outcome: so.Mapped[Optional[str]] = so.mapped_column(sa.String(16))
    reached: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    callback_owner_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"))
    claimed_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    claim_expires_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    sla_breached: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    excluded: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    # Sent faster than a person fills the form: kept out of reports and the
    # SLA (`excluded`) until an operator reaches a person on this number.
    suspected_automation: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False, server_default=sa.false())
    closed_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    # What the reports group by and count, stored when it happens (leads/services/report_facts.py):
    # the clinic-local date and hour of arrival, business minutes to the first call, visits.
    arrival_day: so.Mapped[Optional[date]] = so.mapped_column(sa.Date)
    arrival_hour: so.Mapped[Optional[int]] = so.mapped_column(sa.SmallInteger)
    first_call_minutes: so.Mapped[Optional[float]] = so.mapped_column(sa.Float)
    # A visit was booked for the lead (whatever became of it), and one of its visits was attended.
    visit_booked: so.Mapped[bool] = so.mapped_column(sa.Boolean, server_default=sa.false())
    visit_attended: so.Mapped[bool] = so.mapped_column(sa.Boolean, server_default=sa.false())
    anonymized_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)

    requests: so.WriteOnlyMapped["LeadRequest"] = so.relationship(back_populates="lead")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATE_VALUES


class LeadRequest(Model):
    """One submission of the form or API, with its consent evidence.

    The first request of a lead and every repeat request each get a row; the
    patient's thanks page is addressed by this row's public id, so a repeat
    request looks exactly like a first one.
    """

    __tablename__ = "lead_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    public_id: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    lead_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("leads.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    phone: so.Mapped[str] = so.mapped_column(sa.String(20))
    comment: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    preferred_start: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    preferred_end: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    source: so.Mapped[str] = so.mapped_column(sa.String(16))
    page_url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    referrer: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    utm: so.Mapped[str] = so.mapped_column(sa.String(600), default="")  # query-string form, for the record
    ip: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    user_agent: so.Mapped[str] = so.mapped_column(sa.String(400), default="")
    # Consent evidence (152-FZ): which text, exactly, and when.
    consent_document_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("consent_documents.id"))
    consent_version: so.Mapped[int] = so.mapped_column(sa.Integer)
    consent_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    consent_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    marketing_consent: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    # What the patient was promised, so the thanks page never changes its story.
    promise_kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    promise_minutes: so.Mapped[Optional[int]] = so.mapped_column(sa.Integer)
    promise_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    promise_until: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    spooled: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    suspected_automation: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False, server_default=sa.false())

    lead: so.Mapped[Lead] = so.relationship(back_populates="requests")


class LeadEvent(Model):
    """A line on a lead's timeline."""

    __tablename__ = "lead_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lead_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("leads.id"), index=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    kind: so.Mapped[str] = so.mapped_column(sa.String(32))
    user_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"))
    detail: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")


class CallAttempt(Model):
    """One call an operator made and what came of it."""

    __tablename__ = "call_attempts"
    __table_args__ = (
        sa.Index("ix_call_attempts_lead_id_at", "lead_id", "at"),
        sa.Index("ix_call_attempts_arrival_day", "arrival_day"),
        sa.Index("ix_call_attempts_day", "day"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lead_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("leads.id"))
    operator_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(16))
    reached: so.Mapped[bool] = so.mapped_column(sa.Boolean)
    note: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    next_call_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    # The lead's arrival_day, stored with the call (leads/services/report_facts.py): the report
    # reads the calls to a range's leads by it, without joining every one of those leads.
    arrival_day: so.Mapped[Optional[date]] = so.mapped_column(sa.Date)
    # The clinic-local date the call was made: the report by activity date groups by it.
    day: so.Mapped[Optional[date]] = so.mapped_column(sa.Date)


class DoNotCall(Model):
    """A phone number that asked never to be called."""

    __tablename__ = "do_not_call"

    phone: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)
    added_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    lead_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("leads.id"))
    user_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"))


class AuditEntry(Model):
    """Who touched personal data, when, and how."""

    __tablename__ = "audit_log"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    action: so.Mapped[str] = so.mapped_column(sa.String(32))
    lead_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("leads.id"), index=True)
    detail: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    ip: so.Mapped[str] = so.mapped_column(sa.String(64), default="")


class Closure(Model):
    """A date the clinic is shut (a public holiday), with the reason."""

    __tablename__ = "closures"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    day: so.Mapped[date] = so.mapped_column(sa.Date, unique=True)
    reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")


class Doctor(Model):
    """A doctor whose slots operators book."""

    __tablename__ = "doctors"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    specialty: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    # The doctor's own weekly plan inside the clinic's hours, as JSON
    # {"0": ["09:00", "14:00"], ...} (weekday 0 = Monday); NULL: the clinic's hours.
    plan: so.Mapped[Optional[str]] = so.mapped_column(sa.String(400))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


# Appointments that hold their slot; a cancelled one frees it.
LIVE_APPOINTMENT_STATUSES = ("scheduled", "attended", "no_show")
_live_appointment_sql = "status IN (" + ", ".join(f"'{s}'" for s in LIVE_APPOINTMENT_STATUSES) + ")"


class Appointment(Model):
    """A visit booked for a lead: a doctor and a slot."""

    __tablename__ = "appointments"
    __table_args__ = (
        # No two live appointments of one doctor in one slot: the database
        # decides the race, not a check in Python.
        sa.Index(
            "uq_appointments_doctor_slot",
            "doctor_id",
            "starts_at",
            unique=True,
            sqlite_where=sa.text(_live_appointment_sql),
            postgresql_where=sa.text(_live_appointment_sql),
        ),
        sa.Index("ix_appointments_starts_at", "starts_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    doctor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("doctors.id"))
    lead_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("leads.id"), index=True)
    starts_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="scheduled")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    cancel_reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # Asked at booking: may the clinic send this patient messages about the visit, and
    # an e-mail address for the calendar invitation (optional).
    messages_consent: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False, server_default=sa.false())
    email: so.Mapped[str] = so.mapped_column(sa.String(254), default="", server_default="")
    # The patient said they are coming (on the confirmation call or by their link).
    confirmed_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime)
    cancelled_by_patient: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False, server_default=sa.false())


# Outbox messages and confirmation tasks (issue 14) share this metadata.
from leads.outbox_models import ConfirmationTask, OutboxMessage  # noqa: E402,F401
