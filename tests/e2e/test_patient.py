"""The patient's side in a real browser, on a phone: the form, its messages,
the language switch, and the widget on a clinic's page of another origin."""
from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from leads.extensions import db
from leads.models import Lead, LeadRequest
from tests.e2e.conftest import PHONE, widget_page

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True, locale="ru-RU"),
]

# The promise names a number of minutes or a time of day, in any language.
PROMISE = re.compile(r"\b\d+\b.*|.*\d{1,2}:\d{2}.*")
WIDGET_LABEL_RU = "Заказать обратный звонок"
SEARCH_REFERRER = "https://yandex.ru/search/?text=clinic"


def stored_leads(live_server) -> list[dict]:
    """Every stored lead as a plain dict (read on the server's database)."""
    with live_server.app.app_context():
        rows = db.session.scalars(sa.select(Lead).order_by(Lead.id)).all()
        leads = [{column.key: getattr(row, column.key) for column in sa.inspect(Lead).columns} for row in rows]
        db.session.remove()
    return leads


def stored_requests(live_server) -> list[dict]:
    with live_server.app.app_context():
        rows = db.session.scalars(sa.select(LeadRequest).order_by(LeadRequest.id)).all()
        requests = [{column.key: getattr(row, column.key) for column in sa.inspect(LeadRequest).columns} for row in rows]
        db.session.remove()
    return requests


def fill_request(scope, name: str = "Анна Петрова", phone: str = "8 (916) 123-45-67", consent: bool = True) -> None:
    """Fill the request form found in `scope` (a page or a frame locator)."""
    scope.locator("#name").fill(name)
    scope.locator("#phone").fill(phone)
    if consent:
        scope.locator("#consent").check()


def submit(scope) -> None:
    scope.locator("form.callback-form button[type=submit]").click()


def shadow_active_label(page: Page) -> str | None:
    """aria-label or text of the element focused inside the widget's shadow root."""
    return page.evaluate(
        """() => {
            const host = document.getElementById('callback-desk-widget');
            if (document.activeElement !== host) return null;
            const el = host.shadowRoot.activeElement;
            return el && (el.getAttribute('aria-label') || el.textContent.trim());
        }"""
    )


# --- the form at / ----------------------------------------------------------


def test_request_from_the_form_promises_a_call_and_stores_one_lead(live_server, page: Page):
    page.goto(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")

    fill_request(page)
    submit(page)

    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]{16,32}$"))
    expect(page.locator(".thanks")).to_be_visible()
    expect(page.locator(".thanks .promise")).to_have_text(PROMISE)
    leads = stored_leads(live_server)
    assert len(leads) == 1
    assert leads[0]["phone"] == "+79161234567"
    assert leads[0]["name"] == "Анна Петрова"
    assert leads[0]["source"] == "form"
    assert leads[0]["state"] == "new"
    assert page.url.rsplit("/", 1)[1] == stored_requests(live_server)[0]["public_id"]


def test_bad_fields_get_a_message_beside_them_and_keep_what_was_typed(live_server, page: Page):
    page.goto(f"{live_server.url}/")
    fill_request(page, name="Анна", phone="123", consent=False)
    with page.expect_response(lambda r: r.url.endswith("/callback")) as answer:
        submit(page)
    assert answer.value.status == 422

    expect(page.locator(".form-error[role=alert]")).to_be_visible()
    phone_field = page.locator(".field").filter(has=page.locator("#phone"))
    expect(phone_field.locator(".field-error")).to_be_visible()
    expect(phone_field.locator(".field-error")).not_to_be_empty()
    expect(page.locator("#phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#phone")).to_have_attribute("aria-describedby", "phone-error")
    consent_field = page.locator(".field").filter(has=page.locator("#consent"))
    expect(consent_field.locator(".field-error")).to_be_visible()
    expect(page.locator("#consent")).to_have_attribute("aria-invalid", "true")
    # The name was fine: no message there, and everything typed is still in place.
    expect(page.locator(".field").filter(has=page.locator("#name")).locator(".field-error")).to_have_count(0)
    expect(page.locator("#name")).to_have_value("Анна")
    expect(page.locator("#phone")).to_have_value("123")
    expect(page.locator("#consent")).not_to_be_checked()
    assert stored_leads(live_server) == []

    # Fixing the two fields is enough.
    page.locator("#phone").fill("8 (916) 123-45-67")
    page.locator("#consent").check()
    submit(page)
    expect(page.locator(".thanks .promise")).to_have_text(PROMISE)
    assert [lead["phone"] for lead in stored_leads(live_server)] == ["+79161234567"]


def test_language_switch_shows_the_form_in_english_and_back(live_server, page: Page):
    page.goto(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")

    page.locator(".lang-switch a[hreflang=en]").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # msgids are English: true whether or not the catalogs are compiled.
    expect(page.locator("label[for=name]")).to_have_text("Your name")
    expect(page.locator("form.callback-form button[type=submit]")).to_have_text("Call me back")

    page.locator(".lang-switch a[hreflang=ru]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")


def test_pages_load_without_csp_violations(live_server, host_site, page: Page, console_messages):
    page.goto(f"{live_server.url}/")
    expect(page.locator("form.callback-form")).to_be_visible()
    page.goto(f"{live_server.url}/embed")
    expect(page.locator("form.callback-form")).to_be_visible()
    page.goto(f"{live_server.url}/consent")
    # The widget framing the form on the clinic's page: frame-ancestors must let it in.
    page.goto(host_site.url_for("/clinic.html?utm_source=test"))
    page.get_by_role("button", name=WIDGET_LABEL_RU).click()
    frame = page.frame_locator("#callback-desk-widget iframe")
    expect(frame.locator("form.callback-form")).to_be_visible()

    problems = [text for kind, text in console_messages if "Content Security Policy" in text or kind == "pageerror"]
    assert problems == []


# --- the widget on the clinic's site ----------------------------------------


def test_widget_form_submits_inside_the_iframe_and_records_where_it_came_from(
    live_server, host_site, page: Page, console_messages
):
    host_url = host_site.url_for("/clinic.html?utm_source=test&utm_campaign=spring")
    page.goto(host_url, referer=SEARCH_REFERRER)
    parent_referrer = page.evaluate("document.referrer")

    launcher = page.get_by_role("button", name=WIDGET_LABEL_RU)
    expect(launcher).to_be_visible()
    launcher.click()

    dialog = page.get_by_role("dialog", name=WIDGET_LABEL_RU)
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    iframe = page.locator("#callback-desk-widget iframe")
    src = urlsplit(iframe.get_attribute("src"))
    assert f"{src.scheme}://{src.netloc}{src.path}" == f"{live_server.url}/embed"
    query = parse_qs(src.query, keep_blank_values=True)
    assert query["page"] == [host_url]
    assert query["ref"] == [parent_referrer]
    assert query["utm_source"] == ["test"]
    assert query["utm_campaign"] == ["spring"]

    frame = page.frame_locator("#callback-desk-widget iframe")
    fill_request(frame, name="Иван")
    if os.environ.get("E2E_SCREENSHOT"):
        page.screenshot(path=os.environ["E2E_SCREENSHOT"])
    submit(frame)

    expect(frame.locator(".thanks .promise")).to_have_text(PROMISE)
    expect(page).to_have_url(host_url)  # the clinic's page stays where it was
    expect(dialog).to_be_visible()
    leads = stored_leads(live_server)
    assert len(leads) == 1
    lead = leads[0]
    assert lead["source"] == "embed"
    assert lead["phone"] == "+79161234567"
    assert lead["page_url"] == host_url
    assert lead["utm_source"] == "test"
    assert lead["utm_campaign"] == "spring"
    assert lead["referrer"] == parent_referrer
    assert not [text for _, text in console_messages if "Content Security Policy" in text]


def test_widget_dialog_is_keyboard_friendly(live_server, host_site, page: Page):
    page.goto(host_site.url_for("/clinic.html"))
    launcher = page.get_by_role("button", name=WIDGET_LABEL_RU)
    dialog = page.get_by_role("dialog", name=WIDGET_LABEL_RU)
    expect(dialog).to_be_hidden()

    launcher.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    assert shadow_active_label(page) == "Закрыть"  # focus moved into the dialog
    assert page.evaluate("document.documentElement.style.overflow") == "hidden"  # the page behind stays put

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert shadow_active_label(page) == WIDGET_LABEL_RU  # focus is back on the button
    assert page.evaluate("document.documentElement.style.overflow") == ""

    # The close button closes too, and what was typed survives closing.
    launcher.click()
    frame = page.frame_locator("#callback-desk-widget iframe")
    frame.locator("#name").fill("Мария")
    page.get_by_role("button", name="Закрыть").click()
    expect(dialog).to_be_hidden()
    assert shadow_active_label(page) == WIDGET_LABEL_RU
    launcher.click()
    expect(frame.locator("#name")).to_have_value("Мария")

    # The one global, usable from the clinic's own links.
    assert page.evaluate("Object.keys(window.CallbackDesk).sort()") == ["close", "isOpen", "open", "version"]
    page.evaluate("window.CallbackDesk.close()")
    expect(dialog).to_be_hidden()


def test_widget_fits_a_phone_screen(live_server, host_site, page: Page):
    page.goto(host_site.url_for("/clinic.html"))
    launcher = page.get_by_role("button", name=WIDGET_LABEL_RU)
    box = launcher.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] + box["height"] <= PHONE["height"]
    assert box["height"] >= 44  # a finger-sized target
    # The clinic's own `button { background: red }` does not reach the widget.
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(10, 110, 92)"

    launcher.click()
    dialog = page.get_by_role("dialog", name=WIDGET_LABEL_RU)
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, PHONE["width"], PHONE["height"])
    frame = page.frame_locator("#callback-desk-widget iframe")
    submit_box = frame.locator("form.callback-form button[type=submit]")
    submit_box.scroll_into_view_if_needed()
    expect(submit_box).to_be_in_viewport()
    # No horizontal scrolling inside the frame.
    widths = frame.locator("html").evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1]


def test_widget_speaks_english_when_asked(live_server, host_site, page: Page):
    page.goto(host_site.url_for("/clinic-en.html"))
    page.get_by_role("button", name="Request a call back").click()
    expect(page.get_by_role("dialog", name="Request a call back")).to_be_visible()
    expect(page.get_by_role("button", name="Close")).to_be_visible()
    src = page.locator("#callback-desk-widget iframe").get_attribute("src")
    assert parse_qs(urlsplit(src).query)["lang"] == ["en"]


def test_widget_label_can_be_changed(live_server, host_site, page: Page):
    host_site.add("/custom.html", _custom_label_page(live_server.url))
    page.goto(host_site.url_for("/custom.html"))
    expect(page.get_by_role("button", name="Перезвоните мне")).to_be_visible()
    assert page.locator("#callback-desk-widget").count() == 1  # pasted twice, added once


def test_embed_refuses_to_be_framed_by_a_site_not_allowed(live_server, host_site, page: Page):
    # localhost is another origin than the allowed 127.0.0.1 one.
    other = host_site.url_for("/clinic.html").replace("127.0.0.1", "localhost")
    page.goto(other)
    with page.expect_console_message(lambda message: "frame-ancestors" in message.text):
        page.get_by_role("button", name=WIDGET_LABEL_RU).click()
    frame = page.frame_locator("#callback-desk-widget iframe")
    expect(frame.locator("form.callback-form")).to_have_count(0)


def _custom_label_page(desk_url: str) -> str:
    snippet = f'<script src="{desk_url}/static/widget.js" data-label="Перезвоните мне" defer></script>'
    return f"<!doctype html><html lang=ru><head><meta charset=utf-8><title>x</title></head><body>{snippet}{snippet}</body></html>"


# --- the frame talking to the widget, errors inside the frame, a clinic on another site ---


def test_escape_inside_the_frame_closes_the_dialog_and_a_sent_request_is_announced(
    live_server, host_site, page: Page
):
    page.goto(host_site.url_for("/clinic.html"))
    page.evaluate("document.addEventListener('callbackdesk:submitted', () => { window.sent = true; })")
    page.get_by_role("button", name=WIDGET_LABEL_RU).click()
    dialog = page.get_by_role("dialog", name=WIDGET_LABEL_RU)
    frame = page.frame_locator("#callback-desk-widget iframe")
    fill_request(frame)
    submit(frame)
    expect(frame.locator(".thanks")).to_be_visible()
    page.wait_for_function("window.sent === true", timeout=2000)

    frame.locator(".thanks h1").click()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden(timeout=2000)


def test_an_expired_embedded_form_explains_itself_inside_the_frame(live_server, host_site, page: Page):
    page.goto(host_site.url_for("/clinic.html"))
    page.get_by_role("button", name=WIDGET_LABEL_RU).click()
    frame = page.frame_locator("#callback-desk-widget iframe")
    fill_request(frame)
    # A form from a page left open too long (or forged) carries no valid start time.
    frame.locator("input[name=started]").evaluate("input => { input.value = 'stale'; }")
    submit(frame)
    # Shown again as typed, with a fresh token, to be sent once more.
    expect(frame.locator(".form-error")).to_contain_text("Форма устарела", timeout=3000)
    expect(frame.locator("#name")).to_have_value("Анна Петрова")


def test_widget_works_on_a_clinic_site_of_another_site(live_server, host_site, page: Page):
    # localhost and 127.0.0.1 are different sites, like clinic.example and desk.example.
    other_origin = host_site.origin.replace("127.0.0.1", "localhost")
    live_server.app.config["EMBED_ALLOWED_ORIGINS"] = [host_site.origin, other_origin]
    try:
        page.goto(f"{other_origin}/clinic.html?utm_source=test")
        page.get_by_role("button", name=WIDGET_LABEL_RU).click()
        frame = page.frame_locator("#callback-desk-widget iframe")
        fill_request(frame)
        submit(frame)
        expect(frame.locator(".thanks .promise")).to_have_text(PROMISE, timeout=3000)
    finally:
        live_server.app.config["EMBED_ALLOWED_ORIGINS"] = [host_site.origin]


def test_widget_on_a_site_not_allowed_to_frame_the_form_offers_a_new_tab_and_the_phone(
    live_server, host_site, page: Page
):
    other_origin = host_site.origin.replace("127.0.0.1", "localhost")  # not in EMBED_ALLOWED_ORIGINS
    host_site.add("/not-allowed.html", widget_page(live_server.url, 'data-phone="+7 495 123-45-67"'))
    page.goto(f"{other_origin}/not-allowed.html")
    page.get_by_role("button", name=WIDGET_LABEL_RU).click()
    fallback = page.locator("#callback-desk-widget .cbd-fallback-panel")
    expect(fallback).to_be_visible(timeout=8000)
    new_tab = fallback.get_by_role("link", name="Открыть форму в новой вкладке")
    assert urlsplit(new_tab.get_attribute("href")).path == "/"
    expect(fallback.get_by_role("link", name="+7 495 123-45-67")).to_have_attribute("href", "tel:+74951234567")
    expect(page.locator("#callback-desk-widget iframe")).to_be_hidden()


def test_widget_whose_form_loads_shows_no_fallback(live_server, host_site, page: Page):
    page.goto(host_site.url_for("/clinic.html"))
    page.get_by_role("button", name=WIDGET_LABEL_RU).click()
    expect(page.frame_locator("#callback-desk-widget iframe").locator("input[name=name]")).to_be_visible()
    page.wait_for_timeout(6000)
    expect(page.locator("#callback-desk-widget .cbd-fallback-panel")).to_have_count(0)
