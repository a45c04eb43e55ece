"""The accounts service and `flask users create` on a real database."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from leads.extensions import db
from leads.models import AuditEntry, LoginFailure, User
from leads.services import accounts
from leads.services.accounts import (
    Actor,
    BadCredentials,
    CannotDeactivateSelf,
    DuplicateUsername,
    InvalidUsername,
    LoginThrottled,
    PasswordTooShort,
    UnknownRole,
    authenticate,
    create_user,
    deactivate_user,
    reset_password,
    sign_out,
)
from leads.services.demo_users import DEMO_USERS, load_demo_users
from tests.conftest import at, utc

PASSWORD = "correct horse battery"
NOW = utc(at("2026-11-24 10:00"))


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


class TestCreateUser:
    def test_stores_a_lowercase_username_and_a_scrypt_hash(self, app):
        user = create_user(" Ivan ", "manager", PASSWORD, display_name="Иван")
        assert user.username == "ivan" and user.role == "manager" and user.active
        assert user.password_hash.startswith("scrypt:") and check_password_hash(user.password_hash, PASSWORD)
        assert actions() == ["user_created"]

    def test_the_display_name_defaults_to_the_username(self, app):
        assert create_user("ivan", "operator", PASSWORD).display_name == "ivan"

    def test_twelve_characters_is_enough_eleven_is_not(self, app):
        create_user("ivan", "operator", "mx7-kq2-vb9z")
        with pytest.raises(PasswordTooShort):
            create_user("olga", "operator", "mx7-kq2-vb9")

    def test_a_duplicate_name_is_refused_whatever_its_case(self, app):
        create_user("ivan", "operator", PASSWORD)
        with pytest.raises(DuplicateUsername):
            create_user("IVAN", "admin", PASSWORD)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1

    @pytest.mark.parametrize("role", ["root", "", "Operator"])
    def test_an_unknown_role_is_refused(self, app, role):
        with pytest.raises(UnknownRole):
            create_user("ivan", role, PASSWORD)

    @pytest.mark.parametrize("username", ["", "i", "ivan petrov", "-ivan", "иван", "x" * 65])
    def test_a_badly_formed_username_is_refused(self, app, username):
        with pytest.raises(InvalidUsername):
            create_user(username, "operator", PASSWORD)


class TestAuthenticate:
    def test_the_right_password_returns_the_user_and_records_the_time(self, app, make_user):
        user = make_user("operator", username="olga")
        assert authenticate("olga", PASSWORD, ip="10.0.0.1", now=NOW).id == user.id
        assert user.last_login_at == NOW
        entry = db.session.scalar(sa.select(AuditEntry))
        assert (entry.action, entry.user_id, entry.ip) == ("login", user.id, "10.0.0.1")

    def test_failures_are_recorded_for_throttling_and_audit(self, app, make_user):
        make_user("operator", username="olga")
        with pytest.raises(BadCredentials):
            authenticate("olga", "wrong password", ip="10.0.0.1", now=NOW)
        assert db.session.scalar(sa.select(LoginFailure.username)) == "olga"
        assert actions() == ["login_failed"]

    def test_a_throttled_attempt_says_when_the_next_is_taken(self, app, make_user):
        make_user("operator", username="olga")
        for minute in (0, 2, 4, 6, 8):
            with pytest.raises(BadCredentials):
                authenticate("olga", "wrong", ip="10.0.0.1", now=NOW + timedelta(minutes=minute))
        with pytest.raises(LoginThrottled) as throttled:
            authenticate("olga", PASSWORD, ip="10.0.0.1", now=NOW + timedelta(minutes=8, seconds=29))
        assert throttled.value.until == NOW + timedelta(minutes=8, seconds=30)
        assert authenticate("olga", PASSWORD, ip="10.0.0.2", now=NOW + timedelta(minutes=8, seconds=29))


class TestRevocation:
    def test_sign_out_rotates_the_session_token(self, app, make_user):
        user = make_user("operator")
        before = user.get_id()
        sign_out(user.id, ip="10.0.0.1")
        assert user.get_id() != before
        assert actions() == ["logout"]

    def test_reset_password_rotates_the_token_and_changes_the_hash(self, app, make_user):
        admin, user = make_user("admin"), make_user("operator")
        token = user.session_token
        reset_password(user.id, "a brand new password", Actor(admin.id, "10.0.0.2"))
        assert user.session_token != token
        assert check_password_hash(user.password_hash, "a brand new password")
        entry = db.session.scalar(sa.select(AuditEntry))
        assert (entry.action, entry.user_id) == ("password_reset", admin.id)

    def test_reset_password_checks_the_length_first(self, app, make_user):
        user = make_user("operator")
        token = user.session_token
        with pytest.raises(PasswordTooShort):
            reset_password(user.id, "short")
        assert user.session_token == token

    def test_deactivation_rotates_the_token(self, app, make_user):
        user = make_user("operator")
        token = user.session_token
        deactivate_user(user.id)
        assert not user.active and user.session_token != token
        assert actions() == ["user_deactivated"]

    def test_nobody_deactivates_themselves(self, app, make_user):
        admin = make_user("admin")
        with pytest.raises(CannotDeactivateSelf):
            deactivate_user(admin.id, Actor(admin.id))
        assert admin.active


class TestDemoUsers:
    def test_creates_one_login_per_role_and_prints_how_to_sign_in(self, app):
        lines = load_demo_users()
        assert lines == [f"demo login: {name} / {password} ({role})" for name, role, password, _ in DEMO_USERS]
        for name, role, password, _ in DEMO_USERS:
            assert authenticate(name, password).role == role

    def test_is_idempotent(self, app):
        first = load_demo_users()
        assert load_demo_users() == first
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 3

    def test_says_so_when_a_demo_password_was_changed(self, app):
        load_demo_users()
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        reset_password(admin.id, "changed by the clinic")
        assert "demo login: admin exists with another password (admin)" in load_demo_users()

    def test_demo_passwords_meet_the_length_rule(self):
        assert all(len(password) >= accounts.MIN_PASSWORD_LENGTH for _, _, password, _ in DEMO_USERS)


class TestCli:
    @pytest.fixture
    def app_settings(self):
        """The command speaks the clinic's default language; these checks read the English msgids."""
        return {"BABEL_DEFAULT_LOCALE": "en"}

    def test_creates_a_user_with_the_password_given(self, runner):
        result = runner.invoke(args=["users", "create", "ivan", "--role", "operator", "--password", PASSWORD])
        assert result.exit_code == 0, result.output
        assert "created ivan (operator)" in result.output
        assert authenticate("ivan", PASSWORD).role == "operator"

    def test_asks_twice_for_a_hidden_password_when_none_is_given(self, runner):
        result = runner.invoke(args=["users", "create", "ivan", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n")
        assert result.exit_code == 0, result.output
        assert "Password" in result.output and "Repeat the password" in result.output
        assert PASSWORD not in result.output
        assert authenticate("ivan", PASSWORD).role == "admin"

    def test_asks_again_when_the_two_passwords_differ(self, runner):
        result = runner.invoke(
            args=["users", "create", "ivan", "--role", "admin"],
            input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
        )
        assert result.exit_code == 0, result.output
        assert "do not match" in result.output

    def test_a_duplicate_name_is_a_clear_error(self, runner, make_user):
        make_user("operator", username="ivan")
        result = runner.invoke(args=["users", "create", "ivan", "--role", "operator", "--password", PASSWORD])
        assert result.exit_code == 1
        assert "Error: The username ivan is already taken." in result.output

    def test_a_bad_role_is_a_clear_error(self, runner):
        result = runner.invoke(args=["users", "create", "ivan", "--role", "boss", "--password", PASSWORD])
        assert result.exit_code == 1
        assert "Error: Choose one of the roles: operator, manager, admin." in result.output

    def test_a_short_password_is_a_clear_error(self, runner):
        result = runner.invoke(args=["users", "create", "ivan", "--role", "operator", "--password", "short"])
        assert result.exit_code == 1
        assert "Error: Use a password of at least 12 characters." in result.output
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0

    def test_the_role_is_required(self, runner):
        result = runner.invoke(args=["users", "create", "ivan", "--password", PASSWORD])
        assert result.exit_code == 2 and "--role" in result.output
