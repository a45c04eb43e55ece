"""The appointment book on the desk: the booking panel of a lead card, booking, rescheduling,
cancelling, attendance, and the day's book.

Views parse the request, call one service of the appointment engine, and answer its
refusals with `card.refused` (refusals.py says the status, field and message of each):
a refused slot is shown by the slot choice; a slot taken by someone else a moment ago
comes with the free slots nearby.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date, gettext as _
from flask_login import current_user

from leads.auth.access import is_manager
from leads.auth.redirects import safe_next
from leads.domain.contact import InvalidField
from leads.domain.outcomes import OutcomeError
from leads.errors import error_response, wants_json
from leads.extensions import db
from leads.models import Lead
from leads.net import client_ip
from leads.operator import bp
from leads.operator.card import booking_context, date_or_none, int_or_none, refused
from leads.operator.forms import APPOINTMENT_STATUS_LABELS, AttendanceForm, BookForm, CancelForm
from leads.operator.refusals import no_slot_chosen, refusal
from leads.services.appointments import (
    AppointmentError,
    SlotTaken,
    book_appointment,
    cancel_appointment,
    day_book,
    mark_attendance,
    reschedule_appointment,
    week_books,
)
from leads.services.audit import audit_served
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.errors import QueueError
from leads.services.queue import lead_in_hand


@bp.get("/leads/<int:lead_id>/slots")
def booking_slots(lead_id: int):
    """The booking panel alone, for htmx paging (the card itself works with plain links)."""
    lead = db.get_or_404(Lead, lead_id)
    return render_template("operator/_booking.html", lead=lead, **booking_context(lead, request.args, now_utc()))


def _appointment_json(info) -> dict:
    return {
        "id": info.id,
        "lead_id": info.lead_id,
        "doctor_id": info.doctor_id,
        "doctor_name": info.doctor_name,
        "specialty": info.specialty,
        "start": info.start.isoformat(),
        "end": info.end.isoformat(),
        "status": info.status,
        "cancel_reason": info.cancel_reason,
    }


def _nearby(exc: Exception):
    """The free slots offered instead of a slot someone else just took."""
    return exc.nearby if isinstance(exc, SlotTaken) else None


def _when_text(info) -> dict:
    local = info.start.astimezone(clinic_calendar().tz)
    return {"doctor": info.doctor_name, "day": format_date(local.date(), "EEEE d MMMM"), "time": f"{local:%H:%M}"}


# -- booking and changing appointments ---------------------------------------------------------


def _chosen_slot(form: BookForm):
    if not form.validate_on_submit():  # only the CSRF token has rules here
        abort(400)
    return form.chosen(clinic_calendar().tz)


@bp.post("/leads/<int:lead_id>/book")
def book(lead_id: int):
    """Book the chosen slot: the lead's `booked` outcome; back to the queue with a confirmation."""
    form = BookForm()
    chosen = _chosen_slot(form)
    if chosen is None:
        return refused(lead_id, no_slot_chosen(), book_note=form.note.data or "")
    doctor_id, start = chosen
    try:
        info = book_appointment(
            lead_id,
            current_user.id,
            doctor_id,
            start,
            note=form.note.data or "",
            is_manager=is_manager(),
            messages_consent=bool(form.messages_consent.data),
            email=form.email.data or "",
            ip=client_ip(),
        )
    except (AppointmentError, InvalidField, QueueError, OutcomeError) as exc:
        return refused(lead_id, exc, book_note=form.note.data or "", nearby=_nearby(exc))
    if wants_json():
        return jsonify(appointment=_appointment_json(info)), 201
    flash(_("Booked: %(doctor)s, %(day)s at %(time)s. The lead is closed.", **_when_text(info)), "success")
    return redirect(url_for(".queue"), code=303)


@bp.post("/leads/<int:lead_id>/appointments/<int:appointment_id>/reschedule")
def reschedule(lead_id: int, appointment_id: int):
    """Move an appointment to another free slot; back to the card."""
    form = BookForm()
    chosen = _chosen_slot(form)
    if chosen is None:
        return refused(lead_id, no_slot_chosen(), book_note=form.note.data or "")
    doctor_id, start = chosen
    try:
        info = reschedule_appointment(
            appointment_id, current_user.id, doctor_id=doctor_id, start=start, lead_id=lead_id, ip=client_ip()
        )
    except AppointmentError as exc:
        return refused(lead_id, exc, book_note=form.note.data or "", nearby=_nearby(exc))
    if wants_json():
        return jsonify(appointment=_appointment_json(info))
    flash(_("Moved to %(doctor)s, %(day)s at %(time)s.", **_when_text(info)), "success")
    return redirect(url_for(".lead_card", lead_id=lead_id), code=303)


def _back(lead_id: int, form) -> str:
    return safe_next(form.next.data) or url_for(".lead_card", lead_id=lead_id)


@bp.post("/leads/<int:lead_id>/appointments/<int:appointment_id>/cancel")
def cancel(lead_id: int, appointment_id: int):
    """Cancel an appointment (a reason is required); its slot is free again."""
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        cancel_appointment(appointment_id, current_user.id, reason=(form.reason.data or "").strip(), lead_id=lead_id,
                           ip=client_ip())
    except AppointmentError as exc:
        return refused(lead_id, exc, appointment_id=appointment_id)
    if wants_json():
        return jsonify(appointment_id=appointment_id, status="cancelled")
    flash(_("The appointment is cancelled; its slot is free again."), "success")
    return redirect(_back(lead_id, form), code=303)


@bp.post("/leads/<int:lead_id>/appointments/<int:appointment_id>/attendance")
def attendance(lead_id: int, appointment_id: int):
    """Once its start has passed: the patient came (attended=yes) or did not (attended=no)."""
    form = AttendanceForm()
    if not form.validate_on_submit():
        abort(400)
    answer = (form.attended.data or "").strip().lower()
    if answer not in ("yes", "no", "true", "false", "1", "0"):
        return error_response(422, _("Choose whether the patient came."), "attended")
    came = answer in ("yes", "true", "1")
    try:
        mark_attendance(appointment_id, current_user.id, attended=came, lead_id=lead_id, ip=client_ip())
    except AppointmentError as exc:
        answer = refusal(exc)
        if wants_json() or answer.status == 404:
            return error_response(answer.status, answer.message, answer.field)
        flash(answer.message, "error")
        return redirect(_back(lead_id, form), code=303)
    if wants_json():
        return jsonify(appointment_id=appointment_id, status="attended" if came else "no_show")
    flash(_("Recorded: the patient came.") if came else _("Recorded: the patient did not come."), "success")
    return redirect(_back(lead_id, form), code=303)


# -- the day's book ----------------------------------------------------------------------------


def _book_cells(now: datetime) -> dict:
    """What the book's cells need: each slot's instant (past ones are greyed) and the lead in hand,
    for whom an empty cell in the future is a button that books it."""
    tz = clinic_calendar(now).tz
    return {
        "slot_start": lambda day, moment: datetime.combine(day, moment, tzinfo=tz),
        "in_hand": lead_in_hand(current_user.id, now),
    }


def _asked_day(now: datetime) -> tuple[date, date | None]:
    """Today in the clinic, and the day `?date=YYYY-MM-DD` asks for (today without one, None if unreadable)."""
    today = clinic_calendar(now).local(now).date()
    raw = request.args.get("date", "").strip()
    return today, (date_or_none(raw) if raw else today)


@bp.get("/appointments/week")
def appointments_week():
    """One doctor's week (`?doctor=<id>&date=YYYY-MM-DD`, any day of the week; default this week)."""
    now = now_utc()
    today, day = _asked_day(now)
    if day is None:
        return error_response(422, _("Enter the date as YYYY-MM-DD."), "date")
    monday = day - timedelta(days=day.weekday())
    books = week_books(monday)
    doctors = {doctor.id: doctor for book in books for doctor in book.doctors}
    doctor_id = int_or_none(request.args.get("doctor"))
    if doctor_id not in doctors:
        if doctors and not request.args.get("doctor"):
            doctor_id = next(iter(doctors))
        else:
            return error_response(404, _("This doctor does not exist (any more). Choose another doctor."))
    served = [c.lead_id for b in books for (d, _t), c in b.cells.items() if d == doctor_id and not isinstance(c, str)]
    if served:
        audit_served(current_user.id, "list_day_book", served, detail=f"week {monday.isoformat()}", ip=client_ip())
    times = sorted({t for b in books for (d, t), c in b.cells.items() if d == doctor_id and c != "off"})

    def link(other: date) -> str:
        return url_for(".appointments_week", doctor=doctor_id, date=other.isoformat())

    return render_template(
        "operator/appointments_week.html",
        books=[b for b in books if any(b.cells.get((doctor_id, t), "off") != "off" for t in times)],
        doctor=doctors[doctor_id],
        doctors=sorted(doctors.values(), key=lambda d: (d.specialty, d.name)),
        times=times,
        monday=monday,
        today=today,
        this_week=monday <= today < monday + timedelta(days=7),
        links={"prev_week": link(monday - timedelta(days=7)), "this_week": link(today),
               "next_week": link(monday + timedelta(days=7))},
        APPOINTMENT_STATUS_LABELS=APPOINTMENT_STATUS_LABELS,
        back=request.full_path.rstrip("?"),
        **_book_cells(now),
    )


@bp.get("/appointments")
def appointments():
    """The day's book: doctors as columns, slot times as rows (`?date=YYYY-MM-DD`, default today)."""
    now = now_utc()
    today, day = _asked_day(now)
    if day is None:
        return error_response(422, _("Enter the date as YYYY-MM-DD."), "date")
    book_of_day = day_book(day)
    served = [cell.lead_id for cell in book_of_day.cells.values() if not isinstance(cell, str)]
    if served:
        audit_served(current_user.id, "list_day_book", served, detail=day.isoformat(), ip=client_ip())

    def link(other: date) -> str:
        return url_for(".appointments", date=other.isoformat())

    return render_template(
        "operator/appointments.html",
        book=book_of_day,
        day=day,
        today=today,
        links={
            "prev_week": link(day - timedelta(days=7)),
            "prev_day": link(day - timedelta(days=1)),
            "today": link(today),
            "next_day": link(day + timedelta(days=1)),
            "next_week": link(day + timedelta(days=7)),
        },
        **_book_cells(now),
        APPOINTMENT_STATUS_LABELS=APPOINTMENT_STATUS_LABELS,
        back=request.full_path.rstrip("?"),
    )
