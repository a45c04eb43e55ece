"""A patient's callback request becomes a lead (DESIGN.md §1.2).

`submit_callback_request` answers the patient in every case: it stores the
request, or, when the database cannot be written, spools it durably and
answers the same.  `store_request` is the one writer, used live and by replay.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from leads.db_setup import is_unavailable
from leads.domain.calendar import ClinicCalendar
from leads.domain.outcomes import LeadState
from leads.domain.promise import CallPromise, PromiseKind, promise_call
from leads.extensions import db
from leads.models import OPEN_STATES_SQL, DoNotCall, Lead, LeadEvent, LeadRequest, new_public_id
from leads.services.clinic import calendar_or_default, now_utc
from leads.services.consent import ConsentVersion, consent_version
from leads.services.data_rights import do_not_call_key
from leads.services.report_facts import arrival_figures
from leads.services.spool import RecordRefused, Spool, SpoolFull

log = logging.getLogger(__name__)

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# A repeat request makes a lead in these states due now.
RAISED_BY_REPEAT = (LeadState.NEW.value, LeadState.RETRY.value)


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
    # Sent faster than a person types: stored, shown to operators, kept out of the SLA.
    suspected_automation: bool = False


@dataclass(frozen=True)
class Submitted:
    """What the patient is told: the request's public id and the promised call time."""

    public_id: str
    promise: CallPromise
    spooled: bool = False


class RequestNotKept(Exception):
    """The request is not in the database nor in the spool: the patient must be told to call."""


def spool() -> Spool:
    """The app's spool file (SPOOL_PATH, default instance/spool.jsonl), at most SPOOL_MAX_BYTES long."""
    path = current_app.config.get("SPOOL_PATH") or Path(current_app.instance_path) / "spool.jsonl"
    return Spool(path, max_bytes=current_app.config["SPOOL_MAX_BYTES"])


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
    except SQLAlchemyError as error:
        db.session.rollback()
        _keep_on_disk(record, error)
        return Submitted(record["public_id"], promise, spooled=True)
    return Submitted(record["public_id"], promise)


def _keep_on_disk(record: dict[str, Any], error: SQLAlchemyError) -> None:
    """A request the database did not take: spooled for replay, or kept aside if refused for its content.

    Raises RequestNotKept when the patient must not be told it was received.
    """
    public_id = record["public_id"]
    if not is_unavailable(error):
        # Validation should have refused this content: a person looks at it; replay never loops on it.
        log.error("request %s refused by the database; moved to the dead-letter file", public_id, exc_info=True)
        spool().dead_letter(record, repr(getattr(error, "orig", None) or error))
        raise RequestNotKept(public_id) from error
    log.error("database unavailable; request %s spooled", public_id, exc_info=True)
    try:
        spool().append(record)
    except SpoolFull:
        log.critical("database unavailable and the spool is full (SPOOL_MAX_BYTES): request %s not kept", public_id)
        raise RequestNotKept(public_id) from error


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
        "suspected_automation": request.suspected_automation,
    }


def store_request(record: dict[str, Any], *, replay: bool = False, calendar: ClinicCalendar | None = None) -> bool:
    """Insert one request, in one transaction: a new lead, or a repeat request on the phone's open lead.

    Returns False when `replay` finds the request already stored (same public
    id), True when it was stored now.  Commits.  Every database error comes
    out as SQLAlchemy's: `is_unavailable` tells an outage from a refusal.

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
    if replay and _already_stored(record["public_id"]):
        return False
    lead_values = {
        **_lead_values(record, created, preferred_start, first_call, sla_due_at),
        **arrival_figures(calendar, created),
    }
    try:
        lead_id, request_count, on_do_not_call = _upsert_lead(lead_values)
        request_row = {**_request_values(record, consent, created, spooled=replay), "lead_id": lead_id}
        db.session.execute(sa.insert(cast(sa.Table, LeadRequest.__table__)), [request_row])
        kind = "repeat_request" if request_count > 1 else "created"
        events = [{"lead_id": lead_id, "at": created, "kind": kind, "detail": record["source"] + (" (spooled)" if replay else "")}]
        if on_do_not_call:
            # The number once asked not to be called; the card shows it and the
            # operator decides (anyone can type someone else's number).
            events.append({**events[0], "kind": "on_do_not_call_list", "detail": ""})
        db.session.execute(sa.insert(cast(sa.Table, LeadEvent.__table__)), events)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        # Only a replay racing another replay of the same record stores it twice.
        if replay and _already_stored(record["public_id"]):
            return False
        raise
    except SQLAlchemyError:
        db.session.rollback()
        raise
    return True


def _already_stored(public_id: str) -> bool:
    return db.session.scalar(sa.select(LeadRequest.id).where(LeadRequest.public_id == public_id)) is not None


def _upsert_lead(values: dict[str, Any]) -> tuple[int, int, bool]:
    """INSERT … ON CONFLICT on the open-lead index: (lead id, its request count, on the do-not-call list)."""
    statement = _upsert_statement(db.session.get_bind().dialect.name, tuple(values))
    params = {f"v_{column}": value for column, value in values.items()}
    lead_id, request_count, on_do_not_call = db.session.execute(
        statement, {**params, "dnc_key": do_not_call_key(values["phone"])}
    ).one()
    return lead_id, request_count, bool(on_do_not_call)


@cache
def _upsert_statement(dialect_name: str, columns: tuple[str, ...]) -> sa.TextualSelect:
    """The lead's upsert for `dialect_name`, built with `on_conflict_do_update` and rendered once.

    SQLAlchemy 2.0 does not cache the dialects' own INSERT constructs: built
    and compiled for every request, this one cost more than the rest of the
    request (about 25 ms a request under the profiler).  Rendered once, it is
    run as a typed text statement, still by SQLAlchemy (its errors, its types).

    A repeat request raises the lead's priority: a retry waiting for later
    becomes due now; an agreed callback time is kept.  A request sent by a
    person (not suspected of automation) clears the suspicion of the lead.
    """
    postgres = dialect_name == "postgresql"
    insert = postgresql_insert if postgres else sqlite_insert
    types = {f"v_{column}": Lead.__table__.c[column].type for column in columns}
    values = insert(Lead).values({column: sa.bindparam(f"v_{column}") for column in columns})
    new = values.excluded
    on_do_not_call = sa.exists().where(DoNotCall.phone.in_([sa.bindparam("v_phone"), sa.bindparam("dnc_key")]))
    statement = values.on_conflict_do_update(
        index_elements=[Lead.phone],
        index_where=sa.text(OPEN_STATES_SQL),
        set_={
            "request_count": Lead.request_count + 1,
            "last_request_at": new.last_request_at,
            "next_call_at": sa.case(
                (
                    # OR, not IN: an IN list is expanded at execution, which a rendered statement cannot be.
                    sa.and_(sa.or_(*(Lead.state == state for state in RAISED_BY_REPEAT)), Lead.next_call_at > new.last_request_at),
                    new.last_request_at,
                ),
                else_=Lead.next_call_at,
            ),
            "suspected_automation": sa.and_(Lead.suspected_automation, new.suspected_automation),
            "excluded": sa.and_(Lead.excluded, new.excluded),
        },
    ).returning(Lead.id, Lead.request_count, on_do_not_call.label("on_do_not_call"))
    dialect = postgresql.dialect(paramstyle="named") if postgres else sqlite.dialect(paramstyle="named")
    compiled = statement.compile(dialect=dialect)
    typed = [sa.bindparam(name, type_=type_) for name, type_ in types.items()]
    # The statement's own constants (the 1 added, the states) keep their values.
    constants: list[sa.BindParameter[Any]] = [sa.bindparam(name, value) for name, value in compiled.params.items() if name not in types]
    return (
        sa.text(str(compiled))
        .bindparams(*typed, *[c for c in constants if c.key != "dnc_key"], sa.bindparam("dnc_key", type_=sa.String()))
        .columns(id=sa.Integer(), request_count=sa.Integer(), on_do_not_call=sa.Boolean())
    )


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
        # A suspected request stays out of reports and the SLA until a person is reached.
        "suspected_automation": record.get("suspected_automation", False),
        "excluded": record.get("suspected_automation", False),
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
        "suspected_automation": record.get("suspected_automation", False),
    }


def replay_spool() -> tuple[int, int]:
    """Insert every spooled request not yet stored; (stored, still waiting)."""

    def insert(record: dict[str, Any]) -> bool:
        try:
            return store_request(record, replay=True)
        except SQLAlchemyError as error:
            db.session.rollback()
            if is_unavailable(error):
                raise
            raise RecordRefused(repr(getattr(error, "orig", None) or error)) from error
        except (KeyError, TypeError, ValueError, OverflowError) as error:  # a record damaged on disk
            db.session.rollback()
            raise RecordRefused(repr(error)) from error

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
        kind = cast(PromiseKind, row.promise_kind)  # one of the three, as it was stored
        return CallPromise(kind=kind, minutes=row.promise_minutes, at=row.promise_at, until=row.promise_until)
    now = now or now_utc()
    return promise_call(calendar_or_default(now), now, current_app.config["CALLBACK_SLA_MINUTES"])


THANKS_PHONE_MINUTES = 30  # the thanks page repeats the number only this soon after the request


def recent_request_phone(public_id: str, now: datetime) -> str | None:
    """The number a request gave, while its thanks page may still repeat it (so a typo is seen).

    A request still in the spool (the database was down) shows its number too, so its thanks
    page stays the page it will be once stored.  None for an unknown id or an older request.
    """
    try:
        row = db.session.execute(
            sa.select(LeadRequest.phone, LeadRequest.created_at).where(LeadRequest.public_id == public_id)
        ).first()
    except SQLAlchemyError:
        db.session.rollback()
        row = None
    if row is not None:
        phone, created = row.phone, row.created_at
    else:
        record = spool().find(public_id)
        if record is None:
            return None
        phone, created = record["phone"], datetime.fromisoformat(record["created_at"])
    return phone if now - created <= timedelta(minutes=THANKS_PHONE_MINUTES) else None
