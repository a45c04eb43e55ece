"""Sessions end when they should: sign-out, deactivation, password reset, and idleness.

Revocation rotates the user's session token, so a copy of the old cookie
(another tab, another computer, a stolen cookie) stops working at once.
"""
from __future__ import annotations

import pytest
import time_machine

from leads.auth.access import ROLES, roles_required
from leads.auth.sessions import not_activity
from leads.services.accounts import deactivate_user, reset_password
from tests.conftest import at
from tests.functional.test_auth import PASSWORD, log_in


@pytest.fixture
def app_settings():
    return {"SESSION_IDLE_MINUTES": 30}


@pytest.fixture
def client(app):
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    return browser


def copy_of(app, client):
    """A second browser holding a copy of `client`'s session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


@pytest.fixture
def olga(make_user):
    return make_user("operator", username="olga")


class TestRevocation:
    def test_a_copied_cookie_works_while_the_session_lives(self, app, client, olga):
        log_in(client, "olga")
        assert copy_of(app, client).get("/operator/").status_code == 200

    def test_after_logout_the_old_cookie_is_refused(self, app, client, olga):
        log_in(client, "olga")
        stolen = copy_of(app, client)
        client.post("/logout")
        answer = stolen.get("/operator/")
        assert answer.status_code == 302 and answer.location.startswith("/login")

    def test_logout_ends_the_sessions_on_other_computers_too(self, app, olga):
        desk, home = app.test_client(), app.test_client()
        log_in(desk, "olga")
        log_in(home, "olga")
        desk.post("/logout")
        assert home.get("/operator/").status_code == 302

    def test_after_deactivation_the_old_cookie_is_refused(self, app, client, olga):
        log_in(client, "olga")
        deactivate_user(olga.id)
        assert client.get("/operator/").status_code == 302

    def test_reactivation_does_not_bring_old_sessions_back(self, app, client, olga):
        from leads.services.accounts import reactivate_user

        log_in(client, "olga")
        deactivate_user(olga.id)
        reactivate_user(olga.id)
        assert client.get("/operator/").status_code == 302
        assert log_in(client, "olga").status_code == 303

    def test_after_a_password_reset_the_old_cookie_is_refused(self, app, client, olga):
        log_in(client, "olga")
        reset_password(olga.id, "a brand new password")
        assert client.get("/operator/").status_code == 302
        assert log_in(client, "olga", PASSWORD).status_code == 401
        assert log_in(client, "olga", "a brand new password").status_code == 303

    def test_a_revoked_session_asking_for_json_gets_401(self, app, client, olga):
        log_in(client, "olga")
        deactivate_user(olga.id)
        assert client.get("/operator/", headers={"Accept": "application/json"}).status_code == 401


class TestIdleExpiry:
    """SESSION_IDLE_MINUTES (30 here) without a request ends the session; each request restarts the clock."""

    def test_a_session_used_within_the_limit_stays_signed_in(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            clock.move_to(at("2026-11-24 10:29:59"))
            assert client.get("/operator/").status_code == 200

    def test_exactly_at_the_limit_the_session_is_over(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            clock.move_to(at("2026-11-24 10:30"))
            answer = client.get("/operator/")
            assert answer.status_code == 302
            assert answer.location == "/login?next=/operator/"

    def test_every_request_restarts_the_clock(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            for minute in ("10:20", "10:40", "11:00"):
                clock.move_to(at(f"2026-11-24 {minute}"))
                assert client.get("/operator/").status_code == 200
            clock.move_to(at("2026-11-24 11:30"))
            assert client.get("/operator/").status_code == 302

    def test_the_login_page_says_why(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            clock.move_to(at("2026-11-24 11:00"))
            page = client.get("/operator/", follow_redirects=True)
            assert "You were signed out after 30 minutes without activity. Please sign in again." in page.text

    def test_an_expired_session_stays_signed_out_when_it_comes_back(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            clock.move_to(at("2026-11-24 10:45"))
            client.get("/operator/")
            clock.move_to(at("2026-11-24 10:46"))
            assert client.get("/operator/").status_code == 302

    def test_a_program_gets_401_after_expiry(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            clock.move_to(at("2026-11-24 10:30"))
            assert client.get("/operator/", headers={"Accept": "application/json"}).status_code == 401

    def test_signing_in_again_works_at_once(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            clock.move_to(at("2026-11-24 12:00"))
            assert client.get("/operator/").status_code == 302
            assert log_in(client, "olga", next="/operator/").location == "/operator/"
            assert client.get("/operator/").status_code == 200


class TestPollingPages:
    """A page that refreshes itself (htmx polling) is not a person at work."""

    @pytest.fixture
    def app(self, app):
        @not_activity
        def live_rows():
            return "rows"

        app.add_url_rule("/test-live-rows", "test_live_rows", roles_required(*ROLES)(live_rows))
        return app

    def test_polling_does_not_keep_an_idle_session_alive(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            for minute in ("10:10", "10:20", "10:29"):
                clock.move_to(at(f"2026-11-24 {minute}"))
                assert client.get("/test-live-rows").status_code == 200
            clock.move_to(at("2026-11-24 10:30"))
            assert client.get("/test-live-rows").status_code == 302
            assert client.get("/operator/").status_code == 302

    def test_after_expiry_htmx_is_told_to_open_the_login_page_in_the_whole_window(self, client, olga):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
            log_in(client, "olga")
            clock.move_to(at("2026-11-24 10:30"))
            answer = client.get(
                "/test-live-rows",
                headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/operator/?tab=mine"},
            )
            assert answer.status_code == 401
            assert answer.headers["HX-Redirect"] == "/login?next=/operator/?tab%3Dmine"
            assert client.get(answer.headers["HX-Redirect"]).text.count('value="/operator/?tab=mine"') == 1
