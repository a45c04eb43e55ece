"""The day's book (/operator/appointments): doctors as columns, slot times as rows, booked cells
with the patient's name and phone, off cells, closed days, paging, printing, attendance."""
from __future__ import annotations

import re

import pytest

from leads.extensions import db
from leads.models import Closure
from leads.services.appointments import book_appointment
from leads.services.clinic import forget_closures
from tests.conftest import at
from tests.functional.test_booking_http import add_doctor, appointments_of
from tests.functional.test_operator_desk import MONDAY_10, frozen
from tests.factories import new_lead


def cell(html: str, doctor_index: int, time_text: str) -> str:
    """The `doctor_index`-th doctor's cell in the row of `time_text` (clinic time, "HH:MM")."""
    row = re.search(rf'<th scope="row" class="time-col">{time_text}</th>(.*?)</tr>', html, re.S)
    assert row, f"no row for {time_text}"
    cells = re.findall(r"<td class=\"([^\"]*)\"[^>]*>(.*?)</td>", row.group(1), re.S)
    return f'{cells[doctor_index][0]}|{cells[doctor_index][1]}'


@pytest.fixture
def monday_book(operator_client):
    """Two doctors (Orlov works mornings only); Anna booked with Petrova at 11:00 on Monday."""
    petrova = add_doctor("Dr Petrova", "Therapist")
    orlov = add_doctor("Dr Orlov", "Therapist", plan={"0": ["09:00", "14:00"]})
    lead_id = new_lead(phone="+79161234567", name="Анна Иванова")
    info = book_appointment(lead_id, operator_client.user.id, petrova, at("2026-11-23 11:00"), now=at(MONDAY_10))
    return {"petrova": petrova, "orlov": orlov, "lead_id": lead_id, "appointment_id": info.id}


def test_a_booked_cell_shows_the_patient_and_the_phone_linking_to_the_card(operator_client, monday_book):
    with frozen(MONDAY_10, operator_client):
        page = operator_client.get("/operator/appointments?date=2026-11-23")

    html = page.text
    assert page.status_code == 200
    assert "Dr Orlov" in html and "Dr Petrova" in html  # doctors as columns (by name within a specialty)
    booked = cell(html, 1, "11:00")
    assert booked.startswith("cell-booked")
    assert "Анна Иванова" in booked and "+7 916 123-45-67" in booked
    assert f'href="/operator/leads/{monday_book["lead_id"]}"' in booked
    assert cell(html, 1, "11:30").startswith("cell-free")


def test_hours_outside_a_doctors_plan_are_off(operator_client, monday_book):
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get("/operator/appointments?date=2026-11-23").text

    assert cell(html, 0, "13:30").startswith("cell-free")  # Orlov, inside his morning
    assert cell(html, 0, "15:00").startswith("cell-off")  # Orlov, afternoon
    assert cell(html, 1, "15:00").startswith("cell-free")  # Petrova works the clinic's hours


def test_sunday_says_the_clinic_is_closed(operator_client, monday_book):
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get("/operator/appointments?date=2026-11-29").text

    assert "The clinic is closed on Sundays." in html
    assert 'class="day-book"' not in html


def test_a_closure_says_closed_with_its_reason(operator_client, monday_book):
    db.session.add(Closure(day=at("2026-11-24 00:00").date(), reason="День здоровья"))
    db.session.commit()
    forget_closures()
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get("/operator/appointments?date=2026-11-24").text

    assert "The clinic is closed on this day: День здоровья." in html


def test_previous_and_next_day_and_week_links(operator_client, monday_book):
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get("/operator/appointments?date=2026-11-25").text

    for day in ("2026-11-18", "2026-11-24", "2026-11-26", "2026-12-02", "2026-11-23"):
        assert f'href="/operator/appointments?date={day}"' in html
    assert "Wednesday 25 November 2026" in html


def test_today_is_the_default_and_a_bad_date_is_refused(operator_client, monday_book):
    with frozen(MONDAY_10, operator_client):
        today = operator_client.get("/operator/appointments").text
        bad = operator_client.get("/operator/appointments?date=23.11.2026")

    assert "Monday 23 November 2026" in today and "Анна Иванова" in today
    assert bad.status_code == 422


def test_the_book_prints_with_its_own_stylesheet(operator_client, monday_book):
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get("/operator/appointments?date=2026-11-23").text
        css = operator_client.get("/static/css/print.css").text

    assert '<link rel="stylesheet" href="/static/css/print.css" media="print">' in html
    assert "A4 landscape" in css and "display: none" in css
    assert "<script>" not in html and "style=" not in html  # CSP: nothing inline


def test_attendance_buttons_in_the_book_once_the_start_has_passed(operator_client, monday_book):
    lead_id, appointment_id = monday_book["lead_id"], monday_book["appointment_id"]
    url = f"/operator/leads/{lead_id}/appointments/{appointment_id}/attendance"
    with frozen("2026-11-23 10:50", operator_client):
        before = operator_client.get("/operator/appointments?date=2026-11-23").text
    with frozen("2026-11-23 11:20", operator_client):
        after = operator_client.get("/operator/appointments?date=2026-11-23").text
        answer = operator_client.post(url, data={"attended": "no", "next": "/operator/appointments?date=2026-11-23"})
        marked = operator_client.get("/operator/appointments?date=2026-11-23").text

    assert url not in before
    assert url in after
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/operator/appointments?date=2026-11-23")
    assert appointments_of(lead_id)[0].status == "no_show"
    assert "Did not come" in cell(marked, 1, "11:00") and url not in marked


def test_the_nav_offers_the_appointments_to_the_desk(operator_client):
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get("/operator/appointments").text

    assert '<a href="/operator/appointments" aria-current="page">Appointments</a>' in html
    assert '<a href="/operator/">Queue</a>' in html
    assert "/admin/doctors" not in html
