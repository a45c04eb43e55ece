"""Finding 2: the queue's own polling does not keep an unattended desk signed in, and every
session ends after SESSION_MAX_HOURS however busy it is."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import time_machine

from leads.app import ROOT
from tests.conftest import at
from tests.functional.test_auth import log_in


@pytest.fixture
def app_settings():
    return {"SESSION_IDLE_MINUTES": 30, "SESSION_MAX_HOURS": 12}


@pytest.fixture
def client(app):
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    return browser


@pytest.fixture
def olga(make_user):
    return make_user("operator", username="olga")


def test_the_live_queue_polling_does_not_keep_an_idle_desk_signed_in(client, olga):
    with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
        log_in(client, "olga")
        for minute in ("10:10", "10:20", "10:29"):
            clock.move_to(at(f"2026-11-24 {minute}"))
            assert client.get("/operator/queue/live", headers={"HX-Request": "true"}).status_code == 200
        clock.move_to(at("2026-11-24 10:30"))
        assert client.get("/operator/queue/live", headers={"HX-Request": "true"}).status_code == 401
        assert client.get("/operator/").status_code == 302


def test_every_polling_endpoint_in_the_templates_is_not_activity(app):
    """A page part that refreshes itself (hx-trigger="every …") must not count as a person at work."""
    polled = set()
    for template in Path(ROOT / "templates").rglob("*.html"):
        for tag in re.findall(r"<[^>]*hx-trigger=\"every [^\"]*\"[^>]*>", template.read_text()):
            found = re.search(r"hx-get=\"\{\{ url_for\('([\w.]+)'", tag)
            assert found, f"{template.name}: a polling tag without a url_for hx-get"
            polled.add(found.group(1))
    assert polled
    for endpoint in polled:
        assert getattr(app.view_functions[endpoint], "not_activity", False), endpoint


def test_a_busy_session_still_ends_after_the_absolute_lifetime(client, olga):
    with time_machine.travel(at("2026-11-24 08:00"), tick=False) as clock:
        log_in(client, "olga")
        for hour in range(8, 20):
            for minute in (0, 20, 40):
                clock.move_to(at(f"2026-11-24 {hour:02d}:{minute:02d}"))
                assert client.get("/operator/").status_code == 200
        clock.move_to(at("2026-11-24 20:00"))
        page = client.get("/operator/", follow_redirects=True)
        assert "You were signed out after 12 hours. Please sign in again." in page.text
        assert client.get("/operator/").status_code == 302
        assert log_in(client, "olga").status_code == 303


def test_the_absolute_lifetime_must_be_positive(monkeypatch, tmp_path):
    from leads.app import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="SESSION_MAX_HOURS"):
        create_app("testing", {"SESSION_MAX_HOURS": 0})
