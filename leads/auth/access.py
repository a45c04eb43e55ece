"""Who may do what: roles, and the guards that check them on every route.

Anonymous people are sent to the login page (or get 401 as JSON); signed-in
people without the role get 403.  `protect_blueprint` guards every route of a
blueprint at once, so a route added later cannot forget it.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable, Iterable
from urllib.parse import urlsplit

from flask import Blueprint, abort, make_response, redirect, request, url_for
from flask_login import current_user

from leads.errors import error_response, wants_json
from leads.redirects import without_personal_data

from leads.domain.roles import (  # noqa: F401  (re-exported for the blueprints)
    ADMIN,
    ADMIN_ROLES,
    DESK_ROLES,
    MANAGER,
    MANAGER_ROLES,
    OPERATOR,
    ROLES,
)


def _this_page() -> str:
    """This request's address as the login page's `next`: no search term or note in it."""
    return without_personal_data(request.path, request.query_string.decode("latin-1"))


def _login_from_htmx():
    """401 telling htmx to load the login page in the whole window, back to the page shown.

    Following a plain redirect, htmx would put the login page inside the part
    of the page it refreshes (a live queue polling after the session ended).
    """
    shown = urlsplit(request.headers.get("HX-Current-URL", ""))
    back = without_personal_data(shown.path, shown.query) if shown.path.startswith("/") else None
    response = make_response(error_response(401))
    response.headers["HX-Redirect"] = url_for("auth.login", next=back or _this_page())
    return response


def deny_unless(roles: Iterable[str]):
    """None if the current user has one of `roles`; otherwise the answer to give."""
    if not current_user.is_authenticated:
        if request.headers.get("HX-Request") == "true":
            return _login_from_htmx()
        if wants_json():
            return error_response(401)
        return redirect(url_for("auth.login", next=_this_page()))
    if current_user.role not in roles:
        return error_response(403)
    return None


def roles_required(*roles: str) -> Callable:
    """Decorator: the view runs only for a signed-in user with one of `roles`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            denied = deny_unless(roles)
            return denied if denied is not None else view(*args, **kwargs)

        return guarded

    return decorate


def protect_blueprint(bp: Blueprint, roles: Iterable[str]) -> None:
    """Every route of `bp` requires one of `roles`."""
    allowed = tuple(roles)

    @bp.before_request
    def _require_role():
        return deny_unless(allowed)


def require_role(*roles: str) -> None:
    """Inside a view: stop with 403 unless the user has one of `roles`."""
    if not current_user.is_authenticated or current_user.role not in roles:
        abort(403)


def is_manager() -> bool:
    """True when the signed-in user may act on anyone's lead (a manager or an admin)."""
    return current_user.is_authenticated and current_user.role in MANAGER_ROLES
