"""Booking in a real browser: take the next lead, find a slot on its card, book it; the day's book
shows the patient.  The clock stands at Monday 23 November 2026, 10:00 in the clinic (ticking on)."""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import Page, expect

from leads.extensions import db
from leads.models import Appointment, Doctor, Lead
from tests.conftest import at
from tests.e2e.conftest import add_operator, database_reader, sign_in
from tests.factories import new_lead

SCREENSHOTS = os.environ.get("BOOKING_SCREENSHOTS", "")  # a directory, to look at the pages

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(locale="en-GB", viewport={"width": 1280, "height": 900})]


@pytest.fixture
def desk(live_server):
    """One operator, two doctors and one waiting patient."""
    with time_machine.travel(at("2026-11-23 10:00"), tick=True):
        with live_server.app.app_context():
            add_operator("olga")
            db.session.add_all([Doctor(name="Dr Petrova", specialty="Therapist"), Doctor(name="Dr Orlov", specialty="Surgeon")])
            db.session.commit()
            lead_id = new_lead(phone="+79161234567", name="Анна Иванова", created="2026-11-23 09:30")
            db.session.remove()

        class Desk:
            url = live_server.url
            lead = lead_id

            read = staticmethod(database_reader(live_server.app))

        yield Desk


def test_take_next_then_book_a_slot_from_the_card(page: Page, desk, console_messages):
    sign_in(page, desk)
    page.locator("button.take-next").click()
    expect(page).to_have_url(re.compile(rf"/operator/leads/{desk.lead}$"))

    # Choose the surgeon's specialty: htmx refreshes the panel in place.
    page.locator("#specialty").select_option("Surgeon")
    page.get_by_role("button", name="Show free slots").click()
    expect(page.locator("#booking .slot-doctor-name")).to_have_count(1)  # the therapist is gone
    expect(page.locator("#booking .slot-doctor-name")).to_have_text("Dr Orlov — Surgeon")
    expect(page).to_have_url(re.compile(rf"/operator/leads/{desk.lead}$"))  # htmx, not a page load
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/card.png", full_page=True)
    # A day forward, then pick 12:00.
    page.locator("#booking a.page-next_day").click()
    expect(page.locator("#booking h3").first).to_have_text("Tuesday 24 November")
    page.locator("#booking button.slot", has_text="12:00").first.click()

    expect(page).to_have_url(f"{desk.url}/operator/")
    expect(page.locator(".flash")).to_contain_text("Booked: Dr Orlov, Tuesday 24 November at 12:00")

    def booked():
        lead = db.session.get(Lead, desk.lead)
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.lead_id == desk.lead))
        return lead.state, appointment.starts_at

    assert desk.read(booked) == ("booked", at("2026-11-24 12:00"))

    page.goto(f"{desk.url}/operator/appointments?date=2026-11-24")
    expect(page.locator("td.cell-booked")).to_contain_text("Анна Иванова")
    expect(page.locator("td.cell-booked")).to_contain_text("+7 916 123-45-67")
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/day.png", full_page=True)
        page.emulate_media(media="print")
        page.screenshot(path=f"{SCREENSHOTS}/day-print.png", full_page=True)
    assert [m for m in console_messages if m[0] == "pageerror" or "Content Security Policy" in m[1]] == []
