"""A patient's callback request becomes a lead (DESIGN.md §1.2).

`submit_callback_request` answers the patient in every case: it stores the
request, or, when the database cannot be written, spools it durably and
answers the same.  `store_request` is the one writer, used live and by replay.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from leads.domain.calendar import ClinicCalendar
from leads.domain.outcomes import LeadState
from leads.domain.promise import CallPromise, promise_call
from leads.extensions import db
from leads.models import LeadRequest, new_public_id
from leads.services.clinic import calendar_or_default, now_utc
from leads.services.consent import ConsentVersion, consent_version
from leads.services.data_rights import do_not_call_key
from leads.services.intake_sql import write_request
from leads.services.spool import Spool

log = logging.getLogger(__name__)

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True)
class CallbackRequest:
    """A validated request, as plain values (phone already E.164)."""

    name: str
    phone: str
    consent_text: str
    locale: str
    comment: str = ""
    preferred: tuple[datetime, datetime] | None = None
    marketing_consent: bool = False
    source: str = "form"
    page_url: str = ""
    referrer: str = ""
    utm: Mapping[str, str] = field(default_factory=dict)
    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Submitted:
    """What the patient is told: the request's public id and the promised call time."""

    public_id: str
    promise: CallPromise
    spooled: bool = False


def spool() -> Spool:
    """The app's spool file (SPOOL_PATH, default instance/spool.jsonl)."""
    path = current_app.config.get("SPOOL_PATH") or Path(current_app.instance_path) / "spool.jsonl"
    return Spool(path)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def submit_callback_request(
    request: CallbackRequest, now: datetime | None = None, calendar: ClinicCalendar | None = None
) -> Submitted:
    """Store a request (or spool it) and say when the call will come.

    The reply is the same for a first request, a repeat request and a spooled
    one, so it reveals nothing about who asked before.  `calendar` saves a
    second look-up when the caller already has it.
    """
    now = now or now_utc()
    calendar = calendar or calendar_or_default(now)
    promise = promise_call(calendar, now, current_app.config["CALLBACK_SLA_MINUTES"], request.preferred)
    record = request_record(request, new_public_id(), now, promise)
    try:
        store_request(record, calendar=calendar)
    except SQLAlchemyError:
        db.session.rollback()
        log.error("database unavailable; request %s spooled", record["public_id"], exc_info=True)
        spool().append(record)
        return Submitted(record["public_id"], promise, spooled=True)
    return Submitted(record["public_id"], promise)


def request_record(request: CallbackRequest, public_id: str, now: datetime, promise: CallPromise) -> dict[str, Any]:
    """The request as JSON-ready values: what is stored, or spooled."""
    start, end = request.preferred or (None, None)
    return {
        "public_id": public_id,
        "created_at": now.isoformat(),
        "name": request.name,
        "phone": request.phone,
        "comment": request.comment,
        "preferred_start": _iso(start),
        "preferred_end": _iso(end),
        "marketing_consent": request.marketing_consent,
        "source": request.source,
        "page_url": request.page_url[:500],
        "referrer": request.referrer[:500],
        "utm": {key: str(request.utm.get(key, ""))[:100] for key in UTM_KEYS},
        "ip": request.ip[:64],
        "user_agent": request.user_agent[:400],
        "locale": request.locale,
        "consent_text": request.consent_text,
        "promise_kind": promise.kind,
        "promise_minutes": promise.minutes,
        "promise_at": _iso(promise.at),
        "promise_until": _iso(promise.until),
    }


def store_request(record: dict[str, Any], *, replay: bool = False, calendar: ClinicCalendar | None = None) -> bool:
    """Insert one request: a new lead, or a repeat request on the phone's open lead.

    Returns False when `replay` finds the request already stored (same public
    id), True when it was stored now.  Commits.

    Everything is computed before the first write, and the writes follow
    back to back, so SQLite's write lock is held for as short as possible.
    The lead is one upsert on the partial unique index "one open lead per
    phone": the database, not a read before the write, decides whether this is
    a first or a repeat request, so concurrent requests cannot both create one.
    """
    consent = consent_version(record["locale"], record["consent_text"])
    created = datetime.fromisoformat(record["created_at"])
    preferred_start = _from_iso(record["preferred_start"])
    first_call = preferred_start or created
    calendar = calendar or calendar_or_default(created)
    sla_due_at = calendar.add_business_minutes(first_call, current_app.config["CALLBACK_SLA_MINUTES"])
    request_row = _request_values(record, consent, created, spooled=replay)
    if replay and db.session.scalar(sa.select(LeadRequest.id).where(LeadRequest.public_id == record["public_id"])):
        db.session.rollback()
        return False
    lead_values = {
        **_lead_values(record, created, preferred_start, first_call, sla_due_at),
        # An anonymised number stays on the list under its key.
        "do_not_call_key": do_not_call_key(record["phone"]),
    }
    event_detail = record["source"] + (" (spooled)" if replay else "")
    if replay:
        db.session.rollback()  # the look-up's read transaction: the write is on a connection of its own
    try:
        write_request(lead_values, request_row, event_detail, created)
    except IntegrityError:
        # Only a replay racing another replay of the same record can get here.
        db.session.rollback()
        if replay and db.session.scalar(sa.select(LeadRequest.id).where(LeadRequest.public_id == record["public_id"])):
            return False
        raise
    return True


def _lead_values(
    record: dict[str, Any],
    created: datetime,
    preferred_start: datetime | None,
    first_call: datetime,
    sla_due_at: datetime,
) -> dict[str, Any]:
    return {
        "public_id": new_public_id(),
        "name": record["name"],
        "phone": record["phone"],
        "state": LeadState.NEW.value,
        "source": record["source"],
        "comment": record["comment"],
        "preferred_start": preferred_start,
        "preferred_end": _from_iso(record["preferred_end"]),
        "page_url": record["page_url"],
        "referrer": record["referrer"],
        **{key: record["utm"].get(key, "") for key in UTM_KEYS},
        "request_count": 1,
        "created_at": created,
        "last_request_at": created,
        "next_call_at": first_call,
        "sla_due_at": sla_due_at,
        "attempts": 0,
        "reached": False,
        "sla_breached": False,
        "excluded": False,
    }


def _request_values(record: dict[str, Any], consent: ConsentVersion, created: datetime, *, spooled: bool) -> dict:
    utm = "&".join(f"{key}={value}" for key, value in record["utm"].items() if value)
    return {
        "public_id": record["public_id"],
        "created_at": created,
        "name": record["name"],
        "phone": record["phone"],
        "comment": record["comment"],
        "preferred_start": _from_iso(record["preferred_start"]),
        "preferred_end": _from_iso(record["preferred_end"]),
        "source": record["source"],
        "page_url": record["page_url"],
        "referrer": record["referrer"],
        "utm": utm[:600],
        "ip": record["ip"],
        "user_agent": record["user_agent"],
        "consent_document_id": consent.id,
        "consent_version": consent.version,
        "consent_sha256": consent.sha256,
        "consent_at": created,
        "marketing_consent": record["marketing_consent"],
        "promise_kind": record["promise_kind"],
        "promise_minutes": record["promise_minutes"],
        "promise_at": _from_iso(record["promise_at"]),
        "promise_until": _from_iso(record["promise_until"]),
        "spooled": spooled,
    }


def replay_spool() -> tuple[int, int]:
    """Insert every spooled request not yet stored; (stored, still waiting)."""

    def insert(record: dict[str, Any]) -> bool:
        try:
            return store_request(record, replay=True)
        except Exception:
            db.session.rollback()
            raise

    return spool().replay(insert)


def promise_for_request(public_id: str, now: datetime | None = None) -> CallPromise:
    """The promise made to a request; for an unknown id, the promise made now.

    A spooled request is not in the database yet and a bot's request never
    will be: both see the page an honest, stored request would see, and so
    does everyone while the database is down.
    """
    try:
        row = db.session.scalar(sa.select(LeadRequest).where(LeadRequest.public_id == public_id))
    except SQLAlchemyError:  # the database is down: the request may be in the spool
        db.session.rollback()
        row = None
    if row is not None:
        return CallPromise(
            kind=row.promise_kind, minutes=row.promise_minutes, at=row.promise_at, until=row.promise_until
        )
    now = now or now_utc()
    return promise_call(calendar_or_default(now), now, current_app.config["CALLBACK_SLA_MINUTES"])


THANKS_PHONE_MINUTES = 30  # the thanks page repeats the number only this soon after the request


def recent_request_phone(public_id: str, now: datetime) -> str | None:
    """The number a request gave, while its thanks page may still repeat it (so a typo is seen).

    None for an unknown id, an older request, or while the database is down.
    """
    try:
        row = db.session.execute(
            sa.select(LeadRequest.phone, LeadRequest.created_at).where(LeadRequest.public_id == public_id)
        ).first()
    except SQLAlchemyError:
        db.session.rollback()
        return None
    if row is None or now - row.created_at > timedelta(minutes=THANKS_PHONE_MINUTES):
        return None
    return row.phone
