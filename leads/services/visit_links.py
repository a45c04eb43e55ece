"""The patient's link to their visit: `/visit/<token>` (issue 14).

The token is the appointment's id signed with the app's SECRET_KEY
(itsdangerous, its own salt), so it cannot be guessed or forged, and nothing
needs storing.  It stops working when the visit has ended: `appointment_for_token`
answers None then, as for any token that is not ours.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from leads.extensions import db
from leads.models import Appointment, Doctor
from leads.services.clinic import clinic_calendar

SALT = "visit-link"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def visit_token(appointment_id: int) -> str:
    """The token of an appointment's link."""
    return _serializer().dumps(appointment_id)


def visit_url(appointment_id: int) -> str:
    """The absolute link sent to the patient (PUBLIC_BASE_URL, no request needed)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/visit/{visit_token(appointment_id)}"


def appointment_for_token(token: str, now: datetime) -> Appointment | None:
    """The appointment a token names, if the token is ours and the visit has not ended."""
    try:
        appointment_id = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(appointment_id, int) or isinstance(appointment_id, bool):
        return None
    appointment = db.session.get(Appointment, appointment_id, populate_existing=True)
    if appointment is None or appointment.ends_at <= now:
        return None
    return appointment


@dataclass(frozen=True)
class PatientVisit:
    """What the patient's page shows: nothing they do not know already."""

    appointment_id: int
    doctor_name: str
    specialty: str
    start: datetime  # clinic time
    end: datetime
    status: str  # scheduled | cancelled | attended | no_show
    confirmed: bool
    address: str


def visit_for_token(token: str, now: datetime) -> PatientVisit | None:
    """The visit behind a link, or None for a wrong or expired token."""
    appointment = appointment_for_token(token, now)
    if appointment is None:
        return None
    doctor = db.session.get(Doctor, appointment.doctor_id)
    cal = clinic_calendar(now)
    return PatientVisit(
        appointment_id=appointment.id,
        doctor_name=doctor.name,
        specialty=doctor.specialty,
        start=cal.local(appointment.starts_at),
        end=cal.local(appointment.ends_at),
        status=appointment.status,
        confirmed=appointment.confirmed_at is not None,
        address=current_app.config["CLINIC_ADDRESS"],
    )
