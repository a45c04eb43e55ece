"""Admin routes for accounts. Views parse, call one service, and map its errors."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from leads.admin import bp
from leads.admin.forms import ROLE_LABELS, CreateUserForm, PasswordForm
from leads.auth.forms import EmptyForm
from leads.auth.sessions import mark_seen
from leads.net import client_ip
from leads.services.accounts import (
    AccountError,
    Actor,
    UserNotFound,
    create_user,
    deactivate_user,
    get_user,
    list_users,
    reactivate_user,
    reset_password,
)


def _actor() -> Actor:
    return Actor(current_user.id, client_ip())


def _to_users():
    return redirect(url_for(".users"), code=303)


def _show_field_error(form, refused: AccountError) -> None:
    """Put the service's message beside its field (or above the form)."""
    field = getattr(form, refused.field, None) if refused.field else None
    if field is not None:
        field.errors = [*field.errors, str(refused.message)]
    else:
        flash(str(refused.message), "error")


def _render_users(form: CreateUserForm, status: int = 200):
    return (
        render_template(
            "admin/users.html",
            users=list_users(),
            form=form,
            button=EmptyForm(),
            role_labels=ROLE_LABELS,
        ),
        status,
    )


@bp.get("/users")
def users():
    """Every account, with the form to create one."""
    return _render_users(CreateUserForm())


@bp.post("/users")
def create():
    """Create an account; the form again with a message by each bad field."""
    form = CreateUserForm()
    if not form.validate_on_submit():
        return _render_users(form, 422)
    try:
        user = create_user(
            form.username.data, form.role.data, form.password.data, form.display_name.data or "", _actor()
        )
    except AccountError as refused:
        _show_field_error(form, refused)
        return _render_users(form, 422)
    flash(_("Account %(name)s created.", name=user.username), "info")
    return _to_users()


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Stop an account from signing in; its open sessions end at once."""
    EmptyForm().validate_on_submit()  # CSRF was checked before the view ran
    try:
        user = deactivate_user(user_id, _actor())
    except UserNotFound:
        abort(404)
    except AccountError as refused:
        flash(str(refused.message), "error")
        return _to_users()
    flash(_("Account %(name)s deactivated; it was signed out everywhere.", name=user.username), "info")
    return _to_users()


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    """Let a deactivated account sign in again."""
    EmptyForm().validate_on_submit()  # CSRF was checked before the view ran
    try:
        user = reactivate_user(user_id, _actor())
    except UserNotFound:
        abort(404)
    flash(_("Account %(name)s can sign in again.", name=user.username), "info")
    return _to_users()


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def password(user_id: int):
    """Set a new password for an account; its open sessions end at once."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _render_password(form, user_id, 422 if form.is_submitted() else 200)
    try:
        user = reset_password(user_id, form.password.data, _actor())
    except UserNotFound:
        abort(404)
    except AccountError as refused:
        _show_field_error(form, refused)
        return _render_password(form, user_id, 422)
    if user.id == current_user.id:
        # The admin's own sessions ended with the reset; keep this one going.
        login_user(user)
        mark_seen()
    flash(_("New password set for %(name)s; the account was signed out everywhere.", name=user.username), "info")
    return _to_users()


def _render_password(form: PasswordForm, user_id: int, status: int):
    try:
        user = get_user(user_id)
    except UserNotFound:
        abort(404)
    return render_template("admin/password.html", form=form, user=user), status
