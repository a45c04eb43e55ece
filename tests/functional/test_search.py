"""Finding leads from the desk, and the audit trail page only managers and admins see."""
from __future__ import annotations

import pytest

from tests.functional.test_operator_desk import MONDAY_10, frozen
from tests.factories import new_lead

JSON = {"Accept": "application/json"}


@pytest.fixture
def book(app):
    return {
        "anna": new_lead(phone="+79161234567", name="Анна Иванова"),
        "petr": new_lead(phone="+74993222308", name="Пётр Соколов"),
    }


def search(client, **params):
    with frozen(MONDAY_10, client):
        return client.post("/operator/search", data=params)


@pytest.mark.parametrize("q", ["8 (916) 123-45-67", "+7 916 123 45 67", "4567", "иванова", "АННА"])
def test_the_search_page_lists_what_matches(operator_client, book, q):
    page = search(operator_client, q=q)

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/operator/leads/{book["anna"]}"' in html and "+7 916 123-45-67" in html
    assert "Пётр" not in html


def test_the_search_page_filters_by_state(operator_client, book):
    html = search(operator_client, q="", state="new").get_data(as_text=True)
    assert "Анна Иванова" in html and "Пётр Соколов" in html

    html = search(operator_client, q="анна", state="closed").get_data(as_text=True)
    assert "Анна Иванова" not in html and "Nothing found." in html


def test_an_empty_search_shows_the_form_and_no_verdict(operator_client, book):
    page = search(operator_client)

    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="q"' in html
    assert "Nothing found." not in html and "Анна" not in html


def test_an_unknown_state_is_refused_by_the_field(operator_client, book):
    page = search(operator_client, q="анна", state="lost")
    with frozen(MONDAY_10, operator_client):
        as_json = operator_client.post("/operator/search", data={"q": "анна", "state": "lost"}, headers=JSON)

    assert page.status_code == 422 and 'id="state-error"' in page.get_data(as_text=True)
    assert as_json.status_code == 422 and list(as_json.get_json()["errors"]) == ["state"]


def test_search_answers_json_clients_with_results(operator_client, book):
    with frozen(MONDAY_10, operator_client):
        answer = operator_client.post("/operator/search", data={"q": "пётр"}, headers=JSON)

    [hit] = answer.get_json()["results"]
    assert (hit["lead_id"], hit["name"], hit["phone"], hit["state"]) == (book["petr"], "Пётр Соколов", "+74993222308", "new")
    assert hit["url"] == f"/operator/leads/{book['petr']}"


def test_the_queue_page_has_a_search_box(operator_client):
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get("/operator/").get_data(as_text=True)

    assert 'action="/operator/search"' in html and 'name="q"' in html


# -- the audit trail page ----------------------------------------------------------------------


def test_the_audit_page_is_403_for_an_operator(operator_client, book):
    with frozen(MONDAY_10, operator_client):
        assert operator_client.get(f"/operator/leads/{book['anna']}/audit").status_code == 403


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_a_manager_or_admin_sees_who_opened_the_card(app, make_user, operator_client, book, role):
    boss = app.test_client()
    boss.user = make_user(role, "maria")
    with frozen(MONDAY_10, operator_client, boss):
        operator_client.get(f"/operator/leads/{book['anna']}", environ_base={"REMOTE_ADDR": "10.0.0.8"})
        operator_client.post(f"/operator/leads/{book['anna']}/outcome", data={"outcome": "busy"})
        card = boss.get(f"/operator/leads/{book['anna']}").get_data(as_text=True)
        page = boss.get(f"/operator/leads/{book['anna']}/audit")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/operator/leads/{book["anna"]}/audit"' in card  # the card links to it for managers
    assert html.count("Opened the card") == 2 and "Recorded an outcome" in html
    assert operator_client.user.display_name in html and "Maria" in html and "10.0.0.8" in html
