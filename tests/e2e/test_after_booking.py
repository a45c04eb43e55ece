"""After the booking in a real browser (issue 14): the patient opens their link on a phone and
cancels; the operator sees the confirmation call in the queue and records "confirmed".

The clock is stopped (ticking on) on the working day before the visit, so the confirmation call
is due and the clinic open whatever the real time is.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import Page, expect

from leads.extensions import db
from leads.models import Appointment
from leads.outbox_models import ConfirmationTask
from leads.services.appointments import book_appointment
from leads.services.visit_links import visit_token
from tests.conftest import at
from tests.e2e.conftest import PHONE, add_operator, database_reader, sign_in
from tests.integration.test_appointments import add_doctor, add_lead

pytestmark = pytest.mark.e2e

BOOKED_AT = at("2026-11-23 10:00")  # Monday
VISIT = at("2026-11-25 11:00")  # Wednesday; its confirmation call is due Tuesday 09:00


@pytest.fixture(scope="module")
def live_app_settings() -> dict:
    return {"CLINIC_ADDRESS": "Москва, ул. Лесная, 5"}


@pytest.fixture
def tuesday_morning():
    with time_machine.travel(at("2026-11-24 10:00"), tick=True):
        yield


@pytest.fixture
def visit(live_server, tuesday_morning):
    """One booked visit; returns its id, token, and a reader of the live database."""
    with live_server.app.app_context():
        add_operator("olga")
        add_operator("boris")
        booker = db.session.scalar(sa.select(sa.text("id")).select_from(sa.text("users")).where(sa.text("username = 'boris'")))
        lead_id = add_lead(claimed_by=booker)
        booked = book_appointment(lead_id, booker, add_doctor(), VISIT, messages_consent=True, now=BOOKED_AT)
        token = visit_token(booked.id)
        db.session.remove()

    class Visit:
        id = booked.id
        url = f"{live_server.url}/visit/{token}"
        read = staticmethod(database_reader(live_server.app))

    return Visit


@pytest.mark.browser_context_args(viewport=PHONE, locale="ru-RU", is_mobile=True, has_touch=True)
def test_the_patient_opens_the_link_on_a_phone_and_cancels(page: Page, visit, console_messages):
    page.goto(visit.url)
    expect(page.get_by_role("heading", name="Ваш приём")).to_be_visible()
    for text in ("Иванов", "Терапевт", "среда 25 ноября 2026", "11:00–11:30", "Москва, ул. Лесная, 5"):
        expect(page.locator(".visit-facts")).to_contain_text(text)
    # Nothing runs off the side of a phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_text("Я не смогу прийти").tap()
    cancel = page.get_by_role("button", name="Отменить приём")
    expect(cancel).to_be_visible()
    box = cancel.bounding_box()
    assert box["height"] >= 44 and box["width"] >= PHONE["width"] * 0.6  # a thumb-sized target
    cancel.tap()
    expect(page.get_by_role("status").filter(has_text="Ваш приём отменён")).to_be_visible()
    expect(page.get_by_text("Этот приём отменён.")).to_be_visible()
    expect(page.get_by_role("button", name="Я приду")).to_have_count(0)
    state = visit.read(lambda: db.session.get(Appointment, visit.id).status)
    assert state == "cancelled"
    assert [m for m in console_messages if m[0] in ("error", "pageerror")] == []


@pytest.mark.browser_context_args(locale="en-GB", viewport={"width": 1280, "height": 900})
def test_the_operator_sees_the_confirmation_call_and_records_confirmed(page: Page, live_server, visit):
    sign_in(page, live_server, "olga")
    calls = page.locator("section.confirmations")
    expect(calls).to_contain_text("Confirmation calls")
    expect(calls).to_contain_text("Wednesday 25 November, 11:00")
    page.get_by_role("button", name="Take next").click()
    expect(page.get_by_role("heading", name="Confirmation call")).to_be_visible()
    expect(page.locator("a.phone-link")).to_have_attribute("href", "tel:+79161234567")
    page.get_by_role("button", name="Confirmed").click()
    expect(page).to_have_url(f"{live_server.url}/operator/")
    expect(page.get_by_text("The visit is confirmed.")).to_be_visible()
    expect(page.locator("section.confirmations")).to_have_count(0)

    def read():
        return (db.session.get(Appointment, visit.id).confirmed_at is not None,
                db.session.scalar(sa.select(ConfirmationTask.status)))

    assert visit.read(read) == (True, "confirmed")
