"""/admin/users: an admin lists, creates, deactivates, reactivates accounts and sets passwords."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from leads.extensions import db
from leads.models import AuditEntry, User
from tests.conftest import sign_in
from tests.functional.test_auth import log_in

NEW_PASSWORD = "twelve chars ok"


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root")


@pytest.fixture
def client(app, admin):
    """The admin's browser, in English."""
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    sign_in(browser, admin)
    return browser


def create(client, username="ivan", password=NEW_PASSWORD, confirm=None, role="operator", display_name="Иван Петров"):
    return client.post(
        "/admin/users",
        data={
            "username": username,
            "display_name": display_name,
            "role": role,
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def user_named(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def field_error(page: str, field: str) -> str:
    """The message shown beside `field` ('' if none)."""
    marker = f'<p class="field-error" id="{field}-error">'
    return page.split(marker, 1)[1].split("</p>", 1)[0] if marker in page else ""


def test_the_list_shows_every_account_with_its_role_and_status(client, make_user):
    make_user("operator", username="olga")
    page = client.get("/admin/users").text
    assert "olga" in page and "root" in page
    assert "Operator" in page and "Admin" in page and "Active" in page


class TestCreate:
    def test_an_admin_creates_an_account_that_can_sign_in(self, app, client):
        answer = create(client)
        assert answer.status_code == 303 and answer.location == "/admin/users"
        assert "Account ivan created." in client.get("/admin/users").text
        ivan = user_named("ivan")
        assert ivan.role == "operator" and ivan.display_name == "Иван Петров" and ivan.active
        assert log_in(app.test_client(), "ivan", NEW_PASSWORD).status_code == 303

    def test_the_password_is_stored_only_as_a_slow_hash(self, client):
        create(client)
        stored = user_named("ivan").password_hash
        assert NEW_PASSWORD not in stored
        assert stored.startswith("scrypt:")
        assert check_password_hash(stored, NEW_PASSWORD)

    def test_a_short_password_is_refused_with_a_message_by_the_field(self, client):
        answer = create(client, password="eleven char")
        assert answer.status_code == 422
        assert field_error(answer.text, "password") == "Use a password of at least 12 characters."
        assert user_named("ivan") is None

    def test_a_taken_username_is_refused_by_the_field(self, client, make_user):
        make_user("operator", username="ivan")
        answer = create(client, username="Ivan")
        assert answer.status_code == 422
        assert field_error(answer.text, "username") == "The username ivan is already taken."

    def test_a_badly_formed_username_is_refused_by_the_field(self, client):
        answer = create(client, username="ivan petrov")
        assert answer.status_code == 422
        assert "letters, digits" in field_error(answer.text, "username")

    def test_passwords_that_differ_are_refused(self, client):
        answer = create(client, confirm="something else entirely")
        assert answer.status_code == 422
        assert field_error(answer.text, "confirm") == "The two passwords are not the same."

    def test_an_unknown_role_is_refused(self, client):
        answer = create(client, role="superuser")
        assert answer.status_code == 422
        assert field_error(answer.text, "role")
        assert user_named("ivan") is None

    def test_creation_is_audited_with_the_admin_as_actor(self, client, admin):
        create(client)
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user_created"))
        assert entry.user_id == admin.id and "ivan" in entry.detail


class TestDeactivate:
    def test_a_deactivated_account_cannot_sign_in_and_its_sessions_end(self, app, client, make_user):
        olga = make_user("operator", username="olga")
        desk = app.test_client()
        log_in(desk, "olga")
        answer = client.post(f"/admin/users/{olga.id}/deactivate")
        assert answer.status_code == 303
        assert "Account olga deactivated" in client.get("/admin/users").text
        assert desk.get("/operator/").status_code == 302
        assert log_in(app.test_client(), "olga").status_code == 401
        assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "user_deactivated"))

    def test_a_reactivated_account_can_sign_in_again(self, app, client, make_user):
        olga = make_user("operator", username="olga")
        client.post(f"/admin/users/{olga.id}/deactivate")
        client.post(f"/admin/users/{olga.id}/reactivate")
        assert "Account olga can sign in again." in client.get("/admin/users").text
        assert log_in(app.test_client(), "olga").status_code == 303

    def test_an_admin_cannot_deactivate_themselves(self, client, admin):
        client.post(f"/admin/users/{admin.id}/deactivate")
        assert "You cannot deactivate your own account." in client.get("/admin/users").text
        assert client.get("/admin/users").status_code == 200

    def test_an_unknown_account_is_404(self, client):
        assert client.post("/admin/users/9999/deactivate").status_code == 404

    def test_deactivate_is_post_only(self, client, make_user):
        assert client.get(f"/admin/users/{make_user('operator').id}/deactivate").status_code == 405


class TestResetPassword:
    def test_the_page_names_the_account(self, client, make_user):
        olga = make_user("operator", username="olga")
        page = client.get(f"/admin/users/{olga.id}/password").text
        assert "New password for olga" in re.sub(r"<[^>]+>", "", page)  # the username is marked as data

    def test_a_new_password_works_and_every_old_session_ends(self, app, client, make_user):
        olga = make_user("operator", username="olga")
        desk = app.test_client()
        log_in(desk, "olga")
        answer = client.post(f"/admin/users/{olga.id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert answer.status_code == 303
        assert desk.get("/operator/").status_code == 302
        assert log_in(app.test_client(), "olga", NEW_PASSWORD).status_code == 303
        assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "password_reset"))

    def test_a_short_password_is_refused_by_the_field(self, client, make_user):
        olga = make_user("operator", username="olga")
        answer = client.post(f"/admin/users/{olga.id}/password", data={"password": "short", "confirm": "short"})
        assert answer.status_code == 422
        assert field_error(answer.text, "password") == "Use a password of at least 12 characters."

    def test_an_admin_resetting_their_own_password_stays_signed_in(self, client, admin):
        client.post(f"/admin/users/{admin.id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert client.get("/admin/users").status_code == 200

    def test_an_unknown_account_is_404(self, client):
        assert client.get("/admin/users/9999/password").status_code == 404
        assert client.post("/admin/users/9999/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404


class TestCsrf:
    @pytest.fixture
    def app_settings(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_buttons_without_a_token_are_refused_and_the_admin_sent_back(self, client, make_user):
        olga = make_user("operator", username="olga")
        answer = client.post(f"/admin/users/{olga.id}/deactivate", headers={"Referer": "http://localhost/admin/users"})
        assert answer.status_code == 302 and answer.headers["Location"] == "/admin/users"
        assert user_named("olga").active

    def test_the_list_gives_each_button_a_token(self, client, make_user):
        make_user("operator", username="olga")
        page = client.get("/admin/users").text
        assert page.count('name="csrf_token"') >= 3  # create form, a button, the sign-out button
