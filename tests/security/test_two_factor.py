"""Finding 12 (two-factor): managers and admins may sign in with an authenticator app (TOTP) and
recovery codes; an admin may require it of a role."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine

from tests.conftest import at, sign_in
from tests.functional.test_auth import log_in

MORNING = at("2026-11-24 09:00")


@pytest.fixture
def client(app):
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    return browser


def set_up(client, username: str) -> tuple[str, list[str]]:
    """Sign in and turn two-factor on; (the key, the recovery codes)."""
    assert log_in(client, username).status_code == 303
    page = client.get("/account/two-factor").text
    secret = re.search(r'<code class="totp-key" translate="no">([A-Z2-7]+)</code>', page).group(1)
    shown = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", shown.text)
    client.post("/logout")
    return secret, codes


def test_a_manager_signs_in_with_password_then_the_app_s_code_and_a_code_works_once(app, client, make_user):
    make_user("manager", username="marina")
    with time_machine.travel(MORNING, tick=False) as clock:
        secret, codes = set_up(client, "marina")
        assert len(codes) == 10
        clock.shift(timedelta(seconds=60))
        step = log_in(client, "marina")
        assert step.status_code == 303 and step.location == "/login/code"
        assert client.get("/manager/reports").status_code == 302  # not signed in yet
        code = pyotp.TOTP(secret).now()
        assert client.post("/login/code", data={"code": code}).location == "/manager/reports"
        assert client.get("/manager/reports").status_code == 200
        client.post("/logout")
        log_in(client, "marina")
        assert client.post("/login/code", data={"code": code}).status_code == 401  # the same code again


def test_a_recovery_code_signs_in_once(client, make_user):
    make_user("admin", username="root")
    with time_machine.travel(MORNING, tick=False):
        _, codes = set_up(client, "root")
        log_in(client, "root")
        assert client.post("/login/code", data={"code": codes[0]}).status_code == 303
        client.post("/logout")
        log_in(client, "root")
        assert client.post("/login/code", data={"code": codes[0]}).status_code == 401


def test_wrong_codes_are_throttled_like_passwords(client, make_user):
    make_user("manager", username="marina")
    with time_machine.travel(MORNING, tick=False):
        secret, _ = set_up(client, "marina")
        log_in(client, "marina")
        for _ in range(5):
            assert client.post("/login/code", data={"code": "000000"}).status_code == 401
        assert client.post("/login/code", data={"code": pyotp.TOTP(secret).now()}).status_code == 429


def test_the_half_signed_in_step_expires(client, make_user):
    make_user("manager", username="marina")
    with time_machine.travel(MORNING, tick=False) as clock:
        secret, _ = set_up(client, "marina")
        log_in(client, "marina")
        clock.shift(timedelta(minutes=5))
        answer = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
        assert answer.status_code == 303 and answer.location == "/login"


def test_operators_cannot_turn_it_on(client, make_user):
    make_user("operator", username="olga")
    log_in(client, "olga")
    assert client.get("/account/two-factor").status_code == 403


def test_an_admin_requires_it_of_managers_who_then_set_it_up_first(app, client, make_user):
    admin = app.test_client()
    admin.set_cookie("lang", "en")
    sign_in(admin, make_user("admin", username="root"))
    assert admin.post("/admin/two-factor", data={"manager": "y"}).status_code == 303
    make_user("manager", username="marina")
    with time_machine.travel(MORNING, tick=False):
        log_in(client, "marina")
        sent = client.get("/manager/reports")
        assert sent.status_code == 302 and sent.location == "/account/two-factor"
        page = client.get("/account/two-factor").text
        secret = re.search(r'<code class="totp-key" translate="no">([A-Z2-7]+)</code>', page).group(1)
        client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
        assert client.get("/manager/reports").status_code == 200
        refused = client.post("/account/two-factor", data={"code": "123456"})
        assert refused.status_code == 422 and "cannot be turned off" in refused.text
