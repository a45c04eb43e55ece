"""/admin/doctors and /admin/closures: an admin adds, edits, deactivates doctors and closes days;
operators and managers get 403."""
from __future__ import annotations

import html as html_text
from datetime import date, time

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Closure, Doctor
from leads.services.appointments import find_free_slots
from leads.services.doctors import plan_from_json
from tests.conftest import at, sign_in
from tests.functional.test_operator_desk import MONDAY_10, frozen


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root")


@pytest.fixture
def client(app, admin):
    """The admin's browser, in English."""
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    sign_in(browser, admin)
    return browser


def field_error(page: str, field: str) -> str:
    """The message shown beside `field` ('' if none)."""
    marker = f'<p class="field-error" id="{field}-error">'
    return html_text.unescape(page.split(marker, 1)[1].split("</p>", 1)[0]) if marker in page else ""


def doctor_named(name: str) -> Doctor | None:
    return db.session.scalar(sa.select(Doctor).where(Doctor.name == name), execution_options={"populate_existing": True})


def add(client, name="Dr Petrova", specialty="Therapist", plan=""):
    return client.post("/admin/doctors", data={"name": name, "specialty": specialty, "plan": plan})


# -- doctors ------------------------------------------------------------------------------------


def test_an_admin_adds_a_doctor_with_a_weekly_plan(client):
    answer = add(client, plan="Mon 09:00-14:00\nПт 12:00-20:00")
    page = client.get("/admin/doctors").text

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/admin/doctors")
    doctor = doctor_named("Dr Petrova")
    assert doctor.specialty == "Therapist" and doctor.active
    assert plan_from_json(doctor.plan) == {0: (time(9), time(14)), 4: (time(12), time(20))}
    assert "Doctor Dr Petrova added." in page and "Mon 09:00-14:00" in page and "Fri 12:00-20:00" in page


def test_the_form_explains_how_to_write_the_plan(client):
    page = client.get("/admin/doctors").text
    assert 'name="plan"' in page and "One line per day: Mon 09:00-14:00" in page


@pytest.mark.parametrize(
    "plan, message",
    [
        ("Monday morning", 'write a day and its hours, e.g. "Mon 09:00-14:00"'),
        ("Sun 10:00-12:00", "The clinic is closed on Sun"),
        ("Mon 08:00-12:00", "Hours must lie within 09:00–20:00"),
    ],
)
def test_a_bad_plan_is_refused_by_its_field(client, plan, message):
    answer = add(client, plan=plan)

    assert answer.status_code == 422
    assert message in field_error(answer.text, "plan")
    assert doctor_named("Dr Petrova") is None


def test_name_and_specialty_are_required(client):
    answer = add(client, name=" ", specialty="")
    assert answer.status_code == 422
    assert field_error(answer.text, "name") and field_error(answer.text, "specialty")


def test_an_admin_edits_a_doctor(client):
    add(client, plan="Mon 09:00-14:00")
    doctor_id = doctor_named("Dr Petrova").id

    form = client.get(f"/admin/doctors/{doctor_id}").text
    refused = client.post(f"/admin/doctors/{doctor_id}", data={"name": "Dr Petrova", "specialty": "Therapist", "plan": "Mon 9-14"})
    saved = client.post(f"/admin/doctors/{doctor_id}", data={"name": "Dr Petrova-Orlova", "specialty": "Cardiologist", "plan": ""})

    assert "Mon 09:00-14:00" in form
    assert refused.status_code == 422 and field_error(refused.text, "plan")
    assert saved.status_code == 303
    doctor = db.session.get(Doctor, doctor_id, populate_existing=True)
    assert (doctor.name, doctor.specialty, doctor.plan) == ("Dr Petrova-Orlova", "Cardiologist", None)
    assert client.get("/admin/doctors/999").status_code == 404


def test_deactivating_a_doctor_stops_new_slots_and_reactivating_brings_them_back(client):
    add(client)
    doctor_id = doctor_named("Dr Petrova").id

    off = client.post(f"/admin/doctors/{doctor_id}/deactivate")
    page = client.get("/admin/doctors").text
    no_slots = find_free_slots(doctor_id=doctor_id, first_day=date(2026, 11, 24), now=at(MONDAY_10))
    on = client.post(f"/admin/doctors/{doctor_id}/reactivate")

    assert off.status_code == 303 and "Deactivated" in page and f"/admin/doctors/{doctor_id}/reactivate" in page
    assert no_slots == []
    assert on.status_code == 303 and doctor_named("Dr Petrova").active
    assert find_free_slots(doctor_id=doctor_id, first_day=date(2026, 11, 24), now=at(MONDAY_10))


# -- closures -----------------------------------------------------------------------------------


def test_a_closed_day_offers_no_slots(client, operator_client):
    add(client)
    answer = client.post("/admin/closures", data={"day": "2026-11-24", "reason": "День здоровья"})
    page = client.get("/admin/closures").text

    assert answer.status_code == 303
    assert "День здоровья" in page and "24 November 2026" in page
    assert find_free_slots(first_day=date(2026, 11, 24), now=at(MONDAY_10)) == []
    assert find_free_slots(first_day=date(2026, 11, 25), now=at(MONDAY_10))
    with frozen(MONDAY_10, operator_client):
        day = operator_client.get("/operator/appointments?date=2026-11-24").text
    assert "The clinic is closed on this day: День здоровья." in day


def test_a_day_closed_twice_and_a_missing_date_are_refused_by_the_day_field(client):
    client.post("/admin/closures", data={"day": "2026-11-24", "reason": ""})
    again = client.post("/admin/closures", data={"day": "2026-11-24", "reason": "ещё раз"})
    empty = client.post("/admin/closures", data={"day": "", "reason": "x"})

    assert again.status_code == 422 and "already closed" in field_error(again.text, "day")
    assert empty.status_code == 422 and field_error(empty.text, "day") == "Enter a date."


def test_removing_a_closure_opens_the_day_again(client):
    add(client)
    client.post("/admin/closures", data={"day": "2026-11-24", "reason": "x"})
    closure_id = db.session.scalar(sa.select(Closure.id))

    answer = client.post(f"/admin/closures/{closure_id}/remove")

    assert answer.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
    assert find_free_slots(first_day=date(2026, 11, 24), now=at(MONDAY_10))


# -- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "manager"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/admin/doctors"),
        ("post", "/admin/doctors"),
        ("get", "/admin/doctors/1"),
        ("post", "/admin/doctors/1/deactivate"),
        ("get", "/admin/closures"),
        ("post", "/admin/closures"),
        ("post", "/admin/closures/1/remove"),
    ],
)
def test_only_admins_reach_the_doctor_and_closure_pages(app, make_user, role, method, path):
    browser = app.test_client()
    sign_in(browser, make_user(role))
    assert getattr(browser, method)(path).status_code == 403


def test_the_nav_offers_doctors_and_closures_to_admins(client):
    page = client.get("/admin/doctors").text
    assert '<a href="/admin/doctors" aria-current="page">Doctors</a>' in page
    assert '<a href="/admin/closures">Closures</a>' in page
    assert '<a href="/operator/appointments">Appointments</a>' in page
