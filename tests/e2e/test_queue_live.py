"""The live queue in a real browser: a new request reaches an open queue page within 2 seconds,
pushed by the server (the page's own refresh comes only every 10 s), and the tab's title counts.

The clock is stopped at a Monday 10:00 in the clinic (ticking on), so the clinic is open.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from leads.extensions import db
from tests.e2e.conftest import sign_in
from tests.e2e.test_operator_clicks import desk, monday_morning  # noqa: F401  (fixtures)
from tests.factories import new_lead

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(locale="en-GB", viewport={"width": 1366, "height": 900})]


@pytest.fixture(scope="module")
def live_app_settings() -> dict:
    return {"SSE_STREAM_SECONDS": 30}  # streams of finished tests end soon


def test_a_new_request_reaches_an_open_queue_page_within_two_seconds(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    expect(page).to_have_title(re.compile(r"^\(2\) Queue"))
    page.wait_for_timeout(1500)  # the stream is open and has seen the queue as it is

    def arrive():
        new_lead(phone="+79260001122", name="Вера Новая", created="2026-11-23 10:00")
        db.session.remove()

    desk.read(arrive)

    expect(page.locator("#queue-live")).to_contain_text("Вера Новая", timeout=2000)
    expect(page).to_have_title(re.compile(r"^\(3\) Queue"), timeout=2000)


def test_sound_and_notifications_are_off_until_the_operator_turns_them_on(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    toggle = page.locator(".alerts-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator(".alerts-toggle")).to_have_attribute("aria-pressed", "true")  # remembered here
