"""The request form: rendering, CSRF and the anti-bot fields.

The rules for the fields themselves are in `validation.parse_request`, shared
with the JSON API; this form only carries them to and from the page.  A post
is read from its values (`request.form`): the form is built again only to show
the page again, with messages.
"""
from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Mapping

from flask import current_app, session
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import BooleanField, HiddenField, SelectField, StringField, TelField, TextAreaField

from limits.storage import storage_from_string

log = logging.getLogger(__name__)

STARTED_SALT = "callback-form-started"
# A form older than this is shown again, to be sent once more.
FORM_MAX_AGE_SECONDS = 12 * 60 * 60


class CallbackForm(FlaskForm):
    """Name, phone, consent; optionally a call window and a comment."""

    name = StringField(_l("Your name"), render_kw={"autocomplete": "name", "maxlength": 100})
    phone = TelField(_l("Phone"), render_kw={"autocomplete": "tel", "inputmode": "tel", "maxlength": 40})
    preferred_time = SelectField(_l("When to call"), choices=[], validate_choice=False)
    comment = TextAreaField(_l("Comment (optional)"), render_kw={"maxlength": 500, "rows": 3})
    # Labelled in the template, where the label links the consent document.
    consent = BooleanField("Consent")
    marketing_consent = BooleanField(_l("I would like to hear about the clinic's offers (optional)"))
    # A field people never see; bots fill every field they find.
    website = StringField("Website", render_kw={"autocomplete": "off", "tabindex": "-1"})
    # When the form was shown, signed, for the minimum fill time.
    started = HiddenField("Started")
    # Where the request came from, captured silently.
    page_url = HiddenField("Page Url")
    referrer = HiddenField("Referrer")
    utm_source = HiddenField("Utm Source")
    utm_medium = HiddenField("Utm Medium")
    utm_campaign = HiddenField("Utm Campaign")
    utm_term = HiddenField("Utm Term")
    utm_content = HiddenField("Utm Content")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=STARTED_SALT)


@dataclass(frozen=True)
class Started:
    """What the form's signed `started` field says: when it was shown, its one-use id, whose session."""

    shown_at: int
    nonce: str
    session_key: str  # "" for the embed, whose frame may have no cookie


def session_key(embedded: bool) -> str:
    """The key a page form's start token is bound to, kept in the session; none for the embed."""
    if embedded:
        return ""
    if "form_key" not in session:
        session["form_key"] = secrets.token_urlsafe(12)
    return session["form_key"]


def started_token(embedded: bool, shown_at: float | None = None) -> str:
    """A signed, single-use record of when the form was shown (`shown_at`, default now) and to whom."""
    shown = int(shown_at if shown_at is not None else time.time())
    return _serializer().dumps([shown, secrets.token_urlsafe(12), session_key(embedded)])


def read_started(posted: Mapping[str, Any]) -> Started | None:
    """The posted form's start token, or None if it is missing or forged."""
    try:
        shown_at, nonce, key = _serializer().loads(posted.get("started") or "")
        return Started(int(shown_at), str(nonce), str(key))
    except (BadSignature, TypeError, ValueError):
        return None


def honeypot_filled(posted: Mapping[str, Any]) -> bool:
    """True if the field people never see was filled: strong evidence of a bot."""
    return bool((posted.get("website") or "").strip())


def started_is_valid(started: Started | None, embedded: bool, now: float | None = None) -> bool:
    """True for our own token from the last FORM_MAX_AGE_SECONDS, of this session (the page's form), used once.

    Its use is counted where the rate limits are (RATELIMIT_STORAGE_URI:
    shared by the workers when that is Redis); if that storage is down, the
    other checks stand.
    """
    if started is None or started.session_key != session_key(embedded):
        return False
    if (now if now is not None else time.time()) - started.shown_at > FORM_MAX_AGE_SECONDS:
        return False
    return _first_use(started.nonce)


def _first_use(nonce: str) -> bool:
    storage = current_app.extensions.get("form_tokens")
    if storage is None:
        storage = current_app.extensions["form_tokens"] = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
    try:
        return storage.incr(f"form-started/{nonce}", FORM_MAX_AGE_SECONDS) == 1
    except Exception:  # the storage is down: a request is worth more than this check
        log.warning("form start tokens cannot be counted: rate-limit storage unavailable", exc_info=True)
        return True


def sent_too_fast(started: Started | None, now: float | None = None) -> bool:
    """True if the form came back faster than a person types (MIN_FILL_SECONDS): a weak signal only.

    Phone autofill and one tap do it too, so such a request is stored,
    flagged for the operator, never dropped.
    """
    min_seconds = current_app.config["MIN_FILL_SECONDS"]
    if min_seconds <= 0 or started is None:
        return False
    return (now if now is not None else time.time()) - started.shown_at < min_seconds
