"""The language cookie follows the session cookie's Secure flag (the scan's one low finding)."""
from __future__ import annotations

import pytest


@pytest.fixture
def app_settings() -> dict:
    return {"SESSION_COOKIE_SECURE": True}


def test_the_language_cookie_is_secure_where_the_session_cookie_is(client):
    cookie = client.get("/lang/en").headers["Set-Cookie"]
    assert "lang=en" in cookie and "Secure" in cookie and "HttpOnly" in cookie
