"""Data rights, the audit log and visits to mark (/manager/privacy, /manager/audit,
/manager/visits-to-mark), for managers and admins.

The phone number is sent in POST bodies, never in a URL, so it stays out of
access logs and browser history.  Each view parses, calls one service from
leads/services/data_rights.py (which audits and commits), and shows the result.
"""
from __future__ import annotations

from datetime import datetime

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Optional as OptionalValue

from leads.domain.contact import format_phone
from leads.manager import bp
from leads.net import client_ip
from leads.services.audit import audit_served
from leads.services.clinic import now_utc
from leads.services.audit import audit_log, staff_for_filter
from leads.services.data_rights import PhoneNotValid, export_patient, look_up_patient, parse_phone
from leads.services.erasure import erase_patient
from leads.services.maintenance import appointments_to_mark
from leads.words import ACTION_LABELS, STATE_LABELS, describe, label

PHONE_REFUSED = _l("Enter a phone number, for example 8 916 123-45-67.")


@bp.context_processor
def privacy_helpers() -> dict:
    """`privacy_when(iso)`: an exported instant shown in the clinic's time zone; the words for
    stored codes (`describe`, `label`, the labels)."""

    def privacy_when(value: str | None) -> str:
        return format_datetime(datetime.fromisoformat(value), "dd.MM.yyyy HH:mm") if value else ""

    return {
        "privacy_when": privacy_when,
        "describe": describe,
        "label": label,
        "ACTION_LABELS": ACTION_LABELS,
        "STATE_LABELS": STATE_LABELS,
    }


class LookupForm(FlaskForm):
    """Find everything held for a phone number."""

    phone = StringField(_l("Phone number"), validators=[DataRequired(message=PHONE_REFUSED)])


class ExportForm(FlaskForm):
    """Download what is held for a number (the number travels in a hidden field)."""

    phone = HiddenField(validators=[DataRequired()])
    fmt = HiddenField(validators=[DataRequired()])


class EraseForm(FlaskForm):
    """Erase what is held for a number, once the manager has confirmed."""

    phone = HiddenField(validators=[DataRequired()])
    asked = HiddenField()  # "1" once the confirmation page was shown
    confirm = BooleanField(
        _l("I confirm: remove this patient's name and phone number everywhere. This cannot be undone.")
    )


class AuditFilterForm(FlaskForm):
    """Filters of the audit log (GET, no CSRF)."""

    class Meta:
        csrf = False

    user = SelectField(_l("Who"), coerce=str, validators=[OptionalValue()])
    lead = IntegerField(_l("Lead"), validators=[OptionalValue()])
    date_from = DateField(_l("From"), validators=[OptionalValue()])
    date_to = DateField(_l("To"), validators=[OptionalValue()])


def _refuse_phone(form: FlaskForm, status: int = 422):
    form.phone.errors = [*form.phone.errors, str(PHONE_REFUSED)]
    return render_template("manager/privacy.html", form=form, data=None), status


@bp.get("/privacy")
def privacy():
    """The lookup form."""
    return render_template("manager/privacy.html", form=LookupForm(), data=None)


@bp.post("/privacy")
def privacy_lookup():
    """Everything held for a number (the lookup is audited)."""
    form = LookupForm()
    if not form.validate_on_submit():
        return render_template("manager/privacy.html", form=form, data=None), 422
    try:
        data = look_up_patient(form.phone.data, current_user.id, ip=client_ip())
    except PhoneNotValid:
        return _refuse_phone(form)
    return render_template(
        "manager/privacy.html",
        form=form,
        data=data,
        shown_phone=format_phone(data["phone"]),
        export_form=ExportForm(phone=data["phone"]),
        erase_form=EraseForm(phone=data["phone"]),
    )


@bp.post("/privacy/export")
def privacy_export():
    """The patient's data as a JSON or CSV download (audited)."""
    form = ExportForm()
    if not form.validate_on_submit() or form.fmt.data not in ("json", "csv"):
        flash(_("The export could not be made: look the number up again."), "error")
        return redirect(url_for(".privacy"), code=303)
    try:
        body, data = export_patient(form.phone.data, form.fmt.data, current_user.id, ip=client_ip())
    except PhoneNotValid:
        return _refuse_phone(LookupForm(formdata=None))
    digits = data["phone"].lstrip("+")
    mimetype = "application/json" if form.fmt.data == "json" else "text/csv"
    return Response(
        body.encode("utf-8"),
        mimetype=f"{mimetype}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="patient-{digits}.{form.fmt.data}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/privacy/erase")
def privacy_erase():
    """Ask for confirmation, then erase (audited)."""
    form = EraseForm()
    if not form.validate_on_submit():
        flash(_("Nothing was erased: look the number up again."), "error")
        return redirect(url_for(".privacy"), code=303)
    try:
        e164 = parse_phone(form.phone.data)
    except PhoneNotValid:
        return _refuse_phone(LookupForm(formdata=None))
    if not form.confirm.data:
        status = 200
        if form.asked.data == "1":  # sent from the confirmation page without the box ticked
            form.confirm.errors = [_("Nothing was erased: tick the box to confirm, then press Erase.")]
            status = 422
        form.asked.data = "1"
        return render_template("manager/privacy_erase.html", form=form, shown_phone=format_phone(e164)), status
    erased = erase_patient(e164, current_user.id, ip=client_ip())
    flash(
        _(
            "Erased: %(leads)d lead(s) anonymised, %(visits)d future visit(s) cancelled. The statistics are kept.",
            leads=erased.leads,
            visits=erased.appointments_cancelled,
        ),
        "info",
    )
    return redirect(url_for(".privacy"), code=303)


@bp.get("/audit")
def audit():
    """The audit log, filtered by user, lead and dates, newest first, paginated."""
    form = AuditFilterForm(request.args)
    form.user.choices = [("", _("Anyone"))] + [(str(uid), name) for uid, name in staff_for_filter()]
    valid = form.validate()
    user_id = int(form.user.data) if valid and form.user.data else None
    page = request.args.get("page", 1, type=int) or 1
    result = audit_log(
        user_id=user_id,
        lead_id=form.lead.data if valid else None,
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        page=page,
    )
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("manager/audit.html", form=form, result=result, filters=filters), (200 if valid else 422)



@bp.get("/visits-to-mark")
def visits_to_mark():
    """Visits that have ended and still say 'scheduled': each links to its card, where it is marked."""
    visits = appointments_to_mark(now_utc())
    if visits:
        audit_served(current_user.id, "list_visits_to_mark", [visit.lead_id for visit in visits], ip=client_ip())
    return render_template("manager/audit_visits.html", visits=visits)
