"""Signing in and out: /login, /logout, throttling, the safe `next`, CSRF, the staff menu."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import AuditEntry
from tests.conftest import sign_in

PASSWORD = "correct horse battery"
SAME_MESSAGE = "Incorrect username or password."


@pytest.fixture
def client(app):
    """A browser that reads English (the msgids), whatever catalogs are compiled."""
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    return browser


def log_in(client, username: str, password: str = PASSWORD, next: str | None = None, **headers):
    """POST the login form as a person would."""
    data = {"username": username, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, headers=headers)


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_login_page_shows_the_form(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text


def test_right_password_signs_in_and_opens_the_queue(client, make_user):
    make_user("operator", username="olga")
    answer = log_in(client, "olga")
    assert answer.status_code == 303
    assert answer.location == "/operator/"
    assert client.get("/operator/").status_code == 200


@pytest.mark.parametrize(("role", "home"), [("manager", "/manager/reports"), ("admin", "/admin/users")])
def test_managers_start_at_the_reports_and_admins_at_the_accounts(client, make_user, role, home):
    make_user(role, username="boss")
    assert log_in(client, "boss").location == home


def test_username_is_not_case_sensitive(client, make_user):
    make_user("operator", username="olga")
    assert log_in(client, "  Olga ").status_code == 303


def test_wrong_password_is_refused_and_nobody_is_signed_in(client, make_user):
    make_user("operator", username="olga")
    answer = log_in(client, "olga", "not the password")
    assert answer.status_code == 401
    assert SAME_MESSAGE in answer.text
    assert client.get("/operator/").status_code == 302


def test_unknown_user_gets_exactly_the_same_message_as_a_wrong_password(client, make_user):
    make_user("operator", username="olga")
    wrong_password = log_in(client, "olga", "not the password")
    unknown_user = log_in(client, "nobody", "not the password")
    assert unknown_user.status_code == wrong_password.status_code == 401
    assert SAME_MESSAGE in unknown_user.text and SAME_MESSAGE in wrong_password.text


def test_deactivated_account_gets_the_same_message(client, make_user):
    user = make_user("operator", username="olga")
    user.active = False
    db.session.commit()
    answer = log_in(client, "olga")
    assert answer.status_code == 401
    assert SAME_MESSAGE in answer.text


def test_empty_fields_are_asked_for_by_name(client):
    answer = client.post("/login", data={"username": "", "password": ""})
    assert answer.status_code == 400
    assert "Enter your username." in answer.text
    assert "Enter your password." in answer.text


def test_signing_in_and_failing_are_audited(client, make_user):
    make_user("operator", username="olga")
    log_in(client, "olga", "not the password")
    log_in(client, "olga")
    client.post("/logout")
    assert audit_actions() == ["login_failed", "login", "logout"]


# Throttling of failed sign-ins: tests/security/test_login_throttle.py


class TestSafeNext:
    @pytest.mark.parametrize("target", ["/admin/users", "/operator/?page=2"])
    def test_a_path_on_this_site_is_followed(self, client, make_user, target):
        make_user("admin", username="root")
        assert log_in(client, "root", next=target).location == target

    @pytest.mark.parametrize(
        "target",
        [
            "https://evil.example/phish",
            "//evil.example/phish",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/login",
            "/operator/\r\nSet-Cookie: x=y",
        ],
    )
    def test_anything_else_is_ignored(self, client, make_user, target):
        make_user("operator", username="olga")
        assert log_in(client, "olga", next=target).location == "/operator/"

    def test_the_login_page_carries_a_safe_next_into_the_form(self, client):
        assert 'name="next" type="hidden" value="/operator/"' in client.get("/login?next=/operator/").text
        assert 'name="next" type="hidden" value=""' in client.get("/login?next=//evil.example/").text

    def test_a_signed_in_person_opening_login_goes_on_to_next(self, client, make_user):
        sign_in(client, make_user("admin"))
        assert client.get("/login?next=/admin/users").location == "/admin/users"


class TestLogout:
    def test_logout_signs_out_and_says_so(self, client, make_user):
        make_user("operator", username="olga")
        log_in(client, "olga")
        answer = client.post("/logout")
        assert answer.status_code == 303 and answer.location == "/login"
        assert "You have signed out." in client.get("/login").text
        assert client.get("/operator/").status_code == 302

    def test_logout_is_post_only(self, client, make_user):
        sign_in(client, make_user("operator"))
        assert client.get("/logout").status_code == 405


class TestCsrf:
    @pytest.fixture
    def app_settings(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_login_without_a_token_is_refused_and_sent_back_to_sign_in(self, client, make_user):
        make_user("operator", username="olga")
        client.set_cookie("lang", "en")
        answer = log_in(client, "olga")
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
        assert "This form has expired" in client.get(answer.headers["Location"]).text
        assert client.get("/operator/").status_code == 302

    def test_login_with_the_token_from_the_form_works(self, client, make_user):
        make_user("operator", username="olga")
        page = client.get("/login").text
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        answer = client.post("/login", data={"username": "olga", "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303

    def test_logout_without_a_token_is_refused_and_goes_back_to_the_page(self, client, make_user):
        sign_in(client, make_user("operator"))
        answer = client.post("/logout", headers={"Referer": "http://localhost/operator/search"})
        assert answer.status_code == 302 and answer.headers["Location"] == "/operator/search"
        assert client.get("/operator/").status_code == 200


class TestRateLimit:
    @pytest.fixture
    def app_settings(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute"}

    def test_too_many_login_posts_from_one_address_get_429(self, client):
        for name in ("a-one", "a-two", "a-three"):  # different usernames: not the username lock
            assert log_in(client, name, "guess").status_code == 401
        assert log_in(client, "a-four", "guess").status_code == 429

    def test_showing_the_form_is_not_limited(self, client):
        for _ in range(5):
            assert client.get("/login").status_code == 200


class TestStaffMenu:
    def menu(self, client, user):
        sign_in(client, user)
        return client.get("/").text

    def test_patients_see_no_staff_menu(self, client):
        page = client.get("/").text
        assert "/logout" not in page and 'href="/operator/"' not in page

    def test_operator_sees_the_queue_their_name_and_sign_out(self, client, make_user):
        page = self.menu(client, make_user("operator", username="olga"))
        assert 'href="/operator/"' in page
        assert 'href="/manager/"' not in page and 'href="/admin/users"' not in page
        assert "Olga" in page
        assert 'action="/logout"' in page

    def test_manager_also_sees_reports(self, client, make_user):
        page = self.menu(client, make_user("manager"))
        assert 'href="/operator/"' in page and 'href="/manager/reports"' in page
        assert 'href="/manager/privacy"' in page and 'href="/manager/audit"' in page
        assert 'href="/admin/users"' not in page

    def test_admin_sees_every_area(self, client, make_user):
        page = self.menu(client, make_user("admin"))
        assert 'href="/operator/"' in page and 'href="/manager/reports"' in page and 'href="/admin/users"' in page
