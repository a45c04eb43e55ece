"""A patient's data rights (DESIGN.md §1.7): find, export and erase everything held for a phone."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment, AuditEntry, Doctor, Lead
from leads.services.calls import record_outcome
from leads.services.data_rights import (
    PhoneNotValid,
    do_not_call_key,
    export_patient,
    is_on_do_not_call,
    look_up_patient,
)
from leads.services.erasure import erase_patient
from leads.services.leads import open_lead_card
from leads.services.report_facts import count_figures_again
from leads.services.reports import build_report
from tests.conftest import at, utc
from tests.factories import lead, new_lead

ANNA = "+79161234567"
ANNA_TYPED = "8 (916) 123-45-67"
# Every way her name or number could have been kept.
ANNA_TRACES = ("Анна", "Иванова", "Петрова", ANNA, "79161234567", "89161234567", "9161234567", "+7 916 123-45-67")
BORIS = "+79035550011"
NOW = at("2026-11-27 12:00")


@pytest.fixture
def operator(make_user):
    return make_user("operator", "olga")


@pytest.fixture
def manager(make_user):
    return make_user("manager", "marina")


@pytest.fixture
def patient(app, operator):
    """Anna: a lead she withdrew from (do-not-call), then a booked one with two requests and a visit.
    Boris: another patient, who must not be touched."""
    first = new_lead(phone=ANNA, name="Анна Иванова", created="2026-11-23 09:30")
    record_outcome(first, operator.id, "no_answer", note="Анна просила звонить на 8 916 123 45 67", now=at("2026-11-23 10:00"))
    record_outcome(first, operator.id, "do_not_call", note=f"Анна Иванова ({ANNA}) против звонков", now=at("2026-11-23 11:00"))
    second = new_lead(phone=ANNA, name="Анна Иванова", created="2026-11-24 10:00")
    new_lead(phone=ANNA, name="Анна Иванова-Петрова", created="2026-11-24 10:05")  # a repeat request
    record_outcome(second, operator.id, "callback", callback_at=at("2026-11-24 15:00"), note="перезвонить Анне", now=at("2026-11-24 10:10"))
    doctor = Doctor(name="Д-р Сидоров", specialty="терапевт")
    db.session.add(doctor)
    db.session.flush()
    past, future = utc(at("2026-11-25 10:00")), utc(at("2026-12-01 10:00"))
    db.session.add_all(
        [
            Appointment(doctor_id=doctor.id, lead_id=second, starts_at=past, ends_at=past + timedelta(minutes=30), status="attended"),
            Appointment(doctor_id=doctor.id, lead_id=second, starts_at=future, ends_at=future + timedelta(minutes=30)),
        ]
    )
    db.session.execute(sa.update(Lead).where(Lead.id == second).values(state="booked", next_call_at=None, reached=True))
    count_figures_again(Lead.id == second)  # the visit figures booking and attendance store
    db.session.commit()
    open_lead_card(second, operator.id, ip="198.51.100.7", now=at("2026-11-24 10:09"))
    db.session.commit()
    boris = new_lead(phone=BORIS, name="Борис Смирнов", created="2026-11-24 11:00")
    record_outcome(boris, operator.id, "no_answer", note="Борис не ответил", now=at("2026-11-24 11:05"))
    return {"leads": [first, second], "boris": boris}


def traces_left(needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text column of every table still holding a needle."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, (sa.String, sa.Text)):
                continue
            for needle in needles:
                hit = db.session.scalar(
                    sa.select(sa.func.count()).select_from(table).where(column.contains(needle, autoescape=True))
                )
                if hit:
                    found.append((table.name, column.name, needle))
    return found


def report_figures():
    report = build_report(date(2026, 11, 23), date(2026, 11, 27))
    return report.totals, report.first_call, report.attempts, report.outcomes, report.attempts_total


def test_after_erasure_no_name_or_number_of_the_patient_is_left_anywhere(patient, manager):
    assert traces_left(ANNA_TRACES)  # the search does find them before

    erased = erase_patient(ANNA_TYPED, manager.id, ip="192.0.2.1", now=NOW)

    assert erased.leads == 2
    assert traces_left(ANNA_TRACES) == []


def test_erasure_keeps_the_reports_totals(patient, manager):
    before = report_figures()

    erase_patient(ANNA_TYPED, manager.id, now=NOW)

    assert report_figures() == before


def test_erasure_keeps_states_outcomes_and_consent_evidence_and_cancels_only_future_visits(patient, manager):
    first, second = patient["leads"]

    erased = erase_patient(ANNA_TYPED, manager.id, now=NOW)

    assert erased.appointments_cancelled == 1
    assert (lead(first).state, lead(first).close_reason, lead(first).attempts) == ("closed", "do_not_call", 2)
    assert (lead(second).state, lead(second).reached, lead(second).request_count) == ("booked", True, 2)
    statuses = db.session.scalars(sa.select(Appointment.status).where(Appointment.lead_id == second).order_by(Appointment.starts_at))
    assert list(statuses) == ["attended", "cancelled"]
    assert all(lead(i).anonymized_at == utc(NOW) for i in (first, second))


def test_the_do_not_call_list_still_knows_the_number_after_erasure(patient, manager):
    assert is_on_do_not_call(ANNA)

    erase_patient(ANNA, manager.id, now=NOW)

    assert is_on_do_not_call(ANNA)
    assert not is_on_do_not_call(BORIS)
    assert look_up_patient(ANNA, manager.id)["do_not_call"]["anonymised"] is True


def test_erasure_leaves_other_patients_alone(patient, manager):
    erase_patient(ANNA, manager.id, now=NOW)

    boris = lead(patient["boris"])
    assert (boris.name, boris.phone, boris.anonymized_at) == ("Борис Смирнов", BORIS, None)
    assert traces_left(("Борис не ответил",))


def test_erasing_twice_changes_nothing_more(patient, manager):
    erase_patient(ANNA, manager.id, now=NOW)
    first = [(lead(i).anonymized_at, lead(i).state) for i in patient["leads"]]

    again = erase_patient(ANNA, manager.id, now=NOW + timedelta(hours=1))

    assert again.leads == 0
    assert [(lead(i).anonymized_at, lead(i).state) for i in patient["leads"]] == first


def test_an_open_lead_erased_is_closed_so_nobody_calls_it(app, manager):
    lead_id = new_lead(phone=ANNA, created="2026-11-24 10:00")

    erase_patient(ANNA, manager.id, now=NOW)

    assert (lead(lead_id).state, lead(lead_id).close_reason, lead(lead_id).next_call_at) == ("closed", "erased", None)


def test_each_action_is_audited_per_lead_without_the_number_in_clear(patient, manager):
    look_up_patient(ANNA_TYPED, manager.id, ip="192.0.2.1")
    export_patient(ANNA_TYPED, "json", manager.id, ip="192.0.2.1")
    erase_patient(ANNA_TYPED, manager.id, ip="192.0.2.1", now=NOW)

    rows = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.lead_id, AuditEntry.user_id, AuditEntry.detail).where(
            AuditEntry.action.like("privacy_%")
        )
    ).all()
    for action in ("privacy_lookup", "privacy_export", "privacy_erase"):
        assert sorted(r.lead_id for r in rows if r.action == action) == sorted(patient["leads"])
    assert all(r.user_id == manager.id and do_not_call_key(ANNA) in r.detail and ANNA not in r.detail for r in rows)


def test_a_lookup_of_an_unknown_number_is_audited_too(app, manager):
    data = look_up_patient("+7 499 322-23-08", manager.id)

    assert data == {"phone": "+74993222308", "leads": [], "do_not_call": None}
    assert db.session.scalar(sa.select(AuditEntry.lead_id).where(AuditEntry.action == "privacy_lookup")) is None


def test_text_that_is_not_a_phone_number_is_refused(app, manager):
    with pytest.raises(PhoneNotValid):
        look_up_patient("Анна", manager.id)


# -- export ------------------------------------------------------------------------------------

def test_the_json_export_holds_leads_requests_consents_calls_visits_and_the_do_not_call_entry(patient, manager):
    body, _ = export_patient(ANNA_TYPED, "json", manager.id)

    data = json.loads(body)
    assert data["phone"] == ANNA
    assert [item["id"] for item in data["leads"]] == patient["leads"]
    first, second = data["leads"]
    assert [r["name"] for r in second["requests"]] == ["Анна Иванова", "Анна Иванова-Петрова"]
    consent = second["requests"][0]["consent"]
    assert consent["consent_version"] >= 1 and len(consent["consent_sha256"]) == 64 and consent["consent_at"]
    assert [c["outcome"] for c in first["calls"]] == ["no_answer", "do_not_call"]
    assert first["calls"][1]["operator"] == "Olga"
    assert [a["status"] for a in second["appointments"]] == ["attended", "scheduled"]
    assert second["appointments"][0]["doctor"] == "Д-р Сидоров"
    assert data["do_not_call"]["lead_id"] == patient["leads"][0]
    assert "Борис" not in body


def test_the_csv_export_is_utf8_with_a_bom_semicolons_and_no_formulas(patient, manager):
    body, _ = export_patient(ANNA, "csv", manager.id)

    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0] == ["section", "lead_id", "record", "field", "value"]
    sections = {row[0] for row in rows[1:]}
    assert sections == {"lead", "request", "consent", "call", "appointment", "event", "do_not_call"}
    assert ["lead", str(patient["leads"][0]), str(patient["leads"][0]), "phone", "'" + ANNA] in rows
    assert any(row[3] == "name" and row[4] == "Анна Иванова-Петрова" for row in rows)
