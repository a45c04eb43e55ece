"""Finding 7: a patient's name, phone or a note never travels in a URL (logged in full), nor in a log."""
from __future__ import annotations

import re
from urllib.parse import unquote

from leads.logs import redact
from tests.functional.test_booking_http import add_doctor
from tests.functional.test_operator_desk import MONDAY_10, frozen
from tests.factories import new_lead

NAME = "Иванова"


def test_a_search_sent_to_login_does_not_carry_the_query_into_next(client):
    response = client.get("/operator/search", query_string={"q": NAME, "state": "new"})
    assert response.status_code == 302
    location = unquote(response.headers["Location"])
    assert NAME not in location and "q=" not in location
    assert location.startswith("/login?next=/operator/search")


def test_an_htmx_request_sent_to_login_does_not_carry_the_query_either(client):
    response = client.get(
        "/operator/queue/live",
        headers={"HX-Request": "true", "HX-Current-URL": f"http://localhost/operator/search?q={NAME}"},
    )
    assert response.status_code == 401
    assert NAME not in unquote(response.headers["HX-Redirect"])


def test_the_search_form_posts_its_query(operator_client):
    new_lead(name="Анна Иванова")
    with frozen(MONDAY_10, operator_client):
        form = operator_client.get("/operator/search").text
        assert re.search(r'<form method="post" action="/operator/search"', form)
        found = operator_client.post("/operator/search", data={"q": NAME}).text
        by_address = operator_client.get("/operator/search", query_string={"q": NAME}).text
        queue = operator_client.get("/operator/").text
    assert "Анна Иванова" in found
    assert "Анна Иванова" not in by_address  # a query in the address is not searched (nor kept)
    assert re.search(r'<form method="post" action="/operator/search"[^>]*class="quick-search"', queue)


def test_the_booking_panel_keeps_the_note_in_the_page_not_in_the_paging_address(operator_client):
    add_doctor()
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        card = operator_client.get(f"/operator/leads/{lead_id}").text
        panel = operator_client.get(f"/operator/leads/{lead_id}/slots", query_string={"note": "позвонить маме"}).text
    assert 'hx-include="#book-note"' not in card
    assert re.search(r'<textarea id="book-note"[^>]*hx-preserve', card)
    assert "позвонить маме" not in panel


def test_logged_addresses_lose_search_terms_and_notes_even_url_encoded():
    line = 'GET /login?next=%2Foperator%2Fsearch%3Fq%3D%D0%98%D0%B2%26state%3Dnew&x=1 "/slots?day=1&note=abc"'
    masked = redact(line)
    assert "%D0%98" not in masked and "note=abc" not in masked
