"""Doctors and closures: what the admin edits for the appointment book (DESIGN.md §1.1, §1.5).

Every change owns its transaction and writes an audit row with it.  A doctor's
weekly plan is stored as JSON {"0": ["09:00", "14:00"], ...} (weekday 0 =
Monday); no plan means the clinic's hours.  A plan must lie inside the clinic's
hours on working days (`leads.domain.slots.validate_doctor_plan`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from leads.domain.calendar import CalendarError, WeeklyPlan, make_calendar
from leads.domain.slots import validate_doctor_plan
from leads.extensions import db
from leads.models import Closure, Doctor
from leads.services.audit import record_audit
from leads.services.clinic import forget_closures, now_utc
from leads.services.report_facts import count_first_calls_again
from leads.services.unit_of_work import unit_of_work

__all__ = [
    "ClosureInfo",
    "DoctorError",
    "DoctorInfo",
    "add_closure",
    "format_plan",
    "get_doctor",
    "list_closures",
    "list_doctors",
    "parse_plan",
    "plan_from_json",
    "remove_closure",
    "save_doctor",
    "set_doctor_active",
    "specialties",
]

NAME_MAX_LENGTH = 100  # Doctor.name and Doctor.specialty
REASON_MAX_LENGTH = 200  # Closure.reason

WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS_RU = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")
# Names a person may type, lower case: the short forms and the full names' first letters.
_WEEKDAY_WORDS: dict[str, int] = {
    **{name.lower(): day for day, name in enumerate(WEEKDAYS_EN)},
    **{name.lower(): day for day, name in enumerate(WEEKDAYS_RU)},
    **{name: day for day, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    **{name: day for day, name in enumerate(("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"))},
}
_WEEKDAY_LABELS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
_DASH = r"\s*[-–—]\s*"
_TIME = r"\d{1,2}[:.]\d{2}"
_PLAN_LINE = re.compile(rf"^(?P<days>[^\d\s]+(?:{_DASH}[^\d\s]+)?)\s+(?P<opens>{_TIME}){_DASH}(?P<closes>{_TIME})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DoctorError(ValueError):
    """An admin's change that cannot be made; `message` says why, `field` where."""

    def __init__(self, field: str, message) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DoctorInfo:
    """A doctor as the book shows it; `plan` None means the clinic's hours."""

    id: int
    name: str
    specialty: str
    active: bool
    plan: dict[int, tuple[time, time]] | None


@dataclass(frozen=True)
class ClosureInfo:
    """A day the clinic is shut."""

    id: int
    day: date
    reason: str


# -- plans: text for the form, JSON for the column ----------------------------------------------


def plan_from_json(stored: str | None) -> dict[int, tuple[time, time]] | None:
    """The plan kept in `Doctor.plan`, or None for the clinic's hours."""
    if not stored:
        return None
    raw = json.loads(stored)
    return {
        int(day): (time.fromisoformat(hours[0]), time.fromisoformat(hours[1]))
        for day, hours in sorted(raw.items(), key=lambda item: int(item[0]))
    }


def _plan_to_json(plan: WeeklyPlan | None) -> str | None:
    if not plan:
        return None
    return json.dumps(
        {str(day): [plan[day][0].strftime("%H:%M"), plan[day][1].strftime("%H:%M")] for day in sorted(plan)}
    )


def _weekday(word: str, line: str) -> int:
    day = _WEEKDAY_WORDS.get(word.strip().lower().rstrip("."))
    if day is None:
        raise DoctorError(
            "plan",
            _l('"%(line)s": write the day as Mon…Sun or Пн…Вс, e.g. "Mon 09:00-14:00".', line=line),
        )
    return day


def _clock(text: str, line: str) -> time:
    hours, minutes = re.split(r"[:.]", text)
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise DoctorError("plan", _l('"%(line)s": %(time)s is not a time of day.', line=line, time=text)) from None


def parse_plan(text: str) -> dict[int, tuple[time, time]] | None:
    """A plan typed in the admin form, one day (or range of days) per line; empty → None.

    Lines look like "Mon 09:00-14:00", "Пн 09:00-14:00" or "Mon-Fri 09:00-14:00";
    commas or semicolons may separate them too.  The hours are checked against
    the clinic's by `save_doctor`.

    :raise DoctorError: field "plan", saying which line is wrong and how to write it.
    """
    plan: dict[int, tuple[time, time]] = {}
    for raw_line in re.split(r"[\n;,]", text or ""):
        line = " ".join(raw_line.split())
        if not line:
            continue
        match = _PLAN_LINE.match(line)
        if match is None:
            raise DoctorError(
                "plan", _l('"%(line)s": write a day and its hours, e.g. "Mon 09:00-14:00".', line=line)
            )
        days = re.split(_DASH, match["days"], maxsplit=1)  # "Mon" or "Mon-Fri"
        first_day, last_day = _weekday(days[0], line), _weekday(days[-1], line)
        if last_day < first_day:
            raise DoctorError("plan", _l('"%(line)s": the days run backwards.', line=line))
        opens, closes = _clock(match["opens"], line), _clock(match["closes"], line)
        if not opens < closes:
            raise DoctorError("plan", _l('"%(line)s": the start must be before the end.', line=line))
        for day in range(first_day, last_day + 1):
            if day in plan:
                raise DoctorError(
                    "plan", _l("%(day)s is given twice. Write each day once.", day=_WEEKDAY_LABELS[day])
                )
            plan[day] = (opens, closes)
    return dict(sorted(plan.items())) or None


def format_plan(plan: WeeklyPlan | None, *, lang: str | None = None) -> str:
    """The plan as `parse_plan` reads it, one day per line ("" for the clinic's hours).

    Day names are Russian when `lang` (default: the current locale) is "ru".
    """
    if not plan:
        return ""
    if lang is None:
        lang = _current_language()
    names = WEEKDAYS_RU if lang == "ru" else WEEKDAYS_EN
    return "\n".join(
        f"{names[day]} {plan[day][0].strftime('%H:%M')}-{plan[day][1].strftime('%H:%M')}" for day in sorted(plan)
    )


def _current_language() -> str:
    try:
        from flask_babel import get_locale

        locale = get_locale()
    except (RuntimeError, KeyError, AttributeError):  # outside an app or without Babel
        return "en"
    return locale.language if locale is not None else "en"


def _check_plan(plan: WeeklyPlan | None) -> dict[int, tuple[time, time]] | None:
    if not plan:
        return None
    from flask import current_app

    cal = make_calendar(current_app.config["CLINIC_TIMEZONE"])
    for day, (opens, closes) in sorted(plan.items()):
        clinic = cal.weekly_plan.get(day)
        if clinic is None:
            raise DoctorError("plan", _l("The clinic is closed on %(day)s. Remove that day.", day=_WEEKDAY_LABELS[day]))
        if not (clinic[0] <= opens < closes <= clinic[1]):
            raise DoctorError(
                "plan",
                _l(
                    "Hours must lie within %(opens)s–%(closes)s on working days (%(day)s).",
                    opens=clinic[0].strftime("%H:%M"),
                    closes=clinic[1].strftime("%H:%M"),
                    day=_WEEKDAY_LABELS[day],
                ),
            )
    try:
        validate_doctor_plan(cal, plan)
    except CalendarError:  # anything the checks above did not word for a person
        raise DoctorError("plan", _l("Hours must lie within the clinic's opening hours on working days.")) from None
    return dict(sorted(plan.items()))


# -- doctors ------------------------------------------------------------------------------------


def _info(doctor: Doctor) -> DoctorInfo:
    return DoctorInfo(
        id=doctor.id,
        name=doctor.name,
        specialty=doctor.specialty,
        active=doctor.active,
        plan=plan_from_json(doctor.plan),
    )


def _clean_text(value: str, field: str, what) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise DoctorError(field, _l("Enter the %(what)s.", what=what))
    if len(cleaned) > NAME_MAX_LENGTH:
        raise DoctorError(field, _l("Keep the %(what)s to %(max)d characters.", what=what, max=NAME_MAX_LENGTH))
    if _CONTROL.search(cleaned):
        raise DoctorError(field, _l("Remove the special characters from the %(what)s.", what=what))
    return cleaned


def list_doctors(include_inactive: bool = False) -> list[DoctorInfo]:
    """Doctors ordered by specialty, then name; active ones only unless asked."""
    query = sa.select(Doctor).order_by(Doctor.specialty, Doctor.name, Doctor.id)
    if not include_inactive:
        query = query.where(Doctor.active.is_(True))
    return [_info(doctor) for doctor in db.session.scalars(query)]


def get_doctor(doctor_id: int) -> DoctorInfo:
    """One doctor. :raise DoctorError: field "doctor" if there is none with this id."""
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None:
        raise DoctorError("doctor", _l("This doctor does not exist (any more)."))
    return _info(doctor)


def specialties() -> list[str]:
    """The specialties of active doctors, sorted."""
    return list(
        db.session.scalars(
            sa.select(Doctor.specialty).where(Doctor.active.is_(True)).distinct().order_by(Doctor.specialty)
        )
    )


def save_doctor(
    *,
    user_id: int,
    name: str,
    specialty: str,
    plan: dict[int, tuple[time, time]] | None,
    doctor_id: int | None = None,
    ip: str = "",
) -> DoctorInfo:
    """Create a doctor, or update one (`doctor_id`); commits with an audit row (from `ip`).

    Changing a plan does not touch appointments already booked.

    :raise DoctorError: field "name", "specialty", "plan" or "doctor" (no such doctor).
    """
    clean_name = _clean_text(name, "name", _l("doctor's name"))
    clean_specialty = _clean_text(specialty, "specialty", _l("specialty"))
    checked_plan = _check_plan(plan)
    if doctor_id is None:
        doctor = Doctor(name=clean_name, specialty=clean_specialty, active=True, created_at=now_utc())
        db.session.add(doctor)
        action = "doctor_created"
    else:
        found = db.session.get(Doctor, doctor_id)
        if found is None:
            raise DoctorError("doctor", _l("This doctor does not exist (any more)."))
        doctor, action = found, "doctor_updated"
    doctor.name, doctor.specialty, doctor.plan = clean_name, clean_specialty, _plan_to_json(checked_plan)
    db.session.flush()
    record_audit(
        user_id,
        action,
        detail=f"doctor {doctor.id}: {clean_name}, {clean_specialty}; plan {format_plan(checked_plan, lang='en') or 'clinic hours'}",
        ip=ip,
    )
    db.session.commit()
    return _info(doctor)


def set_doctor_active(doctor_id: int, active: bool, *, user_id: int, ip: str = "") -> None:
    """Let a doctor take appointments again, or stop new ones; commits with an audit row (from `ip`).

    An inactive doctor keeps the appointments already booked.
    """
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None:
        raise DoctorError("doctor", _l("This doctor does not exist (any more)."))
    doctor.active = bool(active)
    record_audit(user_id, "doctor_activated" if active else "doctor_deactivated", detail=f"doctor {doctor_id}: {doctor.name}",
                 ip=ip)
    db.session.commit()


# -- closures -----------------------------------------------------------------------------------


def list_closures(from_day: date | None = None) -> list[ClosureInfo]:
    """Closures by date, from `from_day` on (all of them when None)."""
    query = sa.select(Closure).order_by(Closure.day)
    if from_day is not None:
        query = query.where(Closure.day >= from_day)
    return [ClosureInfo(c.id, c.day, c.reason) for c in db.session.scalars(query)]


def add_closure(day: date, reason: str, *, user_id: int, ip: str = "") -> ClosureInfo:
    """Shut the clinic on `day`; commits with an audit row (from `ip`).

    Appointments already booked that day stay (the book shows them on the
    closed day, to be moved or cancelled).

    :raise DoctorError: field "day" when the day is already closed or not a date;
        field "reason" when the reason is too long.
    """
    if isinstance(day, datetime) or not isinstance(day, date):
        raise DoctorError("day", _l("Enter a date."))
    clean_reason = " ".join((reason or "").split())
    if len(clean_reason) > REASON_MAX_LENGTH:
        raise DoctorError("reason", _l("Keep the reason to %(max)d characters.", max=REASON_MAX_LENGTH))
    if _CONTROL.search(clean_reason):
        raise DoctorError("reason", _l("Remove the special characters from the reason."))
    closure = Closure(day=day, reason=clean_reason)
    try:
        with unit_of_work():
            db.session.add(closure)
            db.session.flush()
            record_audit(user_id, "closure_added", detail=f"{day.isoformat()}: {clean_reason}", ip=ip)
            count_first_calls_again(day)
    except IntegrityError:
        raise DoctorError("day", _l("The clinic is already closed on this day.")) from None
    forget_closures()
    return ClosureInfo(closure.id, closure.day, closure.reason)


def remove_closure(closure_id: int, *, user_id: int, ip: str = "") -> None:
    """Open the clinic again on a closed day; commits with an audit row from `ip` (nothing if already gone)."""
    with unit_of_work():
        closure = db.session.get(Closure, closure_id)
        if closure is None:
            return
        detail = f"{closure.day.isoformat()}: {closure.reason}"
        db.session.delete(closure)
        record_audit(user_id, "closure_removed", detail=detail, ip=ip)
        count_first_calls_again(closure.day)
    forget_closures()
