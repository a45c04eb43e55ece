"""A patient's data rights (DESIGN.md §1.7): find and export what is held for a phone
(erasing it is leads.services.erasure).

The do-not-call list must keep working after its phone number is gone: an
anonymised entry keeps a key derived from the number (`do_not_call_key`, the
SHA-256 of the E.164 number cut to fit the 20-character column) instead of
the number itself, and `is_on_do_not_call` matches either.  A hash of a
phone number can be recovered by trying every number, so the key is a
pseudonym that lets the clinic keep honouring the objection, not a secret.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any, Iterable

import sqlalchemy as sa
from flask import current_app

from leads.domain.contact import normalize_phone
from leads.extensions import db
from leads.models import (
    Appointment,
    CallAttempt,
    DoNotCall,
    Lead,
    LeadEvent,
    LeadRequest,
    User,
)
from leads.services.audit import record_audit
from leads.services.clinic import now_utc
from leads.spreadsheet import csv_text

# The do-not-call key: a marker, then the start of the SHA-256 in hex (76 bits,
# far more than enough to keep a clinic's numbers apart) — 20 characters, the
# width of DoNotCall.phone, so no migration is needed.
DNC_KEY_PREFIX = "#"
DNC_KEY_LENGTH = 20


class PhoneNotValid(ValueError):
    """The text given is not a phone number."""


def do_not_call_key(e164: str) -> str:
    """The pseudonymous key that replaces a phone number on the do-not-call list."""
    digest = hashlib.sha256(e164.encode("utf-8")).hexdigest()
    return DNC_KEY_PREFIX + digest[: DNC_KEY_LENGTH - len(DNC_KEY_PREFIX)]


def is_on_do_not_call(e164: str) -> bool:
    """True when the number is on the do-not-call list, as itself or as its anonymised key."""
    return (
        db.session.scalar(sa.select(DoNotCall.phone).where(DoNotCall.phone.in_([e164, do_not_call_key(e164)])))
        is not None
    )


def parse_phone(raw: str) -> str:
    """The number in E.164, from any way people write it.

    :raise PhoneNotValid: when it is not a valid number.
    """
    try:
        return normalize_phone(raw, current_app.config["PHONE_REGION"])
    except ValueError:
        raise PhoneNotValid(raw) from None


# -- finding -----------------------------------------------------------------------------------

def lead_ids_for_phone(e164: str) -> list[int]:
    """Every lead held for the number: by the lead's phone or any of its requests'."""
    by_request = sa.select(LeadRequest.lead_id).where(LeadRequest.phone == e164)
    return list(
        db.session.scalars(
            sa.select(Lead.id).where(sa.or_(Lead.phone == e164, Lead.id.in_(by_request))).order_by(Lead.id)
        )
    )


def _iso(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(obj: Any, columns: Iterable[str]) -> dict[str, Any]:
    return {name: _iso(getattr(obj, name)) for name in columns}


LEAD_FIELDS = (
    "id", "public_id", "name", "phone", "state", "close_reason", "source", "comment",
    "preferred_start", "preferred_end", "page_url", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "request_count", "created_at", "last_request_at", "next_call_at", "attempts",
    "first_attempt_at", "last_attempt_at", "last_outcome", "reached", "closed_at", "anonymized_at",
)  # fmt: skip
REQUEST_FIELDS = (
    "public_id", "created_at", "name", "phone", "comment", "preferred_start", "preferred_end",
    "source", "page_url", "referrer", "utm", "ip", "user_agent", "marketing_consent",
)  # fmt: skip
CONSENT_FIELDS = ("consent_version", "consent_sha256", "consent_at")
CALL_FIELDS = ("id", "at", "outcome", "reached", "note", "next_call_at")
APPOINTMENT_FIELDS = ("id", "starts_at", "ends_at", "status", "cancel_reason", "created_at")
EVENT_FIELDS = ("at", "kind", "detail")


def patient_data(e164: str) -> dict[str, Any]:
    """Everything held for the number, as JSON-ready values.

    {"phone", "leads": [{…lead, "requests": [{…, "consent": {…}}], "calls",
    "appointments", "events"}], "do_not_call": {…} | None}.  Reads only.
    """
    ids = lead_ids_for_phone(e164)
    leads = db.session.scalars(sa.select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id)).all() if ids else []
    doctors = _names_of_doctors(ids)
    users = {uid: name for uid, name in db.session.execute(sa.select(User.id, User.display_name))} if ids else {}
    out = []
    for lead in leads:
        requests = db.session.scalars(
            sa.select(LeadRequest).where(LeadRequest.lead_id == lead.id).order_by(LeadRequest.created_at, LeadRequest.id)
        ).all()
        calls = db.session.scalars(
            sa.select(CallAttempt).where(CallAttempt.lead_id == lead.id).order_by(CallAttempt.at, CallAttempt.id)
        ).all()
        visits = db.session.scalars(
            sa.select(Appointment).where(Appointment.lead_id == lead.id).order_by(Appointment.starts_at, Appointment.id)
        ).all()
        events = db.session.scalars(
            sa.select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.at, LeadEvent.id)
        ).all()
        out.append(
            {
                **_row(lead, LEAD_FIELDS),
                "requests": [
                    {**_row(r, REQUEST_FIELDS), "consent": _row(r, CONSENT_FIELDS)} for r in requests
                ],
                "calls": [{**_row(c, CALL_FIELDS), "operator": users.get(c.operator_id, "")} for c in calls],
                "appointments": [{**_row(a, APPOINTMENT_FIELDS), "doctor": doctors.get(a.doctor_id, "")} for a in visits],
                "events": [_row(e, EVENT_FIELDS) for e in events],
            }
        )
    entry = db.session.scalar(sa.select(DoNotCall).where(DoNotCall.phone.in_([e164, do_not_call_key(e164)])))
    return {
        "phone": e164,
        "leads": out,
        "do_not_call": None
        if entry is None
        else {"added_at": _iso(entry.added_at), "lead_id": entry.lead_id, "anonymised": entry.phone != e164},
    }


def _names_of_doctors(lead_ids: list[int]) -> dict[int, str]:
    if not lead_ids:
        return {}
    from leads.models import Doctor

    return {
        doctor_id: name
        for doctor_id, name in db.session.execute(
            sa.select(Doctor.id, Doctor.name).where(
                Doctor.id.in_(sa.select(Appointment.doctor_id).where(Appointment.lead_id.in_(lead_ids)))
            )
        )
    }


def audit_each(action: str, e164: str, lead_ids: list[int], user_id: int, ip: str, now: datetime, extra: str = "") -> None:
    """One audit row per lead touched (so the log filters by lead), one without a lead if none."""
    detail = f"phone {do_not_call_key(e164)}" + (f"; {extra}" if extra else "")
    touched: list[int | None] = list(lead_ids) or [None]
    for lead_id in touched:
        record_audit(user_id, action, lead_id=lead_id, detail=detail, ip=ip, now=now)


def look_up_patient(raw_phone: str, user_id: int, ip: str = "", now: datetime | None = None) -> dict[str, Any]:
    """Everything held for a number, for the privacy page; the lookup is audited.  Commits.

    :raise PhoneNotValid: when `raw_phone` is not a phone number.
    """
    e164 = parse_phone(raw_phone)
    data = patient_data(e164)
    audit_each("privacy_lookup", e164, [lead["id"] for lead in data["leads"]], user_id, ip, now or now_utc())
    db.session.commit()
    return data


def export_patient(
    raw_phone: str, fmt: str, user_id: int, ip: str = "", now: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """The patient's data as a file body ("json" or "csv"), and the data; audited.  Commits.

    :raise PhoneNotValid: when `raw_phone` is not a phone number.
    """
    if fmt not in ("json", "csv"):
        raise ValueError(f"unknown export format {fmt!r}")
    e164 = parse_phone(raw_phone)
    data = patient_data(e164)
    body = patient_json(data) if fmt == "json" else patient_csv(data)
    audit_each("privacy_export", e164, [lead["id"] for lead in data["leads"]], user_id, ip, now or now_utc(), fmt)
    db.session.commit()
    return body, data


def patient_json(data: dict[str, Any]) -> str:
    """The export as pretty JSON (UTF-8 text, Cyrillic kept readable)."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def patient_csv(data: dict[str, Any]) -> str:
    """The export as one long table (section; lead; record; field; value), through leads.spreadsheet.

    One table for every kind of record, so a spreadsheet opens the whole
    export at once and nothing is lost to differing columns.
    """
    rows: list[list[Any]] = [["section", "lead_id", "record", "field", "value"]]

    def put(section: str, lead_id: Any, record: Any, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if not isinstance(value, (list, dict)):
                rows.append([section, lead_id, record, name, value])

    for lead in data["leads"]:
        put("lead", lead["id"], lead["id"], lead)
        for request in lead["requests"]:
            put("request", lead["id"], request["public_id"], request)
            put("consent", lead["id"], request["public_id"], request["consent"])
        for call in lead["calls"]:
            put("call", lead["id"], call["id"], call)
        for visit in lead["appointments"]:
            put("appointment", lead["id"], visit["id"], visit)
        for number, event in enumerate(lead["events"], 1):
            put("event", lead["id"], number, event)
    if data["do_not_call"]:
        put("do_not_call", data["do_not_call"]["lead_id"], "", data["do_not_call"])
    return csv_text(rows)
