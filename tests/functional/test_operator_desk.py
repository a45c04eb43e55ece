"""The operators' desk over HTTP: the queue page, take-next, the lead card, claim and release."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import AuditEntry, Lead
from leads.services.calls import record_outcome
from tests.conftest import at, sign_in
from tests.factories import new_lead

MONDAY_10 = "2026-11-23 10:00"


@contextmanager
def frozen(text: str, *clients):
    """Stop the clock at clinic-local `text` and sign `clients` in again at that time, in English.

    A session cookie signed at the real time would look signed in the future
    to a clock stopped earlier, and itsdangerous refuses it.  English, because
    these tests read the desk's English msgids, whatever the Russian catalog says.
    """
    with time_machine.travel(at(text), tick=False):
        for client in clients:
            sign_in(client, client.user)
            client.set_cookie("lang", "en")
        yield


def counter(html: str, name: str) -> int:
    found = re.search(rf'data-counter="{name}">(\d+)<', html)
    assert found, f"counter {name} not on the page"
    return int(found.group(1))


# -- the queue page ----------------------------------------------------------------------------


def test_the_queue_page_shows_the_counters_and_who_is_waiting(operator_client):
    new_lead(phone="+79161111111", name="Анна Иванова", created="2026-11-23 09:00")  # past its 15-minute SLA
    new_lead(phone="+79162222222", name="Пётр Соколов", created="2026-11-23 09:55")
    new_lead(phone="+79162222222", name="Пётр Соколов", created="2026-11-23 09:58")  # a repeat request

    with frozen(MONDAY_10, operator_client):
        page = operator_client.get("/operator/")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (counter(html, "callable_now"), counter(html, "new"), counter(html, "past_sla")) == (2, 2, 1)
    assert counter(html, "callbacks_due_today") == 0
    assert "Анна Иванова" in html and "+7 916 111-11-11" in html  # the phone as people write it
    assert "1 h 00 min" in html  # Anna has waited an hour of opening time
    assert "×2" in html  # Pyotr asked twice
    assert "The clinic is closed" not in html


def test_a_closed_clinic_says_so_and_when_calling_resumes(operator_client):
    with frozen("2026-11-29 12:00", operator_client):  # Sunday
        html = operator_client.get("/operator/").get_data(as_text=True)

    assert "The clinic is closed now. Calling resumes" in html
    assert "30" in html and "09:00" in html  # Monday 30 November, 09:00
    assert counter(html, "callable_now") == 0


def test_the_queue_refreshes_itself_from_a_partial_every_ten_seconds(operator_client):
    with frozen(MONDAY_10, operator_client):
        page = operator_client.get("/operator/").get_data(as_text=True)
        live = operator_client.get("/operator/queue/live", headers={"HX-Request": "true"})

    assert 'hx-get="/operator/queue/live"' in page and 'hx-trigger="every 10s"' in page
    assert "/static/vendor/htmx-2.0.11.min.js" in page
    body = live.get_data(as_text=True)
    assert live.status_code == 200 and body.lstrip().startswith('<div id="queue-live"')
    assert "<html" not in body


def test_desk_pages_have_no_inline_script_or_style(operator_client):
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        pages = [operator_client.get(url).get_data(as_text=True) for url in ("/operator/", f"/operator/leads/{lead_id}")]

    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert "<style" not in html and " style=" not in html and " onclick=" not in html


def test_the_page_says_which_lead_i_am_holding(operator_client):
    new_lead(name="Анна Иванова", created="2026-11-23 09:30")
    with frozen(MONDAY_10, operator_client):
        operator_client.post("/operator/next")
        html = operator_client.get("/operator/").get_data(as_text=True)

    assert "My current lead" in html and "Анна Иванова" in html


def test_anonymous_people_are_sent_to_sign_in(client):
    page = client.get("/operator/")

    assert page.status_code == 302 and "/login" in page.headers["Location"]


# -- take next ---------------------------------------------------------------------------------


def test_take_next_claims_the_top_lead_and_opens_its_card(operator_client):
    lead_id = new_lead(created="2026-11-23 09:30")

    with frozen(MONDAY_10, operator_client):
        taken = operator_client.post("/operator/next")

    assert taken.status_code == 303 and taken.headers["Location"].endswith(f"/operator/leads/{lead_id}")
    assert db.session.get(Lead, lead_id, populate_existing=True).claimed_by_id == operator_client.user.id


def test_take_next_with_nobody_to_call_goes_back_to_the_queue_and_says_so(operator_client):
    with frozen(MONDAY_10, operator_client):
        taken = operator_client.post("/operator/next", follow_redirects=True)

    assert taken.request.path == "/operator/"
    assert "Nobody to call right now." in taken.get_data(as_text=True)


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_take_next_needs_the_forms_csrf_token(operator_client):
    lead_id = new_lead(created="2026-11-23 09:30")
    with frozen(MONDAY_10, operator_client):
        refused = operator_client.post("/operator/next", headers={"Referer": "http://localhost/operator/"})
        claimed_without_token = db.session.get(Lead, lead_id, populate_existing=True).claimed_by_id
        back = operator_client.get(refused.headers["Location"]).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', back).group(1)
        accepted = operator_client.post("/operator/next", data={"csrf_token": token})

    # Without the token nothing is taken, and the operator is sent back with the reason.
    assert refused.status_code in (302, 303) and claimed_without_token is None
    assert "This form has expired" in back
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith(f"/operator/leads/{lead_id}")


# -- the lead card -----------------------------------------------------------------------------


def test_the_card_shows_the_phone_as_a_link_with_a_copy_button_and_the_request(operator_client):
    lead_id = new_lead(phone="+79161234567", name="Анна Иванова")

    with frozen(MONDAY_10, operator_client):
        page = operator_client.get(f"/operator/leads/{lead_id}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="tel:+79161234567"' in html and "+7 916 123-45-67" in html
    assert 'data-copy="+79161234567"' in html and "/static/js/operator.js" in html
    assert "https://clinic.example/therapy" in html and "utm_source=yandex" in html
    assert "Хочу к терапевту" in html
    assert "Name given" not in html  # the request's name is the lead's


def test_a_repeat_request_under_another_name_shows_that_name(operator_client):
    lead_id = new_lead(name="Анна Иванова", created="2026-11-23 09:30")
    new_lead(name="Аня", created="2026-11-23 09:40")

    with frozen(MONDAY_10, operator_client):
        html = operator_client.get(f"/operator/leads/{lead_id}").get_data(as_text=True)

    assert "Name given" in html and "Аня" in html
    assert "This number is on the do-not-call list" not in html


def test_opening_a_card_is_audited_with_the_operator_and_address(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        operator_client.get(f"/operator/leads/{lead_id}", environ_base={"REMOTE_ADDR": "10.9.8.7"})

    entry = db.session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.user_id, entry.lead_id, entry.ip) == ("open_card", operator_client.user.id, lead_id, "10.9.8.7")


def test_the_card_offers_every_outcome_as_its_own_form_with_a_shortcut(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        html = operator_client.get(f"/operator/leads/{lead_id}").get_data(as_text=True)

    forms = re.findall(r'<form method="post" action="/operator/leads/\d+/outcome"[^>]*>.*?</form>', html, re.S)
    outcomes = [re.search(r'name="outcome" value="(\w+)"', f).group(1) for f in forms]
    assert sorted(outcomes) == sorted(
        ["no_answer", "busy", "voicemail", "callback", "consulted", "declined", "wrong_number", "do_not_call", "spam"]
    )
    assert "booked" not in outcomes
    shortcuts = re.findall(r'data-shortcut="(\d)"', html)
    assert sorted(shortcuts) == [str(n) for n in range(1, 10)]
    assert all("csrf_token" in f for f in forms)


def test_the_callback_chooser_offers_only_opening_hours(operator_client):
    lead_id = new_lead(created="2026-11-28 19:00")

    with frozen("2026-11-28 19:20", operator_client):  # Saturday evening
        html = operator_client.get(f"/operator/leads/{lead_id}").get_data(as_text=True)

    # Quick choices: in an hour (20:30), this evening and tomorrow (Sunday) are closed; Monday's morning is left.
    assert re.findall(r'name="callback_at" value="([^"]+)"', html) == ["2026-11-30T09:00:00+03:00"]
    # The pickers: from today, within the clinic's hours, on the quarter hours.
    day = re.search(r'<input[^>]*id="callback_day"[^>]*>', html).group(0)
    time_input = re.search(r'<input[^>]*id="callback_time"[^>]*>', html).group(0)
    assert 'type="date"' in day and 'min="2026-11-28"' in day
    assert 'min="09:00"' in time_input and 'max="19:45"' in time_input and 'step="900"' in time_input


def test_a_number_on_the_do_not_call_list_carries_a_banner(operator_client, make_user):
    first = new_lead(created="2026-11-20 10:00")
    record_outcome(first, make_user("operator").id, "do_not_call", now=at("2026-11-20 10:05"))
    again = new_lead(created="2026-11-23 09:30")

    with frozen(MONDAY_10, operator_client):
        html = operator_client.get(f"/operator/leads/{again}").get_data(as_text=True)

    assert "This number is on the do-not-call list" in html


def test_an_unknown_lead_is_404(operator_client):
    assert operator_client.get("/operator/leads/9999").status_code == 404


def test_someone_elses_claim_is_named_and_the_outcome_buttons_are_off(operator_client, make_user):
    holder = make_user("operator", "ivan")
    lead_id = new_lead(claimed_by_id=holder.id, claim_expires_at=at("2026-11-23 10:05"))

    with frozen(MONDAY_10, operator_client):
        html = operator_client.get(f"/operator/leads/{lead_id}").get_data(as_text=True)

    assert "Ivan is working on this lead" in html
    assert re.search(r'data-shortcut="1" disabled', html)
    assert "/claim" not in html


# -- claim and release -------------------------------------------------------------------------


def test_claim_from_the_card_then_release_back_to_the_queue(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        claimed = operator_client.post(f"/operator/leads/{lead_id}/claim", follow_redirects=True)
        held = db.session.get(Lead, lead_id, populate_existing=True).claimed_by_id
        released = operator_client.post(f"/operator/leads/{lead_id}/release", follow_redirects=True)

    assert claimed.request.path == f"/operator/leads/{lead_id}"
    assert "You are working on this lead" in claimed.get_data(as_text=True)
    assert held == operator_client.user.id
    assert released.request.path == "/operator/"
    assert "The lead is back in the queue." in released.get_data(as_text=True)
    assert db.session.get(Lead, lead_id, populate_existing=True).claimed_by_id is None


def test_claiming_a_lead_someone_holds_is_409_naming_them(operator_client, make_user):
    holder = make_user("operator", "ivan")
    lead_id = new_lead(claimed_by_id=holder.id, claim_expires_at=at("2026-11-23 10:05"))

    with frozen(MONDAY_10, operator_client):
        html_answer = operator_client.post(f"/operator/leads/{lead_id}/claim")
        json_answer = operator_client.post(f"/operator/leads/{lead_id}/claim", headers={"Accept": "application/json"})

    assert html_answer.status_code == 409 and "Ivan is working on this lead right now" in html_answer.get_data(as_text=True)
    assert json_answer.status_code == 409 and "Ivan" in json_answer.get_json()["error"]


def test_a_manager_may_release_anyones_claim(app, make_user):
    holder = make_user("operator", "ivan")
    lead_id = new_lead(claimed_by_id=holder.id, claim_expires_at=at("2026-11-23 10:05"))
    manager = app.test_client()
    manager.user = make_user("manager")

    with frozen(MONDAY_10, manager):
        released = manager.post(f"/operator/leads/{lead_id}/release")

    assert released.status_code == 303
    assert db.session.get(Lead, lead_id, populate_existing=True).claimed_by_id is None


def test_after_an_outcome_the_queue_confirms_it(operator_client):
    lead_id = new_lead(created="2026-11-23 09:30")

    with frozen(MONDAY_10, operator_client):
        answer = operator_client.post(f"/operator/leads/{lead_id}/outcome", data={"outcome": "no_answer"}, follow_redirects=True)

    assert answer.request.path == "/operator/"
    html = answer.get_data(as_text=True)
    assert "Recorded: No answer. Next call" in html and "10:15" in html
    assert db.session.get(Lead, lead_id, populate_existing=True).next_call_at == at("2026-11-23 10:15")


def test_a_closing_outcome_is_confirmed_as_closed(operator_client):
    lead_id = new_lead()

    with frozen(MONDAY_10, operator_client):
        answer = operator_client.post(f"/operator/leads/{lead_id}/outcome", data={"outcome": "declined"}, follow_redirects=True)

    assert "Recorded: Declined. The lead is closed." in answer.get_data(as_text=True)


def test_a_personal_callback_from_the_card_form(operator_client):
    lead_id = new_lead()
    when = at("2026-11-24 15:30")

    with frozen(MONDAY_10, operator_client):
        answer = operator_client.post(
            f"/operator/leads/{lead_id}/outcome",
            data={"outcome": "callback", "callback_at": when.isoformat(), "callback_for": "me", "note": "после работы"},
        )

    assert answer.status_code == 303
    row = db.session.get(Lead, lead_id, populate_existing=True)
    assert (row.state, row.next_call_at, row.callback_owner_id) == ("callback", when, operator_client.user.id)
    assert row.next_call_at - at(MONDAY_10) == timedelta(days=1, hours=5, minutes=30)
