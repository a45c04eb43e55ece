"""Demo data for `make run`: doctors, a closure, and leads in every state a clinic sees.

Everything goes through the real services, at past moments (`now=`), so the
demo is what the app itself would have written: requests with consent,
calls and their outcomes, callbacks, bookings, visits marked.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from leads.domain.outcomes import OutcomeError
from leads.extensions import db
from leads.models import Doctor, Lead, User
from leads.services.appointments import AppointmentError, book_appointment, first_free_slots, mark_attendance
from leads.services.calls import record_outcome
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.doctors import add_closure, save_doctor
from leads.services.intake import CallbackRequest, submit_callback_request
from leads.services.errors import QueueError
from leads.services.queue import claim_lead

# A surname agrees with the first name's gender: "Сергей Соколов", "Анна Соколова".
MEN = ["Иван", "Пётр", "Сергей", "Дмитрий", "Алексей"]
WOMEN = ["Анна", "Мария", "Ольга", "Елена", "Наталья"]
SURNAMES = [("Иванов", "Иванова"), ("Смирнов", "Смирнова"), ("Кузнецов", "Кузнецова"), ("Попов", "Попова"),
            ("Соколов", "Соколова"), ("Лебедев", "Лебедева"), ("Козлов", "Козлова"), ("Новиков", "Новикова")]
SOURCES = [("yandex", "cpc", "spring"), ("google", "cpc", "brand"), ("", "", ""), ("vk", "social", "promo")]
DOCTORS = [
    ("Алексеева Ирина Петровна", "Терапевт", None),
    ("Борисов Олег Викторович", "Терапевт", {0: (time(9), time(14)), 2: (time(9), time(14)), 4: (time(9), time(14))}),
    ("Волкова Светлана Игоревна", "Невролог", None),
    ("Григорьев Андрей Сергеевич", "Кардиолог", {1: (time(12), time(20)), 3: (time(12), time(20))}),
    ("Дмитриева Елена Юрьевна", "Стоматолог", None),
]
# What the demo operators made of the calls they already made, by weight.
OUTCOMES = ["booked"] * 4 + ["no_answer"] * 3 + ["busy", "callback", "consulted", "declined", "wrong_number", "spam"]


def load_demo(lead_count: int = 40, seed: int = 7) -> list[str]:
    """Create demo doctors, a closure and leads unless there are leads already; lines to print."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Lead)):
        return ["demo data: already loaded"]
    rng = random.Random(seed)
    now = now_utc()
    admin_id = db.session.scalar(sa.select(User.id).where(User.role == "admin"))
    operator_id = db.session.scalar(sa.select(User.id).where(User.role == "operator"))
    lines = _doctors_and_closure(admin_id, now)
    lead_ids = _requests(rng, lead_count, now)
    worked = _calls(rng, lead_ids, operator_id, now) if operator_id else 0
    lines.append(f"demo data: {lead_count} leads since {_week_start(now):%d.%m.%Y}, {worked} of them already called")
    return lines


def _doctors_and_closure(admin_id: int | None, now: datetime) -> list[str]:
    if admin_id is None or db.session.scalar(sa.select(sa.func.count()).select_from(Doctor)):
        return []
    for name, specialty, plan in DOCTORS:
        save_doctor(user_id=admin_id, name=name, specialty=specialty, plan=plan)
    local_today = clinic_calendar(now).local(now).date()
    new_year = date(local_today.year + 1, 1, 1)
    add_closure(new_year, "Новогодние праздники", user_id=admin_id)
    return [f"demo data: {len(DOCTORS)} doctors, closure on {new_year:%d.%m.%Y}"]


def _week_start(now: datetime) -> datetime:
    """Where the demo's requests begin: this week's Monday at midnight (clinic time), so that the
    reports' default period shows them; a week ago when this week has barely begun."""
    local = clinic_calendar(now).local(now)
    monday = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=local.weekday())
    return monday if now - monday >= timedelta(days=1) else now - timedelta(days=7)


def _name(rng: random.Random) -> str:
    man, woman = rng.choice(SURNAMES)
    return f"{rng.choice(MEN)} {man}" if rng.random() < 0.5 else f"{rng.choice(WOMEN)} {woman}"


def _requests(rng: random.Random, count: int, now: datetime) -> list[int]:
    from leads.services.consent import consent_text

    text = consent_text("ru")
    minutes = int((now - _week_start(now)).total_seconds() // 60)
    for index in range(count):
        source, medium, campaign = rng.choice(SOURCES)
        request = CallbackRequest(
            name=_name(rng),
            phone=f"+7916{1000000 + index * 7919 % 9000000:07d}",
            consent_text=text,
            locale="ru",
            comment=rng.choice(["", "Хочу записаться к терапевту", "Болит спина", "Анализы"]),
            source=rng.choice(["form", "embed", "api"]),
            utm={"utm_source": source, "utm_medium": medium, "utm_campaign": campaign},
            ip="127.0.0.1",
            user_agent="demo",
        )
        submit_callback_request(request, now - timedelta(minutes=rng.randint(1, minutes)))
    return list(db.session.scalars(sa.select(Lead.id).order_by(Lead.created_at)))


def _calls(rng: random.Random, lead_ids: list[int], operator_id: int, now: datetime) -> int:
    """Work the older two thirds of the leads as an operator would have, at the time."""
    calendar = clinic_calendar(now)
    worked = 0
    for lead_id in lead_ids[: len(lead_ids) * 2 // 3]:
        lead = db.session.get_one(Lead, lead_id)
        called_at = calendar.next_open(lead.created_at + timedelta(minutes=rng.randint(3, 40)))
        if called_at >= now:
            continue
        try:
            claim_lead(lead_id, operator_id, now=called_at)
            _one_outcome(rng, lead_id, operator_id, rng.choice(OUTCOMES), called_at, now)
        except (QueueError, OutcomeError, AppointmentError):
            db.session.rollback()
            continue
        worked += 1
    return worked


def _one_outcome(rng: random.Random, lead_id: int, user_id: int, outcome: str, at: datetime, now: datetime) -> None:
    if outcome == "booked":
        specialty = rng.choice(["Терапевт", "Невролог", "Кардиолог", "Стоматолог"])
        slot = first_free_slots(specialty=specialty, from_moment=at + timedelta(days=1), count=1, now=at)[0]
        appointment = book_appointment(lead_id, user_id, slot.doctor_id, slot.start, now=at)
        if slot.start < now:
            mark_attendance(appointment.id, user_id, attended=rng.random() < 0.8, now=now)
        return
    callback_at = None
    if outcome == "callback":
        callback_at = clinic_calendar(at).next_working_day_opening(at) + timedelta(hours=2)
    record_outcome(lead_id, user_id, outcome, callback_at=callback_at, now=at, note="демо")
