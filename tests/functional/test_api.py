"""POST /api/v1/leads and the OpenAPI document that describes it."""
from __future__ import annotations

import jsonschema
import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import Lead, LeadRequest
from tests.conftest import at

VALID = {"name": "Иван Петров", "phone": "8 (499) 322-23-08", "consent": True}


def leads_stored() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Lead))


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json


def assert_matches(spec, status: int, body) -> None:
    """The body conforms to the schema the document gives for this status."""
    operation = spec["paths"]["/leads"]["post"]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    resolver_schema = {**schema, "components": spec["components"]}
    jsonschema.validate(body, resolver_schema, cls=jsonschema.Draft202012Validator)


@time_machine.travel(at("2026-11-23 10:00"), tick=False)
def test_a_valid_request_returns_201_with_the_promise(client, spec):
    response = client.post("/api/v1/leads", json=VALID, headers={"Accept-Language": "en"})
    assert response.status_code == 201
    assert response.json["promise"] == {
        "kind": "within",
        "minutes": 15,
        "at": None,
        "until": None,
        "text": "We will call you within 15 minutes.",
    }
    assert_matches(spec, 201, response.json)
    assert db.session.scalar(sa.select(Lead.phone)) == "+74993222308"
    assert db.session.scalar(sa.select(LeadRequest.source)) == "api"


@time_machine.travel(at("2026-11-29 12:00"), tick=False)
def test_on_sunday_the_promise_is_monday_nine(client):
    body = client.post("/api/v1/leads", json=VALID).json
    assert body["promise"]["kind"] == "after"
    assert body["promise"]["at"] == "2026-11-30T09:00:00+03:00"
    assert body["promise"]["text"] == "Мы перезвоним вам 30 ноября (понедельник) после 09:00."


@time_machine.travel(at("2026-11-23 10:00"), tick=False)
def test_a_preferred_window_is_promised_back(client):
    start = "2026-11-24T08:00:00+00:00"  # 11:00 in Moscow
    body = client.post("/api/v1/leads", json={**VALID, "preferred_time": start}, headers={"Accept-Language": "en"}).json
    assert body["promise"]["kind"] == "window"
    assert body["promise"]["text"] == "We will call you on Tuesday 24 November between 11:00 and 11:30."
    lead = db.session.scalar(sa.select(Lead))
    assert lead.next_call_at.isoformat() == start


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"name", "phone", "consent"}),
        ({**VALID, "consent": False}, {"consent"}),
        ({**VALID, "phone": "123"}, {"phone"}),
        ({**VALID, "name": 42}, {"name"}),
        ({**VALID, "phone": ["+79161234567"]}, {"phone"}),
        ({**VALID, "name": "x" * 101, "comment": "y" * 501}, {"name", "comment"}),
        ({**VALID, "preferred_time": "2026-11-22T07:00:00+00:00"}, {"preferred_time"}),
    ],
)
def test_invalid_fields_get_422_with_a_message_per_field(client, spec, payload, fields):
    response = client.post("/api/v1/leads", json=payload)
    assert response.status_code == 422
    assert set(response.json["errors"]) == fields
    assert_matches(spec, 422, response.json)
    assert leads_stored() == 0


def test_a_body_that_is_not_json_gets_415(client, spec):
    response = client.post("/api/v1/leads", data="name=Ivan", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "content_type" in response.json["errors"]
    assert_matches(spec, 415, response.json)
    assert leads_stored() == 0


@pytest.mark.parametrize("body", ["[1, 2]", "{broken", '"text"'])
def test_a_json_body_that_is_not_an_object_gets_400(client, spec, body):
    response = client.post("/api/v1/leads", data=body, content_type="application/json")
    assert response.status_code == 400
    assert_matches(spec, 400, response.json)


def test_an_oversize_body_gets_413_and_stores_nothing(client, spec):
    response = client.post("/api/v1/leads", json={**VALID, "comment": "x" * 70_000})
    assert response.status_code == 413
    assert_matches(spec, 413, response.json)
    assert leads_stored() == 0


def test_an_oversize_form_gets_413_page(client):
    response = client.post("/callback", data={"name": "x" * 70_000})
    assert response.status_code == 413
    assert response.mimetype == "text/html"


def test_errors_are_russian_unless_english_is_asked_for(client):
    russian = client.post("/api/v1/leads", json={**VALID, "name": ""}).json
    english = client.post("/api/v1/leads", json={**VALID, "name": ""}, headers={"Accept-Language": "en-GB,en"}).json
    assert russian["errors"]["name"] == ["Введите ваше имя."]
    assert english["errors"]["name"] == ["Enter your name."]


class TestCors:
    @pytest.fixture
    def app_settings(self):
        return {"CORS_ALLOWED_ORIGINS": ["https://clinic.example"]}

    def test_an_allowed_origin_gets_cors_headers(self, client):
        response = client.post("/api/v1/leads", json=VALID, headers={"Origin": "https://clinic.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "https://clinic.example"

    def test_a_preflight_from_an_allowed_origin_is_answered(self, client):
        response = client.options(
            "/api/v1/leads",
            headers={"Origin": "https://clinic.example", "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 204
        assert "POST" in response.headers["Access-Control-Allow-Methods"]

    def test_another_origin_gets_no_cors_headers(self, client):
        response = client.post("/api/v1/leads", json=VALID, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers


def test_the_openapi_document_describes_the_endpoint(spec):
    assert spec["openapi"].startswith("3.")
    operation = spec["paths"]["/leads"]["post"]
    assert {"201", "422", "429", "415", "413"} <= set(operation["responses"])
    jsonschema.Draft202012Validator.check_schema(spec["components"]["schemas"]["LeadRequest"])
    request_schema = spec["components"]["schemas"]["LeadRequest"]
    jsonschema.validate({**VALID, "phone": "+74993222308"}, request_schema)
    assert set(request_schema["required"]) == {"name", "phone", "consent"}
