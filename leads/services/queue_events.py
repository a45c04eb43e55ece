"""What changes the queue: a cheap fingerprint a live page can watch (server-sent events)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from leads.domain.outcomes import LeadState
from leads.extensions import db
from leads.models import CallAttempt, Lead, LeadEvent, LeadRequest


def queue_fingerprint(now: datetime) -> tuple:
    """Changes when a request arrives, a lead is taken, released or called, or a callback falls due.

    Each part is a primary key's maximum or a count on the (state, next_call_at) index, so one
    look costs a few index reads; the read ends its transaction at once.
    """
    try:
        row = db.session.execute(
            sa.select(
                sa.select(sa.func.max(LeadRequest.id)).scalar_subquery(),
                sa.select(sa.func.max(LeadEvent.id)).scalar_subquery(),
                sa.select(sa.func.max(CallAttempt.id)).scalar_subquery(),
                sa.select(sa.func.count())
                .select_from(Lead)
                .where(Lead.state == LeadState.CALLBACK.value, Lead.next_call_at <= now)
                .scalar_subquery(),
            )
        ).one()
    finally:
        db.session.rollback()  # no transaction left open between looks
    return tuple(row)
