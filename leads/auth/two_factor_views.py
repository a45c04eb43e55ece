"""The second step of signing in (a code from the app or a recovery code), setting the app up,
and the rule that people of a role that requires it set it up first."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from leads.auth import bp
from leads.auth.access import MANAGER_ROLES, roles_required
from leads.auth.forms import CodeForm
from leads.auth.sessions import mark_signed_in
from leads.net import client_ip
from leads.services.accounts import LoginThrottled, get_user
from leads.services.clinic import now_utc
from leads.services.two_factor import (
    TwoFactorError,
    check_code,
    disable,
    enable,
    must_set_up,
    new_secret,
    provisioning_uri,
    recovery_codes_left,
)

PENDING_KEY = "two_factor_pending"  # {"user": id, "at": epoch seconds, "next": path}
SETUP_KEY = "two_factor_setup"  # the TOTP key being set up, until a code proves it
PENDING_SECONDS = 5 * 60
# What a person who must set up a second factor may still open.
SET_UP_ENDPOINTS = {"auth.two_factor", "auth.logout", "static"}


def ask_for_code(user, target: str):
    """After the right password: remember who is half signed in, and ask for the code."""
    session[PENDING_KEY] = {"user": user.id, "at": now_utc().timestamp(), "next": target}
    return redirect(url_for("auth.login_code"), code=303)


def _pending() -> dict | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or now_utc().timestamp() - pending.get("at", 0) >= PENDING_SECONDS:
        return None
    return pending


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of signing in."""
    pending = _pending()
    if pending is None:
        session.pop(PENDING_KEY, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"), code=303)
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/code.html", form=form), 422 if form.is_submitted() else 200
    from leads.auth.views import throttled_message

    try:
        accepted = check_code(pending["user"], form.code.data, ip=client_ip())
    except LoginThrottled as locked:
        return render_template("auth/code.html", form=form, error=throttled_message(locked.until)), 429
    if not accepted:
        form.code.errors = [_("This code is not right. Type the 6 digits your app shows now.")]
        return render_template("auth/code.html", form=form), 401
    user = get_user(pending["user"])
    session.clear()
    login_user(user)
    mark_signed_in()
    return redirect(pending["next"], code=303)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@roles_required(*MANAGER_ROLES)
def two_factor():
    """Set up the authenticator app (or turn it off); the recovery codes are shown once."""
    form = CodeForm()
    user = current_user
    if user.totp_secret:
        if form.validate_on_submit():
            try:
                disable(user.id, form.code.data, ip=client_ip())
            except TwoFactorError as refused:
                form.code.errors = [str(refused.message)]
                return _page(form, status=422)
            flash(_("Two-factor sign-in is off."), "info")
            return redirect(url_for("auth.two_factor"), code=303)
        return _page(form, status=422 if form.is_submitted() else 200)
    secret = session.get(SETUP_KEY) or new_secret()
    session[SETUP_KEY] = secret
    if not form.validate_on_submit():
        return _page(form, secret, 422 if form.is_submitted() else 200)
    try:
        codes = enable(user.id, secret, form.code.data, ip=client_ip())
    except TwoFactorError as refused:
        form.code.errors = [str(refused.message)]
        return _page(form, secret, 422)
    session.pop(SETUP_KEY, None)
    response = current_app.make_response(render_template("auth/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(form: CodeForm, secret: str | None = None, status: int = 200):
    uri = provisioning_uri(current_user.username, secret) if secret else None
    left = recovery_codes_left(current_user.id) if current_user.totp_secret else 0
    response = current_app.make_response(
        (render_template("auth/two_factor.html", form=form, secret=secret, uri=uri, codes_left=left), status)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def require_set_up():
    """People whose role requires a second factor set it up before anything else."""
    if not current_user.is_authenticated or request.endpoint in SET_UP_ENDPOINTS:
        return None
    if must_set_up(current_user):
        flash(_("Your role signs in with a second factor. Set up your authenticator app to go on."), "info")
        return redirect(url_for("auth.two_factor"))
    return None
