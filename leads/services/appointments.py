"""The appointment book: free slots, booking, moving, cancelling, attendance (DESIGN.md §1.5).

No two live appointments of one doctor share a slot: the partial unique index
`uq_appointments_doctor_slot` decides, never a check in Python.  Booking and
moving write first and ask the index; a conflict rolls the whole transaction
back and answers `SlotTaken` with the free slots nearby.  A move is one UPDATE
of the live row, so the new slot is held before the old one is freed: a
refused move keeps the old slot.

Booking is the `booked` outcome of a call: the claim check and the lead's
conditional update are `leads.services.calls`'s, in the same transaction as
the appointment.  When the slot was just taken nothing is written: the lead
stays open and the operator keeps the claim, still on the phone with the
patient, to offer one of the nearby slots.

Cancelling an appointment frees its slot and leaves the lead booked (it was
booked; the book and the reports say what came of it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from leads.domain.calendar import ClinicCalendar
from leads.domain.outcomes import Outcome
from leads.domain.slots import SlotRefused, check_slot, slot_grid
from leads.extensions import db
from leads.models import Appointment, Closure, Doctor, Lead, LeadEvent
from leads.services.after_booking import after_booked, after_cancelled, after_moved
from leads.services.audit import record_audit
from leads.services.calls import add_outcome, check_may_record, clean_note
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.doctors import DoctorInfo, plan_from_json
from leads.services.free_slots import LIVE_SQL, FreeSlot, find_free_slots, first_free_slots, slot_minutes
from leads.services.report_facts import note_visit
from leads.services.errors import LeadNotOpen
from leads.services.unit_of_work import unit_of_work

__all__ = [
    "AppointmentError",
    "AppointmentInfo",
    "DayBook",
    "FreeSlot",
    "SlotTaken",
    "book_appointment",
    "cancel_appointment",
    "day_book",
    "find_free_slots",
    "first_free_slots",
    "lead_appointments",
    "mark_attendance",
    "reschedule_appointment",
]

CANCEL_REASON_MAX_LENGTH = 200  # Appointment.cancel_reason
NEARBY_DAYS = 7  # "free slots nearby" come from the wanted day and the week after it
NEARBY_PER_GROUP = 6  # of the same doctor, and of the others of the specialty


MESSAGES = {
    "inactive_doctor": _l("This doctor no longer takes appointments. Choose another doctor."),
    "past": _l("This time has already passed. Choose a later slot."),
    "closed_day": _l("The clinic is closed on this day. Choose another day."),
    "closure": _l("The clinic is closed on this day (a holiday). Choose another day."),
    "off_grid": _l("Appointments start on the slot grid. Choose one of the slots shown."),
    "outside_hours": _l("This time is outside the clinic's opening hours. Choose a slot shown."),
    "outside_doctor_plan": _l("The doctor does not see patients at this time. Choose a slot shown."),
    "slot_taken": _l("This slot was just taken. Choose one of the free slots nearby."),
    "not_found": _l("This appointment does not exist (any more). Reload the page."),
    "doctor_not_found": _l("This doctor does not exist (any more). Choose another doctor."),
    "not_live": _l("This appointment is no longer scheduled (cancelled or already marked)."),
    "too_early": _l("The appointment has not started yet. Mark it once its time has come."),
    "lead_not_open": _l("This request is already booked or closed."),
    "reason_required": _l("Say why the appointment is cancelled."),
    "reason_too_long": _l("Keep the reason to %(max)d characters.", max=CANCEL_REASON_MAX_LENGTH),
    "bad_email": _l("Enter an e-mail address like name@example.ru, or leave it empty."),
}
_FIELDS = {"inactive_doctor": "doctor", "not_found": "appointment", "not_live": "appointment",
           "too_early": "appointment", "lead_not_open": "appointment", "reason_required": "reason",
           "bad_email": "email"}


class AppointmentError(Exception):
    """The book refused a change; `code` says why, `message` tells a person, `field` where."""

    def __init__(self, code: str, *, field: str | None = None, message: Any = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field or _FIELDS.get(code, "slot")
        self.message = message if message is not None else MESSAGES[code]


class SlotTaken(AppointmentError):
    """Someone booked this doctor's slot first; `nearby` are free slots close to it."""

    def __init__(self, nearby: list[FreeSlot]) -> None:
        super().__init__("slot_taken")
        self.nearby = nearby


@dataclass(frozen=True)
class AppointmentInfo:
    """An appointment as the book shows it (times aware, clinic time)."""

    id: int
    doctor_id: int
    doctor_name: str
    specialty: str
    lead_id: int
    patient_name: str
    phone: str
    start: datetime
    end: datetime
    status: str
    cancel_reason: str


@dataclass(frozen=True)
class DayBook:
    """One clinic day: doctors as columns, the slot grid as rows.

    `cells[(doctor_id, local slot start)]` is the live appointment there,
    "free", or "off" (outside the doctor's plan, or the clinic closed that day).
    """

    day: date
    doctors: list[DoctorInfo]
    times: list[time]
    cells: dict[tuple[int, time], AppointmentInfo | str]
    closed: bool
    closure_reason: str


# -- helpers ------------------------------------------------------------------------------------


def _info_statement() -> sa.Select:
    return sa.select(Appointment, Doctor.name, Doctor.specialty, Lead.name, Lead.phone).join(
        Doctor, Doctor.id == Appointment.doctor_id
    ).join(Lead, Lead.id == Appointment.lead_id)


def _info(row: Any, cal: ClinicCalendar) -> AppointmentInfo:
    appointment, doctor_name, specialty, patient_name, phone = row
    return AppointmentInfo(
        id=appointment.id,
        doctor_id=appointment.doctor_id,
        doctor_name=doctor_name,
        specialty=specialty,
        lead_id=appointment.lead_id,
        patient_name=patient_name,
        phone=phone,
        start=cal.local(appointment.starts_at),
        end=cal.local(appointment.ends_at),
        status=appointment.status,
        cancel_reason=appointment.cancel_reason,
    )


def _appointment_info(appointment_id: int, cal: ClinicCalendar) -> AppointmentInfo:
    row = db.session.execute(
        _info_statement().where(Appointment.id == appointment_id), execution_options={"populate_existing": True}
    ).one()
    return _info(row, cal)


def _is_slot_conflict(exc: IntegrityError) -> bool:
    """True when the unique index of live slots refused the row (not some other constraint)."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate == "23505"  # PostgreSQL unique_violation
    return "UNIQUE constraint failed: appointments." in str(exc.orig)


def _doctor(doctor_id: int) -> Doctor:
    doctor = db.session.get(Doctor, doctor_id, populate_existing=True)
    if doctor is None:
        raise AppointmentError("not_found", field="doctor", message=MESSAGES["doctor_not_found"])
    return doctor


def _checked_slot(cal: ClinicCalendar, doctor: Doctor, start: datetime, now: datetime):
    try:
        return check_slot(
            cal,
            start,
            now=now,
            slot_minutes=slot_minutes(),
            plan=plan_from_json(doctor.plan),
            doctor_active=doctor.active,
        )
    except SlotRefused as refused:
        raise AppointmentError(refused.code) from None


def _nearby(doctor: Doctor, wanted: datetime, now: datetime) -> list[FreeSlot]:
    """Free slots closest to `wanted`: of the same doctor, and of others of the specialty."""
    cal = clinic_calendar(now)
    slots = find_free_slots(specialty=doctor.specialty, first_day=cal.local(wanted).date(), days=NEARBY_DAYS, now=now)

    def closest(group: list[FreeSlot]) -> list[FreeSlot]:
        return sorted(group, key=lambda s: (abs(s.start - wanted), s.start))[:NEARBY_PER_GROUP]

    own = closest([s for s in slots if s.doctor_id == doctor.id])
    others = closest([s for s in slots if s.doctor_id != doctor.id])
    return sorted(own + others, key=lambda s: (s.start, s.doctor_name, s.doctor_id))


def _slot_text(doctor: Doctor, start: datetime, cal: ClinicCalendar) -> str:
    return f"{doctor.name} ({doctor.specialty}), {cal.local(start):%Y-%m-%d %H:%M}"


def _record(lead_id: int, user_id: int, kind: str, detail: str, now: datetime, ip: str) -> None:
    db.session.add(LeadEvent(lead_id=lead_id, at=now, kind=kind, user_id=user_id, detail=detail))
    record_audit(user_id, kind, lead_id=lead_id, detail=detail, ip=ip, now=now)


def _update_scheduled(appointment_id: int, *conditions: Any, **values: Any) -> int:
    """Change a still scheduled appointment in one conditional UPDATE; its lead's id.

    :raise AppointmentError: "not_live" when it was cancelled or marked
        meanwhile; IntegrityError passes through.
    """
    lead_id = db.session.execute(
        sa.update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == "scheduled", *conditions)
        .values(**values)
        .returning(Appointment.lead_id),
        execution_options={"synchronize_session": False},
    ).scalar()
    if lead_id is None:
        raise AppointmentError("not_live")
    return lead_id


def _slot_taken(exc: IntegrityError, doctor: Doctor, start: datetime, now: datetime) -> SlotTaken:
    """The refusal for a write the slot's unique index refused (after the rollback), with the free slots nearby."""
    if not _is_slot_conflict(exc):
        raise exc
    return SlotTaken(_nearby(doctor, start, now))


def clean_email(raw: str | None) -> str:
    """An optional e-mail address, trimmed; AppointmentError("bad_email") when it is not one."""
    email = (raw or "").strip()
    local, _at, domain = email.rpartition("@")
    if email and (not local or "." not in domain.strip(".") or len(email) > 254
                  or any(ch.isspace() or ord(ch) < 32 for ch in email) or "@" in local):
        raise AppointmentError("bad_email")
    return email


def _scheduled(appointment_id: int, lead_id: int | None) -> Appointment:
    """The appointment, still scheduled; "not_found" also when `lead_id` is given and is not its lead's
    (a route names both: /leads/<lead>/appointments/<appointment>)."""
    appointment = db.session.get(Appointment, appointment_id, populate_existing=True)
    if appointment is None or (lead_id is not None and appointment.lead_id != lead_id):
        raise AppointmentError("not_found")
    if appointment.status != "scheduled":
        raise AppointmentError("not_live")
    return appointment


# -- free slots ---------------------------------------------------------------------------------


# -- booking and changes ------------------------------------------------------------------------


def book_appointment(
    lead_id: int,
    user_id: int,
    doctor_id: int,
    start: datetime,
    *,
    note: str = "",
    is_manager: bool = False,
    messages_consent: bool = False,
    email: str = "",
    now: datetime | None = None,
    ip: str = "",
) -> AppointmentInfo:
    """Record the `booked` outcome of a call with its appointment, in one transaction.

    Writes the appointment, the call attempt (booked, reached), the lead's move
    to `booked` (its claim ended) and its report figure `visit_booked`, the timeline event, the audit row, the
    visit's confirmation task and (with `messages_consent`) its messages — or,
    on any refusal, nothing.  `ip`: the client's address, for the audit row.

    :raise AppointmentError: a slot refusal code, "not_found" (field "doctor"),
        "lead_not_open", "bad_email"; SlotTaken with the free slots nearby.
    :raise LeadNotFound, LeadClaimedByOther, OutcomeRaced: see leads.services.errors.
    :raise InvalidField: ("note", …).
    """
    now = now or now_utc()
    note = clean_note(note)
    email = clean_email(email)
    try:
        with unit_of_work():
            try:
                check_may_record(lead_id, user_id, is_manager=is_manager, now=now)
            except LeadNotOpen:
                raise AppointmentError("lead_not_open") from None
            doctor = _doctor(doctor_id)
            cal = clinic_calendar(now)
            slot = _checked_slot(cal, doctor, start, now)
            appointment_id = db.session.execute(
                sa.insert(Appointment)
                .values(
                    doctor_id=doctor.id,
                    lead_id=lead_id,
                    starts_at=slot.start,
                    ends_at=slot.end,
                    status="scheduled",
                    created_at=now,
                    created_by_id=user_id,
                    cancel_reason="",
                    messages_consent=messages_consent,
                    email=email,
                )
                .returning(Appointment.id)
            ).scalar_one()
            try:
                add_outcome(
                    lead_id,
                    user_id,
                    Outcome.BOOKED,
                    note=note,
                    is_manager=is_manager,
                    now=now,
                    ip=ip,
                    detail=f"appointment {appointment_id}: {_slot_text(doctor, slot.start, cal)}",
                )
            except LeadNotOpen:  # booked or closed by someone else meanwhile
                raise AppointmentError("lead_not_open") from None
            note_visit(lead_id, visit_booked=True)
            after_booked(appointment_id, now)
    except IntegrityError as exc:
        raise _slot_taken(exc, doctor, slot.start, now) from None
    return _appointment_info(appointment_id, cal)


def reschedule_appointment(
    appointment_id: int, user_id: int, *, doctor_id: int, start: datetime, now: datetime | None = None,
    lead_id: int | None = None, ip: str = "",
) -> AppointmentInfo:
    """Move a scheduled appointment to another slot (and doctor).

    One UPDATE of the row: the unique index refuses a taken slot and the
    appointment keeps its old one.

    :raise AppointmentError: "not_found" (also: not of lead `lead_id`), "not_live", a slot refusal code; SlotTaken.
    """
    now = now or now_utc()
    try:
        with unit_of_work():
            appointment = _scheduled(appointment_id, lead_id)
            old_doctor = db.session.get_one(Doctor, appointment.doctor_id)
            cal = clinic_calendar(now)
            old_text = _slot_text(old_doctor, appointment.starts_at, cal)
            doctor = _doctor(doctor_id)
            slot = _checked_slot(cal, doctor, start, now)
            lead_id = _update_scheduled(
                appointment_id, doctor_id=doctor.id, starts_at=slot.start, ends_at=slot.end, updated_at=now
            )
            _record(lead_id, user_id, "appointment_moved",
                    f"appointment {appointment_id}: {old_text} → {_slot_text(doctor, slot.start, cal)}", now, ip)
            after_moved(appointment_id, now)
    except IntegrityError as exc:
        raise _slot_taken(exc, doctor, slot.start, now) from None
    return _appointment_info(appointment_id, cal)


def cancel_appointment(
    appointment_id: int, user_id: int, *, reason: str, now: datetime | None = None, lead_id: int | None = None,
    ip: str = "",
) -> None:
    """Cancel a scheduled appointment, freeing its slot.

    :raise AppointmentError: "reason_required" (empty, too long or with control
        characters: the message says which), "not_found" (also: not of lead `lead_id`), "not_live".
    """
    now = now or now_utc()
    clean_reason = " ".join((reason or "").split())
    if not clean_reason or any(ord(ch) < 32 or ord(ch) == 127 for ch in clean_reason):
        raise AppointmentError("reason_required")
    if len(clean_reason) > CANCEL_REASON_MAX_LENGTH:
        raise AppointmentError("reason_required", message=MESSAGES["reason_too_long"])
    with unit_of_work():
        _scheduled(appointment_id, lead_id)
        lead_id = _update_scheduled(appointment_id, status="cancelled", cancel_reason=clean_reason, updated_at=now)
        _record(lead_id, user_id, "appointment_cancelled", f"appointment {appointment_id}: {clean_reason}", now, ip)
        after_cancelled(appointment_id, now, user_id=user_id)


def mark_attendance(
    appointment_id: int, user_id: int, *, attended: bool, now: datetime | None = None, lead_id: int | None = None,
    ip: str = "",
) -> None:
    """Say whether the patient came (attended / no_show), once the start has passed.

    :raise AppointmentError: "not_found" (also: not of lead `lead_id`), "not_live" (not scheduled), "too_early".
    """
    now = now or now_utc()
    with unit_of_work():
        appointment = _scheduled(appointment_id, lead_id)
        if now < appointment.starts_at:
            raise AppointmentError("too_early")
        status = "attended" if attended else "no_show"
        lead_id = _update_scheduled(appointment_id, Appointment.starts_at <= now, status=status, updated_at=now)
        if attended:
            note_visit(lead_id, visit_attended=True)
        _record(lead_id, user_id, f"appointment_{status}", f"appointment {appointment_id}", now, ip)


# -- reading the book ---------------------------------------------------------------------------


def lead_appointments(lead_id: int) -> list[AppointmentInfo]:
    """Every appointment of a lead (cancelled ones too), latest start first."""
    cal = clinic_calendar()
    rows = db.session.execute(
        _info_statement().where(Appointment.lead_id == lead_id).order_by(Appointment.starts_at.desc(), Appointment.id.desc())
    )
    return [_info(row, cal) for row in rows]


def day_book(day: date) -> DayBook:
    """The book of one clinic date: active doctors (and inactive ones with appointments that
    day) as columns, the clinic's slot grid as rows, each cell an appointment, free or off.

    On a closed day (Sunday, closure) every cell is "off" except the
    appointments booked before it closed, which are shown to be moved.
    """
    cal = clinic_calendar()
    since = datetime.combine(day, time(), tzinfo=cal.tz)
    until = datetime.combine(day + timedelta(days=1), time(), tzinfo=cal.tz)
    rows = db.session.execute(
        _info_statement().where(Appointment.starts_at >= since, Appointment.starts_at < until, LIVE_SQL)
    ).all()
    booked = [_info(row, cal) for row in rows]
    booked_doctors = {info.doctor_id for info in booked}
    doctors = [
        DoctorInfo(d.id, d.name, d.specialty, d.active, plan_from_json(d.plan))
        for d in db.session.scalars(
            sa.select(Doctor)
            .where(sa.or_(Doctor.active.is_(True), Doctor.id.in_(booked_doctors)))
            .order_by(Doctor.specialty, Doctor.name, Doctor.id)
        )
    ]
    closure_reason = db.session.scalar(sa.select(Closure.reason).where(Closure.day == day))
    closed = cal.opening_hours(day) is None
    # A closed day still shows the grid its weekday would have, if any, for what was booked.
    grid = slot_grid(cal.with_closures(()), day, slot_minutes())
    times = sorted({slot.start.time() for slot in grid} | {info.start.time() for info in booked})
    cells: dict[tuple[int, time], AppointmentInfo | str] = {}
    for doctor in doctors:
        open_times = set() if closed else {s.start.time() for s in slot_grid(cal, day, slot_minutes(), doctor.plan)}
        for moment in times:
            cells[(doctor.id, moment)] = "free" if moment in open_times else "off"
    for info in booked:
        cells[(info.doctor_id, info.start.time())] = info
    return DayBook(
        day=day,
        doctors=doctors,
        times=times,
        cells=cells,
        closed=closed,
        closure_reason=closure_reason or "",
    )


def week_books(monday: date) -> list[DayBook]:
    """The seven day books of the week starting `monday` (the week view shows one doctor's column)."""
    return [day_book(monday + timedelta(days=offset)) for offset in range(7)]
