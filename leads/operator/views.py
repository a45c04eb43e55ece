"""Operator desk routes: the queue, lead cards, outcomes, search, the audit trail.

Views parse the request, call one service, and answer its refusals with
`card.refused` (refusals.py says the status, field and message of each).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, gettext as _
from flask_login import current_user

from leads.auth.access import MANAGER_ROLES, is_manager, require_role
from leads.auth.redirects import safe_next
from leads.auth.sessions import not_activity
from leads.domain.contact import InvalidField, format_phone
from leads.domain.outcomes import OutcomeEffect, OutcomeError
from leads.errors import error_response, wants_json
from leads.net import client_ip
from leads.operator import bp
from leads.operator.card import refused, render_card
from leads.operator.forms import ButtonForm, OutcomeForm, SaveAndNextForm, SearchForm
from leads.operator.refusals import field_error
from leads.services.audit import audit_served, lead_audit_trail, mask_search_term
from leads.services.callbacks import my_callbacks
from leads.services.calls import record_outcome
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.leads import search_leads
from leads.services.confirmation_calls import due_confirmations, take_next_call
from leads.services.errors import QueueError
from leads.services.preferences import set_save_and_next
from leads.services.queue import claim_lead, queue_view, release_lead
from leads.words import (
    ACTION_LABELS,
    CLOSE_REASON_LABELS,
    OUTCOME_LABELS,
    SOURCE_LABELS,
    STATE_LABELS,
    describe,
    on_day,
)

POLL_SECONDS = 10  # how often the queue page refreshes its live part
QUEUE_SERVED_KEY = "queue_served"  # the session's note of the last list of leads the queue served


# -- template helpers --------------------------------------------------------------------------


def when(moment: datetime | None, pattern: str = "EEE d MMM, HH:mm") -> str:
    """An instant in clinic time (Flask-Babel's time zone is the clinic's)."""
    return format_datetime(moment, pattern) if moment else ""


def callback_when(moment: datetime) -> str:
    """A callback's time with its day: "today 11:00", "tomorrow 09:30", "Mon 23 Nov, 11:00"."""
    calendar = clinic_calendar()
    day, today = calendar.local(moment).date(), calendar.local(now_utc()).date()
    if day == today:
        return _("today %(time)s", time=when(moment, "HH:mm"))
    if day == today + timedelta(days=1):
        return _("tomorrow %(time)s", time=when(moment, "HH:mm"))
    return when(moment, "EEE d MMM, HH:mm")


def waiting(minutes: float) -> str:
    """Business minutes as people read them: "7 min", "2 h 05 min"."""
    whole = int(minutes)
    if whole < 60:
        return _("%(m)d min", m=whole)
    return _("%(h)d h %(m)02d min", h=whole // 60, m=whole % 60)


@bp.context_processor
def desk_helpers() -> dict:
    """What every desk template may use."""
    return {
        "format_phone": format_phone,
        "when": when,
        "waiting": waiting,
        "callback_when": callback_when,
        "STATE_LABELS": STATE_LABELS,
        "OUTCOME_LABELS": OUTCOME_LABELS,
        "CLOSE_REASON_LABELS": CLOSE_REASON_LABELS,
        "ACTION_LABELS": ACTION_LABELS,
        "SOURCE_LABELS": SOURCE_LABELS,
        "describe": describe,
        "on_day": on_day,
        "local_date": lambda moment: clinic_calendar().local(moment).date(),
        "poll_seconds": POLL_SECONDS,
        "now_instant": now_utc(),
        "is_manager": is_manager,
    }


def _check_button() -> None:
    """Every POST is a form: a button's form carries only the CSRF token."""
    if not ButtonForm().validate_on_submit():
        abort(400)


def _recorded_message(outcome: str, effect: OutcomeEffect) -> str:
    label = OUTCOME_LABELS.get(outcome, outcome)
    if effect.next_call_at is not None:
        return _("Recorded: %(outcome)s. Next call %(when)s.", outcome=label, when=when(effect.next_call_at))
    return _("Recorded: %(outcome)s. The lead is closed.", outcome=label)


# -- the queue ---------------------------------------------------------------------------------


def _audit_served(action: str, lead_ids: list[int], detail: str = "") -> None:
    audit_served(current_user.id, action, lead_ids, detail=detail, ip=client_ip())


def _audit_queue_served(view, callbacks, every_view: bool) -> None:
    """One audit row per queue page; for its live part, only when it serves another list of leads."""
    lead_ids = [row.lead_id for row in ([view.current] if view.current else []) + view.upcoming]
    lead_ids += [c.lead_id for c in callbacks if c.lead_id not in lead_ids]
    digest = hashlib.sha256(repr(lead_ids).encode()).hexdigest()[:16]
    changed = session.get(QUEUE_SERVED_KEY) != digest
    if lead_ids and (every_view or changed):
        _audit_served("list_queue", lead_ids)
    if changed:  # an unchanged list leaves the session (and its cookie) as it was
        session[QUEUE_SERVED_KEY] = digest


@bp.get("/")
def queue():
    """The queue: counters, my current lead, who comes next; its live part refreshes itself."""
    view, callbacks = queue_view(current_user.id), my_callbacks(current_user.id)
    _audit_queue_served(view, callbacks, every_view=True)
    return render_template("operator/queue.html", view=view, callbacks=callbacks, button=ButtonForm(),
                           confirmations=due_confirmations(current_user.id))


@bp.get("/queue/live")
@not_activity
def queue_live():
    """The live part of the queue page, for htmx polling."""
    view, callbacks = queue_view(current_user.id), my_callbacks(current_user.id)
    _audit_queue_served(view, callbacks, every_view=False)
    return render_template("operator/_queue_live.html", view=view, callbacks=callbacks)


@bp.post("/next")
def take_next():
    """Claim the next lead (or confirmation call) and open it; back to the queue if nobody is callable."""
    _check_button()
    if wants_json():
        taken = take_next_call(current_user.id)
        if taken is not None and taken[0] == "confirmation":
            return jsonify(lead_id=None, confirmation_id=taken[1])
        return jsonify(lead_id=taken[1] if taken is not None else None)
    return _to_next_lead()


def _to_next_lead():
    """Claim the next lead (or confirmation call) and open it; the queue with a word if nobody is callable."""
    taken = take_next_call(current_user.id)
    if taken is None:
        flash(_("Nobody to call right now."), "info")
        return redirect(url_for(".queue"), code=303)
    if taken[0] == "confirmation":
        return redirect(url_for(".confirmation", task_id=taken[1]), code=303)
    return redirect(url_for(".lead_card", lead_id=taken[1]), code=303)


# -- a lead ------------------------------------------------------------------------------------


@bp.get("/leads/<int:lead_id>")
def lead_card(lead_id: int):
    """The lead card (opening it is recorded in the audit log)."""
    return render_card(lead_id)


@bp.post("/leads/<int:lead_id>/claim")
def claim(lead_id: int):
    """Take this lead (from search or the card) so that nobody else calls it meanwhile."""
    _check_button()
    try:
        claim_lead(lead_id, current_user.id, is_manager=is_manager())
    except QueueError as exc:
        return refused(lead_id, exc)
    if wants_json():
        return jsonify(lead_id=lead_id, claimed=True)
    return redirect(url_for(".lead_card", lead_id=lead_id), code=303)


@bp.post("/leads/<int:lead_id>/release")
def release(lead_id: int):
    """Give the lead back to the queue (its holder, or a manager for anyone's)."""
    _check_button()
    try:
        release_lead(lead_id, current_user.id, is_manager=is_manager())
    except QueueError as exc:
        return refused(lead_id, exc)
    if wants_json():
        return jsonify(lead_id=lead_id, claimed=False)
    flash(_("The lead is back in the queue."), "info")
    return redirect(url_for(".queue"), code=303)


@bp.post("/leads/<int:lead_id>/outcome")
def record(lead_id: int):
    """Record what came of the call; back to the queue with a confirmation."""
    form = OutcomeForm()
    if not form.validate_on_submit():  # only the CSRF token has rules here
        abort(400)
    outcome = (form.outcome.data or "").strip()
    try:
        effect = record_outcome(
            lead_id,
            current_user.id,
            outcome,
            note=form.note.data or "",
            callback_at=form.callback_instant(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])),
            callback_for_me=form.callback_for.data == "me",
            is_manager=is_manager(),
            ip=client_ip(),
        )
    except (InvalidField, OutcomeError, QueueError) as exc:
        return refused(lead_id, exc, outcome_form=form)
    if wants_json():
        return jsonify(
            lead_id=lead_id,
            outcome=outcome,
            state=effect.state.value,
            next_call_at=effect.next_call_at.isoformat() if effect.next_call_at else None,
            close_reason=effect.close_reason,
        )
    flash(_recorded_message(outcome, effect), "success")
    if current_user.save_and_next:  # like a dialer's progressive mode: straight on to the next lead
        return _to_next_lead()
    return redirect(url_for(".queue"), code=303)


@bp.post("/preferences/save-and-next")
def save_and_next():
    """Turn "save and next" on or off for me; back to the page the switch was on."""
    form = SaveAndNextForm()
    if not form.validate_on_submit():
        abort(400)
    set_save_and_next(current_user.id, form.on.data == "1")
    return redirect(safe_next(form.next.data) or url_for(".queue"), code=303)


# -- search and audit --------------------------------------------------------------------------


@bp.route("/search", methods=["GET", "POST"])
def search():
    """Find leads by phone (any format, or 4+ digits of it) or by part of a name.

    The search is posted: a term in the address (GET) is not searched.
    """
    if request.method == "GET":
        return render_template("operator/search.html", form=SearchForm(formdata=None), hits=[], searched=False)
    form = SearchForm()
    if not form.validate_on_submit():  # only the CSRF token has rules here
        abort(400)
    status, hits, bad_field = 200, [], None
    try:
        hits = search_leads(form.q.data or "", form.state.data or None)
    except InvalidField as exc:
        status, bad_field = 422, exc
    state = f"; state={form.state.data}" if form.state.data and bad_field is None else ""
    _audit_served("search", [hit.lead_id for hit in hits], f"q={mask_search_term(form.q.data or '')}{state}")
    if bad_field is not None:
        if wants_json():
            return error_response(422, field_error(bad_field), bad_field.field)
        getattr(form, bad_field.field).errors = [field_error(bad_field)]
    if wants_json():
        return jsonify(
            results=[
                {
                    "lead_id": hit.lead_id,
                    "name": hit.name,
                    "phone": hit.phone,
                    "state": hit.state,
                    "created_at": hit.created_at.isoformat(),
                    "url": url_for(".lead_card", lead_id=hit.lead_id),
                }
                for hit in hits
            ]
        )
    searched = bool((form.q.data or "").strip() or form.state.data)
    return render_template("operator/search.html", form=form, hits=hits, searched=searched), status


@bp.get("/leads/<int:lead_id>/audit")
def audit(lead_id: int):
    """Who opened this lead's card and recorded outcomes on it (managers and admins)."""
    require_role(*MANAGER_ROLES)
    return render_template("operator/audit.html", lead_id=lead_id, lines=lead_audit_trail(lead_id))
