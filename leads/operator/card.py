"""The lead card as a page: its booking panel, and the card again with a refusal on it.

The queue routes (views.py) and the appointment routes (book.py) both answer with the card;
both use this module, so neither imports the other.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import jsonify, render_template, request, url_for
from flask_login import current_user

from leads.auth.access import is_manager
from leads.domain.callback_picks import quick_picks
from leads.errors import error_response, wants_json
from leads.models import Lead
from leads.net import client_ip
from leads.operator.forms import (
    APPOINTMENT_STATUS_LABELS,
    CONFIRM_OUTCOMES,
    ButtonForm,
    OutcomeForm,
    SlotFinderForm,
    outcome_buttons,
)
from leads.operator.refusals import Refusal, refusal
from leads.services.booking_panel import SlotFinder, booking_panel, group_slots
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.doctors import list_doctors, specialties
from leads.services.leads import open_lead_card
from leads.services.errors import LeadNotFound

FINDER_PARAMS = ("specialty", "doctor", "day", "reschedule")
OUTCOME_FIELDS = ("note", "callback_at")  # refusals shown by the outcome form's own fields


def slot_value(slot) -> str:
    """What a slot's button sends: ``"<doctor id>/<ISO start>"``."""
    return f"{slot.doctor_id}/{slot.start.isoformat()}"


def int_or_none(raw) -> int | None:
    """A whole number typed in a query, None if it is not one."""
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def date_or_none(raw) -> date | None:
    """An ISO date typed in a query, None if it is not one."""
    try:
        return date.fromisoformat(str(raw).strip())
    except (TypeError, ValueError):
        return None


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


def booking_context(lead: Lead, values, now: datetime, *, errors=None, nearby=None, note: str = "",
                    cancel_errors: dict | None = None) -> dict:
    """What the booking panel's template needs: the service's panel, its forms and links.

    `values` are the finder's parameters (specialty, doctor, day, reschedule);
    the other arguments carry a refusal of the book back onto the panel.
    """
    finder = SlotFinderForm(formdata=None, data={k: values.get(k, "") for k in FINDER_PARAMS})
    finder.fill_choices(specialties(), list_doctors())
    asked = SlotFinder(
        specialty=(values.get("specialty") or "").strip() or None,
        doctor_id=int_or_none(values.get("doctor")),
        day=date_or_none(values.get("day")),
        reschedule_id=int_or_none(values.get("reschedule")),
    )
    panel = booking_panel(lead, asked, now)
    moving = panel.moving
    params = {"specialty": asked.specialty or "", "doctor": asked.doctor_id or "", "reschedule": moving.id if moving else ""}
    if moving is not None:
        action = url_for("operator.reschedule", lead_id=lead.id, appointment_id=moving.id)
    else:
        action = url_for("operator.book", lead_id=lead.id)
    return {
        "appointments": panel.appointments,
        "booking_shown": panel.shown,
        "finder": finder,
        "finder_params": {**params, "day": values.get("day") or ""},
        "slot_days": panel.slot_days,
        "chosen_day": panel.day if values.get("day") else None,
        "preferred": panel.preferred,
        "links": _finder_links(lead.id, params, panel.day, panel.today),
        "moving": moving,
        "book_action": action,
        "slot_errors": (errors or {}).get("slot", []),
        "note_errors": (errors or {}).get("note", []),
        "email_errors": (errors or {}).get("email", []),
        "book_email": values.get("email", ""),
        "book_consent": values.get("messages_consent") in ("y", "on", "true", "1"),
        "nearby_days": group_slots(nearby or []),
        "book_note": note,  # a refused booking's note, shown again
        "cancel_errors": cancel_errors or {},
        "slot_value": slot_value,
        "APPOINTMENT_STATUS_LABELS": APPOINTMENT_STATUS_LABELS,
    }


def render_card(lead_id: int, form: OutcomeForm | None = None, status: int = 200, banner: str | None = None,
                booking: dict | None = None):
    """The card; `booking` carries the booking panel's refusal (errors, nearby slots, note)."""
    form = form or OutcomeForm(formdata=None)
    now = now_utc()
    try:
        card = open_lead_card(lead_id, current_user.id, ip=client_ip(), now=now)
    except LeadNotFound:
        return error_response(404, refusal(LeadNotFound()).message)
    calendar = clinic_calendar(now)
    form.fill_callback_picker(calendar, now)
    held_by_other = card.holder_id is not None and card.holder_id != current_user.id
    html = render_template(
        "operator/card.html",
        card=card,
        lead=card.lead,
        form=form,
        button=ButtonForm(),
        banner=banner,
        held_by_me=card.holder_id == current_user.id,
        held_by_other=held_by_other,
        may_record=card.lead.is_open and (not held_by_other or is_manager()),
        outcomes=outcome_buttons(),
        confirm=CONFIRM_OUTCOMES,
        quick_picks=quick_picks(calendar, now),
        **booking_context(card.lead, request.values, now, **(booking or {})),
    )
    return html, status


def refused(lead_id: int, exc: Exception | Refusal, *, outcome_form: OutcomeForm | None = None,
            book_note: str | None = None, nearby=None, appointment_id: int | None = None):
    """Answer a refusal: JSON naming the field, or the card with the message where it belongs.

    On the card the message stands by the outcome form's field (`outcome_form`), by the booking
    panel's slot choice or note (`book_note`: the note typed), by the cancel reason of
    `appointment_id`, or else on top of the card.  `nearby` are free slots offered instead.
    """
    answer = exc if isinstance(exc, Refusal) else refusal(exc)
    status, message, field = answer.status, answer.message, answer.field
    if wants_json():
        body: dict = {"error": message}
        if field:
            body["errors"] = {field: [message]}
        if nearby is not None:
            body["nearby"] = [_slot_json(slot) for slot in nearby]
        return jsonify(body), status
    if status == 404:
        return error_response(404, message)
    if outcome_form is not None and field in OUTCOME_FIELDS:
        getattr(outcome_form, field).errors = [message]
        return render_card(lead_id, outcome_form, status)
    if book_note is not None and field not in (None, "appointment"):
        errors = {field: [message]} if field in ("note", "email") else {"slot": [message]}
        return render_card(lead_id, None, status, booking={"errors": errors, "nearby": nearby, "note": book_note})
    if appointment_id is not None and field == "reason":
        return render_card(lead_id, None, status, booking={"cancel_errors": {appointment_id: [message]}})
    return render_card(lead_id, outcome_form, status, banner=message)


def _slot_json(slot) -> dict:
    return {
        "doctor_id": slot.doctor_id,
        "doctor_name": slot.doctor_name,
        "specialty": slot.specialty,
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
    }
