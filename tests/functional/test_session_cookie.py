"""The session cookie: Flask's own signed cookie, nothing set when nothing is kept."""
from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


def _cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_a_session_signed_by_flasks_own_interface_is_read_the_same(app, make_user):
    """Sessions signed before a deployment with this interface keep working after it."""
    user = make_user("operator")
    flask_cookie = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"_user_id": user.get_id()})
    client = app.test_client()
    client.set_cookie("session", flask_cookie)
    assert client.get("/operator/").status_code == 200  # signed in: the desk, not the login page

    client.set_cookie("session", flask_cookie[:-2] + ("AA" if not flask_cookie.endswith("AA") else "BB"))
    assert client.get("/operator/").status_code in (302, 303)  # a forged signature is nobody


def test_a_new_secret_key_refuses_old_cookies_unless_it_is_a_fallback(app, make_user):
    user = make_user("operator")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    assert client.get("/operator/").status_code == 200

    old_key = app.secret_key
    app.secret_key = "a-rotated-secret"
    assert client.get("/operator/").status_code in (302, 303)

    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get("/operator/").status_code == 200


def test_a_call_to_the_api_sets_no_cookie(client):
    reply = client.post("/api/v1/leads", json={"name": "Анна", "phone": "+7 916 123-45-67", "consent": True})
    assert reply.status_code == 201
    assert "Set-Cookie" not in reply.headers
    assert _cookie(client) is None


def test_the_form_page_still_sets_the_session_its_token_lives_in(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    reply = client.get("/")
    assert reply.status_code == 200
    assert _cookie(client)
    assert "Cookie" in reply.headers.get("Vary", "")
