"""Where to send someone after signing in: a safe `next`, or their role's home page."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

from leads.redirects import local_path

# Pages that make no sense as a destination after signing in.
NOT_A_DESTINATION = ("/login", "/logout")


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site (`local_path`) other than the login/logout pages."""
    target = local_path(target)
    if target is None or urlsplit(target).path.rstrip("/") in NOT_A_DESTINATION:
        return None
    return target


HOME_ENDPOINTS = {"manager": "manager.reports", "admin": "admin.users"}


def home_for(role: str) -> str:
    """The first page of a role: operators the queue, managers the reports, admins the accounts."""
    return url_for(HOME_ENDPOINTS.get(role, "operator.queue"))
