"""Forms of the sign-in pages; `EmptyForm` carries CSRF for buttons that POST."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo


class EmptyForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class LoginForm(FlaskForm):
    """Username and password; `next` is where to go afterwards (checked before use)."""

    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Enter your username."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false", "maxlength": 64},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


def new_password_fields(label):
    """A new password and its repetition, labelled `label` (the rules are the accounts service's)."""
    password = PasswordField(
        label,
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


class ChangePasswordForm(FlaskForm):
    """The signed-in person's own new password, with the current one."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = new_password_fields(_l("New password"))


class CodeForm(FlaskForm):
    """A code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Enter the code."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "none",
                   "spellcheck": "false", "maxlength": 16},
    )


class TwoFactorRolesForm(FlaskForm):
    """Which roles must sign in with a second factor."""

    manager = BooleanField(_l("Managers"))
    admin = BooleanField(_l("Admins"))
