"""Central error handling: roll back, then JSON for programs, a page for people."""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, flash, g, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from leads.db_setup import is_unavailable
from leads.extensions import db
from leads.services.intake import RequestNotKept

log = logging.getLogger(__name__)

# What a person is told for each status; programs get the same text in JSON.
MESSAGES = {
    400: _l("The request could not be understood. Please go back and try again."),
    401: _l("Please sign in to continue."),
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist."),
    405: _l("This action is not allowed here."),
    409: _l("Someone else changed this at the same moment. Please reload and try again."),
    413: _l("What you sent is too large."),
    415: _l("Send the request as JSON (Content-Type: application/json)."),
    429: _l("Too many requests from your address. Please wait a few minutes and try again."),
    500: _l("Something went wrong on our side. Please try again in a minute."),
    503: _l("The service is temporarily unavailable. Please try again in a minute."),
}
DATABASE_UNAVAILABLE = _l("The database is unavailable right now. Please retry in a minute.")
REQUEST_NOT_KEPT = _l("We could not take your request right now. Please call the clinic or try again later.")
RETRY_AFTER_SECONDS = "30"


def wants_json() -> bool:
    """True for the JSON API and for clients that ask for JSON."""
    if request.blueprint == "api" or request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def error_response(status: int, message: str | None = None, field: str | None = None):
    """An error answer in the client's format."""
    text = str(message or MESSAGES.get(status, MESSAGES[500]))
    if wants_json():
        body: dict[str, Any] = {"error": text}
        if field:
            body["errors"] = {field: [text]}
        return jsonify(body), status
    # The staff navigation reads the signed-in user, which a database that is down cannot give.
    page = render_template("errors/error.html", status=status, message=text, staff_nav=not database_unavailable())
    return page, status


def database_unavailable() -> bool:
    """True once this request has found the database unavailable (`handle_database_error`)."""
    return bool(g.get("database_unavailable"))


def handle_http_error(error: HTTPException):
    db.session.rollback()
    response = make_response(error_response(error.code or 500))
    # Keep what the exception already says (Retry-After on 429, Allow on 405).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers.setdefault(name, value)
    return response


STAFF_BLUEPRINTS = {"auth", "operator", "manager", "admin"}


def handle_csrf_error(error: CSRFError):
    """An expired form: staff go back to the page (or to sign in) with a message; others get 400."""
    db.session.rollback()
    message = _l("This form has expired. Please reload the page and send it again.")
    if request.blueprint in STAFF_BLUEPRINTS and not wants_json():
        from flask_login import current_user

        from leads.auth.redirects import safe_next

        # CSRF is checked on posts only: go back to the page the form was on.
        back = safe_next(urlsplit(request.referrer or "").path) or url_for("operator.queue")
        flash(str(message), "error")
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=back))
        return redirect(back)
    return error_response(400, message, field="csrf_token")


def handle_database_error(error: SQLAlchemyError):
    """A database that cannot be reached or written: 503, retry soon (staff pages; patients' requests spool)."""
    db.session.rollback()
    if not is_unavailable(error):
        return handle_unexpected(error)
    g.database_unavailable = True
    log.error("database unavailable on %s %s: %s", request.method, request.path, type(getattr(error, "orig", None) or error).__name__)
    response = make_response(error_response(503, DATABASE_UNAVAILABLE))
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def handle_request_not_kept(error: RequestNotKept):
    """Neither the database nor the spool took a patient's request: say so, and give the clinic's number."""
    db.session.rollback()
    response = make_response(error_response(503, REQUEST_NOT_KEPT))
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def handle_unexpected(error: Exception):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(SQLAlchemyError, handle_database_error)
    app.register_error_handler(RequestNotKept, handle_request_not_kept)
    if not app.config.get("TESTING"):
        app.register_error_handler(Exception, handle_unexpected)
