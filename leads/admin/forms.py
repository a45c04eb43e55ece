"""Forms of the admin's pages: users, doctors, closures. The rules live in the services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired

from leads.auth.access import OPERATOR
from leads.auth.forms import new_password_fields
from leads.words import ROLE_LABELS


class CreateUserForm(FlaskForm):
    """A new account: username, name shown to colleagues, role, first password."""

    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Enter a username."))],
        render_kw={"autocapitalize": "none", "spellcheck": "false", "maxlength": 64, "autocomplete": "off"},
    )
    display_name = StringField(_l("Full name (optional)"), render_kw={"maxlength": 100})
    role = SelectField(_l("Role"), choices=[SelectChoice(role, label) for role, label in ROLE_LABELS.items()], default=OPERATOR)
    password, confirm = new_password_fields(_l("Password"))


class PasswordForm(FlaskForm):
    """A new password set by the admin."""

    password, confirm = new_password_fields(_l("Password"))


PLAN_HINT = _l(
    "One line per day: Mon 09:00-14:00 (or Пн 09:00-14:00; Mon-Fri 09:00-14:00 for several days). "
    "Leave empty for the clinic's hours, Mon–Sat 09:00–20:00."
)


class DoctorForm(FlaskForm):
    """A doctor: name, specialty, and the weekly plan as text (the service reads and checks it)."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the doctor's name."))],
        render_kw={"maxlength": 100, "autocomplete": "off"},
    )
    specialty = StringField(
        _l("Specialty"),
        validators=[DataRequired(_l("Enter the specialty."))],
        render_kw={"maxlength": 100, "autocomplete": "off", "list": "specialty-list"},
    )
    plan = TextAreaField(
        _l("Weekly plan"),
        description=PLAN_HINT,
        render_kw={"rows": 6, "placeholder": _l("Mon 09:00-14:00\nWed 14:00-20:00")},
    )


class ClosureForm(FlaskForm):
    """A day the clinic is shut, and why."""

    day = DateField(_l("Date"), validators=[InputRequired(_l("Enter a date."))])
    reason = StringField(_l("Reason"), render_kw={"maxlength": 200, "placeholder": _l("Public holiday")})
