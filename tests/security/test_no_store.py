"""Finding 11: pages that show patients are never kept by the browser or a proxy."""
from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.factories import new_lead


@pytest.fixture
def manager_client(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("manager"))
    return client


def test_the_queue_and_the_card_say_no_store(operator_client):
    lead_id = new_lead()
    for url in ("/operator/", f"/operator/leads/{lead_id}", "/operator/appointments"):
        response = operator_client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url


def test_the_report_csv_and_the_audit_log_say_no_store(manager_client):
    for url in ("/manager/reports.csv?table=campaigns", "/manager/audit"):
        response = manager_client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url


def test_the_public_form_may_be_cached_as_before(client):
    assert "no-store" not in client.get("/callback").headers.get("Cache-Control", "")
