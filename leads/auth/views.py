"""GET|POST /login and POST /logout. Views parse, call one service, and answer."""
from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from leads.auth import bp
from leads.auth.access import ROLES, roles_required
from leads.auth.forms import ChangePasswordForm, EmptyForm, LoginForm
from leads.auth.redirects import home_for, safe_next
from leads.auth.sessions import mark_signed_in
from leads.auth.two_factor_views import ask_for_code
from leads.extensions import limiter
from leads.net import client_ip
from leads.services.accounts import (
    AccountError,
    BadCredentials,
    LoginThrottled,
    authenticate,
    change_password,
    sign_out,
)


def login_rate_limit() -> str:
    """Per-IP limit on login attempts (RATELIMIT_LOGIN)."""
    return current_app.config["RATELIMIT_LOGIN"]


def clinic_clock(moment: datetime) -> str:
    """HH:MM in the clinic's time zone, rounded up to the minute (never earlier than `moment`)."""
    local = moment.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"]))
    seconds = local.second + local.microsecond / 1_000_000
    if seconds:
        local = local.fromtimestamp(math.ceil(local.timestamp() / 60) * 60, local.tzinfo)
    return f"{local:%H:%M}"


def throttled_message(until: datetime) -> str:
    """What a locked-out person is told."""
    return _("Too many failed attempts. Try again at %(time)s.", time=clinic_clock(until))


def _render_login(form: LoginForm, status: int = 200, error: str | None = None):
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login():
    """The sign-in form; on success, the safe `next` or the role's home page."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if current_user.is_authenticated:
            return redirect(form.next.data or home_for(current_user.role))
        return _render_login(form)
    if not form.validate_on_submit():
        return _render_login(form, 400)
    try:
        user = authenticate(form.username.data, form.password.data, ip=client_ip())
    except LoginThrottled as locked:
        return _render_login(form, 429, throttled_message(locked.until))
    except BadCredentials as refused:
        return _render_login(form, 401, str(refused.message))
    target = safe_next(form.next.data) or home_for(user.role)
    # A fresh session for the signed-in person: nothing carried over from before.
    session.clear()
    if user.totp_secret:
        return ask_for_code(user, target)
    login_user(user)
    mark_signed_in()
    return redirect(target, code=303)


@bp.post("/logout")
@roles_required(*ROLES)
def logout():
    """Sign out everywhere: every session of this user ends (the session token rotates)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("operator.queue"), code=303)
    sign_out(current_user.id, ip=client_ip())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*ROLES)
def account_password():
    """Change one's own password (the current one first); the other sessions end, this one goes on."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form), 422 if form.is_submitted() else 200
    try:
        user = change_password(current_user.id, form.current_password.data, form.password.data, ip=client_ip())
    except LoginThrottled as locked:
        return render_template("auth/password.html", form=form, error=throttled_message(locked.until)), 429
    except AccountError as refused:
        getattr(form, refused.field or "password").errors = [str(refused.message)]
        return render_template("auth/password.html", form=form), 422
    login_user(user)  # the new session token: the others no longer match
    flash(_("Your password is changed. Your other sessions are signed out."), "info")
    return redirect(home_for(user.role), code=303)
