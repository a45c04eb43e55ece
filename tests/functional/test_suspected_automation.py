"""A request sent faster than a person types is kept, flagged, and out of the SLA until a person is reached."""
from __future__ import annotations

import time_machine

from leads.services.calls import record_outcome
from leads.services.maintenance import flag_sla_breaches
from tests.conftest import at, sign_in
from tests.factories import lead, new_lead

MONDAY_10 = "2026-11-23 10:00"


def test_the_operator_sees_the_flag_on_the_queue_row_and_the_card(app, operator_client):
    suspected = new_lead(phone="+79161234567", suspected_automation=True, excluded=True)
    new_lead(phone="+79161234568", name="Борис")
    with time_machine.travel(at(MONDAY_10), tick=False):
        sign_in(operator_client, operator_client.user)
        operator_client.set_cookie("lang", "en")
        queue = operator_client.get("/operator/").get_data(as_text=True)
        card = operator_client.get(f"/operator/leads/{suspected}").get_data(as_text=True)
    assert queue.count("suspected automation") == 1
    assert "Suspected automation" in card


def test_a_suspected_lead_is_not_flagged_past_the_sla(app):
    suspected = new_lead(phone="+79161234567", suspected_automation=True, excluded=True)
    person = new_lead(phone="+79161234568")
    assert flag_sla_breaches(at("2026-11-23 12:00")) == 1
    assert lead(suspected).sla_breached is False and lead(person).sla_breached is True


def test_reaching_a_person_confirms_the_request(app, make_user):
    operator = make_user("operator")
    suspected = new_lead(phone="+79161234567", suspected_automation=True, excluded=True)
    record_outcome(suspected, operator.id, "callback", callback_at=at("2026-11-23 15:00"), now=at(MONDAY_10))
    confirmed = lead(suspected)
    assert confirmed.suspected_automation is False and confirmed.excluded is False


def test_no_answer_keeps_the_doubt(app, make_user):
    operator = make_user("operator")
    suspected = new_lead(phone="+79161234567", suspected_automation=True, excluded=True)
    record_outcome(suspected, operator.id, "no_answer", now=at(MONDAY_10))
    assert lead(suspected).suspected_automation is True and lead(suspected).sla_breached is False
