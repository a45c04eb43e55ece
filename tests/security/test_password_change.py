"""Finding 12 (passwords): staff change their own password with the current one, and no account
gets a password from the lists of common passwords."""
from __future__ import annotations

import pytest

from leads.services.accounts import PasswordTooCommon, create_user
from tests.functional.test_auth import PASSWORD, log_in

NEW = "a quiet harbour at dawn"


@pytest.fixture
def client(app):
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    return browser


@pytest.fixture
def olga(make_user):
    return make_user("operator", username="olga")


def change(client, current, new, confirm=None):
    return client.post(
        "/account/password", data={"current_password": current, "password": new, "confirm": confirm or new}
    )


def test_a_signed_in_person_changes_their_password_with_the_current_one(app, client, olga):
    log_in(client, "olga")
    other_computer = app.test_client()
    log_in(other_computer, "olga")
    assert 'name="current_password"' in client.get("/account/password").text
    answer = change(client, PASSWORD, NEW)
    assert answer.status_code == 303
    assert client.get("/operator/").status_code == 200  # this session goes on
    assert other_computer.get("/operator/").status_code == 302  # the others end
    client.post("/logout")
    assert log_in(client, "olga", PASSWORD).status_code == 401
    assert log_in(client, "olga", NEW).status_code == 303


def test_a_wrong_current_password_is_refused_by_its_field(client, olga):
    log_in(client, "olga")
    answer = change(client, "not my password", NEW)
    assert answer.status_code == 422
    assert "Your current password is not right." in answer.text
    client.post("/logout")
    assert log_in(client, "olga", PASSWORD).status_code == 303


def test_guessing_the_current_password_is_throttled_like_signing_in(client, olga):
    log_in(client, "olga")
    for _ in range(5):
        assert change(client, "a guess at it", NEW).status_code == 422
    assert change(client, PASSWORD, NEW).status_code == 429


@pytest.mark.parametrize("common", ["password1234", "qwerty123456", "123456789012", "1q2w3e4r5t6y"])
def test_a_common_password_is_refused_everywhere(app, client, olga, common):
    log_in(client, "olga")
    answer = change(client, PASSWORD, common)
    assert answer.status_code == 422
    assert "This password is on a list of common passwords. Choose another." in answer.text
    with pytest.raises(PasswordTooCommon):
        create_user("pavel", "operator", common)


def test_the_page_needs_a_signed_in_person(client):
    assert client.get("/account/password").status_code == 302
