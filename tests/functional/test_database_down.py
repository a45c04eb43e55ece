"""With no database at all, the patient is still answered and nothing is lost."""
from __future__ import annotations

import pytest

from leads.app import create_app
from leads.services.intake import spool


@pytest.fixture
def app_without_database(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    url = f"sqlite:///{tmp_path}/missing-dir/nowhere.sqlite3"  # the directory does not exist
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        yield app


def test_health_is_503_when_the_database_is_down(app_without_database):
    response = app_without_database.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"database": "unavailable", "spool": 0}


def test_the_form_and_api_still_answer_and_spool(app_without_database):
    client = app_without_database.test_client()
    assert client.get("/").status_code == 200
    form = client.post("/callback", data={"name": "Пётр", "phone": "+79161234567", "consent": "y"})
    assert form.status_code == 303
    assert client.get(form.headers["Location"]).status_code == 200
    api = client.post("/api/v1/leads", json={"name": "Пётр", "phone": "+79161234568", "consent": True})
    assert api.status_code == 201
    assert spool().size() == 2
