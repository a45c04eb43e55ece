"""Erasing a patient (DESIGN.md §1.7, 152-FZ): everything held for a phone, everywhere.

Anonymising a lead removes who the patient is and keeps what happened:
states, times, outcomes, counts, sources and consent versions stay, so the
reports add up the same before and after.  The same `anonymise_leads` serves
the patient's erasure request and the retention job.

"Everywhere" means every text column of the lead's rows (the anonymous
`utm_*` values a page passed included, which may hold a name, a number or an
e-mail), and the spool (its dead letters too), whose waiting requests a later
replay would otherwise bring back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from leads.domain.contact import format_phone
from leads.domain.outcomes import OPEN_STATES, LeadState
from leads.extensions import db
from leads.logs import PHONE_LIKE
from leads.models import Appointment, AuditEntry, CallAttempt, DoNotCall, Lead, LeadEvent, LeadRequest
from leads.services.after_booking import forget_patient_contacts
from leads.services.clinic import now_utc
from leads.services.data_rights import (
    DNC_KEY_PREFIX,
    audit_each,
    do_not_call_key,
    lead_ids_for_phone,
    parse_phone,
)
from leads.services.unit_of_work import changed_rows

OPEN_STATE_VALUES = tuple(sorted(state.value for state in OPEN_STATES))
ERASED = "[erased]"
# What an erased open lead is closed as; an erased future visit is cancelled as.
ERASED_REASON = "erased"
EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# The lead's anonymous campaign values the report groups by: kept, with any trace of the patient cut out.
KEPT_CAMPAIGN_COLUMNS = ("utm_source", "utm_medium", "utm_campaign")
# Free text a patient or a page filled in: emptied.
LEAD_TEXT = ("name", "phone", "comment", "page_url", "referrer", "utm_term", "utm_content")
REQUEST_TEXT = ("name", "phone", "comment", "ip", "user_agent", "page_url", "referrer", "utm")


@dataclass(frozen=True)
class Erased:
    """What an erasure did."""

    leads: int
    appointments_cancelled: int
    spooled_requests: int = 0


def erase_patient(raw_phone: str, user_id: int, ip: str = "", now: datetime | None = None) -> Erased:
    """Anonymise everything held for a number, keep the statistics; audited.  Commits.

    Open leads are closed (nobody may call a person who is no longer on
    record) and visits still ahead are cancelled; past visits keep their
    outcome.  The do-not-call entry keeps working under its key.  Requests
    for the number still waiting in the spool are dropped (after the commit:
    a failed erasure leaves them for the next attempt).

    :raise PhoneNotValid: when `raw_phone` is not a phone number.
    """
    from leads.services.intake import spool  # intake imports data_rights, which this module imports

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
    audit_each("privacy_erase", e164, ids, user_id, ip, now, f"{len(ids)} lead(s), {cancelled} visit(s) cancelled")
    db.session.commit()
    spellings = _phone_spellings(e164)
    dropped = spool().drop(lambda line: any(spelling in line for spelling in spellings))
    return Erased(leads=len(ids), appointments_cancelled=cancelled, spooled_requests=dropped)


def _phone_spellings(e164: str) -> set[str]:
    """The ways a number may have been typed into free text (for scrubbing notes and details)."""
    spellings = {e164, format_phone(e164)}
    digits = e164.lstrip("+")
    if len(digits) >= 7:
        spellings.add(digits)
    if e164.startswith("+7") and len(digits) == 11:
        spellings.update({"8" + digits[1:], digits[1:]})
    return {s for s in spellings if len(s) >= 7}


def without_traces(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret, any e-mail address and any phone-like digit run replaced by ERASED."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, ERASED)
    return PHONE_LIKE.sub(ERASED, EMAIL.sub(ERASED, text))


def anonymise_leads(lead_ids: list[int], now: datetime, reason: str) -> int:
    """Remove who the patient is from these leads (every text column of theirs); how many.

    Kept: states, times, outcomes, counts, reached, source, consent versions
    and hashes, appointments' times and statuses, and the campaign values the
    report groups by (utm_source, utm_medium, utm_campaign) with any name,
    number or e-mail cut out.  Emptied: names, phones, comments, notes, IP
    addresses, browsers, page addresses, referrers, utm_term, utm_content and
    the requests' utm record.  Any name, number or e-mail quoted in the
    timeline, the audit log or a cancel reason is replaced.  Open leads are
    closed; leads already anonymised are skipped.  Does not commit.
    """
    ids = list(
        db.session.scalars(sa.select(Lead.id).where(Lead.id.in_(lead_ids), Lead.anonymized_at.is_(None)))
    ) if lead_ids else []
    if not ids:
        return 0
    names, phones, emails = set(), set(), set()
    leads = db.session.execute(
        sa.select(Lead.id, Lead.created_at, *(getattr(Lead, c) for c in (*LEAD_TEXT, *KEPT_CAMPAIGN_COLUMNS)))
        .where(Lead.id.in_(ids))
    ).all()
    requests = db.session.execute(
        sa.select(*(getattr(LeadRequest, c) for c in REQUEST_TEXT)).where(LeadRequest.lead_id.in_(ids))
    ).all()
    notes = db.session.scalars(sa.select(CallAttempt.note).where(CallAttempt.lead_id.in_(ids))).all()
    for row in [*leads, *requests]:
        names.add(row.name)
        phones.add(row.phone)
    for text in [value for row in [*leads, *requests] for value in row if isinstance(value, str)] + list(notes):
        emails.update(EMAIL.findall(text))
    names.discard("")
    phones.discard("")
    secrets = names | emails
    for phone in phones:
        secrets |= _phone_spellings(phone)

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
        sa.update(Lead).where(Lead.id.in_(ids)).values(anonymized_at=now, **dict.fromkeys(LEAD_TEXT, "")),
        execution_options=no_sync,
    )
    # In the lead's own campaign values a part of the name is a trace too ("Анна" of "Анна Иванова").
    name_parts = {part for name in names for part in re.split(r"[\s\-]+", name) if len(part) >= 3}
    for row in leads:
        kept = {c: without_traces(getattr(row, c), secrets | name_parts) for c in KEPT_CAMPAIGN_COLUMNS}
        if any(kept[c] != getattr(row, c) for c in KEPT_CAMPAIGN_COLUMNS):
            db.session.execute(sa.update(Lead).where(Lead.id == row.id).values(**kept), execution_options=no_sync)
    db.session.execute(
        sa.update(LeadRequest).where(LeadRequest.lead_id.in_(ids)).values(**dict.fromkeys(REQUEST_TEXT, "")),
        execution_options=no_sync,
    )
    db.session.execute(
        sa.update(CallAttempt).where(CallAttempt.lead_id.in_(ids)).values(note=""), execution_options=no_sync
    )
    forget_patient_contacts(ids, now)  # confirmation calls, messages, e-mail addresses
    # Longest first, so a full number is replaced before a part of it.
    for secret in sorted(secrets, key=len, reverse=True):
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
