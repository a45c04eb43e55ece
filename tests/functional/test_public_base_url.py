"""Addresses given to patients and stored with requests never come from the Host header (issue 11, finding 11)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import LeadRequest

VALID = {"name": "Пётр", "phone": "+79161234567", "consent": True}
EVIL = {"Host": "evil.example"}


class TestConfigured:
    @pytest.fixture
    def app_settings(self):
        return {"PUBLIC_BASE_URL": "https://desk.clinic.example/"}

    def test_the_api_thanks_url_is_on_the_public_base_url(self, client):
        response = client.post("/api/v1/leads", json=VALID, headers=EVIL)
        assert response.json["thanks_url"] == f"https://desk.clinic.example/thanks/{response.json['public_id']}"

    def test_the_form_page_address_is_on_the_public_base_url(self, client):
        html = client.get("/?utm_source=ya", headers=EVIL).get_data(as_text=True)
        assert 'value="https://desk.clinic.example/?utm_source=ya"' in html
        assert "evil.example" not in html


def test_unset_the_addresses_are_relative_to_the_desk(client):
    response = client.post("/api/v1/leads", json=VALID, headers=EVIL)
    assert response.json["thanks_url"] == f"/thanks/{response.json['public_id']}"
    html = client.get("/", headers=EVIL).get_data(as_text=True)
    assert "evil.example" not in html
    client.post("/callback", data={**VALID, "consent": "y", "phone": "+79161234568", "page_url": "/"})
    pages = db.session.scalars(sa.select(LeadRequest.page_url).order_by(LeadRequest.id)).all()
    assert pages == ["", "/"]
