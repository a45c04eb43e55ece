"""A patient's callback request becomes a lead (DESIGN.md §1.2).

`submit_callback_request` answers the patient in every case: it stores the
request, or, when the database cannot be written, spools it durably and
answers the same.  `store_request` is the one writer, used live and by replay.
"""
from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from leads.domain.calendar import ClinicCalendar
from leads.domain.outcomes import LeadState
from leads.domain.promise import CallPromise, promise_call
from leads.extensions import db
from leads.models import OPEN_STATES_SQL, Lead, LeadEvent, LeadRequest, new_public_id
from leads.services.clinic import calendar_or_default, now_utc
from leads.services.consent import ConsentVersion, consent_version
from leads.services.data_rights import do_not_call_key
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
    try:
        if db.engine.dialect.name == "postgresql":
            _store_in_one_statement(lead_values, request_row, event_detail)
        else:
            _store_in_three_statements(lead_values, request_row, event_detail, created)
        db.session.commit()
    except IntegrityError:
        # Only a replay racing another replay of the same record can get here.
        db.session.rollback()
        if replay and db.session.scalar(sa.select(LeadRequest.id).where(LeadRequest.public_id == record["public_id"])):
            return False
        raise
    return True


def _store_in_three_statements(
    lead_values: dict[str, Any], request_row: dict[str, Any], event_detail: str, created: datetime
) -> None:
    """SQLite: the upsert, the request row and the timeline events, back to back.

    The values are converted before the first write: from it to the commit
    the request holds SQLite's one write lock.  The writes go to the
    session's own connection (one transaction, committed by the caller).
    """
    connection = db.session.connection()
    lead_params = _UPSERT_LEAD.params(connection.dialect, lead_values)
    request_params = _INSERT_REQUEST.params(connection.dialect, request_row)
    event = _INSERT_EVENT.params(connection.dialect, {"at": created, "kind": "created", "detail": event_detail})
    with _DriverWrite.cursor(connection) as cursor:
        [(lead_id, request_count, on_do_not_call)] = _UPSERT_LEAD.execute(cursor, lead_params).fetchall()
        _INSERT_REQUEST.execute(cursor, {**request_params, "lead_id": lead_id})
        events = [{**event, "lead_id": lead_id, "kind": "repeat_request" if request_count > 1 else "created"}]
        if on_do_not_call:
            # The number once asked not to be called; the card shows it and the
            # operator decides (anyone can type someone else's number).
            events.append({**events[0], "kind": "on_do_not_call_list", "detail": ""})
        _INSERT_EVENT.execute(cursor, events)


def _store_in_one_statement(lead_values: dict[str, Any], request_row: dict[str, Any], event_detail: str) -> None:
    """PostgreSQL: the same three writes as one statement (data-modifying CTEs), one round trip."""
    params = {**lead_values, **{f"r_{key}": value for key, value in request_row.items()}, "event_detail": event_detail}
    db.session.execute(_STORE_ALL_PG, params)


class _DriverWrite:
    """A write on SQLite (`sqlite3`), sent to the driver's cursor as written (sqlite3's `:name` parameters).

    SQLAlchemy's way to a statement (execution context, result) cost about
    0.05 ms of each request (of 0.9 ms in process), and on SQLite all of it
    happens while the request holds the database's one write lock.
    The values are converted by the columns' own types (`bind_processor`),
    as SQLAlchemy converts them, and the driver's errors are raised as
    SQLAlchemy's (IntegrityError, OperationalError), so a database that
    cannot be written still sends the request to the spool.
    """

    def __init__(self, sql: str, types: Mapping[str, sa.types.TypeEngine]) -> None:
        self.sql = sql
        self.types = types
        self._processors: dict[str, dict[str, Callable[[Any], Any]]] = {}  # by dialect name

    def params(self, dialect: sa.Dialect, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` as the driver takes them: each converted by its column's type on `dialect`."""
        processors = self._processors.get(dialect.name)
        if processors is None:
            # The dialect's own type: SQLite's DATETIME writes its own text format.
            found = {name: type_.dialect_impl(dialect).bind_processor(dialect) for name, type_ in self.types.items()}
            processors = self._processors[dialect.name] = {name: p for name, p in found.items() if p is not None}
        return {name: processors[name](value) if name in processors else value for name, value in values.items()}

    def execute(self, cursor: Any, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
        """Execute with converted `params` (see `params`), or once per mapping of a list."""
        try:
            if isinstance(params, list):
                return cursor.executemany(self.sql, params)
            return cursor.execute(self.sql, params)
        except sqlite3.Error as error:
            raise sa.exc.DBAPIError.instance(self.sql, params, error, sqlite3.Error) from error

    @staticmethod
    @contextmanager
    def cursor(connection: sa.Connection) -> Iterator[Any]:
        """A cursor of `connection`'s driver connection, closed after use."""
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def _column_types(table: sa.Table, columns: tuple[str, ...]) -> dict[str, sa.types.TypeEngine]:
    return {column: table.c[column].type for column in columns}


def _insert_sql(table: sa.Table, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(f':{c}' for c in columns)})"


def _upsert_lead_sql() -> str:
    """INSERT … ON CONFLICT on the open-lead index, the same SQL on both databases.

    Written as text because SQLAlchemy 2.0 cannot cache its SQLite
    on_conflict construct: compiling it anew cost 1.6 ms of every request.
    A repeat request raises the lead's priority: a retry waiting for later
    becomes due now; an agreed callback time is kept.
    """
    columns = ", ".join(_LEAD_COLUMNS)
    values = ", ".join(f":{column}" for column in _LEAD_COLUMNS)
    return f"""
        INSERT INTO leads ({columns}) VALUES ({values})
        ON CONFLICT (phone) WHERE {OPEN_STATES_SQL}
        DO UPDATE SET request_count = leads.request_count + 1,
                      last_request_at = :created_at,
                      next_call_at = CASE
                          WHEN leads.state IN ('new', 'retry') AND leads.next_call_at > :created_at
                          THEN :created_at ELSE leads.next_call_at END
        RETURNING id, request_count,
                  EXISTS (SELECT 1 FROM do_not_call
                          WHERE do_not_call.phone IN (:phone, :do_not_call_key)) AS on_do_not_call
    """


_leads = Lead.__table__
_LEAD_COLUMNS = (
    "public_id", "name", "phone", "state", "source", "comment", "preferred_start", "preferred_end", "page_url",
    "referrer", *UTM_KEYS, "request_count", "created_at", "last_request_at", "next_call_at", "sla_due_at",
    "attempts", "reached", "sla_breached", "excluded",
)  # fmt: skip
_REQUEST_COLUMNS = tuple(c.name for c in LeadRequest.__table__.c if c.name not in ("id", "lead_id"))
_EVENT_COLUMNS = ("lead_id", "at", "kind", "detail")
_UPSERT_LEAD = _DriverWrite(_upsert_lead_sql(), _column_types(_leads, _LEAD_COLUMNS))
_INSERT_REQUEST = _DriverWrite(
    _insert_sql(LeadRequest.__table__, ("lead_id", *_REQUEST_COLUMNS)),
    _column_types(LeadRequest.__table__, _REQUEST_COLUMNS),
)
_INSERT_EVENT = _DriverWrite(_insert_sql(LeadEvent.__table__, _EVENT_COLUMNS), _column_types(LeadEvent.__table__, ("at",)))


def _store_all_pg_sql() -> sa.TextClause:
    """The upsert, the request row and the timeline events in one PostgreSQL statement."""
    requests = ", ".join(_REQUEST_COLUMNS)
    request_values = ", ".join(f":r_{column}" for column in _REQUEST_COLUMNS)
    sql = f"""
        WITH lead AS ({_upsert_lead_sql()}),
        request AS (
            INSERT INTO lead_requests (lead_id, {requests}) SELECT lead.id, {request_values} FROM lead
        ),
        events AS (
            INSERT INTO lead_events (lead_id, at, kind, detail)
            SELECT lead.id, :created_at,
                   CASE WHEN lead.request_count > 1 THEN 'repeat_request' ELSE 'created' END, :event_detail
            FROM lead
            UNION ALL
            SELECT lead.id, :created_at, 'on_do_not_call_list', '' FROM lead WHERE lead.on_do_not_call
        )
        SELECT id FROM lead
    """
    request_table = LeadRequest.__table__
    typed = [sa.bindparam(column, type_=_leads.c[column].type) for column in _LEAD_COLUMNS]
    typed += [sa.bindparam(f"r_{column}", type_=request_table.c[column].type) for column in _REQUEST_COLUMNS]
    return sa.text(sql).bindparams(*typed)


_STORE_ALL_PG = _store_all_pg_sql()


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
