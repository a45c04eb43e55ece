"""Finding 4: every search (its term masked) and every list of patients served leaves an audit row.

The audit harvested 40 of 40 name/phone pairs through the search, page and
JSON, without one audit row.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import AuditEntry
from leads.services.appointments import book_appointment
from leads.services.audit import mask_search_term
from tests.conftest import at
from tests.functional.test_booking_http import add_doctor
from tests.functional.test_operator_desk import MONDAY_10, frozen
from tests.factories import new_lead

JSON = {"Accept": "application/json"}


def audit_rows(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.mark.parametrize(
    ("term", "masked"),
    [("Иванова", "И******"), ("8 (916) 123-45-67", "* (***) ***-**-67"), ("анна 4567", "а*** **67")],
)
def test_a_search_term_is_masked_to_an_initial_and_the_last_two_digits(term, masked):
    assert mask_search_term(term) == masked


@pytest.mark.parametrize("headers", [{}, JSON])
def test_each_search_is_audited_with_its_term_masked_and_the_leads_served(operator_client, headers):
    anna = new_lead(phone="+79161234567", name="Анна Иванова")
    new_lead(phone="+74993222308", name="Пётр Соколов")
    with frozen(MONDAY_10, operator_client):
        operator_client.post("/operator/search", data={"q": "Иванова"}, headers=headers)
        operator_client.post("/operator/search", data={"q": "nobody"}, headers=headers)
    first, second = audit_rows("search")
    assert first.user_id == operator_client.user.id and first.lead_id is None
    assert "И******" in first.detail and "Иванова" not in first.detail
    assert f"1 lead(s): {anna}" in first.detail
    assert "0 lead(s)" in second.detail


def test_the_queue_page_is_audited_once_per_view_and_its_live_part_when_the_list_changes(operator_client):
    anna = new_lead(phone="+79161234567", name="Анна Иванова")
    with frozen(MONDAY_10, operator_client):
        operator_client.get("/operator/")
        operator_client.get("/operator/queue/live")  # the same list: nothing new served
        petr = new_lead(phone="+74993222308", name="Пётр Соколов", created="2026-11-23 09:50")
        operator_client.get("/operator/queue/live")
    rows = audit_rows("list_queue")
    assert len(rows) == 2
    assert str(anna) in rows[0].detail and str(petr) in rows[1].detail


def test_the_day_book_and_the_visits_to_mark_are_audited(app, operator_client, make_user):
    doctor = add_doctor()
    lead_id = new_lead()
    book_appointment(lead_id, operator_client.user.id, doctor, at("2026-11-23 11:00"), now=at(MONDAY_10))
    manager = app.test_client()
    manager.user = make_user("manager", "marina")
    with frozen("2026-11-23 13:00", operator_client, manager):
        operator_client.get("/operator/appointments?date=2026-11-23")
        manager.get("/manager/visits-to-mark")
    assert [r.detail for r in audit_rows("list_day_book")] == [f"2026-11-23; 1 lead(s): {lead_id}"]
    assert [r.detail for r in audit_rows("list_visits_to_mark")] == [f"1 lead(s): {lead_id}"]
