"""Where to send someone after signing in: a safe `next`, or their role's home page."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

# Pages that make no sense as a destination after signing in.
NOT_A_DESTINATION = ("/login", "/logout")


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (never an open redirect).

    Refused: absolute URLs, scheme-relative `//host`, backslashes (browsers read
    `/\\host` as `//host`), control characters, and the login/logout pages.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if parts.path.rstrip("/") in NOT_A_DESTINATION:
        return None
    return target


HOME_ENDPOINTS = {"manager": "manager.reports", "admin": "admin.users"}


def home_for(role: str) -> str:
    """The first page of a role: operators the queue, managers the reports, admins the accounts."""
    return url_for(HOME_ENDPOINTS.get(role, "operator.queue"))
