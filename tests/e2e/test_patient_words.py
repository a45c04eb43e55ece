"""What the patient reads, in a real browser: the promise before the button when the clinic is
closed, the number repeated on the thanks page, the widget's title once and its layout kept."""
from __future__ import annotations

import pytest
import time_machine
from playwright.sync_api import Page, expect

from tests.conftest import at
from tests.e2e.conftest import PHONE
from tests.e2e.test_patient import WIDGET_LABEL_RU, fill_request, submit

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True, locale="ru-RU"),
]


def test_when_closed_the_promise_stands_above_the_button(live_server, page: Page):
    with time_machine.travel(at("2026-11-28 21:00"), tick=True):  # Saturday after closing
        page.goto(f"{live_server.url}/")
        promise = page.locator(".later-promise")
        expect(promise).to_have_text("Сейчас мы не работаем. Мы перезвоним вам 30 ноября (понедельник) после 09:00.")
        button = page.locator("form.callback-form button[type=submit]")
        assert promise.bounding_box()["y"] + promise.bounding_box()["height"] <= button.bounding_box()["y"]


def test_while_open_no_later_promise_is_shown(live_server, page: Page):
    with time_machine.travel(at("2026-11-23 10:00"), tick=True):  # Monday morning
        page.goto(f"{live_server.url}/")
        expect(page.locator(".hours .hint")).to_contain_text("15")
        expect(page.locator(".later-promise")).to_have_count(0)


def test_the_thanks_page_repeats_the_number_so_a_typo_is_seen(live_server, page: Page):
    page.goto(f"{live_server.url}/")
    fill_request(page, phone="8 (916) 123-45-76")
    submit(page)
    expect(page.locator(".thanks")).to_contain_text("Мы позвоним на номер +7 916 123-45-76.")


def test_the_widget_shows_its_title_once_and_its_thanks_keep_the_widget_layout(live_server, host_site, page: Page):
    page.goto(host_site.url_for("/clinic.html"))
    page.get_by_role("button", name=WIDGET_LABEL_RU).click()
    frame = page.frame_locator("#callback-desk-widget iframe")
    expect(frame.locator("#name")).to_be_visible()
    dialog_titles = page.locator("#callback-desk-widget .cbd-title")
    expect(dialog_titles).to_have_text(WIDGET_LABEL_RU)
    # The form's own heading stays for screen readers, out of sight.
    heading = frame.locator("h1.embed-title")
    assert heading.evaluate("h => h.getBoundingClientRect().width <= 1")

    fill_request(frame, phone="8 (916) 123-45-77")
    submit(frame)
    expect(frame.locator(".thanks")).to_contain_text("+7 916 123-45-77")
    expect(frame.locator(".site-header")).to_have_count(0)  # no desk header inside the clinic's dialog
    expect(frame.locator(".embed-top .lang-switch")).to_be_visible()
    expect(frame.locator("body")).to_have_class("embedded")
