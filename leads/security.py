"""Security headers on every response."""
from __future__ import annotations

from flask import Flask, Response, current_app, g, request

BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
STATIC_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
]
# The widget's frame: the form, its submission (and its error pages), the thanks page.
EMBED_ENDPOINTS = {"public.embed", "public.embed_submit"}
# Staff pages show patients (queue, cards, search, day book, audit, every CSV): no copy is kept by
# the browser or a proxy.
STAFF_BLUEPRINTS = {"operator", "manager", "admin"}


def frame_ancestors() -> str:
    """Who may put this page in a frame: only the embed flow, only the allowed origins."""
    if request.endpoint in EMBED_ENDPOINTS or g.get("frameable"):
        origins = current_app.config["EMBED_ALLOWED_ORIGINS"]
        return " ".join(["'self'", *origins])
    return "'none'"


def set_security_headers(response: Response) -> Response:
    """Add CSP, nosniff, Referrer-Policy, framing rules and, on staff pages, no-store; a header the view set itself is kept."""
    ancestors = frame_ancestors()
    wanted = [("Content-Security-Policy", f"{BASE_CSP}; frame-ancestors {ancestors}")]
    if ancestors == "'none'":
        wanted.append(("X-Frame-Options", "DENY"))
    wanted += STATIC_HEADERS
    if request.blueprint in STAFF_BLUEPRINTS:
        wanted.append(("Cache-Control", "no-store"))
    if request.is_secure:
        wanted.append(("Strict-Transport-Security", "max-age=31536000"))
    for name, value in wanted:
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Register the header hook."""
    app.after_request(set_security_headers)
