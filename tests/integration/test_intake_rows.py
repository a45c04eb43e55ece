"""The intake's rows on SQLite, written without SQLAlchemy's statement layer, read like any other."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import LeadEvent
from tests.conftest import at
from tests.factories import new_lead


def raw(sql: str) -> list[tuple]:
    """Rows as the database holds them (untyped text query: no result conversion)."""
    return [tuple(row) for row in db.session.execute(sa.text(sql))]


def test_sqlite_intake_stores_times_and_flags_as_the_orm_does(app, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL stores native timestamps and booleans: no text format to pin")
    lead_id = new_lead(created="2026-11-23 10:00")  # a whole second: the format must still carry microseconds
    db.session.add(LeadEvent(lead_id=lead_id, at=at("2026-11-23 10:00"), kind="note", detail=""))
    db.session.commit()

    [(orm_time,)] = raw("SELECT at FROM lead_events WHERE kind = 'note'")
    assert orm_time == "2026-11-23 07:00:00.000000"
    assert raw("SELECT at FROM lead_events WHERE kind = 'created'") == [(orm_time,)]
    assert raw("SELECT created_at, last_request_at, typeof(reached), reached, excluded FROM leads") == [
        (orm_time, orm_time, "integer", 0, 0)
    ]
    assert raw("SELECT created_at, consent_at, typeof(marketing_consent), marketing_consent, spooled FROM lead_requests") == [
        (orm_time, orm_time, "integer", 1, 0)
    ]
