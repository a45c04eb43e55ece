"""Finding 1: every `next` goes through one check, so no switch or form becomes an open redirect."""
from __future__ import annotations

import pytest

from leads.redirects import local_path

HOSTILE = [
    "/%09/evil.example/",  # a tab: passes a naive check and is stripped on the wire
    "/%0a/evil.example/",  # a newline: used to answer 500
    "/%0d/evil.example/",
    "//evil.example/",
    "/%2F/evil.example/",  # decoded before the check
    "/\\evil.example/",
    "/%5Cevil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "/%E3%80%80/evil.example/",  # an ideographic space
    "/%C2%A0/evil.example/",  # a no-break space
]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_never_sends_anyone_off_the_site(client, target):
    response = client.get(f"/lang/en?next={target}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_the_language_switch_still_returns_to_the_page_with_its_query(client):
    response = client.get("/lang/en?next=/login%3Fnext%3D/operator/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/operator/"


@pytest.mark.parametrize("target", ["/\t/evil.example/", "//evil.example/", "/\n/evil.example/"])
def test_login_refuses_the_same_targets(client, make_user, target):
    make_user("operator", username="olga", password="correct horse battery")
    response = client.post(
        "/login", data={"username": "olga", "password": "correct horse battery", "next": target}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/operator/"


def test_local_path_is_pure_and_keeps_good_paths():
    assert local_path("/operator/leads/3?tab=calls") == "/operator/leads/3?tab=calls"
    assert local_path("/\t/evil.example/") is None
    assert local_path("") is None and local_path(None) is None
