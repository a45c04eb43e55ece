"""The request form: rendering, CSRF and the anti-bot fields.

The rules for the fields themselves are in `validation.parse_request`, shared
with the JSON API; this form only carries them to and from the page.  A post
is read from its values (`request.form`): the form is built again only to show
the page again, with messages.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import BooleanField, HiddenField, SelectField, StringField, TelField, TextAreaField

STARTED_SALT = "callback-form-started"
# A form older than this is refused where no session CSRF token protects it (the embed).
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


def started_token(now: float | None = None) -> str:
    """A signed record of when the form was shown."""
    return _serializer().dumps(int(now if now is not None else time.time()))


def _shown_at(posted: Mapping[str, Any]) -> int | None:
    """When the form was shown (epoch seconds), or None if the token is missing or forged."""
    try:
        return int(_serializer().loads(posted.get("started") or ""))
    except (BadSignature, TypeError, ValueError):
        return None


def honeypot_filled(posted: Mapping[str, Any]) -> bool:
    """True if the field people never see was filled: strong evidence of a bot."""
    return bool((posted.get("website") or "").strip())


def started_is_valid(posted: Mapping[str, Any], now: float | None = None) -> bool:
    """True if the posted form carries our own start time from the last FORM_MAX_AGE_SECONDS."""
    shown_at = _shown_at(posted)
    if shown_at is None:
        return False
    return (now if now is not None else time.time()) - shown_at <= FORM_MAX_AGE_SECONDS


def sent_too_fast(posted: Mapping[str, Any], now: float | None = None) -> bool:
    """True if the form came back faster than a person types (MIN_FILL_SECONDS): a weak signal only.

    Phone autofill and one tap do it too, so such a request is stored,
    flagged for the operator, never dropped.
    """
    min_seconds = current_app.config["MIN_FILL_SECONDS"]
    shown_at = _shown_at(posted)
    if min_seconds <= 0 or shown_at is None:
        return False
    return (now if now is not None else time.time()) - shown_at < min_seconds
