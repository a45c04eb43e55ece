"""Who touched a patient's personal data, when, and how (DESIGN.md §1.7).

`record_audit` only adds a row: the service that did the touching owns the
transaction, so the audit row and the change it describes commit together
(or not at all).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from leads.extensions import db
from leads.models import AuditEntry, User
from leads.services.clinic import now_utc
from leads.services.unit_of_work import unit_of_work

# The columns' lengths (models.AuditEntry): longer text is cut, never refused,
# because an audit row must never stop the action it records.
DETAIL_MAX = 1000
IP_MAX = 64


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
