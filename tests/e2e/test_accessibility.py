"""axe-core (vendored from npm in static/vendor, run inside the page) on the pages people use most:
the request form, the queue, a lead card and the reports — no serious or critical violation."""
from __future__ import annotations

import pytest
import time_machine
from playwright.sync_api import Page

from tests.conftest import at
from tests.e2e.test_every_page import demo, sign_in_as  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(viewport={"width": 1366, "height": 900})]

AXE = "/static/vendor/axe-core-4.10.2.min.js"
SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
}"""


def violations(page: Page, origin: str, path: str) -> list[str]:
    page.goto(origin + path)
    page.add_script_tag(url=origin + AXE)  # from the app itself: the CSP allows no inline script
    return page.evaluate(SERIOUS)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_busiest_pages_have_no_serious_accessibility_violation(page: Page, live_server, demo, lang):  # noqa: F811
    page.context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    found = {}
    with time_machine.travel(at("2026-11-25 12:30"), tick=True):
        found["/"] = violations(page, live_server.url, "/")
        sign_in_as(page, live_server.url, "manager")
        for path in ("/operator/", f"/operator/leads/{demo['leads']['new']}", f"/operator/leads/{demo['leads']['booked']}",
                     "/manager/reports"):
            found[path] = violations(page, live_server.url, path)
    assert not {path: found_here for path, found_here in found.items() if found_here}


def test_the_check_finds_a_serious_violation(page: Page, live_server):
    page.goto(f"{live_server.url}/")
    page.add_script_tag(url=live_server.url + AXE)
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/favicon.svg\">')")
    assert any(v.startswith("image-alt (critical)") for v in page.evaluate(SERIOUS))
