"""The new-lead tiers on PostgreSQL with a long history: the first free new lead is read in
arrival order, not found by walking every older lead (bench/queue's 1M-lead run: 0.3 s a probe)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads.domain.queue import TIER_RULES, QueueTier
from leads.extensions import db
from leads.models import Lead
from leads.services import queue as queue_service
from tests.conftest import at, utc

NOW = utc(at("2026-11-25 12:00"))
CLOSED_LEADS = 60_000
NEW_LEADS = 2_000

HISTORY = """
INSERT INTO leads (public_id, name, phone, state, source, comment, page_url, referrer, utm_source,
                   utm_medium, utm_campaign, utm_term, utm_content, request_count, created_at,
                   last_request_at, next_call_at, attempts, reached, sla_breached, excluded)
SELECT 'p' || n, 'Пётр', '+7916' || lpad(n::text, 7, '0'), :state, 'form', '', '', '', '', '', '', '', '',
       1, :first + n * interval '1 minute', :first + n * interval '1 minute',
       :first + n * interval '1 minute', 0, false, false, false
FROM generate_series(:start, :start + :count - 1) AS n
"""


def walked_rows(plan: dict) -> int:
    """Rows every scan in `plan` read, those its filter removed included."""
    own = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0) if "Scan" in plan["Node Type"] else 0
    return own + sum(walked_rows(child) for child in plan.get("Plans", []))


@pytest.mark.parametrize("tier", [QueueTier.REPEAT_NEW, QueueTier.NEW])
def test_a_new_lead_tier_reads_few_rows_behind_a_long_closed_history(app, backend, make_user, tier):
    if backend != "postgresql":
        pytest.skip("PostgreSQL's planner")
    me = make_user("operator")
    # Two years of closed leads, then a month of new ones: the shape of a clinic's table.
    old = NOW - timedelta(days=730)
    db.session.execute(sa.text(HISTORY), {"state": "closed", "first": old, "start": 0, "count": CLOSED_LEADS})
    db.session.execute(sa.text(HISTORY), {"state": "new", "first": NOW - timedelta(days=30), "start": CLOSED_LEADS,
                                          "count": NEW_LEADS})
    db.session.execute(sa.text("UPDATE leads SET request_count = 2 WHERE id % 3 = 0"))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE leads"))
    rule = next(rule for rule in TIER_RULES if rule.tier is tier)
    grace = timedelta(minutes=app.config["CALLBACK_GRACE_MINUTES"])
    probe = queue_service._tier_query(rule, me.id, NOW, grace, Lead.id).limit(1).with_for_update(skip_locked=True)
    sql = str(probe.compile(db.engine, compile_kwargs={"literal_binds": True}))

    plan = db.session.execute(sa.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).scalar()
    db.session.rollback()

    rows = walked_rows((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    assert rows <= NEW_LEADS, f"the {tier.name} probe read {rows} rows for one lead"
