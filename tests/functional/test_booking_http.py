"""Booking from the lead card over HTTP: the panel, the booked outcome, each refusal by its field
(page and JSON), the slot taken a moment ago, and moving, cancelling and attendance through the pages.

The clock stands at Monday 23 November 2026, 10:00 in the clinic (Moscow).
"""
from __future__ import annotations

import html as html_text
import json
import re

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment, Closure, Doctor, Lead
from leads.services.appointments import book_appointment
from leads.services.clinic import forget_closures
from tests.conftest import at
from tests.functional.test_operator_desk import MONDAY_10, frozen
from tests.factories import new_lead

JSON = {"Accept": "application/json"}


def add_doctor(name: str = "Dr Petrova", specialty: str = "Therapist", plan: dict | None = None, active=True) -> int:
    doctor = Doctor(name=name, specialty=specialty, active=active, plan=json.dumps(plan) if plan else None)
    db.session.add(doctor)
    db.session.commit()
    return doctor.id


def slot(doctor_id: int, local: str) -> str:
    """The value of a slot's button: "<doctor id>/<ISO start in clinic time>"."""
    return f"{doctor_id}/{at(local).isoformat()}"


def book(client, lead_id: int, value: str, json: bool = False, **extra):
    return client.post(
        f"/operator/leads/{lead_id}/book", data={"slot": value, **extra}, headers=JSON if json else {}
    )


def slot_error(html: str) -> str:
    """The message shown by the slot choice ('' if none)."""
    found = re.search(r'<p class="field-error" id="slot-error" role="alert">([^<]+)</p>', html)
    return html_text.unescape(found.group(1)) if found else ""


def appointments_of(lead_id: int) -> list[Appointment]:
    return list(db.session.scalars(sa.select(Appointment).where(Appointment.lead_id == lead_id), execution_options={"populate_existing": True}))


def lead_state(lead_id: int) -> str:
    return db.session.get(Lead, lead_id, populate_existing=True).state


@pytest.fixture
def therapist():
    return add_doctor()


# -- the panel and booking ---------------------------------------------------------------------


def test_the_card_offers_the_first_free_slots_as_buttons_grouped_by_day(operator_client, therapist):
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get(f"/operator/leads/{lead_id}").text

    assert 'id="booking"' in html and "Book an appointment" in html
    assert "Monday 23 November" in html
    assert f'value="{slot(therapist, "2026-11-23 10:30")}"' in html
    assert f'value="{slot(therapist, "2026-11-23 09:30")}"' not in html  # already past
    assert "Dr Petrova — Therapist" in html


def test_the_panel_starts_at_the_patients_preferred_window(operator_client, therapist):
    lead_id = new_lead(preferred_start=at("2026-11-25 15:00"), preferred_end=at("2026-11-25 15:30"))
    with frozen(MONDAY_10, operator_client):
        html = operator_client.get(f"/operator/leads/{lead_id}").text

    assert f'value="{slot(therapist, "2026-11-25 15:00")}"' in html
    assert f'value="{slot(therapist, "2026-11-23 10:30")}"' not in html
    assert "From the time the patient asked for" in html


def test_paging_by_day_and_week_with_plain_links_and_an_htmx_partial(operator_client, therapist):
    lead_id = new_lead()
    other = add_doctor("Dr Orlov", "Surgeon")
    with frozen(MONDAY_10, operator_client):
        card = operator_client.get(f"/operator/leads/{lead_id}?specialty=Surgeon&day=2026-11-24").text
        partial = operator_client.get(f"/operator/leads/{lead_id}/slots?specialty=Surgeon&day=2026-12-01")

    assert f'value="{slot(other, "2026-11-24 09:00")}"' in card
    assert f'value="{slot(therapist, "2026-11-24 09:00")}"' not in card  # another specialty
    assert "day=2026-11-25" in card and "day=2026-12-01" in card and "day=2026-11-23" in card  # next day, week; back
    body = partial.text
    assert partial.status_code == 200 and body.lstrip().startswith('<section id="booking"')
    assert f'value="{slot(other, "2026-12-01 09:00")}"' in body


def test_booking_a_slot_closes_the_lead_and_the_day_book_shows_it(operator_client, therapist):
    lead_id = new_lead(phone="+79161234567", name="Анна Иванова")
    with frozen(MONDAY_10, operator_client):
        answer = book(operator_client, lead_id, slot(therapist, "2026-11-23 11:00"), note="первичный приём")
        queue = operator_client.get("/operator/").text
        day = operator_client.get("/operator/appointments?date=2026-11-23").text

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/operator/")
    assert "Booked: Dr Petrova, Monday 23 November at 11:00" in queue
    assert lead_state(lead_id) == "booked"
    (appointment,) = appointments_of(lead_id)
    assert (appointment.status, appointment.starts_at) == ("scheduled", at("2026-11-23 11:00"))
    assert "Анна Иванова" in day and "+7 916 123-45-67" in day
    assert f'href="/operator/leads/{lead_id}"' in day


def test_a_json_client_books_with_doctor_and_start(operator_client, therapist):
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        answer = operator_client.post(
            f"/operator/leads/{lead_id}/book",
            data={"doctor_id": therapist, "start": "2026-11-24T09:30:00+03:00"},
            headers=JSON,
        )

    assert answer.status_code == 201
    body = answer.get_json()["appointment"]
    assert (body["doctor_name"], body["start"], body["status"]) == ("Dr Petrova", "2026-11-24T09:30:00+03:00", "scheduled")


# -- refusals ----------------------------------------------------------------------------------

REFUSALS = [
    ("past", "2026-11-23 09:30", "slot", "This time has already passed"),
    ("sunday", "2026-11-29 10:00", "slot", "The clinic is closed on this day"),
    ("closure", "2026-11-24 10:00", "slot", "(a holiday)"),
    ("off_grid", "2026-11-23 11:15", "slot", "Choose one of the slots shown"),
    ("outside_hours", "2026-11-23 20:00", "slot", "outside the clinic's opening hours"),
    ("doctor_plan", "2026-11-23 15:00", "slot", "The doctor does not see patients at this time"),
    ("inactive", "2026-11-23 11:00", "doctor", "no longer takes appointments"),
]


@pytest.mark.parametrize("case, local, field, message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_is_shown_by_the_slot_choice_and_named_in_json(operator_client, case, local, field, message):
    doctor = add_doctor(plan={"0": ["09:00", "14:00"]} if case == "doctor_plan" else None, active=case != "inactive")
    db.session.add(Closure(day=at("2026-11-24 00:00").date(), reason="Праздник"))
    db.session.commit()
    forget_closures()
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        page = book(operator_client, lead_id, slot(doctor, local))
        data = book(operator_client, lead_id, slot(doctor, local), json=True)

    assert page.status_code == 422
    assert message in slot_error(page.text)
    assert 'id="booking"' in page.text  # the panel is there to choose again
    assert data.status_code == 422
    assert message in data.get_json()["errors"][field][0]
    assert lead_state(lead_id) == "new" and appointments_of(lead_id) == []


def test_a_slot_that_cannot_be_read_asks_for_a_free_slot(operator_client, therapist):
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        page = book(operator_client, lead_id, "nonsense")
        data = book(operator_client, lead_id, "", json=True)

    assert page.status_code == 422 and slot_error(page.text) == "Choose a free slot."
    assert data.status_code == 422 and data.get_json()["errors"] == {"slot": ["Choose a free slot."]}


def test_the_loser_of_a_race_sees_the_slot_taken_and_the_free_slots_nearby(operator_client, therapist, make_user):
    winner_lead, lead_id = new_lead(phone="+79035550011"), new_lead()
    colleague = make_user("operator", "ivan")
    book_appointment(winner_lead, colleague.id, therapist, at("2026-11-23 11:00"), now=at(MONDAY_10))
    with frozen(MONDAY_10, operator_client):
        page = book(operator_client, lead_id, slot(therapist, "2026-11-23 11:00"))
        data = book(operator_client, lead_id, slot(therapist, "2026-11-23 11:00"), json=True)

    assert page.status_code == 409
    assert "This slot was just taken" in slot_error(page.text)
    assert "Free slots nearby" in page.text
    assert f'value="{slot(therapist, "2026-11-23 11:30")}"' in page.text
    assert data.status_code == 409
    body = data.get_json()
    assert "This slot was just taken" in body["errors"]["slot"][0]
    assert body["nearby"] and all(s["start"] != "2026-11-23T11:00:00+03:00" for s in body["nearby"])
    assert {"doctor_id", "doctor_name", "specialty", "start", "end"} <= set(body["nearby"][0])
    assert lead_state(lead_id) == "new"


def test_a_booked_lead_cannot_be_booked_again(operator_client, therapist):
    lead_id = new_lead()
    with frozen(MONDAY_10, operator_client):
        book(operator_client, lead_id, slot(therapist, "2026-11-23 11:00"))
        again = book(operator_client, lead_id, slot(therapist, "2026-11-23 12:00"))

    assert again.status_code == 409
    assert 'id="banner"' in again.text and "already booked or closed" in again.text
    assert len(appointments_of(lead_id)) == 1


def test_another_operators_lead_cannot_be_booked(operator_client, therapist, make_user):
    ivan = make_user("operator", "ivan")
    lead_id = new_lead(claimed_by_id=ivan.id, claim_expires_at=at("2026-11-23 10:05"))
    with frozen(MONDAY_10, operator_client):
        answer = book(operator_client, lead_id, slot(therapist, "2026-11-23 11:00"), json=True)

    assert answer.status_code == 409 and "Ivan is working on this lead" in answer.get_json()["error"]
    assert appointments_of(lead_id) == []


# -- the lead's appointments: move, cancel, attendance -----------------------------------------


@pytest.fixture
def booked(operator_client, therapist):
    """A lead booked with Dr Petrova on Monday at 11:00; returns (lead id, appointment id)."""
    lead_id = new_lead()
    info = book_appointment(lead_id, operator_client.user.id, therapist, at("2026-11-23 11:00"), now=at(MONDAY_10))
    return lead_id, info.id


def test_moving_an_appointment_through_the_card(operator_client, therapist, booked):
    lead_id, appointment_id = booked
    with frozen(MONDAY_10, operator_client):
        card = operator_client.get(f"/operator/leads/{lead_id}").text
        panel = operator_client.get(f"/operator/leads/{lead_id}?reschedule={appointment_id}").text
        moved = operator_client.post(
            f"/operator/leads/{lead_id}/appointments/{appointment_id}/reschedule",
            data={"slot": slot(therapist, "2026-11-24 12:00")},
        )
        after = operator_client.get(f"/operator/leads/{lead_id}").text

    assert f"?reschedule={appointment_id}" in card and "Book an appointment" not in card  # the lead is booked
    assert "Move the appointment" in panel
    assert f'action="/operator/leads/{lead_id}/appointments/{appointment_id}/reschedule"' in panel
    assert moved.status_code == 303 and moved.headers["Location"].endswith(f"/operator/leads/{lead_id}")
    assert "Moved to Dr Petrova, Tuesday 24 November at 12:00" in after
    (appointment,) = appointments_of(lead_id)
    assert appointment.starts_at == at("2026-11-24 12:00")


def test_cancelling_needs_a_reason_shown_by_its_field(operator_client, booked):
    lead_id, appointment_id = booked
    url = f"/operator/leads/{lead_id}/appointments/{appointment_id}/cancel"
    with frozen(MONDAY_10, operator_client):
        refused = operator_client.post(url, data={"reason": "  "})
        refused_json = operator_client.post(url, data={"reason": ""}, headers=JSON)
        done = operator_client.post(url, data={"reason": "заболела"})
        after = operator_client.get(f"/operator/leads/{lead_id}").text

    assert refused.status_code == 422
    assert f'<p class="field-error" id="reason-{appointment_id}-error">Say why the appointment is cancelled.</p>' in refused.text
    assert refused_json.status_code == 422 and "reason" in refused_json.get_json()["errors"]
    assert done.status_code == 303
    (appointment,) = appointments_of(lead_id)
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "заболела")
    assert "Cancelled" in after and "заболела" in after


def test_attendance_buttons_appear_once_the_start_has_passed(operator_client, booked):
    lead_id, appointment_id = booked
    url = f"/operator/leads/{lead_id}/appointments/{appointment_id}/attendance"
    with frozen("2026-11-23 10:55", operator_client):
        before = operator_client.get(f"/operator/leads/{lead_id}").text
        too_early = operator_client.post(url, data={"attended": "yes"}, headers=JSON)
    with frozen("2026-11-23 11:05", operator_client):
        after = operator_client.get(f"/operator/leads/{lead_id}").text
        came = operator_client.post(url, data={"attended": "yes"})

    assert url not in before
    assert too_early.status_code == 422 and "has not started yet" in too_early.get_json()["error"]
    assert url in after and "Did not come" in after
    assert came.status_code == 303
    assert appointments_of(lead_id)[0].status == "attended"


def test_a_no_show_is_recorded_from_the_card(operator_client, booked):
    lead_id, appointment_id = booked
    with frozen("2026-11-23 12:00", operator_client):
        answer = operator_client.post(
            f"/operator/leads/{lead_id}/appointments/{appointment_id}/attendance", data={"attended": "no"}
        )
    assert answer.status_code == 303
    assert appointments_of(lead_id)[0].status == "no_show"
