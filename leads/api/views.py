"""POST /api/v1/leads and its OpenAPI document."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, jsonify, make_response, request, url_for
from flask_babel import lazy_gettext as _l

from leads.api import bp
from leads.api.openapi import openapi_document
from leads.domain.calendar import ClinicCalendar
from leads.domain.promise import preferred_windows, promise_call
from leads.extensions import csrf, limiter
from leads.models import new_public_id
from leads.public.promise_text import describe_promise
from leads.public.submission import parse, submit
from leads.public.views import callback_rate_limit, public_url
from leads.services.clinic import calendar_or_default, now_utc
from leads.services.intake import Submitted

# A program needs no CSRF token: it has no session cookie to ride on.
csrf.exempt(bp)


@bp.after_request
def add_cors_headers(response):
    """CORS for the origins in CORS_ALLOWED_ORIGINS only."""
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config["CORS_ALLOWED_ORIGINS"]:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept-Language"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
    return response


def field_errors(errors: dict[str, str], status: int = 422):
    """{'errors': {field: [message]}} with `status`."""
    return jsonify({"errors": {field: [text] for field, text in errors.items()}}), status


@bp.route("/leads", methods=["OPTIONS"])
def leads_preflight():
    """CORS preflight; the headers come from add_cors_headers."""
    return make_response("", 204)


@bp.post("/leads")
@limiter.shared_limit(callback_rate_limit, scope="callback-request")
def create_lead():
    """Take a callback request as JSON: 201 with the promise, 422 with per-field errors."""
    if not request.is_json:
        return field_errors({"content_type": str(_l("Send the request as JSON (Content-Type: application/json)."))}, 415)
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes
        payload = None
    if not isinstance(payload, dict):
        return field_errors({"body": str(_l("The body must be a JSON object."))}, 400)
    now = now_utc()
    calendar = calendar_or_default(now)
    if isinstance(payload.get("website"), str) and payload["website"].strip():
        # Honeypot: a normal-looking answer, nothing stored.
        return _created(None, calendar, now)
    parsed, tracking, errors = parse(payload, calendar, now, program=True)
    if errors:
        return field_errors(errors)
    submitted = submit(parsed, calendar, now, source="api", tracking=tracking)
    return _created(submitted, calendar, now)


def _created(submitted: Submitted | None, calendar: ClinicCalendar, now: datetime):
    """201 with the promise; for a detected bot, the same shape about nothing stored."""
    if submitted is None:
        promise = promise_call(calendar, now, current_app.config["CALLBACK_SLA_MINUTES"])
        public_id = new_public_id()
    else:
        promise, public_id = submitted.promise, submitted.public_id
    body = {
        "public_id": public_id,
        "promise": {
            "kind": promise.kind,
            "minutes": promise.minutes,
            "at": promise.at.isoformat() if promise.at else None,
            "until": promise.until.isoformat() if promise.until else None,
            "text": describe_promise(promise, calendar.tz, now),
        },
        "thanks_url": public_url(url_for("public.thanks", public_id=public_id)),
    }
    return jsonify(body), 201


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API, with the call windows offered now."""
    now = now_utc()
    windows = preferred_windows(calendar_or_default(now), now, days=current_app.config["PREFERRED_WINDOW_DAYS"])
    return jsonify(openapi_document([start.isoformat() for start, _ in windows]))
