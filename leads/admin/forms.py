"""Forms of the admin's user pages. Password rules live in the accounts service."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo

from leads.auth.access import ADMIN, MANAGER, OPERATOR

ROLE_LABELS = {
    OPERATOR: _l("Operator"),
    MANAGER: _l("Manager"),
    ADMIN: _l("Admin"),
}


def _password_fields():
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter a password."))],
        description=_l("At least 12 characters."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", _l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class CreateUserForm(FlaskForm):
    """A new account: username, name shown to colleagues, role, first password."""

    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Enter a username."))],
        render_kw={"autocapitalize": "none", "spellcheck": "false", "maxlength": 64, "autocomplete": "off"},
    )
    display_name = StringField(_l("Full name (optional)"), render_kw={"maxlength": 100})
    role = SelectField(_l("Role"), choices=[SelectChoice(role, label) for role, label in ROLE_LABELS.items()], default=OPERATOR)
    password, confirm = _password_fields()


class PasswordForm(FlaskForm):
    """A new password set by the admin."""

    password, confirm = _password_fields()
