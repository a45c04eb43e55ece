"""Every page in both languages, as each role sees it, on the demo data: nothing left untranslated.

In Russian no Latin word may show outside data (names, numbers, addresses, notes are marked
``translate="no"``; keyboard keys are in ``<kbd>``), except the few terms a Russian clinic uses as
they are.  In English no stored code (``no_answer``, ``take-next``, ``form``) may show in place of
its words.  Each page is also saved as a screenshot under ``screenshots/`` (git-ignored) for a
person to look at.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import Page, expect

from leads.extensions import db
from leads.models import Doctor, Lead, User
from leads.outbox_models import ConfirmationTask, OutboxMessage
from leads.services.appointments import book_appointment, first_free_slots
from leads.services.visit_links import visit_token
from tests.conftest import at, utc
from tests.factories import new_lead

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(viewport={"width": 1366, "height": 900})]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
# Terms a Russian clinic writes in Latin letters.
LATIN_TERMS = {"IP", "API", "CSV", "UTM", "utm_source", "utm_medium", "utm_campaign", "SHA"}
# Stored codes that must never stand in for their words.
RAW_CODES = {"take-next", "form", "embed", "api", "new", "retry", "callback", "booked"}

# The text a person sees: visible text nodes outside data, keyboard keys and other-language links.
VISIBLE_TEXT = """() => {
  const skip = '[translate="no"], kbd, script, style, noscript, [lang]:not(html)';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || parent.closest(skip) || !parent.checkVisibility()) continue;
    if (node.textContent.trim()) parts.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (el.closest(skip)) continue;
    for (const name of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(name)) parts.push(el.getAttribute(name));
  }
  return parts;
}"""

PASSWORDS = {"operator": "operator-demo-pass", "manager": "manager-demo-pass", "admin": "admin-demo-pass"}


@pytest.fixture
def demo(live_server):
    """The demo data of `make run`, loaded on Wednesday 25 November 2026 at noon (ticking on)."""
    from leads.services.demo import load_demo
    from leads.services.demo_users import load_demo_users

    with time_machine.travel(at("2026-11-25 12:00"), tick=True):
        with live_server.app.app_context():
            load_demo_users()
            load_demo()

            def first(*where):
                return db.session.scalar(sa.select(Lead.id).where(*where).order_by(Lead.id))

            leads = {
                state: first(Lead.state == state) for state in ("new", "retry", "callback", "booked", "closed")
            }
            public_id = db.session.scalar(sa.select(Lead.public_id).order_by(Lead.id.desc()))
            doctor_id = db.session.scalar(sa.select(Doctor.id).order_by(Doctor.id))
            user_id = db.session.scalar(sa.select(User.id).where(User.role == "operator"))
            phone = db.session.scalar(sa.select(Lead.phone).where(Lead.id == leads["booked"]))
            visit, task = after_booking(user_id)
            visit_path = f"/visit/{visit_token(visit)}"
            db.session.remove()
        yield {"leads": leads, "public_id": public_id, "doctor": doctor_id, "user": user_id, "phone": phone,
               "visit_path": visit_path, "confirmation": task}


def after_booking(user_id: int) -> tuple[int, int]:
    """A visit on Friday or later booked now (its confirmation call is open) and a message that failed."""
    lead_id = new_lead(phone="+79167770011", name="Вера Павлова", created="2026-11-25 11:00")
    [slot] = first_free_slots(from_moment=at("2026-11-27 09:00"), count=1)
    visit = book_appointment(lead_id, user_id, slot.doctor_id, slot.start, messages_consent=True)
    db.session.add(OutboxMessage(idempotency_key="walk", appointment_id=visit.id, lead_id=lead_id, kind="reminder",
                                 channel="sms", recipient="+79167770011", visit_starts_at=utc(visit.start),
                                 next_attempt_at=utc(visit.start), status="failed", attempts=8,
                                 last_error="SMS gateway answered HTTP 500"))
    db.session.commit()
    return visit.id, db.session.scalar(sa.select(ConfirmationTask.id).where(ConfirmationTask.appointment_id == visit.id))


def pages(demo) -> dict[str | None, list[str]]:
    """Every page worth looking at, by the role that opens it (None: the patient)."""
    cards = [f"/operator/leads/{lead_id}" for lead_id in demo["leads"].values() if lead_id]
    return {
        None: ["/", "/consent", "/embed", f"/thanks/{demo['public_id']}", "/login", demo["visit_path"]],
        "operator": ["/operator/", "/operator/search?q=%D0%90", *cards, "/operator/appointments",
                     f"/operator/confirmations/{demo['confirmation']}"],
        "manager": [
            "/manager/reports",
            "/manager/audit",
            "/manager/privacy",
            f"/manager/privacy?phone={demo['phone'].replace('+', '%2B')}",
            "/manager/visits-to-mark",
            "/manager/messages",
            f"/operator/leads/{demo['leads']['booked']}/audit",
        ],
        "admin": ["/admin/users", "/admin/doctors", f"/admin/doctors/{demo['doctor']}", "/admin/closures",
                  f"/admin/users/{demo['user']}/password"],
    }


def sign_in_as(page: Page, url: str, role: str) -> None:
    page.goto(f"{url}/login")
    page.locator("#username").fill(role)
    page.locator("#password").fill(PASSWORDS[role])
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/(operator|manager|admin)/.*"))


def foreign_words(parts: list[str], lang: str) -> set[str]:
    """Latin words in Russian text (but the terms), or stored codes in English text."""
    text = "\n".join(parts)
    if lang == "ru":
        return set(re.findall(r"[A-Za-z][A-Za-z_]*", text)) - LATIN_TERMS
    words = set(re.findall(r"[A-Za-z][A-Za-z_-]*", text))
    snake = {w for w in words if "_" in w and w not in LATIN_TERMS}
    # A code alone in a cell or line, not a word of a sentence.
    alone = {p for p in parts if p in RAW_CODES}
    return snake | alone


def walk(browser, live_server, demo, lang: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    SCREENSHOTS.mkdir(exist_ok=True)
    for role, paths in pages(demo).items():
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
        page = context.new_page()
        if role:
            sign_in_as(page, live_server.url, role)
        for index, path in enumerate(paths, start=1):
            response = page.goto(live_server.url + path)
            assert response.status == 200, f"{role} {path}: {response.status}"
            name = f"{role or 'patient'}-{index:02d}-" + re.sub(r"[^a-z]+", "-", path.split("?")[0]).strip("-")
            page.screenshot(path=str(SCREENSHOTS / f"{lang}-{name}.png"), full_page=True)
            words = foreign_words(page.evaluate(VISIBLE_TEXT), lang)
            if words:
                found[f"{role or 'patient'} {path}"] = words
        context.close()
    return found


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_no_page_shows_an_untranslated_word_or_a_stored_code(browser, live_server, demo, lang):
    with time_machine.travel(at("2026-11-25 12:30"), tick=True):
        found = walk(browser, live_server, demo, lang)
    assert not found, f"untranslated on {lang} pages: {found}"


def test_the_scan_sees_a_stored_code_and_a_latin_word():
    assert foreign_words(["Источник", "form"], "ru") == {"form"}
    assert foreign_words(["IP-адрес", "UTM"], "ru") == set()
    assert foreign_words(["Source", "form", "no_answer later"], "en") == {"form", "no_answer"}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_staff_header_fits_one_line_at_1366_px_for_every_role(browser, live_server, demo, lang):
    for role in PASSWORDS:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
        page = context.new_page()
        sign_in_as(page, live_server.url, role)
        header = page.locator(".site-header")
        tops = page.locator(".site-header a, .site-header button, .site-header .nav-user").evaluate_all(
            "items => items.map(item => Math.round(item.getBoundingClientRect().top + item.getBoundingClientRect().height / 2))"
        )
        assert max(tops) - min(tops) <= 4, f"{role} ({lang}): header items on more than one line: {tops}"
        assert header.evaluate("h => h.scrollWidth <= h.clientWidth"), f"{role} ({lang}): header overflows"
        context.close()


def test_the_reports_fit_1366_px_and_show_today_s_calls_and_a_preset_clears_old_dates(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies([{"name": "lang", "value": "en", "url": live_server.url}])
    page = context.new_page()
    with time_machine.travel(at("2026-11-25 12:30"), tick=True):
        sign_in_as(page, live_server.url, "manager")
        page.goto(f"{live_server.url}/manager/reports?preset=custom&from=2026-11-01&to=2026-11-25")
        cut = page.locator("main table").evaluate_all(
            "tables => tables.filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth"
            " || t.scrollWidth > t.parentElement.clientWidth).map(t => t.id)"
        )
        assert cut == []
        expect(page.locator("#activity-days")).to_contain_text("Wed 25 Nov")
        page.locator('input[name="preset"][value="week"]').check()
        expect(page.locator("#from")).to_have_value("")
        expect(page.locator("#to")).to_have_value("")
    context.close()
