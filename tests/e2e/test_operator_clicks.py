"""The operator's desk in a real browser: how many clicks an outcome costs, shortcuts, the note,
copying the number, and the queue refreshing itself.

The clock is stopped at a Monday 10:00 in the clinic (ticking on from there), so the clinic is
open whatever the real time is; the live server runs in this process and sees the same clock.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import Page, expect

from leads.extensions import db
from leads.models import CallAttempt, Lead
from tests.conftest import at
from tests.e2e.conftest import add_operator, database_reader, sign_in
from tests.factories import new_lead

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(locale="en-GB", viewport={"width": 1280, "height": 900})]

MAX_CLICKS_FOR_AN_OUTCOME = 3


@pytest.fixture
def monday_morning():
    with time_machine.travel(at("2026-11-23 10:00"), tick=True):
        yield


@pytest.fixture
def desk(live_server, monday_morning):
    """The live app with one operator and two waiting patients; returns a reader of its database."""
    with live_server.app.app_context():
        add_operator("olga")
        first = new_lead(phone="+79161234567", name="Анна Иванова", created="2026-11-23 09:30")
        second = new_lead(phone="+79035550011", name="Пётр Соколов", created="2026-11-23 09:40")
        db.session.remove()

    class Desk:
        url = live_server.url
        leads = (first, second)

        read = staticmethod(database_reader(live_server.app))

    return Desk


def lead_row(desk, lead_id: int) -> dict:
    def read():
        lead = db.session.get(Lead, lead_id)
        calls = db.session.scalars(sa.select(CallAttempt).where(CallAttempt.lead_id == lead_id)).all()
        return {"state": lead.state, "attempts": lead.attempts, "notes": [c.note for c in calls], "claimed": lead.claimed_by_id}

    return desk.read(read)


def test_a_no_answer_for_the_next_lead_takes_at_most_three_clicks_from_the_queue(page: Page, desk, console_messages):
    sign_in(page, desk)
    clicks = 0

    def click(locator) -> None:
        nonlocal clicks
        clicks += 1
        locator.click()

    click(page.locator("button.take-next"))
    expect(page).to_have_url(re.compile(rf"/operator/leads/{desk.leads[0]}$"))
    expect(page.locator("a.phone")).to_have_attribute("href", "tel:+79161234567")
    click(page.get_by_role("button", name=re.compile("No answer")))
    expect(page).to_have_url(f"{desk.url}/operator/")
    expect(page.locator(".flash")).to_contain_text("Recorded: No answer")

    assert clicks <= MAX_CLICKS_FOR_AN_OUTCOME
    row = lead_row(desk, desk.leads[0])
    assert (row["state"], row["attempts"], row["claimed"]) == ("retry", 1, None)
    # Nothing refused by the CSP (htmx's own <style>, inline handlers) and no script error.
    # (A missing /favicon.ico also logs an error; that one is not the desk's.)
    assert [m for m in console_messages if m[0] == "pageerror" or "Content Security Policy" in m[1]] == []


def test_a_keyboard_shortcut_records_the_outcome_but_not_while_typing_the_note(page: Page, desk):
    sign_in(page, desk)
    page.locator("button.take-next").click()
    expect(page).to_have_url(re.compile(r"/operator/leads/\d+$"))

    note = page.locator("#note")
    note.click()
    note.type("1 гудки")  # the "1" typed into the note must not record "no answer"
    expect(page).to_have_url(re.compile(r"/operator/leads/\d+$"))
    note.blur()
    page.keyboard.press("2")  # busy

    expect(page).to_have_url(f"{desk.url}/operator/")
    expect(page.locator(".flash")).to_contain_text("Recorded: Busy")
    assert lead_row(desk, desk.leads[0])["notes"] == ["1 гудки"]  # the shared note went with the button's form


def test_the_callback_shortcut_asks_for_the_time_first(page: Page, desk):
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/leads/{desk.leads[1]}")

    page.keyboard.press("4")

    expect(page.locator("#callback_day")).to_be_focused()
    assert lead_row(desk, desk.leads[1])["attempts"] == 0


def test_do_not_call_asks_before_recording(page: Page, desk):
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/leads/{desk.leads[1]}")
    questions: list[str] = []

    def decline(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    page.get_by_role("button", name=re.compile("Do not call")).click()

    assert questions and "do-not-call list" in questions[0]
    expect(page).to_have_url(re.compile(rf"/operator/leads/{desk.leads[1]}$"))
    assert lead_row(desk, desk.leads[1])["state"] == "new"


def test_the_copy_button_puts_the_number_on_the_clipboard(page: Page, desk):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desk.url)
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/leads/{desk.leads[0]}")

    page.get_by_role("button", name="Copy").click()

    expect(page.locator(".copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "+79161234567"


def test_the_queue_refreshes_itself_without_a_reload(page: Page, desk, monkeypatch):
    import leads.operator.views as views

    monkeypatch.setattr(views, "POLL_SECONDS", 1)  # the live server runs in this process
    sign_in(page, desk)
    expect(page.locator('[data-counter="new"]')).to_have_text("2")
    page.evaluate("window.__not_reloaded = true")

    def add_a_patient():
        new_lead(phone="+74993222308", name="Мария Кузнецова", created="2026-11-23 09:50")

    desk.read(add_a_patient)

    expect(page.locator('[data-counter="new"]')).to_have_text("3", timeout=5000)
    expect(page.locator("#queue-live")).to_contain_text("Мария Кузнецова")
    assert page.evaluate("window.__not_reloaded") is True
