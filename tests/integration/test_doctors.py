"""Doctors and closures as the admin edits them: plans in both languages, hours, audit."""
from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import AuditEntry, Doctor
from leads.services.clinic import clinic_calendar
from leads.services.doctors import (
    DoctorError,
    add_closure,
    format_plan,
    get_doctor,
    list_closures,
    list_doctors,
    parse_plan,
    remove_closure,
    save_doctor,
    set_doctor_active,
    specialties,
)

MORNINGS = {0: (time(9), time(14)), 2: (time(9), time(14)), 4: (time(12), time(20))}


@pytest.fixture
def admin(make_user):
    return make_user("admin", "alla")


# -- plans as typed in the form -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Mon 09:00-14:00\nWed 09:00-14:00\nFri 12:00-20:00",
        "Пн 09:00-14:00\nСр 09:00–14:00\nПт 12:00 — 20:00",
        "mon 9:00-14:00; wed 9.00-14.00, FRI 12:00-20:00",
        "  Понедельник 09:00-14:00\n\nсреда 09:00-14:00\nFriday 12:00-20:00  ",
    ],
    ids=["english", "russian", "loose", "full-names"],
)
def test_a_plan_is_read_in_english_and_russian(text):
    assert parse_plan(text) == MORNINGS


def test_a_range_of_days_is_read():
    assert parse_plan("Пн-Пт 10:00-18:00") == {day: (time(10), time(18)) for day in range(5)}


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_an_empty_plan_means_the_clinics_hours(text):
    assert parse_plan(text) is None


@pytest.mark.parametrize(
    "text",
    ["Mon", "Mon 09:00", "Xyz 09:00-14:00", "Mon 14:00-09:00", "Mon 25:00-26:00", "Mon 09:00-12:00\nMon 13:00-14:00",
     "Fri-Mon 09:00-12:00"],
    ids=["no-hours", "no-end", "unknown-day", "backwards", "not-a-time", "twice", "days-backwards"],
)
def test_an_unreadable_plan_is_refused_with_a_message(app, text):
    with pytest.raises(DoctorError) as refused:
        parse_plan(text)
    assert refused.value.field == "plan"
    assert str(refused.value.message)


def test_a_plan_is_written_back_as_it_is_read():
    assert parse_plan(format_plan(MORNINGS, lang="en")) == MORNINGS
    assert format_plan(MORNINGS, lang="ru").splitlines()[0] == "Пн 09:00-14:00"
    assert parse_plan(format_plan(MORNINGS, lang="ru")) == MORNINGS
    assert format_plan(None) == ""


# -- doctors ------------------------------------------------------------------------------------


def test_a_doctor_is_created_with_a_plan_and_audited(app, admin):
    saved = save_doctor(user_id=admin.id, name="  Иванов  Пётр ", specialty="Терапевт", plan=MORNINGS)
    assert (saved.name, saved.specialty, saved.active, saved.plan) == ("Иванов Пётр", "Терапевт", True, MORNINGS)
    assert get_doctor(saved.id) == saved
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.user_id == admin.id)) == "doctor_created"


def test_a_doctor_is_updated_in_place(app, admin):
    saved = save_doctor(user_id=admin.id, name="Иванов", specialty="Терапевт", plan=MORNINGS)
    updated = save_doctor(user_id=admin.id, name="Иванов", specialty="Кардиолог", plan=None, doctor_id=saved.id)
    assert (updated.id, updated.specialty, updated.plan) == (saved.id, "Кардиолог", None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Doctor)) == 1


@pytest.mark.parametrize(
    "plan",
    [{0: (time(8), time(12))}, {1: (time(10), time(20, 30))}, {6: (time(10), time(12))}],
    ids=["before-opening", "after-closing", "sunday"],
)
def test_a_plan_outside_clinic_hours_is_refused_and_nothing_saved(app, admin, plan):
    with pytest.raises(DoctorError) as refused:
        save_doctor(user_id=admin.id, name="Иванов", specialty="Терапевт", plan=plan)
    assert refused.value.field == "plan"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Doctor)) == 0


def test_the_refusal_names_the_clinics_hours(app, admin):
    with pytest.raises(DoctorError) as refused:
        save_doctor(user_id=admin.id, name="Иванов", specialty="Терапевт", plan=parse_plan("Пн 08:00-12:00"))
    assert "09:00–20:00" in str(refused.value.message)


@pytest.mark.parametrize(
    ("name", "specialty", "field"),
    [("", "Терапевт", "name"), ("Иванов", "   ", "specialty"), ("И" * 101, "Терапевт", "name"),
     ("Иванов\x07", "Терапевт", "name")],
)
def test_names_must_be_one_to_a_hundred_plain_characters(app, admin, name, specialty, field):
    with pytest.raises(DoctorError) as refused:
        save_doctor(user_id=admin.id, name=name, specialty=specialty, plan=None)
    assert refused.value.field == field


def test_lists_and_specialties_show_active_doctors_in_order(app, admin):
    a = save_doctor(user_id=admin.id, name="Сидоров", specialty="Терапевт", plan=None)
    b = save_doctor(user_id=admin.id, name="Антонов", specialty="Терапевт", plan=None)
    c = save_doctor(user_id=admin.id, name="Петров", specialty="Кардиолог", plan=None)
    d = save_doctor(user_id=admin.id, name="Белов", specialty="Хирург", plan=None)
    set_doctor_active(d.id, False, user_id=admin.id)
    assert [x.id for x in list_doctors()] == [c.id, b.id, a.id]
    assert [x.id for x in list_doctors(include_inactive=True)] == [c.id, b.id, a.id, d.id]
    assert specialties() == ["Кардиолог", "Терапевт"]
    set_doctor_active(d.id, True, user_id=admin.id)
    assert get_doctor(d.id).active
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["doctor_deactivated", "doctor_activated"]


def test_a_missing_doctor_is_a_doctor_error(app, admin):
    with pytest.raises(DoctorError) as refused:
        get_doctor(999)
    assert refused.value.field == "doctor"


# -- closures -----------------------------------------------------------------------------------


def test_a_closure_shuts_the_clinic_at_once_and_can_be_removed(app, admin):
    closure = add_closure(date(2026, 12, 31), "Новый год", user_id=admin.id)
    assert clinic_calendar().opening_hours(date(2026, 12, 31)) is None
    assert list_closures(date(2026, 12, 1)) == [closure]
    assert list_closures(date(2027, 1, 1)) == []
    remove_closure(closure.id, user_id=admin.id)
    assert clinic_calendar().opening_hours(date(2026, 12, 31)) is not None
    assert db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all() == [
        "closure_added",
        "closure_removed",
    ]


def test_a_day_closed_twice_is_refused(app, admin):
    add_closure(date(2026, 12, 31), "Новый год", user_id=admin.id)
    with pytest.raises(DoctorError) as refused:
        add_closure(date(2026, 12, 31), "Again", user_id=admin.id)
    assert refused.value.field == "day"
    assert len(list_closures()) == 1
