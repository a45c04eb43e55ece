"""A patient's data rights (DESIGN.md §1.7): find, export and erase what is held for a phone.

Anonymising a lead removes who the patient is and keeps what happened:
states, times, outcomes, counts, sources and consent versions stay, so the
reports add up the same before and after.  The same `anonymise_leads` serves
the patient's erasure request and the retention job.

The do-not-call list must keep working after its phone number is gone: an
anonymised entry keeps a key derived from the number (`do_not_call_key`, the
SHA-256 of the E.164 number cut to fit the 20-character column) instead of
the number itself, and `is_on_do_not_call` matches either.  A hash of a
phone number can be recovered by trying every number, so the key is a
pseudonym that lets the clinic keep honouring the objection, not a secret.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

import sqlalchemy as sa
from flask import current_app

from leads.domain.contact import format_phone, normalize_phone
from leads.domain.outcomes import OPEN_STATES, LeadState
from leads.extensions import db
from leads.models import (
    Appointment,
    AuditEntry,
    CallAttempt,
    DoNotCall,
    Lead,
    LeadEvent,
    LeadRequest,
    User,
)
from leads.services.audit import record_audit
from leads.services.clinic import now_utc
from leads.services.unit_of_work import changed_rows

OPEN_STATE_VALUES = tuple(sorted(state.value for state in OPEN_STATES))
ERASED = "[erased]"
# What an erased open lead is closed as; an erased future visit is cancelled as.
ERASED_REASON = "erased"
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


def _audit_each(action: str, e164: str, lead_ids: list[int], user_id: int, ip: str, now: datetime, extra: str = "") -> None:
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
    _audit_each("privacy_lookup", e164, [lead["id"] for lead in data["leads"]], user_id, ip, now or now_utc())
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
    _audit_each("privacy_export", e164, [lead["id"] for lead in data["leads"]], user_id, ip, now or now_utc(), fmt)
    db.session.commit()
    return body, data


def patient_json(data: dict[str, Any]) -> str:
    """The export as pretty JSON (UTF-8 text, Cyrillic kept readable)."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def patient_csv(data: dict[str, Any]) -> str:
    """The export as one long table (section; lead; record; field; value), `;`-separated, with a UTF-8 BOM.

    One table for every kind of record, so a spreadsheet opens the whole
    export at once and nothing is lost to differing columns.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["section", "lead_id", "record", "field", "value"])

    def put(section: str, lead_id: Any, record: Any, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if not isinstance(value, (list, dict)):
                writer.writerow([section, lead_id, record, name, _cell(value)])

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
    return "\ufeff" + out.getvalue()


# -- erasing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Erased:
    """What an erasure did."""

    leads: int
    appointments_cancelled: int


def erase_patient(raw_phone: str, user_id: int, ip: str = "", now: datetime | None = None) -> Erased:
    """Anonymise everything held for a number, keep the statistics; audited.  Commits.

    Open leads are closed (nobody may call a person who is no longer on
    record) and visits still ahead are cancelled; past visits keep their
    outcome.  The do-not-call entry keeps working under its key.

    :raise PhoneNotValid: when `raw_phone` is not a phone number.
    """
    now = now or now_utc()
    e164 = parse_phone(raw_phone)
    ids = lead_ids_for_phone(e164)
    cancelled = 0
    if ids:
        cancelled = changed_rows(
            sa.update(Appointment)
            .where(Appointment.lead_id.in_(ids), Appointment.status == "scheduled", Appointment.starts_at > now)
            .values(status="cancelled", cancel_reason=ERASED_REASON, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        anonymise_leads(ids, now, reason="erasure request")
    _pseudonymise_do_not_call([e164])
    _audit_each("privacy_erase", e164, ids, user_id, ip, now, f"{len(ids)} lead(s), {cancelled} visit(s) cancelled")
    db.session.commit()
    return Erased(leads=len(ids), appointments_cancelled=cancelled)


def _phone_spellings(e164: str) -> set[str]:
    """The ways a number may have been typed into free text (for scrubbing notes and details)."""
    spellings = {e164, format_phone(e164)}
    digits = e164.lstrip("+")
    if len(digits) >= 7:
        spellings.add(digits)
    if e164.startswith("+7") and len(digits) == 11:
        spellings.update({"8" + digits[1:], digits[1:]})
    return {s for s in spellings if len(s) >= 7}


def anonymise_leads(lead_ids: list[int], now: datetime, reason: str) -> int:
    """Remove name and phone (and the free text that may hold them) from these leads; how many.

    Kept: states, times, outcomes, counts, reached, source and utm_*, consent
    versions and hashes, appointments' times and statuses.  Removed: names,
    phones, comments, notes, IP addresses, browsers, page addresses and
    referrers (which may carry personal data in their query), and any name or
    number quoted in the timeline or the audit log.  Open leads are closed.
    Leads already anonymised are skipped.  Does not commit (the caller does).
    """
    ids = list(
        db.session.scalars(sa.select(Lead.id).where(Lead.id.in_(lead_ids), Lead.anonymized_at.is_(None)))
    ) if lead_ids else []
    if not ids:
        return 0
    names, phones = set(), set()
    for name, phone in db.session.execute(sa.select(Lead.name, Lead.phone).where(Lead.id.in_(ids))):
        names.add(name)
        phones.add(phone)
    for name, phone in db.session.execute(
        sa.select(LeadRequest.name, LeadRequest.phone).where(LeadRequest.lead_id.in_(ids))
    ):
        names.add(name)
        phones.add(phone)
    names.discard("")
    phones.discard("")

    no_sync = {"synchronize_session": False}
    db.session.execute(
        sa.update(Lead)
        .where(Lead.id.in_(ids), Lead.state.in_(OPEN_STATE_VALUES))
        .values(
            state=LeadState.CLOSED.value,
            close_reason=ERASED_REASON,
            closed_at=now,
            next_call_at=None,
            callback_owner_id=None,
            claimed_by_id=None,
            claim_expires_at=None,
        ),
        execution_options=no_sync,
    )
    db.session.execute(
        sa.update(Lead)
        .where(Lead.id.in_(ids))
        .values(name="", phone="", comment="", page_url="", referrer="", anonymized_at=now),
        execution_options=no_sync,
    )
    db.session.execute(
        sa.update(LeadRequest)
        .where(LeadRequest.lead_id.in_(ids))
        .values(name="", phone="", comment="", ip="", user_agent="", page_url="", referrer=""),
        execution_options=no_sync,
    )
    db.session.execute(
        sa.update(CallAttempt).where(CallAttempt.lead_id.in_(ids)).values(note=""), execution_options=no_sync
    )
    spellings = set(names)
    for phone in phones:
        spellings |= _phone_spellings(phone)
    # Longest first, so a full number is replaced before a part of it.
    for secret in sorted(spellings, key=len, reverse=True):
        for column, where in (
            (LeadEvent.detail, LeadEvent.lead_id.in_(ids)),
            (AuditEntry.detail, AuditEntry.lead_id.in_(ids)),
            (Appointment.cancel_reason, Appointment.lead_id.in_(ids)),
        ):
            _scrub(column, where, secret)
    # A number quoted in an audit row about no lead in particular goes too.
    for phone in phones:
        for secret in sorted(_phone_spellings(phone), key=len, reverse=True):
            _scrub(AuditEntry.detail, AuditEntry.lead_id.is_(None), secret)
    _pseudonymise_do_not_call(phones)
    db.session.execute(
        sa.insert(LeadEvent),
        [{"lead_id": i, "at": now, "kind": "anonymised", "user_id": None, "detail": reason} for i in ids],
    )
    return len(ids)


def _scrub(column: sa.orm.InstrumentedAttribute, where: sa.ColumnElement[bool], secret: str) -> None:
    table = column.class_
    db.session.execute(
        sa.update(table)
        .where(where, column.contains(secret, autoescape=True))
        .values({column.key: sa.func.replace(column, secret, ERASED)}),
        execution_options={"synchronize_session": False},
    )


def _pseudonymise_do_not_call(phones: Iterable[str]) -> None:
    """Replace listed numbers by their keys (a key already listed makes the number's row redundant)."""
    for phone in phones:
        if not phone or phone.startswith(DNC_KEY_PREFIX):
            continue
        key = do_not_call_key(phone)
        if db.session.get(DoNotCall, key) is not None:
            db.session.execute(sa.delete(DoNotCall).where(DoNotCall.phone == phone))
        else:
            db.session.execute(
                sa.update(DoNotCall).where(DoNotCall.phone == phone).values(phone=key),
                execution_options={"synchronize_session": False},
            )
