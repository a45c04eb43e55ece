"""The manager's pages in Chromium at 1366 px (issue 13, items 7 and 8): the reports open on a period
with data, and the filters of the audit log and the personal-data lookup are one even row."""
from __future__ import annotations

import pytest
import time_machine
from playwright.sync_api import Page, expect
from werkzeug.security import generate_password_hash

from leads.extensions import db
from leads.models import User
from leads.services.calls import record_outcome
from tests.conftest import at, utc
from tests.e2e.conftest import OPERATOR_PASSWORD
from tests.factories import new_lead

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(viewport={"width": 1366, "height": 900})]

NOW = "2026-11-25 12:00"  # Wednesday


def add_staff(username: str, role: str) -> int:
    user = User(username=username, display_name=username.title(), role=role, active=True,
                password_hash=generate_password_hash(OPERATOR_PASSWORD, method="pbkdf2:sha256:1"))
    db.session.add(user)
    db.session.commit()
    return user.id


def sign_in_manager(page: Page, url: str) -> None:
    page.context.add_cookies([{"name": "lang", "value": "en", "url": url}])
    page.goto(f"{url}/login?next=/manager/reports")
    page.locator("#username").fill("marina")
    page.locator("#password").fill(OPERATOR_PASSWORD)
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_url(f"{url}/manager/reports")


@pytest.fixture
def manager(live_server):
    with live_server.app.app_context():
        add_staff("marina", "manager")
        db.session.remove()
    return live_server


def test_a_manager_opening_the_reports_after_a_quiet_month_sees_the_last_figures(page: Page, manager):
    with manager.app.app_context():
        olga = add_staff("olga", "operator")
        leads = [new_lead(phone=f"+7916555000{i}", created=f"2026-10-{12 + i} 10:00") for i in range(3)]
        record_outcome(leads[0], olga, "consulted", now=utc(at("2026-10-14 11:00")))
        db.session.remove()

    with time_machine.travel(at(NOW), tick=True):
        sign_in_manager(page, manager.url)

        expect(page.locator("#default-period")).to_be_visible()
        expect(page.locator(".report-period").last).to_contain_text("15.09.2026 — 14.10.2026")
        expect(page.locator('input[name="preset"][value="custom"]')).to_be_checked()
        requests = page.locator("#table-funnel tbody tr").first.locator("td").first
        expect(requests).to_have_text("3")
        expect(page.locator("#activity-operators")).to_contain_text("Olga")
        expect(page.locator("#funnel-chart")).to_be_visible()


def test_with_a_request_today_the_reports_open_on_this_week(page: Page, manager):
    with manager.app.app_context():
        new_lead(phone="+79165550009", created="2026-11-25 09:30")
        db.session.remove()

    with time_machine.travel(at(NOW), tick=True):
        sign_in_manager(page, manager.url)

        expect(page.locator("#default-period")).to_have_count(0)
        expect(page.locator('input[name="preset"][value="week"]')).to_be_checked()
        expect(page.locator("#table-funnel tbody tr").first.locator("td").first).to_have_text("1")
        expect(page.locator("#table-days")).to_contain_text("25.11.2026")


BOXES = """form => [...form.querySelectorAll('select, input:not([type=hidden]), button')].map(el => {
  const box = el.getBoundingClientRect();
  return {name: el.name || el.tagName, top: box.top, height: box.height, width: box.width};
})"""


def assert_one_even_row(boxes: list[dict], fields: int) -> None:
    heights = [box["height"] for box in boxes]
    tops = [box["top"] for box in boxes]
    widths = [box["width"] for box in boxes[:fields]]
    assert max(heights) - min(heights) <= 1, f"controls of different heights: {boxes}"
    assert max(tops) - min(tops) <= 1, f"controls not in one row: {boxes}"
    assert max(widths) - min(widths) <= 1, f"fields of different widths: {boxes}"


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_audit_filters_are_one_row_of_even_controls(page: Page, manager, lang):
    with time_machine.travel(at(NOW), tick=True):
        sign_in_manager(page, manager.url)
        page.context.add_cookies([{"name": "lang", "value": lang, "url": manager.url}])
        page.goto(f"{manager.url}/manager/audit")

        boxes = page.locator("form.audit-filter").evaluate(BOXES)
    assert [box["name"] for box in boxes] == ["user", "lead", "date_from", "date_to", "BUTTON"]
    assert_one_even_row(boxes, fields=4)
    assert all(box["height"] >= 40 for box in boxes)  # big enough to hit


def test_a_bad_filter_keeps_the_row_level(page: Page, manager):
    with time_machine.travel(at(NOW), tick=True):
        sign_in_manager(page, manager.url)
        page.goto(f"{manager.url}/manager/audit?lead=abc")

        expect(page.locator("form.audit-filter .field-error")).to_have_count(1)
        boxes = page.locator("form.audit-filter").evaluate(BOXES)
    assert_one_even_row(boxes, fields=4)


def test_the_personal_data_lookup_is_one_row_of_even_controls(page: Page, manager):
    with time_machine.travel(at(NOW), tick=True):
        sign_in_manager(page, manager.url)
        page.goto(f"{manager.url}/manager/privacy")

        boxes = page.locator("form.privacy-lookup").evaluate(BOXES)
    assert [box["name"] for box in boxes] == ["phone", "BUTTON"]
    assert_one_even_row(boxes, fields=1)
