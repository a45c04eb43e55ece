"""Free appointment slots: the clinic grid, each doctor's plan, minus the live appointments.

One query reads the taken starts of all the doctors searched, over the whole
range; the grid and the plans are pure code (`leads.domain.slots`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import islice

import sqlalchemy as sa
from flask import current_app

from leads.domain.calendar import ClinicCalendar
from leads.domain.slots import free_slots_of_doctors
from leads.extensions import db
from leads.models import LIVE_APPOINTMENT_STATUSES, Appointment, Doctor
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.doctors import plan_from_json

SEARCH_DAYS = 60  # how far ahead `first_free_slots` looks
FIRST_SEARCH_DAYS = 7  # most searches end within the first week: look there first

# Written out literally so that SQLite matches the partial unique index
# (doctor_id, starts_at) WHERE status IN (...): it never matches bound values.
LIVE_SQL = sa.text("status IN (" + ", ".join(f"'{s}'" for s in LIVE_APPOINTMENT_STATUSES) + ")")


def slot_minutes() -> int:
    """The appointment grid's step (SLOT_MINUTES)."""
    return current_app.config["SLOT_MINUTES"]


# slots: a month of one specialty is ~1,500 of them, built per search; no __dict__ each.
@dataclass(frozen=True, slots=True)
class FreeSlot:
    """A bookable slot of one doctor (aware, clinic time)."""

    doctor_id: int
    doctor_name: str
    specialty: str
    start: datetime
    end: datetime


def _active_doctors(specialty: str | None, doctor_id: int | None) -> list[Doctor]:
    query = sa.select(Doctor).where(Doctor.active.is_(True)).order_by(Doctor.name, Doctor.id)
    if specialty:
        query = query.where(Doctor.specialty == specialty)
    if doctor_id is not None:
        query = query.where(Doctor.id == doctor_id)
    return list(db.session.scalars(query))


@cache
def _taken_starts_statement() -> sa.Select:
    """Built once, with bind parameters: each call only binds the doctors and the range.

    The start is read as the driver gives it (no per-row type processing:
    SQLite gives ISO text, PostgreSQL a naive datetime, both UTC).
    """
    return sa.select(Appointment.doctor_id, sa.type_coerce(Appointment.starts_at, sa.String)).where(
        Appointment.doctor_id.in_(sa.bindparam("doctor_ids", expanding=True)),
        Appointment.starts_at >= sa.bindparam("since", type_=Appointment.starts_at.type),
        Appointment.starts_at < sa.bindparam("until", type_=Appointment.starts_at.type),
        LIVE_SQL,
    )


def _taken_starts(doctor_ids: list[int], since: datetime, until: datetime) -> dict[int, list[datetime]]:
    """Starts (naive UTC) of the live appointments of these doctors in [since, until).

    One range scan of the unique index (doctor_id, starts_at) per doctor, in
    one statement.  A month of a specialty is ~1,000 rows, so they are read
    through Core and parsed in C (`datetime.fromisoformat`), not row by row
    through the column type.
    """
    rows = db.session.connection().execute(
        _taken_starts_statement(), {"doctor_ids": doctor_ids, "since": since, "until": until}
    ).all()
    taken: dict[int, list[datetime]] = {doctor_id: [] for doctor_id in doctor_ids}
    parse = datetime.fromisoformat
    for doctor_id, starts_at in rows:
        taken[doctor_id].append(parse(starts_at) if isinstance(starts_at, str) else starts_at)
    return taken


def _search(
    doctors: list[Doctor], cal: ClinicCalendar, first_day: date, last_day: date, not_before: datetime, limit: int | None
) -> list[FreeSlot]:
    if not doctors or last_day < first_day:
        return []
    since = max(not_before, datetime.combine(first_day, time(), tzinfo=cal.tz))
    until = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=cal.tz)
    found = free_slots_of_doctors(
        cal,
        first_day,
        last_day,
        now=not_before,
        slot_minutes=slot_minutes(),
        plans={doctor.id: plan_from_json(doctor.plan) for doctor in doctors},
        taken=_taken_starts([doctor.id for doctor in doctors], since, until),
    )
    names = {doctor.id: (doctor.name, doctor.specialty) for doctor in doctors}
    return [FreeSlot(doctor_id, *names[doctor_id], start, end) for doctor_id, start, end in islice(found, limit)]


def find_free_slots(
    *,
    specialty: str | None = None,
    doctor_id: int | None = None,
    first_day: date,
    days: int = 1,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[FreeSlot]:
    """Free slots of active doctors on `days` clinic dates from `first_day`.

    Sorted by start, then doctor name.  Honours closures, Sundays, each
    doctor's plan, SLOT_MINUTES and the live appointments; never a slot that
    has already started.
    """
    now = now or now_utc()
    cal = clinic_calendar(now)
    last_day = first_day + timedelta(days=days - 1)
    first_day = max(first_day, cal.local(now).date())  # earlier days have no slot left
    return _search(_active_doctors(specialty, doctor_id), cal, first_day, last_day, now, limit)


def first_free_slots(
    *,
    specialty: str | None = None,
    doctor_id: int | None = None,
    from_moment: datetime | None = None,
    count: int = 12,
    now: datetime | None = None,
) -> list[FreeSlot]:
    """The first `count` free slots from now, or from `from_moment` (a patient's preferred
    window) if later, looking up to SEARCH_DAYS ahead of it: the first week, then the rest."""
    now = now or now_utc()
    cal = clinic_calendar(now)
    not_before = max(now, from_moment) if from_moment is not None else now
    doctors = _active_doctors(specialty, doctor_id)
    first_day = cal.local(not_before).date()
    horizon = first_day + timedelta(days=SEARCH_DAYS)
    week_end = min(first_day + timedelta(days=FIRST_SEARCH_DAYS - 1), horizon)
    found = _search(doctors, cal, first_day, week_end, not_before, count)
    if len(found) < count:
        found += _search(doctors, cal, week_end + timedelta(days=1), horizon, not_before, count - len(found))
    return found


