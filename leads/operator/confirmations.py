"""Confirmation calls on the desk (issue 14): the call's page and its outcome buttons."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import format_time, gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from leads.auth.access import is_manager
from leads.errors import wants_json
from leads.net import client_ip
from leads.operator import bp
from leads.services.confirmation_calls import ConfirmationError, open_confirmation, record_confirmation


class ConfirmationOutcomeForm(FlaskForm):
    """One outcome button of a confirmation call: its `outcome` value."""

    outcome = HiddenField()


DONE_MESSAGES = {
    "confirmed": lambda: _("The visit is confirmed."),
    "cancelled": lambda: _("The visit is cancelled; its slot is free."),
}


@bp.get("/confirmations/<int:task_id>")
def confirmation(task_id: int):
    """The confirmation call: who to call, about which visit, and the outcome buttons."""
    try:
        call = open_confirmation(task_id, current_user.id, ip=client_ip())
    except ConfirmationError:
        abort(404)
    return render_template("operator/confirmation.html", call=call, form=ConfirmationOutcomeForm())


@bp.post("/confirmations/<int:task_id>/outcome")
def confirmation_outcome(task_id: int):
    """Record what came of the call; a reschedule goes on to the booking panel to move the visit."""
    form = ConfirmationOutcomeForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = form.outcome.data or ""
    try:
        call = record_confirmation(task_id, current_user.id, outcome, is_manager=is_manager(), ip=client_ip())
    except ConfirmationError as exc:
        if wants_json():
            status = {"not_found": 404, "unknown_outcome": 422}.get(exc.code, 409)
            return jsonify(error=str(exc.message), errors={"outcome": [str(exc.message)]}), status
        if exc.code == "not_found":
            abort(404)
        flash(str(exc.message), "error")
        return redirect(url_for(".confirmation", task_id=task_id), code=303)
    retry_at = call.due_at if call.status == "open" else None
    if wants_json():
        return jsonify(task_id=task_id, outcome=outcome, status=call.status,
                       retry_at=retry_at.isoformat() if retry_at else None)
    if outcome == "reschedule":
        target = url_for(".lead_card", lead_id=call.lead_id, reschedule=call.appointment_id)
        return redirect(f"{target}#booking", code=303)
    if outcome == "no_answer":
        if retry_at is not None:
            flash(_("No answer: the call comes back at %(time)s.", time=format_time(retry_at, "HH:mm")), "info")
        else:
            flash(_("No answer, and no time left to try again before the visit."), "info")
    else:
        flash(DONE_MESSAGES[outcome](), "success")
    return redirect(url_for(".queue"), code=303)
