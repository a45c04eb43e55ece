"""An operator's own callbacks: the calls they agreed with patients that are still to be made."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from leads.domain.outcomes import LeadState, Outcome
from leads.extensions import db
from leads.models import CallAttempt, Lead
from leads.services.clinic import now_utc

MY_CALLBACKS_SHOWN = 50


@dataclass(frozen=True)
class CallbackRow:
    """A callback still to be made."""

    lead_id: int
    name: str
    phone: str  # E.164
    due_at: datetime
    personal: bool  # only this operator may take it until it is overdue
    overdue: bool  # its time has passed and nobody has called yet


def my_callbacks(user_id: int, now: datetime | None = None, limit: int = MY_CALLBACKS_SHOWN) -> list[CallbackRow]:
    """The callbacks `user_id` agreed (or that are theirs personally), earliest first."""
    now = now or now_utc()
    agreed_by_me = sa.select(CallAttempt.lead_id).where(
        CallAttempt.operator_id == user_id, CallAttempt.outcome == Outcome.CALLBACK.value
    )
    rows = db.session.execute(
        sa.select(Lead.id, Lead.name, Lead.phone, Lead.next_call_at, Lead.callback_owner_id)
        .where(
            Lead.state == LeadState.CALLBACK.value,
            Lead.next_call_at.is_not(None),
            sa.or_(Lead.callback_owner_id == user_id, Lead.id.in_(agreed_by_me)),
        )
        .order_by(Lead.next_call_at, Lead.id)
        .limit(limit)
    ).all()
    return [
        CallbackRow(
            lead_id=row.id,
            name=row.name,
            phone=row.phone,
            due_at=row.next_call_at,
            personal=row.callback_owner_id == user_id,
            overdue=row.next_call_at < now,
        )
        for row in rows
    ]
