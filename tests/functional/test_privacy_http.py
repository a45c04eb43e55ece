"""/manager/privacy and /manager/audit over HTTP: who may use them, lookup, export, erase, the log."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import AuditEntry
from leads.services.audit import record_audit
from tests.conftest import at, sign_in, utc
from tests.factories import lead, new_lead

ANNA = "+79161234567"


@pytest.fixture
def manager(make_user):
    return make_user("manager", "marina")


@pytest.fixture
def client(app, manager):
    """The manager's browser, in English."""
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    sign_in(browser, manager)
    return browser


@pytest.mark.parametrize("path", ["/manager/privacy", "/manager/audit"])
def test_only_managers_and_admins_may_open_the_pages(app, make_user, path):
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 302
    for role, status in (("operator", 403), ("manager", 200), ("admin", 200)):
        browser = app.test_client()
        sign_in(browser, make_user(role))
        assert browser.get(path).status_code == status, role


def test_an_operator_cannot_erase(app, make_user):
    lead_id = new_lead(phone=ANNA)
    browser = app.test_client()
    sign_in(browser, make_user("operator"))

    assert browser.post("/manager/privacy/erase", data={"phone": ANNA, "confirm": "y"}).status_code == 403
    assert lead(lead_id).phone == ANNA


def test_a_lookup_in_any_format_shows_what_is_held_and_is_audited(client, manager):
    lead_id = new_lead(phone=ANNA, name="Анна Иванова")

    page = client.post("/manager/privacy", data={"phone": "8 (916) 123-45-67"})

    assert page.status_code == 200
    assert "Анна Иванова" in page.text and "+7 916 123-45-67" in page.text
    assert "Export JSON" in page.text and "Erase" in page.text
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "privacy_lookup"))
    assert (entry.user_id, entry.lead_id) == (manager.id, lead_id)


def test_a_lookup_of_something_not_a_phone_says_what_to_enter(client):
    page = client.post("/manager/privacy", data={"phone": "Анна"})

    assert page.status_code == 422
    assert "Enter a phone number" in page.text


def test_the_json_export_downloads_and_is_audited(client):
    new_lead(phone=ANNA, name="Анна Иванова")

    response = client.post("/manager/privacy/export", data={"phone": ANNA, "fmt": "json"})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="patient-79161234567.json"'
    assert json.loads(response.data)["leads"][0]["name"] == "Анна Иванова"
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "privacy_export")) == 1


def test_the_csv_export_starts_with_a_bom(client):
    new_lead(phone=ANNA)

    response = client.post("/manager/privacy/export", data={"phone": ANNA, "fmt": "csv"})

    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeffsection;lead_id;record;field;value".encode("utf-8"))


def test_erasing_asks_for_confirmation_first(client):
    lead_id = new_lead(phone=ANNA, name="Анна Иванова")

    page = client.post("/manager/privacy/erase", data={"phone": ANNA})

    assert page.status_code == 200
    assert "cannot be undone" in page.text
    assert lead(lead_id).name == "Анна Иванова"
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "privacy_erase")) == 0


def test_a_confirmed_erasure_anonymises_and_says_so(client, manager):
    lead_id = new_lead(phone=ANNA, name="Анна Иванова")

    response = client.post("/manager/privacy/erase", data={"phone": ANNA, "confirm": "y"})

    assert response.status_code == 303
    row = lead(lead_id)
    assert (row.name, row.phone, row.state) == ("", "", "closed")
    assert "1 lead(s) anonymised" in client.get(response.headers["Location"]).text
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "privacy_erase"))
    assert (entry.user_id, entry.lead_id) == (manager.id, lead_id)


# -- the audit log -----------------------------------------------------------------------------

@pytest.fixture
def log_rows(app, manager, make_user):
    """Three people's audit rows on two leads over three days."""
    olga = make_user("operator", "olga")
    first, second = new_lead(phone=ANNA), new_lead(phone="+79035550011")
    for who, lead_id, day in ((olga, first, "2026-11-23"), (olga, second, "2026-11-24"), (manager, first, "2026-11-25")):
        record_audit(who.id, "open_card", lead_id=lead_id, detail=f"{who.username} {day}", now=utc(at(f"{day} 12:00")))
    db.session.commit()
    return {"olga": olga, "first": first, "second": second}


def shown_details(page: str) -> list[str]:
    return [d for d in ("olga 2026-11-23", "olga 2026-11-24", "marina 2026-11-25") if d in page]


def test_the_audit_log_lists_everything_newest_first(client, log_rows):
    page = client.get("/manager/audit").text

    assert shown_details(page) == ["olga 2026-11-23", "olga 2026-11-24", "marina 2026-11-25"]
    assert page.index("marina 2026-11-25") < page.index("olga 2026-11-23")


def test_the_audit_log_filters_by_user_lead_and_dates(client, log_rows):
    olga, first = log_rows["olga"], log_rows["first"]

    assert shown_details(client.get(f"/manager/audit?user={olga.id}").text) == ["olga 2026-11-23", "olga 2026-11-24"]
    assert shown_details(client.get(f"/manager/audit?lead={first}").text) == ["olga 2026-11-23", "marina 2026-11-25"]
    by_dates = client.get("/manager/audit?date_from=2026-11-24&date_to=2026-11-25").text
    assert shown_details(by_dates) == ["olga 2026-11-24", "marina 2026-11-25"]
    both = client.get(f"/manager/audit?user={olga.id}&lead={first}&date_to=2026-11-23").text
    assert shown_details(both) == ["olga 2026-11-23"]


def test_a_malformed_filter_is_refused_not_ignored(client, log_rows):
    response = client.get("/manager/audit?date_from=yesterday")

    assert response.status_code == 422


def test_the_audit_log_is_paginated(client, manager):
    start = utc(at("2026-11-23 09:00"))
    for n in range(120):
        record_audit(manager.id, "open_card", detail=f"row-{n:03d};", now=start + timedelta(minutes=n))
    db.session.commit()

    first = client.get("/manager/audit").text
    third = client.get("/manager/audit?page=3").text

    assert "row-119;" in first and "row-070;" in first and "row-069;" not in first
    assert "Page 1 of 3" in first and "page=2" in first
    assert "row-019;" in third and "row-000;" in third and "row-020;" not in third
    assert "Page 3 of 3" in third


# -- visits to mark ----------------------------------------------------------------------------

def test_past_visits_still_scheduled_are_listed_with_a_link_to_their_lead(client):
    from leads.models import Appointment, Doctor

    lead_id = new_lead(phone=ANNA, name="Анна Иванова", state="booked")
    doctor = Doctor(name="Д-р Сидоров", specialty="терапевт")
    db.session.add(doctor)
    db.session.flush()
    past = utc(at("2026-01-12 10:00"))
    db.session.add(Appointment(doctor_id=doctor.id, lead_id=lead_id, starts_at=past, ends_at=past + timedelta(minutes=30)))
    db.session.commit()

    page = client.get("/manager/visits-to-mark").text

    assert "Д-р Сидоров" in page and "Анна Иванова" in page and f"/operator/leads/{lead_id}" in page


def test_erase_sent_without_the_box_ticked_says_what_is_missing(client, manager):
    lead_id = new_lead(phone=ANNA, name="Анна Иванова")

    page = client.post("/manager/privacy/erase", data={"phone": ANNA, "asked": "1"})

    assert page.status_code == 422
    assert "Nothing was erased: tick the box to confirm, then press Erase." in page.text
    assert lead(lead_id).name == "Анна Иванова"
