"""Sessions end: after SESSION_IDLE_MINUTES without a person at work, and in any case
SESSION_MAX_HOURS after signing in.  A signed-in session remembers when it began and
when it was last used; a page part that refreshes itself (`not_activity`) is not use.

The check runs before every request (registered on the auth blueprint with
`before_app_request`).  An expired session is signed out here; the route's own
guard then sends the person to the login page, where the message explains why.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, request, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from leads.services.clinic import now_utc

LAST_SEEN_KEY = "last_seen"
SIGNED_IN_KEY = "signed_in_at"


def not_activity(view):
    """Mark a view the page calls by itself (htmx polling): its requests do not keep a session alive.

    They still end an expired session. Apply it below the route decorator.
    """
    view.not_activity = True
    return view


def _is_activity() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, "not_activity", False)


def mark_seen(now: datetime | None = None) -> None:
    """Record that the session was used at `now` (epoch seconds, UTC)."""
    session[LAST_SEEN_KEY] = (now or now_utc()).timestamp()


def mark_signed_in(now: datetime | None = None) -> None:
    """A session begins: the absolute lifetime and the idle clock start at `now`."""
    now = now or now_utc()
    session[SIGNED_IN_KEY] = now.timestamp()
    mark_seen(now)


def _end(message: str) -> None:
    logout_user()
    session.pop(LAST_SEEN_KEY, None)
    session.pop(SIGNED_IN_KEY, None)
    flash(message, "info")


def is_idle_expired(last_seen: float, now: datetime, idle_minutes: int) -> bool:
    """True once `idle_minutes` have passed since `last_seen`: exactly at the limit the session is over."""
    return now.timestamp() - last_seen >= idle_minutes * 60


def expire_idle_session() -> None:
    """Sign out a session older than SESSION_MAX_HOURS or unused for SESSION_IDLE_MINUTES;
    otherwise note this use."""
    # Anonymous visitors (patients) have no user in the session: no database work for them.
    if request.endpoint == "static" or "_user_id" not in session:
        return
    if not current_user.is_authenticated:
        return
    now = now_utc()
    signed_in = session.get(SIGNED_IN_KEY)
    max_hours = current_app.config["SESSION_MAX_HOURS"]
    if not isinstance(signed_in, (int, float)):
        session[SIGNED_IN_KEY] = now.timestamp()  # a session from before this rule: its lifetime starts now
    elif is_idle_expired(signed_in, now, max_hours * 60):
        _end(_("You were signed out after %(hours)d hours. Please sign in again.", hours=max_hours))
        return
    last_seen = session.get(LAST_SEEN_KEY)
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    if isinstance(last_seen, (int, float)) and is_idle_expired(last_seen, now, idle_minutes):
        _end(
            _(
                "You were signed out after %(minutes)d minutes without activity. Please sign in again.",
                minutes=idle_minutes,
            )
        )
        return
    if last_seen is None or _is_activity():
        mark_seen(now)
