"""Bad input is refused up front with a message per field, never a 500, never acknowledged and lost.

Each case was measured failing before (issue 10, defects 1-3 and 8).
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from leads.app import create_app
from leads.extensions import db
from leads.models import Lead, LeadRequest
from leads.services.intake import replay_spool, spool

VALID = {"name": "Пётр", "phone": "+79161234567", "consent": True}
FORM = {"name": "Пётр", "phone": "+79161234567", "consent": "y"}


def stored() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LeadRequest))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"page_url": "https://clinic.example/\u0000"}, "page_url"),
        ({"referrer": "https://search.example/?q=\u0000"}, "referrer"),
        ({"utm": {"utm_source": "ya\u0000"}}, "utm.utm_source"),
        ({"utm": {"utm_campaign": "\ud800"}}, "utm.utm_campaign"),  # a lone surrogate
        ({"page_url": "\ud800"}, "page_url"),
        ({"utm": [None, None]}, "utm"),
        ({"utm": {"utm_term": 5}}, "utm.utm_term"),
        ({"page_url": "https://clinic.example/" + "a" * 500}, "page_url"),
        ({"consent": ["yes"]}, "consent"),
        ({"consent": {"a": 1}}, "consent"),
        ({"consent": "yes"}, "consent"),
        ({"consent": False}, "consent"),
        ({"marketing_consent": ["x"]}, "marketing_consent"),
        ({"marketing_consent": "yes"}, "marketing_consent"),
        ({"preferred_time": "9999-12-31T23:59:59+00:00"}, "preferred_time"),
        ({"preferred_time": "0001-01-01T00:00:00+03:00"}, "preferred_time"),
        ({"name": "Пётр\u0000"}, "name"),
        ({"name": " " + "я" * 100}, "name"),  # measured as sent, as the OpenAPI document says
        ({"phone": ""}, "phone"),
    ],
)
def test_the_api_refuses_what_it_cannot_store_with_the_fields_name(client, extra, field):
    response = client.post("/api/v1/leads", json={**VALID, **extra})
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert stored() == 0 and spool().size() == 0


def test_json_nested_deeper_than_the_parser_goes_is_a_400(client):
    body = "[" * 30_000 + "]" * 30_000
    response = client.post("/api/v1/leads", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json["errors"]


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+03:00"])
def test_the_form_refuses_a_time_at_the_end_of_time_next_to_the_field(client, when):
    response = client.post("/callback", data={**FORM, "preferred_time": when})
    assert response.status_code == 422
    assert "Выберите одно из предложенных времён" in response.get_data(as_text=True)
    assert stored() == 0


def test_a_form_with_a_nul_in_its_hidden_utm_is_stored_without_that_value(client):
    """The person cannot see or fix a hidden field: the value that cannot be stored is left out."""
    response = client.post("/callback", data={**FORM, "utm_source": "ya\x00", "utm_medium": "cpc"})
    assert response.status_code == 303
    lead = db.session.scalars(sa.select(Lead)).one()
    assert (lead.utm_source, lead.utm_medium) == ("", "cpc")
    assert spool().size() == 0


@pytest.fixture
def app_on_a_closed_port(tmp_path, monkeypatch):
    """PostgreSQL that refuses connections: the driver's own error must not escape the spool path."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    settings = {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none",
        "SPOOL_PATH": str(tmp_path / "spool.jsonl"),
        "WTF_CSRF_ENABLED": False,
        "CLINIC_PHONE": "+7 495 123-45-67",
    }
    app = create_app("testing", settings)
    with app.app_context():
        yield app
        db.engine.dispose()


def test_postgresql_down_every_request_is_answered_and_spooled(app_on_a_closed_port):
    client = app_on_a_closed_port.test_client()
    assert client.post("/callback", data=FORM).status_code == 303
    assert client.post("/api/v1/leads", json=VALID).status_code == 201
    assert spool().size() == 2
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["spool"] == 2


def test_past_the_spool_cap_the_patient_is_told_to_call_not_thanked(app_on_a_closed_port):
    client = app_on_a_closed_port.test_client()
    assert client.post("/callback", data=FORM).status_code == 303
    app_on_a_closed_port.config["SPOOL_MAX_BYTES"] = spool().path.stat().st_size + 100
    refused = client.post("/callback", data=FORM)
    assert refused.status_code == 503
    page = refused.get_data(as_text=True)
    assert "Сейчас мы не смогли принять вашу заявку" in page and "+7 495 123-45-67" in page
    api = client.post("/api/v1/leads", json=VALID)
    assert api.status_code == 503 and "error" in api.json
    assert spool().size() == 1


def test_replay_moves_a_record_the_database_refuses_aside_and_stores_the_rest(client, monkeypatch):
    """A record refused for its content never blocks replay: it goes to the dead-letter file."""

    def database_down(record, **kwargs):
        raise sa.exc.OperationalError("INSERT", None, ConnectionError("down"))

    with monkeypatch.context() as patch:
        patch.setattr("leads.services.intake.store_request", database_down)
        client.post("/callback", data=FORM)
    [line] = spool().path.read_text().splitlines()
    good = json.loads(line)
    spool().path.unlink()
    spool().append({**good, "public_id": "bad-record", "created_at": "not a time"})  # damaged on disk
    spool().append(good)
    assert replay_spool() == (1, 0)
    assert stored() == 1 and spool().size() == 0
    [dead] = spool().dead_letter_path.read_text().splitlines()
    assert json.loads(dead)["record"]["public_id"] == "bad-record"


def test_a_write_the_database_refuses_for_its_content_is_not_acknowledged(client, monkeypatch):
    def refused(record, **kwargs):
        raise sa.exc.DataError("INSERT", None, ValueError("NUL byte"))

    monkeypatch.setattr("leads.services.intake.store_request", refused)
    response = client.post("/api/v1/leads", json=VALID)
    assert response.status_code == 503
    assert spool().size() == 0
    [dead] = spool().dead_letter_path.read_text().splitlines()
    assert json.loads(dead)["record"]["phone"] == "+79161234567"
