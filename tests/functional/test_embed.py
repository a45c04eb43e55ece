"""Who may frame which page: the embed flow for the allowed clinic sites, nothing else."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

CLINIC = "https://clinic.example"
FORM = {"name": "Анна", "phone": "8 (916) 123-45-67", "consent": "y"}


@pytest.fixture
def app_settings() -> dict:
    return {"EMBED_ALLOWED_ORIGINS": [CLINIC], "WTF_CSRF_ENABLED": True}


@pytest.fixture
def client(app):
    """A browser on the desk's own page: it says so in every post's Origin."""
    browser = app.test_client()
    browser.environ_base["HTTP_ORIGIN"] = "http://localhost"
    return browser


def frame_ancestors(response) -> str:
    csp = response.headers["Content-Security-Policy"]
    match = re.search(r"frame-ancestors ([^;]+)", csp)
    assert match, csp
    return match.group(1).strip()


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the form (CSRF token, start time, page, UTM, embed)."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' not in tag:
            continue
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = value.group(1).replace("&amp;", "&") if value else ""
    return fields


def form_action(html: str) -> str:
    return re.search(r'<form method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")


def send_request(client, form_path: str):
    """Open the form at `form_path`, send it filled in; (the POST answer, the thanks page)."""
    page = client.get(form_path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    posted = client.post(form_action(html), data={**hidden_fields(html), **FORM})
    assert posted.status_code == 303, posted.get_data(as_text=True)[:500]
    location = urlsplit(posted.headers["Location"])
    thanks = client.get(f"{location.path}?{location.query}" if location.query else location.path)
    assert thanks.status_code == 200
    return posted, thanks


def test_embed_may_be_framed_by_the_allowed_origins_only(client):
    response = client.get("/embed?page=https://clinic.example/doctors&utm_source=test")
    assert response.status_code == 200
    assert frame_ancestors(response) == f"'self' {CLINIC}"
    assert "X-Frame-Options" not in response.headers


def test_embed_without_allowed_origins_is_framed_by_the_desk_only(app, client):
    app.config["EMBED_ALLOWED_ORIGINS"] = []
    response = client.get("/embed")
    assert frame_ancestors(response) == "'self'"
    assert "X-Frame-Options" not in response.headers


def test_the_form_page_may_not_be_framed(client):
    response = client.get("/")
    assert response.status_code == 200
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/consent", "/healthz"])
def test_other_pages_may_not_be_framed(client, path):
    response = client.get(path)
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_thanks_page_of_the_embed_flow_may_be_framed(client):
    posted, thanks = send_request(client, "/embed?page=https://clinic.example/&utm_source=test")
    assert "embed=1" in posted.headers["Location"]
    assert frame_ancestors(thanks) == f"'self' {CLINIC}"
    assert "X-Frame-Options" not in thanks.headers
    assert 'class="promise"' in thanks.get_data(as_text=True)


def test_thanks_page_of_the_form_may_not_be_framed(client):
    posted, thanks = send_request(client, "/")
    assert "embed=1" not in posted.headers["Location"]
    assert frame_ancestors(thanks) == "'none'"
    assert thanks.headers["X-Frame-Options"] == "DENY"


def test_the_embedded_form_with_errors_stays_frameable(client):
    html = client.get("/embed").get_data(as_text=True)
    answer = client.post(form_action(html), data={**hidden_fields(html), **FORM, "phone": "123"})
    assert answer.status_code == 422
    assert frame_ancestors(answer) == f"'self' {CLINIC}"
    assert "X-Frame-Options" not in answer.headers


def test_the_embedded_form_needs_no_cookie(app, client):
    """On a clinic site of another domain the browser sends the frame no cookies."""
    html = client.get("/embed?lang=en").get_data(as_text=True)
    cookieless = app.test_client(use_cookies=False)
    posted = cookieless.post(form_action(html), data={**hidden_fields(html), **FORM},
                             headers={"Origin": "http://localhost"})
    assert posted.status_code == 303
    assert "lang=en" in posted.headers["Location"]
    thanks = cookieless.get(posted.headers["Location"])
    assert "Thank you! Your request has been received." in thanks.get_data(as_text=True)


def test_an_embedded_post_from_another_site_is_refused_inside_the_frame(client):
    html = client.get("/embed").get_data(as_text=True)
    answer = client.post(form_action(html), data={**hidden_fields(html), **FORM},
                         headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert frame_ancestors(answer) == f"'self' {CLINIC}"


@pytest.mark.parametrize("started", ["", "forged.token"])
def test_an_embedded_form_without_our_start_time_explains_itself_inside_the_frame(client, started):
    html = client.get("/embed").get_data(as_text=True)
    answer = client.post(form_action(html), data={**hidden_fields(html), **FORM, "started": started})
    assert answer.status_code == 400
    assert "expired" in answer.get_data(as_text=True) or "устарела" in answer.get_data(as_text=True)
    assert frame_ancestors(answer) == f"'self' {CLINIC}"


def test_an_embedded_form_older_than_twelve_hours_is_refused(client):
    import time_machine

    with time_machine.travel("2026-11-23 10:00 +03:00", tick=False) as clock:
        html = client.get("/embed").get_data(as_text=True)
        clock.shift(12 * 3600 + 1)
        answer = client.post(form_action(html), data={**hidden_fields(html), **FORM})
    assert answer.status_code == 400


def test_the_page_form_still_needs_its_csrf_token(client):
    answer = client.post("/callback", data=FORM)
    assert answer.status_code == 400
    assert frame_ancestors(answer) == "'none'"


def test_widget_is_served_as_javascript(client):
    response = client.get("/static/widget.js")
    assert response.status_code == 200
    # With nosniff, a browser runs a cross-origin script only under a JavaScript type.
    assert response.mimetype in {"text/javascript", "application/javascript"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_data(as_text=True)
    assert "/embed?" in body
    # No HTML from strings: hosts enforcing Trusted Types must not break.
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write", body)


@pytest.mark.parametrize("headers", [{"Origin": "null"}, {"Origin": ""}, {"Origin": "", "Referer": ""}])
def test_an_embedded_post_that_does_not_say_where_it_came_from_is_refused_clearly(app, headers):
    client = app.test_client()
    html = client.get("/embed?lang=en").get_data(as_text=True)
    answer = client.post(form_action(html), data={**hidden_fields(html), **FORM}, headers=headers)
    assert answer.status_code == 403
    assert "can only be sent from the clinic" in answer.get_data(as_text=True)


def test_an_embedded_form_is_taken_once(client):
    html = client.get("/embed?lang=en").get_data(as_text=True)
    first = client.post(form_action(html), data={**hidden_fields(html), **FORM})
    again = client.post(form_action(html), data={**hidden_fields(html), **FORM, "phone": "+79161112233"})
    assert first.status_code == 303
    assert again.status_code == 400 and "send it again" in again.get_data(as_text=True)
