"""CSRF, the honeypot, the minimum fill time and rate limits on the request form."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import Lead
from tests.conftest import at

VALID = {"name": "Иван", "phone": "+7 916 123-45-67", "consent": "y"}
NOW = at("2026-11-23 10:00")


def leads_stored() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Lead))


def form_fields(client) -> dict[str, str]:
    html = client.get("/").get_data(as_text=True)
    return dict(re.findall(r'<input id="(csrf_token|started)" name="\1" type="hidden" value="([^"]*)"', html))


class TestCsrf:
    @pytest.fixture
    def app_settings(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_post_without_the_token_is_refused_and_nothing_stored(self, client):
        response = client.post("/callback", data=VALID)
        assert response.status_code == 400
        assert "expired" in response.get_data(as_text=True) or "устарела" in response.get_data(as_text=True)
        assert leads_stored() == 0

    def test_a_post_with_the_token_from_the_page_is_accepted(self, client):
        fields = form_fields(client)
        assert client.post("/callback", data={**VALID, **fields}).status_code == 303
        assert leads_stored() == 1


def test_a_filled_honeypot_gets_the_normal_thanks_and_nothing_is_stored(client):
    response = client.post("/callback", data={**VALID, "website": "http://spam.example"})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200
    assert leads_stored() == 0


def test_the_api_honeypot_also_stores_nothing(client):
    response = client.post("/api/v1/leads", json={**VALID, "consent": True, "website": "x"})
    assert response.status_code == 201 and "public_id" in response.json
    assert leads_stored() == 0


class TestMinimumFillTime:
    @pytest.fixture
    def app_settings(self):
        return {"MIN_FILL_SECONDS": 3, "PUBLIC_FORM_CHECKS": True}

    @pytest.fixture
    def client(self, app):
        """A browser on the desk's own page: it says so in every post's Origin."""
        browser = app.test_client()
        browser.environ_base["HTTP_ORIGIN"] = "http://localhost"
        return browser

    @pytest.mark.parametrize(("seconds", "suspected"), [(0, True), (2, True), (3, False), (60, False)])
    def test_a_quick_form_is_stored_flagged_never_dropped(self, client, seconds, suspected):
        """Phone autofill and one tap are quick too: the person is stored, the operator sees the doubt."""
        with time_machine.travel(NOW, tick=False) as clock:
            started = form_fields(client)["started"]
            clock.shift(seconds)
            response = client.post("/callback", data={**VALID, "started": started})
        assert response.status_code == 303
        lead = db.session.scalars(sa.select(Lead)).one()
        assert lead.suspected_automation is suspected
        assert lead.excluded is suspected  # out of reports and the SLA until a person is reached

    def test_a_missing_or_forged_start_time_shows_the_form_again_to_send_once_more(self, client):
        missing = client.post("/callback", data=VALID)
        forged = client.post("/callback", data={**VALID, "started": "MTcwMDAwMDAwMA.forged"})
        for response in (missing, forged):
            assert response.status_code == 400
            page = response.get_data(as_text=True)
            assert "Форма устарела" in page and 'value="Иван"' in page
        assert leads_stored() == 0
        fresh = re.search(r'name="started" type="hidden" value="([^"]*)"', forged.get_data(as_text=True)).group(1)
        assert client.post("/callback", data={**VALID, "started": fresh}).status_code == 303
        assert leads_stored() == 1

    def test_a_form_shown_again_with_errors_still_counts_from_its_first_showing(self, client):
        with time_machine.travel(NOW, tick=False) as clock:
            started = form_fields(client)["started"]
            clock.shift(2)
            again = client.post("/callback", data={**VALID, "phone": "123", "started": started})
            fresh = re.search(r'name="started" type="hidden" value="([^"]*)"', again.get_data(as_text=True)).group(1)
            assert fresh != started  # the first token is spent
            clock.shift(2)  # four seconds since the form was first shown: a person
            assert client.post("/callback", data={**VALID, "started": fresh}).status_code == 303
        assert db.session.scalars(sa.select(Lead)).one().suspected_automation is False


class TestStartToken:
    """The page form's start token: this session's, used once, at most twelve hours old (issue 11, finding 10)."""

    @pytest.fixture
    def app_settings(self):
        return {"PUBLIC_FORM_CHECKS": True}

    @pytest.fixture
    def client(self, app):
        browser = app.test_client()
        browser.environ_base["HTTP_ORIGIN"] = "http://localhost"
        return browser

    def test_a_token_is_taken_once(self, client):
        started = form_fields(client)["started"]
        assert client.post("/callback", data={**VALID, "started": started}).status_code == 303
        again = client.post("/callback", data={**VALID, "phone": "+79161112233", "started": started})
        assert again.status_code == 400
        assert leads_stored() == 1

    def test_a_token_of_another_session_is_not_taken(self, app, client):
        started = form_fields(client)["started"]
        other = app.test_client()
        other.environ_base["HTTP_ORIGIN"] = "http://localhost"
        other.get("/")
        assert other.post("/callback", data={**VALID, "started": started}).status_code == 400
        assert leads_stored() == 0

    def test_a_token_older_than_twelve_hours_is_not_taken(self, client):
        with time_machine.travel(NOW, tick=False) as clock:
            started = form_fields(client)["started"]
            clock.shift(12 * 3600 + 1)
            assert client.post("/callback", data={**VALID, "started": started}).status_code == 400
        assert leads_stored() == 0

    @pytest.mark.parametrize("origin", ["null", "", "https://evil.example"])
    def test_a_post_not_from_our_page_is_refused_clearly(self, client, origin):
        started = form_fields(client)["started"]
        answer = client.post("/callback", data={**VALID, "started": started}, headers={"Origin": origin})
        assert answer.status_code == 403
        assert "можно отправить только со страницы клиники" in answer.get_data(as_text=True)
        assert leads_stored() == 0


class TestRateLimit:
    @pytest.fixture
    def app_settings(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_CALLBACK": "3 per minute"}

    def test_the_fourth_request_in_a_minute_gets_a_clear_429_page(self, client):
        for index in range(3):
            assert client.post("/callback", data={**VALID, "phone": f"+7916123450{index}"}).status_code == 303
        response = client.post("/callback", data={**VALID, "phone": "+79161234599"})
        assert response.status_code == 429
        assert "Retry-After" in response.headers
        assert "Слишком много" in response.get_data(as_text=True)
        assert leads_stored() == 3

    def test_the_api_answers_429_as_json(self, client):
        for index in range(3):
            client.post("/api/v1/leads", json={**VALID, "consent": True, "phone": f"+7916123450{index}"})
        response = client.post("/api/v1/leads", json={**VALID, "consent": True})
        assert response.status_code == 429 and "error" in response.json

    def test_limits_are_per_address(self, client):
        for index in range(3):
            client.post("/callback", data={**VALID, "phone": f"+7916123450{index}"})
        other = client.post("/callback", data=VALID, environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert other.status_code == 303


def redis_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_reachable(), reason="needs Redis on 127.0.0.1:6379")
class TestRateLimitInRedis:
    """Production keeps the counters in Redis, shared by every worker process."""

    @pytest.fixture
    def app_settings(self):
        return {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_CALLBACK": "2 per minute",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        }

    def test_the_limit_holds_across_two_app_instances(self, app, client):
        from leads.app import create_app
        from leads.extensions import limiter

        assert limiter.storage.check()  # the app really talks to Redis
        client.post("/callback", data={**VALID, "phone": "+79161234501"})
        client.post("/callback", data={**VALID, "phone": "+79161234502"})
        # A second worker: its own app, the same Redis.
        other = create_app("testing", {**app.config, "RATELIMIT_ENABLED": True})
        assert other.test_client().post("/callback", data=VALID).status_code == 429
