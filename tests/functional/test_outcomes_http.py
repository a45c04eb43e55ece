"""Recording outcomes over HTTP: who may, and each refusal shown by its field (page) or named (JSON)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import CallAttempt, Lead
from tests.conftest import at
from tests.functional.test_operator_desk import MONDAY_10, frozen
from tests.factories import new_lead

JSON = {"Accept": "application/json"}


def post_outcome(client, lead_id: int, json: bool = False, **data):
    return client.post(f"/operator/leads/{lead_id}/outcome", data=data, headers=JSON if json else {})


def error_by(html: str, field: str) -> str:
    """The message shown right under `field`, or "" if there is none."""
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', html)
    return found.group(1) if found else ""


def nothing_recorded(lead_id: int) -> bool:
    lead = db.session.get(Lead, lead_id, populate_existing=True)
    calls = db.session.scalar(sa.select(sa.func.count()).select_from(CallAttempt))
    return lead.attempts == 0 and calls == 0


@pytest.fixture
def held_by_ivan(make_user):
    """A lead Ivan is working on until 10:05."""
    ivan = make_user("operator", "ivan")
    return new_lead(claimed_by_id=ivan.id, claim_expires_at=at("2026-11-23 10:05"))


# -- who may record ----------------------------------------------------------------------------


def test_an_operator_who_does_not_hold_the_lead_gets_409_naming_the_holder(operator_client, held_by_ivan):
    with frozen(MONDAY_10, operator_client):
        page = post_outcome(operator_client, held_by_ivan, outcome="no_answer")
        data = post_outcome(operator_client, held_by_ivan, json=True, outcome="no_answer")

    assert page.status_code == 409
    assert "Ivan is working on this lead right now" in page.get_data(as_text=True)
    assert data.status_code == 409 and "Ivan is working on this lead right now" in data.get_json()["error"]
    assert nothing_recorded(held_by_ivan)


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_a_manager_or_admin_may_record_on_someone_elses_lead(app, make_user, held_by_ivan, role):
    boss = app.test_client()
    boss.user = make_user(role)

    with frozen(MONDAY_10, boss):
        answer = post_outcome(boss, held_by_ivan, json=True, outcome="no_answer")

    assert answer.status_code == 200
    assert answer.get_json()["state"] == "retry"
    lead = db.session.get(Lead, held_by_ivan, populate_existing=True)
    assert (lead.state, lead.claimed_by_id) == ("retry", None)


def test_anyone_on_the_desk_may_record_on_an_unclaimed_lead(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        answer = post_outcome(operator_client, lead_id, json=True, outcome="busy", note="занято")

    assert answer.status_code == 200
    assert answer.get_json() == {
        "lead_id": lead_id,
        "outcome": "busy",
        "state": "retry",
        "next_call_at": "2026-11-23T10:10:00+03:00",
        "close_reason": None,
    }


def test_a_closed_lead_answers_409(operator_client):
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        post_outcome(operator_client, lead_id, outcome="declined")
        again = post_outcome(operator_client, lead_id, json=True, outcome="busy")

    assert again.status_code == 409 and "closed" in again.get_json()["error"]


def test_an_unknown_lead_answers_404(operator_client):
    with frozen(MONDAY_10, operator_client):
        assert post_outcome(operator_client, 4242, outcome="busy").status_code == 404
        assert post_outcome(operator_client, 4242, json=True, outcome="busy").status_code == 404


# -- refusals by field -------------------------------------------------------------------------


REFUSALS = [
    pytest.param({"outcome": "callback"}, "callback_at", "Choose when to call back.", id="callback-without-time"),
    pytest.param(
        {"outcome": "callback", "callback_at": "2026-11-23T20:15:00+03:00"},
        "callback_at",
        "The clinic is closed at this time",
        id="callback-outside-hours",
    ),
    pytest.param(
        {"outcome": "callback", "callback_at": "2026-11-29T12:00:00+03:00"},
        "callback_at",
        "The clinic is closed at this time",
        id="callback-on-sunday",
    ),
    pytest.param(
        {"outcome": "callback", "callback_at": "2026-11-23T09:30:00+03:00"},
        "callback_at",
        "This time has already passed",
        id="callback-in-the-past",
    ),
    pytest.param({"outcome": "callback", "callback_at": "tomorrow"}, "callback_at", "Choose a time from the list", id="callback-garbage"),
    pytest.param({"outcome": "no_answer", "note": "x" * 1001}, "note", "at most 1000 characters", id="note-too-long"),
    pytest.param({"outcome": "teleported"}, "outcome", "Choose one of the outcomes", id="unknown-outcome"),
    pytest.param({}, "outcome", "Choose one of the outcomes", id="no-outcome"),
    pytest.param({"outcome": "booked"}, "outcome", "choose a free slot", id="booked-goes-through-a-slot"),
]


@pytest.mark.parametrize("data, field, message", REFUSALS)
def test_a_refusal_is_shown_by_its_field_on_the_card(operator_client, data, field, message):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        answer = post_outcome(operator_client, lead_id, **data)

    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    if field == "outcome":  # a hidden field: the message heads the card
        assert re.search(rf'<p class="form-error" role="alert" id="banner">[^<]*{message}', html)
    else:
        assert message in error_by(html, field)
        shown_by = {"callback_at": "callback_day"}.get(field, field)  # a callback's time: its day picker
        assert re.search(rf'<(input|textarea)[^>]*aria-invalid="true"[^>]*id="{shown_by}"|id="{shown_by}"[^>]*aria-invalid', html)
    assert nothing_recorded(lead_id)


@pytest.mark.parametrize("data, field, message", REFUSALS)
def test_a_refusal_names_its_field_in_json(operator_client, data, field, message):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        answer = post_outcome(operator_client, lead_id, json=True, **data)

    body = answer.get_json()
    assert answer.status_code == 422
    assert list(body["errors"]) == [field]
    assert message in body["errors"][field][0] and message in body["error"]
    assert nothing_recorded(lead_id)


def test_the_card_shown_again_keeps_what_was_typed(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        html = post_outcome(operator_client, lead_id, outcome="callback", note="перезвонить вечером").get_data(as_text=True)

    assert "перезвонить вечером</textarea>" in html


def test_a_json_callback_without_a_time_is_refused_by_its_field(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        answer = operator_client.post(
            f"/operator/leads/{lead_id}/outcome", json={"outcome": "callback", "callback_at": None}, headers=JSON
        )

    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {"callback_at": ["Choose when to call back."]}


def test_a_json_client_may_send_json(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        answer = operator_client.post(
            f"/operator/leads/{lead_id}/outcome",
            json={"outcome": "callback", "callback_at": "2026-11-24T11:00", "callback_for": "me"},
            headers=JSON,
        )

    assert answer.status_code == 200
    assert answer.get_json()["next_call_at"] == "2026-11-24T11:00:00+03:00"  # a time without offset is clinic time


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_an_outcome_without_the_csrf_token_is_refused(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        answer = post_outcome(operator_client, lead_id, json=True, outcome="busy")

    assert answer.status_code == 400 and "csrf_token" in answer.get_json()["errors"]
    assert nothing_recorded(lead_id)
