"""Flask-Login's user loader: the session names a user *and* their session token.

Rotating `User.session_token` (logout, password reset, deactivation) makes
every cookie that carries the old token load nobody: revocation is immediate.
"""
from __future__ import annotations

import hmac

from leads.errors import database_unavailable
from leads.extensions import db, login_manager
from leads.models import User


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The active user whose id and current session token match `session_id`."""
    if database_unavailable():
        return None  # this request's error page: the user was not to be had, and is not asked for again
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not hmac.compare_digest(user.session_token, token):
        return None
    return user
