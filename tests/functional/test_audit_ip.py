"""The IP on every row of the audit log (issue 13, item 8): booking, moving, cancelling, attendance,
confirmation calls, doctors, closures and the patient's own link record the address the request came
from, and the audit page shows it on each row."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import Appointment, AuditEntry, Closure, Doctor
from leads.outbox_models import ConfirmationTask
from leads.services.visit_links import visit_token
from tests.conftest import at, sign_in
from tests.factories import new_lead
from tests.functional.test_booking_http import add_doctor, book, slot
from tests.functional.test_operator_desk import MONDAY_10, frozen

OPERATOR_IP = "198.51.100.7"
ADMIN_IP = "203.0.113.44"
PATIENT_IP = "192.0.2.99"


def from_ip(client, ip: str):
    """Every request of `client` comes from `ip` (REMOTE_ADDR; no proxy is trusted in tests)."""
    client.environ_base = {**client.environ_base, "REMOTE_ADDR": ip}
    return client


def new_day(client, text: str):
    """`frozen` at `text` with a new session (yesterday's would have ended, idle)."""
    with client.session_transaction() as session:
        session.clear()
    return frozen(text, client)


def ips_of(action: str) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.ip).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def operator(operator_client):
    return from_ip(operator_client, OPERATOR_IP)


@pytest.fixture
def admin(app, make_user):
    client = app.test_client()
    client.user = make_user("admin", "root")
    sign_in(client, client.user)
    client.set_cookie("lang", "en")
    return from_ip(client, ADMIN_IP)


def desk_day(operator) -> None:
    """Book two leads, move and cancel the first, mark the second attended — all over HTTP."""
    therapist = add_doctor()
    first, second = new_lead(phone="+79165550001"), new_lead(phone="+79165550002")
    with frozen(MONDAY_10, operator):
        assert book(operator, first, slot(therapist, "2026-11-23 11:00")).status_code == 303
        assert book(operator, second, slot(therapist, "2026-11-23 10:30")).status_code == 303
        moved_id = db.session.scalar(sa.select(Appointment.id).where(Appointment.lead_id == first))
        base = f"/operator/leads/{first}/appointments/{moved_id}"
        assert operator.post(f"{base}/reschedule", data={"slot": slot(therapist, "2026-11-24 12:00")}).status_code == 303
        assert operator.post(f"{base}/cancel", data={"reason": "заболела"}).status_code == 303
    came_id = db.session.scalar(sa.select(Appointment.id).where(Appointment.lead_id == second))
    with frozen("2026-11-23 10:35", operator):
        answer = operator.post(f"/operator/leads/{second}/appointments/{came_id}/attendance", data={"attended": "yes"})
        assert answer.status_code == 303, answer.location


def admin_day(admin) -> None:
    """Add, edit, deactivate and reactivate a doctor; close a day and open it again — over HTTP."""
    with frozen(MONDAY_10, admin):
        assert admin.post("/admin/doctors", data={"name": "Dr Orlov", "specialty": "Surgeon", "plan": ""}).status_code == 303
        doctor_id = db.session.scalar(sa.select(Doctor.id).where(Doctor.name == "Dr Orlov"))
        edited = admin.post(f"/admin/doctors/{doctor_id}", data={"name": "Dr Orlov", "specialty": "Surgeon", "plan": "Mon 09:00-14:00"})
        assert edited.status_code == 303
        assert admin.post(f"/admin/doctors/{doctor_id}/deactivate").status_code == 303
        assert admin.post(f"/admin/doctors/{doctor_id}/reactivate").status_code == 303
        assert admin.post("/admin/closures", data={"day": "2026-11-26", "reason": "День здоровья"}).status_code == 303
        closure_id = db.session.scalar(sa.select(Closure.id))
        assert admin.post(f"/admin/closures/{closure_id}/remove").status_code == 303


def test_booking_moving_cancelling_and_attendance_record_the_operator_s_ip(operator):
    desk_day(operator)
    assert ips_of("outcome") == [OPERATOR_IP, OPERATOR_IP]  # the two bookings
    assert ips_of("appointment_moved") == [OPERATOR_IP]
    assert ips_of("appointment_cancelled") == [OPERATOR_IP]
    assert ips_of("appointment_attended") == [OPERATOR_IP]


def test_a_no_show_records_the_operator_s_ip(operator):
    therapist = add_doctor()
    lead_id = new_lead()
    with frozen(MONDAY_10, operator):
        book(operator, lead_id, slot(therapist, "2026-11-23 10:30"))
    appointment_id = db.session.scalar(sa.select(Appointment.id))
    with frozen("2026-11-23 10:35", operator):
        operator.post(f"/operator/leads/{lead_id}/appointments/{appointment_id}/attendance", data={"attended": "no"})
    assert ips_of("appointment_no_show") == [OPERATOR_IP]


def test_doctors_and_closures_record_the_admin_s_ip(admin):
    admin_day(admin)
    for action in ("doctor_created", "doctor_updated", "doctor_deactivated", "doctor_activated", "closure_added",
                   "closure_removed"):
        assert ips_of(action) == [ADMIN_IP], action


@pytest.mark.parametrize("outcome, action", [("confirmed", "appointment_confirmed_on_call"),
                                             ("cancelled", "appointment_cancelled_on_call"),
                                             ("no_answer", "confirmation_no_answer")])
def test_a_confirmation_call_records_the_operator_s_ip(operator, outcome, action):
    therapist = add_doctor()
    lead_id = new_lead()
    with frozen(MONDAY_10, operator):
        book(operator, lead_id, slot(therapist, "2026-11-25 11:00"))
    task_id = db.session.scalar(sa.select(ConfirmationTask.id))
    with new_day(operator, "2026-11-24 10:00"):
        answer = operator.post(f"/operator/confirmations/{task_id}/outcome", data={"outcome": outcome})
    assert answer.status_code == 303
    assert ips_of(action) == [OPERATOR_IP]


@pytest.mark.parametrize("step, action", [("confirm", "appointment_confirmed_by_patient"),
                                          ("cancel", "appointment_cancelled_by_patient")])
def test_the_patient_s_own_link_records_the_patient_s_ip(app, operator, step, action):
    therapist = add_doctor()
    lead_id = new_lead()
    with frozen(MONDAY_10, operator):
        book(operator, lead_id, slot(therapist, "2026-11-25 11:00"))
    appointment_id = db.session.scalar(sa.select(Appointment.id))
    patient = from_ip(app.test_client(), PATIENT_IP)
    with time_machine.travel(at("2026-11-23 12:00"), tick=False):
        token = visit_token(appointment_id)
        patient.get(f"/visit/{token}")
        answer = patient.post(f"/visit/{token}/{step}")
    assert answer.status_code == 303
    assert ips_of(action) == [PATIENT_IP]


def test_the_audit_page_shows_the_ip_on_every_row(app, operator, admin, make_user):
    desk_day(operator)
    admin_day(admin)
    manager = app.test_client()
    manager.user = make_user("manager", "marina")
    with frozen("2026-11-23 12:00", manager):
        page = manager.get("/manager/audit").text

    table = page.split('<table class="audit-table">', 1)[1].split("</table>", 1)[0]
    header = re.findall(r"<th>(.*?)</th>", table)
    assert header[-1] == "IP address"
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    ips = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-1].strip() for row in rows]
    assert len(ips) == db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 11
    assert set(ips) == {OPERATOR_IP, ADMIN_IP}


def test_a_row_made_without_a_request_shows_a_dash_for_its_ip(app, make_user):
    from leads.services.audit import record_audit

    record_audit(None, "appointment_confirmed_by_patient", detail="appointment 1", now=at("2026-11-23 11:00"))
    db.session.commit()
    manager = app.test_client()
    manager.user = make_user("manager", "marina")
    with frozen("2026-11-23 12:00", manager):
        page = manager.get("/manager/audit").text
    row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-1].strip() == "—"
