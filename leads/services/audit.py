"""Who touched a patient's personal data, when, and how (DESIGN.md §1.7).

`record_audit` only adds a row: the service that did the touching owns the
transaction, so the audit row and the change it describes commit together
(or not at all).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from leads.extensions import db
from leads.models import AuditEntry, User
from leads.services.clinic import now_utc
from leads.services.unit_of_work import unit_of_work

# The columns' lengths (models.AuditEntry): longer text is cut, never refused,
# because an audit row must never stop the action it records.
DETAIL_MAX = 1000
IP_MAX = 64
AUDIT_PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditLine:
    """One line of a lead's audit trail, ready to show."""

    at: datetime
    user_id: int | None
    user_name: str  # "" for the system (jobs, the patient's own request)
    action: str
    detail: str
    ip: str


def record_audit(
    user_id: int | None,
    action: str,
    *,
    lead_id: int | None = None,
    detail: str = "",
    ip: str = "",
    now: datetime | None = None,
) -> AuditEntry:
    """Add an audit row to the session (the calling service commits)."""
    entry = AuditEntry(
        at=now or now_utc(),
        user_id=user_id,
        action=action,
        lead_id=lead_id,
        detail=(detail or "")[:DETAIL_MAX],
        ip=(ip or "")[:IP_MAX],
    )
    db.session.add(entry)
    return entry


def mask_search_term(term: str) -> str:
    """A search term as the audit log keeps it: each word's initial letter and the last two digits.

    Enough to tell one search from another, not enough to name or ring anyone
    ("Иванова" → "И******", "8 (916) 123-45-67" → "* (***) ***-**-67").
    """
    last_digits = [i for i, char in enumerate(term) if char.isdigit()][-2:]
    masked = []
    for i, char in enumerate(term):
        word_start = i == 0 or not term[i - 1].isalpha()
        if char.isdigit():
            masked.append(char if i in last_digits else "*")
        elif char.isalpha():
            masked.append(char if word_start else "*")
        else:
            masked.append(char)
    return "".join(masked)


def audit_served(
    user_id: int, action: str, lead_ids: Iterable[int], *, detail: str = "", ip: str = "", now: datetime | None = None
) -> None:
    """Record that a list of patients (a search's hits, the queue, the day's book) was served.  Commits.

    One row per view, without a lead: `detail` (never a name or a number in
    clear), then how many leads and their ids.
    """
    ids = list(dict.fromkeys(lead_ids))
    served = f"{len(ids)} lead(s)" + (": " + ", ".join(map(str, ids)) if ids else "")
    with unit_of_work():
        record_audit(user_id, action, detail=f"{detail}; {served}" if detail else served, ip=ip, now=now)


def lead_audit_trail(lead_id: int) -> list[AuditLine]:
    """Every audit row about one lead, newest first, with the user's name."""
    rows = db.session.execute(
        sa.select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(AuditEntry.lead_id == lead_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).all()
    return [
        AuditLine(
            at=entry.at,
            user_id=entry.user_id,
            user_name=name or "",
            action=entry.action,
            detail=entry.detail,
            ip=entry.ip,
        )
        for entry, name in rows
    ]


# -- the audit log's pages ---------------------------------------------------------------------

@dataclass(frozen=True)
class AuditRow:
    """One line of the audit log, ready to show."""

    id: int
    at: datetime
    user_id: int | None
    user_name: str
    action: str
    lead_id: int | None
    detail: str
    ip: str


@dataclass(frozen=True)
class AuditPage:
    """One page of the filtered audit log."""

    rows: list[AuditRow]
    total: int
    page: int
    pages: int


def audit_log(
    *,
    user_id: int | None = None,
    lead_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """The audit log, newest first, filtered by user, lead and clinic dates (both ends included)."""
    tz = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    conditions = []
    if user_id is not None:
        conditions.append(AuditEntry.user_id == user_id)
    if lead_id is not None:
        conditions.append(AuditEntry.lead_id == lead_id)
    if date_from is not None:
        conditions.append(AuditEntry.at >= datetime.combine(date_from, time(), tzinfo=tz))
    if date_to is not None:
        conditions.append(AuditEntry.at < datetime.combine(date_to + timedelta(days=1), time(), tzinfo=tz))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*conditions)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        sa.select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return AuditPage(
        rows=[
            AuditRow(e.id, e.at, e.user_id, name or "", e.action, e.lead_id, e.detail, e.ip) for e, name in rows
        ],
        total=total,
        page=page,
        pages=pages,
    )


def staff_for_filter() -> list[tuple[int, str]]:
    """(id, name) of every account, for the audit log's user filter."""
    return [
        (uid, f"{name} ({username})")
        for uid, name, username in db.session.execute(
            sa.select(User.id, User.display_name, User.username).order_by(User.display_name, User.id)
        )
    ]
