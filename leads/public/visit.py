"""The patient's own page of their visit: /visit/<token> (issue 14).

The token is signed (leads/services/visit_links.py); a wrong one, or one whose
visit has ended, is a plain 404 — the page never says whether a visit exists.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from leads.net import client_ip
from leads.public import bp
from leads.services.after_booking import patient_cancels, patient_confirms
from leads.services.clinic import now_utc
from leads.services.visit_links import PatientVisit, visit_for_token


class VisitActionForm(FlaskForm):
    """The confirm and cancel buttons (CSRF only)."""


def _visit_or_404(token: str) -> PatientVisit:
    visit = visit_for_token(token, now_utc())
    if visit is None:
        abort(404)
    return visit


@bp.get("/visit/<token>")
def visit(token: str):
    """The visit: doctor, specialty, day, time, address; confirm or cancel while scheduled."""
    page = render_template("public/visit.html", visit=_visit_or_404(token), form=VisitActionForm(), token=token)
    return page, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@bp.post("/visit/<token>/confirm")
def confirm_visit(token: str):
    """The patient says they are coming."""
    visit = _visit_or_404(token)
    if not VisitActionForm().validate_on_submit():
        abort(400)
    if patient_confirms(visit.appointment_id, ip=client_ip()):
        flash(_("Thank you! We are expecting you."), "success")
    else:
        flash(_("This visit can no longer be confirmed."), "error")
    return redirect(url_for(".visit", token=token), code=303)


@bp.post("/visit/<token>/cancel")
def cancel_visit(token: str):
    """The patient cancels; the slot is free for someone else at once."""
    visit = _visit_or_404(token)
    if not VisitActionForm().validate_on_submit():
        abort(400)
    if patient_cancels(visit.appointment_id, ip=client_ip()):
        flash(_("Your visit is cancelled. To book another time, leave a request on our site."), "success")
    else:
        flash(_("This visit can no longer be cancelled here. Please call the clinic."), "error")
    return redirect(url_for(".visit", token=token), code=303)
