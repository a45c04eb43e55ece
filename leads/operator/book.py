"""The appointment book on the desk: the booking panel of a lead card, booking, rescheduling,
cancelling, attendance, and the day's book.

Views parse the request, call one service of the appointment engine, and map its
refusals to HTTP: a refused slot → 422 with the message by the slot choice; a slot
taken by someone else a moment ago → 409 with the free slots nearby; another
operator's lead → 409.  JSON clients get ``{"error": …, "errors": {field: [message]}}``.
"""
from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date, gettext as _
from flask_login import current_user

from leads.auth.access import MANAGER_ROLES
from leads.auth.redirects import safe_next
from leads.domain.contact import InvalidField
from leads.domain.outcomes import OutcomeError
from leads.errors import error_response, wants_json
from leads.extensions import db
from leads.models import Lead
from leads.operator import bp
from leads.operator.forms import (
    APPOINTMENT_STATUS_LABELS,
    field_error,
    AttendanceForm,
    BookForm,
    CancelForm,
    OutcomeForm,
    SlotFinderForm,
)
from leads.services.appointments import (
    AppointmentError,
    SlotTaken,
    book_appointment,
    cancel_appointment,
    day_book,
    find_free_slots,
    first_free_slots,
    lead_appointments,
    mark_attendance,
    reschedule_appointment,
)
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.doctors import list_doctors, specialties
from leads.services.queue import QueueError

FIRST_SLOTS = 12  # how many of the first free slots the panel shows before a day is chosen
FINDER_PARAMS = ("specialty", "doctor", "day", "reschedule")


# -- the booking panel -------------------------------------------------------------------------


def _int_or_none(raw) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def _date_or_none(raw) -> date | None:
    try:
        return date.fromisoformat(str(raw).strip())
    except (TypeError, ValueError):
        return None


def group_slots(slots) -> list[tuple[date, list[tuple[str, list]]]]:
    """Free slots by clinic day, then by doctor (in the order they first appear)."""
    tz = clinic_calendar().tz
    days: OrderedDict[date, OrderedDict[str, list]] = OrderedDict()
    for slot in slots:
        local = slot.start.astimezone(tz)
        doctor = f"{slot.doctor_name} — {slot.specialty}"
        days.setdefault(local.date(), OrderedDict()).setdefault(doctor, []).append(slot)
    return [(day, list(doctors.items())) for day, doctors in days.items()]


def slot_value(slot) -> str:
    """What a slot's button sends: ``"<doctor id>/<ISO start>"``."""
    return f"{slot.doctor_id}/{slot.start.isoformat()}"


def _finder_links(lead_id: int, params: dict, base: date, today: date) -> dict[str, dict | None]:
    """Page links (plain URL and htmx partial URL) one day and one week either way."""

    def link(day: date | None) -> dict:
        query = {k: v for k, v in {**params, "day": day.isoformat() if day else ""}.items() if v}
        text = urlencode(query)
        return {
            "href": url_for("operator.lead_card", lead_id=lead_id) + (f"?{text}" if text else "") + "#booking",
            "partial": url_for("operator.booking_slots", lead_id=lead_id) + (f"?{text}" if text else ""),
        }

    return {
        "prev_week": link(max(base - timedelta(days=7), today)) if base > today else None,
        "prev_day": link(base - timedelta(days=1)) if base > today else None,
        "next_day": link(base + timedelta(days=1)),
        "next_week": link(base + timedelta(days=7)),
        "first": link(None),
    }


def booking_panel(lead: Lead, values, now: datetime, *, errors=None, nearby=None, note: str = "",
                  cancel_errors: dict | None = None) -> dict:
    """What the card shows of the appointment book: the lead's appointments and free slots.

    `values` are the finder's parameters (specialty, doctor, day, reschedule).
    Without a day: the first free slots from now, or from the patient's
    preferred window when it is still ahead.
    """
    calendar = clinic_calendar(now)
    today = calendar.local(now).date()
    appointments = lead_appointments(lead.id)
    finder = SlotFinderForm(formdata=None, data={k: values.get(k, "") for k in FINDER_PARAMS})
    finder.fill_choices(specialties(), list_doctors())
    moving = next(
        (a for a in appointments if a.status == "scheduled" and a.id == _int_or_none(values.get("reschedule"))), None
    )
    specialty = (values.get("specialty") or "").strip() or None
    doctor_id = _int_or_none(values.get("doctor"))
    day = _date_or_none(values.get("day"))
    params = {"specialty": specialty or "", "doctor": doctor_id or "", "reschedule": moving.id if moving else ""}
    shown = lead.is_open or moving is not None
    slots, preferred = [], False
    if shown:
        if day is not None:
            day = max(day, today)
            slots = find_free_slots(specialty=specialty, doctor_id=doctor_id, first_day=day, days=1, now=now)
        else:
            start = lead.preferred_start if lead.preferred_start and lead.preferred_start > now else None
            preferred = start is not None and moving is None
            slots = first_free_slots(
                specialty=specialty,
                doctor_id=doctor_id,
                from_moment=start if preferred else None,
                count=FIRST_SLOTS,
                now=now,
            )
    if day is None:
        day = slots[0].start.astimezone(calendar.tz).date() if slots else today
    if moving is not None:
        action = url_for("operator.reschedule", lead_id=lead.id, appointment_id=moving.id)
    else:
        action = url_for("operator.book", lead_id=lead.id)
    return {
        "appointments": appointments,
        "booking_shown": shown,
        "finder": finder,
        "finder_params": {**params, "day": values.get("day") or ""},
        "slot_days": group_slots(slots),
        "chosen_day": day if values.get("day") else None,
        "preferred": preferred,
        "links": _finder_links(lead.id, params, day, today),
        "moving": moving,
        "book_action": action,
        "slot_errors": (errors or {}).get("slot", []),
        "note_errors": (errors or {}).get("note", []),
        "email_errors": (errors or {}).get("email", []),
        "book_email": values.get("email", ""),
        "book_consent": values.get("messages_consent") in ("y", "on", "true", "1"),
        "nearby_days": group_slots(nearby or []),
        "book_note": note or values.get("note", ""),  # htmx paging carries the note typed so far
        "cancel_errors": cancel_errors or {},
        "slot_value": slot_value,
        "APPOINTMENT_STATUS_LABELS": APPOINTMENT_STATUS_LABELS,
    }


@bp.get("/leads/<int:lead_id>/slots")
def booking_slots(lead_id: int):
    """The booking panel alone, for htmx paging (the card itself works with plain links)."""
    lead = db.get_or_404(Lead, lead_id)
    panel = booking_panel(lead, request.args, now_utc())
    return render_template("operator/_booking.html", lead=lead, **panel)


# -- refusals ----------------------------------------------------------------------------------


# Refusals that are about the appointment or the lead, not the slot chosen.
STATUS_BY_CODE = {"not_found": 404, "not_live": 409, "lead_not_open": 409, "slot_taken": 409}


def _refusal(exc: AppointmentError) -> tuple[int, str]:
    """The status and message for a refusal of the appointment book."""
    if exc.code == "not_found" and exc.field == "doctor":
        return 422, str(exc.message)
    return STATUS_BY_CODE.get(exc.code, 422), str(exc.message)


def _slot_json(slot) -> dict:
    return {
        "doctor_id": slot.doctor_id,
        "doctor_name": slot.doctor_name,
        "specialty": slot.specialty,
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
    }


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


def _card(lead_id: int, status: int, banner: str | None = None, **booking):
    """The lead card again, with the booking panel's refusal or a banner."""
    from leads.operator.views import _render_card  # views imports this module's panel the same way

    return _render_card(lead_id, OutcomeForm(formdata=None), status, banner=banner, booking=booking)


def _slot_refused(lead_id: int, status: int, message: str, form: BookForm, nearby=None, field: str = "slot"):
    """JSON naming the field (and the nearby slots), or the card with the message by the slot choice
    (or by the note, when the note was refused)."""
    if wants_json():
        body = {"error": message, "errors": {field: [message]}}
        if nearby is not None:
            body["nearby"] = [_slot_json(slot) for slot in nearby]
        return jsonify(body), status
    if status == 404:
        return error_response(404, message)
    if field == "appointment":  # about the lead or the appointment, not the slot: on top of the card
        return _card(lead_id, status, banner=message)
    errors = {field: [message]} if field in ("note", "email") else {"slot": [message]}
    return _card(lead_id, status, errors=errors, nearby=nearby, note=form.note.data or "")


def _desk_refused(lead_id: int, exc: Exception):
    """A refusal about the lead itself (held by another, closed, gone)."""
    from leads.operator.views import _queue_refusal

    if isinstance(exc, QueueError):
        status, message = _queue_refusal(exc)
    else:
        status, message = 409, _("This lead is already closed or booked.")
    if wants_json() or status == 404:
        return error_response(status, message)
    return _card(lead_id, status, banner=message)


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
        return _slot_refused(lead_id, 422, _("Choose a free slot."), form)
    doctor_id, start = chosen
    try:
        info = book_appointment(
            lead_id,
            current_user.id,
            doctor_id,
            start,
            note=form.note.data or "",
            is_manager=_is_manager(),
            messages_consent=bool(form.messages_consent.data),
            email=form.email.data or "",
        )
    except SlotTaken as exc:
        return _slot_refused(lead_id, 409, str(exc.message), form, nearby=exc.nearby)
    except AppointmentError as exc:
        return _slot_refused(lead_id, *_refusal(exc), form, field=exc.field)
    except InvalidField as exc:
        return _slot_refused(lead_id, 422, field_error(exc), form, field=exc.field)
    except (QueueError, OutcomeError) as exc:
        return _desk_refused(lead_id, exc)
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
        return _slot_refused(lead_id, 422, _("Choose a free slot."), form)
    doctor_id, start = chosen
    try:
        info = reschedule_appointment(appointment_id, current_user.id, doctor_id=doctor_id, start=start)
    except SlotTaken as exc:
        return _slot_refused(lead_id, 409, str(exc.message), form, nearby=exc.nearby)
    except AppointmentError as exc:
        return _slot_refused(lead_id, *_refusal(exc), form, field=exc.field)
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
        cancel_appointment(appointment_id, current_user.id, reason=(form.reason.data or "").strip())
    except AppointmentError as exc:
        status, message = _refusal(exc)
        if wants_json() or status == 404:
            return error_response(status, message, exc.field)
        if exc.field == "reason":
            return _card(lead_id, status, cancel_errors={appointment_id: [message]})
        return _card(lead_id, status, banner=message)
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
        mark_attendance(appointment_id, current_user.id, attended=came)
    except AppointmentError as exc:
        status, message = _refusal(exc)
        if wants_json() or status == 404:
            return error_response(status, message, exc.field)
        flash(message, "error")
        return redirect(_back(lead_id, form), code=303)
    if wants_json():
        return jsonify(appointment_id=appointment_id, status="attended" if came else "no_show")
    flash(_("Recorded: the patient came.") if came else _("Recorded: the patient did not come."), "success")
    return redirect(_back(lead_id, form), code=303)


def _is_manager() -> bool:
    return current_user.role in MANAGER_ROLES


# -- the day's book ----------------------------------------------------------------------------


@bp.get("/appointments")
def appointments():
    """The day's book: doctors as columns, slot times as rows (`?date=YYYY-MM-DD`, default today)."""
    now = now_utc()
    today = clinic_calendar(now).local(now).date()
    raw = request.args.get("date", "").strip()
    day = _date_or_none(raw) if raw else today
    if day is None:
        return error_response(422, _("Enter the date as YYYY-MM-DD."), "date")
    book_of_day = day_book(day)

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
        APPOINTMENT_STATUS_LABELS=APPOINTMENT_STATUS_LABELS,
        back=request.full_path.rstrip("?"),
    )
