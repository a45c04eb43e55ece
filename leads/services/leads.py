"""A lead as the operator sees it: the card, and finding leads by phone or name.

Opening a card shows a patient's personal data, so it leaves an audit row
(DESIGN.md §1.7) in the same transaction that reads nothing else.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from leads.domain.contact import InvalidField, normalize_phone
from leads.domain.outcomes import LeadState
from leads.extensions import db
from leads.models import CallAttempt, Lead, LeadEvent, LeadRequest, User
from leads.services.audit import record_audit
from leads.services.calls import claim_holder
from leads.services.clinic import now_utc
from leads.services.data_rights import is_on_do_not_call
from leads.services.errors import LeadNotFound

__all__ = [
    "LeadCard",
    "PhoneHistoryLead",
    "RequestLine",
    "SearchHit",
    "TimelineEntry",
    "name_pattern",
    "open_lead_card",
    "search_leads",
]

SEARCH_LIMIT = 50
MIN_PHONE_DIGITS = 4  # fewer digits would match most of the book


@dataclass(frozen=True)
class RequestLine:
    """One form or API submission on the lead, with its consent evidence."""

    at: datetime
    name: str
    source: str
    page_url: str
    referrer: str
    utm: str  # "utm_source=…&utm_medium=…", as stored
    preferred_start: datetime | None
    preferred_end: datetime | None
    comment: str
    marketing_consent: bool
    consent_version: int
    consent_sha256: str


@dataclass(frozen=True)
class TimelineEntry:
    """A line of the timeline: a call (`outcome` set) or an event (`kind` set)."""

    at: datetime
    user_name: str
    kind: str = ""  # a LeadEvent kind: created, repeat_request, claimed, …
    detail: str = ""
    outcome: str = ""  # a CallAttempt outcome
    note: str = ""
    next_call_at: datetime | None = None

    @property
    def is_call(self) -> bool:
        return bool(self.outcome)


@dataclass(frozen=True)
class PhoneHistoryLead:
    """Another lead for the same phone, with its calls (newest first)."""

    lead_id: int
    name: str
    state: str
    close_reason: str | None
    created_at: datetime
    request_count: int
    calls: list[TimelineEntry] = field(default_factory=list)


@dataclass(frozen=True)
class LeadCard:
    """Everything the lead card shows."""

    lead: Lead
    requests: list[RequestLine]
    other_leads: list[PhoneHistoryLead]  # earlier (and later) leads of the same phone
    timeline: list[TimelineEntry]  # newest first
    holder_id: int | None  # whose claim is live now
    holder_name: str
    on_do_not_call: bool

    @property
    def lead_id(self) -> int:
        return self.lead.id


@dataclass(frozen=True)
class SearchHit:
    """A lead found by search."""

    lead_id: int
    name: str
    phone: str
    state: str
    close_reason: str | None
    created_at: datetime
    attempts: int
    last_outcome: str | None
    request_count: int


def _user_names(ids: set[int | None]) -> dict[int | None, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


def _calls_of(lead_ids: list[int]) -> list[CallAttempt]:
    if not lead_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(CallAttempt)
            .where(CallAttempt.lead_id.in_(lead_ids))
            .order_by(CallAttempt.at.desc(), CallAttempt.id.desc())
        )
    )


def _call_entry(call: CallAttempt, names: dict[int | None, str]) -> TimelineEntry:
    return TimelineEntry(
        at=call.at,
        user_name=names.get(call.operator_id, ""),
        outcome=call.outcome,
        note=call.note,
        next_call_at=call.next_call_at,
    )


def open_lead_card(lead_id: int, viewer_id: int, ip: str = "", now: datetime | None = None) -> LeadCard:
    """Everything about one lead for its card; records that `viewer_id` opened it. Commits.

    :raise LeadNotFound: no such lead.
    """
    now = now or now_utc()
    if db.session.scalar(sa.select(Lead.id).where(Lead.id == lead_id)) is None:
        raise LeadNotFound(lead_id)
    record_audit(viewer_id, "open_card", lead_id=lead_id, ip=ip, now=now)
    db.session.commit()
    # Read after the commit, so the card holds freshly loaded rows.
    lead = db.session.get(Lead, lead_id, populate_existing=True)
    assert lead is not None

    requests = [
        RequestLine(
            at=r.created_at,
            name=r.name,
            source=r.source,
            page_url=r.page_url,
            referrer=r.referrer,
            utm=r.utm,
            preferred_start=r.preferred_start,
            preferred_end=r.preferred_end,
            comment=r.comment,
            marketing_consent=r.marketing_consent,
            consent_version=r.consent_version,
            consent_sha256=r.consent_sha256,
        )
        for r in db.session.scalars(
            sa.select(LeadRequest)
            .where(LeadRequest.lead_id == lead_id)
            .order_by(LeadRequest.created_at.desc(), LeadRequest.id.desc())
        )
    ]
    others = (
        list(
            db.session.scalars(
                sa.select(Lead)
                .where(Lead.phone == lead.phone, Lead.id != lead_id)
                .order_by(Lead.created_at.desc(), Lead.id.desc())
            )
        )
        if lead.phone
        else []
    )
    calls = _calls_of([lead_id, *(o.id for o in others)])
    events = list(
        db.session.scalars(
            sa.select(LeadEvent)
            .where(LeadEvent.lead_id == lead_id)
            .order_by(LeadEvent.at.desc(), LeadEvent.id.desc())
        )
    )
    holder_id = claim_holder(lead, now)
    names = _user_names({c.operator_id for c in calls} | {e.user_id for e in events} | {holder_id})

    # The call row already tells the story of an "outcome" event (with its note
    # and next call time), so the timeline shows the call and not the event twice.
    timeline = [_call_entry(c, names) for c in calls if c.lead_id == lead_id] + [
        TimelineEntry(at=e.at, user_name=names.get(e.user_id, ""), kind=e.kind, detail=e.detail)
        for e in events
        if e.kind != "outcome"
    ]
    timeline.sort(key=lambda entry: entry.at, reverse=True)

    other_leads = [
        PhoneHistoryLead(
            lead_id=o.id,
            name=o.name,
            state=o.state,
            close_reason=o.close_reason,
            created_at=o.created_at,
            request_count=o.request_count,
            calls=[_call_entry(c, names) for c in calls if c.lead_id == o.id],
        )
        for o in others
    ]
    on_do_not_call = bool(lead.phone) and is_on_do_not_call(lead.phone)
    return LeadCard(
        lead=lead,
        requests=requests,
        other_leads=other_leads,
        timeline=timeline,
        holder_id=holder_id,
        holder_name=names.get(holder_id, "") if holder_id else "",
        on_do_not_call=on_do_not_call,
    )


# -- search ------------------------------------------------------------------------------------

# Characters a name may be searched by besides letters and digits; anything
# else is dropped from the query rather than escaped into a regular expression.
_NAME_PUNCTUATION = {"-": "-", "'": "'", "’": "’", ".": r"\.", ",": ","}
# Russian writes ё as е more often than not: "Петр" must find "Пётр" and back.
_EQUIVALENT_LETTERS = {"е": "её", "ё": "её"}


def name_pattern(query: str) -> str | None:
    """A regular expression matching `query` inside a name, case-insensitively, in any script.

    Each letter becomes a bracket class of its case variants (``[Аа]``), so the
    match does not depend on the database's idea of lower case: SQLite's
    lower() and LIKE fold ASCII only, and PostgreSQL's depend on the database
    locale.  The pattern uses only what Python's `re` (SQLAlchemy's REGEXP on
    SQLite) and PostgreSQL's `~` agree on.  None when nothing searchable is left.
    """
    text = unicodedata.normalize("NFC", query).strip()
    parts: list[str] = []
    for ch in text:
        if ch.isspace():
            if parts and parts[-1] != r"\s+":
                parts.append(r"\s+")
        elif ch.isalpha():
            variants = set(_EQUIVALENT_LETTERS.get(ch.lower(), ch.lower()))
            variants |= {v.upper() for v in variants} | {ch}
            # Only single characters: "ß".upper() is "SS", which a class cannot hold.
            letters = sorted(v for v in variants if len(v) == 1)
            parts.append(letters[0] if len(letters) == 1 else "[" + "".join(letters) + "]")
        elif ch.isdigit():
            parts.append(ch)
        elif ch in _NAME_PUNCTUATION:
            parts.append(_NAME_PUNCTUATION[ch])
    while parts and parts[-1] == r"\s+":
        parts.pop()
    return "".join(parts) or None


def _phone_conditions(query: str) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    try:
        conditions.append(Lead.phone == normalize_phone(query))
    except InvalidField:
        pass
    digits = re.sub(r"\D", "", query)
    if len(digits) >= MIN_PHONE_DIGITS:
        conditions.append(Lead.phone.contains(digits, autoescape=True))
        if digits.startswith("8") and len(digits) > MIN_PHONE_DIGITS:
            # The Russian trunk prefix: "8 916 12…" is written for "+7 916 12…".
            conditions.append(Lead.phone.contains("7" + digits[1:], autoescape=True))
    return conditions


def search_leads(query: str, state: str | None = None, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Leads whose phone or name matches `query`, newest first, optionally in one `state`.

    A phone matches written in any format (normalised to E.164) or by any run
    of 4 or more of its digits; a name matches by a case-insensitive part of it
    (Cyrillic included, е and ё alike).  An empty query lists the newest leads
    of `state`, or nothing without one.

    :raise InvalidField: ("state", "invalid") for an unknown state.
    """
    if state:
        try:
            state = LeadState(state).value
        except ValueError:
            raise InvalidField("state", "invalid") from None
    query = (query or "").strip()[:100]
    conditions = _phone_conditions(query) if query else []
    if query and any(ch.isalpha() for ch in query):
        pattern = name_pattern(query)
        if pattern:
            conditions.append(Lead.name.regexp_match(pattern))
    if query and not conditions:
        return []
    if not query and not state:
        return []
    statement = sa.select(Lead).options(so.load_only(
        Lead.id, Lead.name, Lead.phone, Lead.state, Lead.close_reason, Lead.created_at,
        Lead.attempts, Lead.last_outcome, Lead.request_count,
    ))
    if conditions:
        statement = statement.where(sa.or_(*conditions))
    if state:
        statement = statement.where(Lead.state == state)
    statement = statement.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit)
    return [
        SearchHit(
            lead_id=lead.id,
            name=lead.name,
            phone=lead.phone,
            state=lead.state,
            close_reason=lead.close_reason,
            created_at=lead.created_at,
            attempts=lead.attempts,
            last_outcome=lead.last_outcome,
            request_count=lead.request_count,
        )
        for lead in db.session.scalars(statement)
    ]
