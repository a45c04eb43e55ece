"""From what was sent to a stored request: shared by the form, the embed and the API."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping
from weakref import WeakKeyDictionary

from flask import current_app, render_template, request
from flask_babel import get_locale
from jinja2 import Template

from leads.domain.calendar import ClinicCalendar
from leads.net import client_ip
from leads.public.validation import ParsedRequest, parse_request, parse_tracking
from leads.services.intake import UTM_KEYS, CallbackRequest, Submitted, submit_callback_request


# The consent text rendered from each template object.  Jinja hands back a new
# object when it loads the file anew (an edited file, where templates
# auto-reload; a new app), so a changed document is rendered, hashed and
# versioned again, while an unchanged one is not rendered on every request.
_rendered_consent: WeakKeyDictionary[Template, str] = WeakKeyDictionary()


def consent_text(locale: str | None = None) -> str:
    """The consent document exactly as shown at /consent, in `locale`.

    Each language's document is its own template, which uses the settings
    (the clinic's name) and nothing of the request: its rendering is kept per
    template object.
    """
    locale = locale or str(get_locale())
    template = current_app.jinja_env.get_template(f"consent/text_{locale}.html")
    text = _rendered_consent.get(template)
    if text is None:
        text = _rendered_consent[template] = render_template(template)
    return text


def parse(values: Mapping[str, Any], calendar: ClinicCalendar, now: datetime, *, program: bool = False):
    """`parse_request` and `parse_tracking` with the clinic's settings: (request, tracking, {field: message})."""
    parsed, errors = parse_request(
        values,
        calendar,
        now,
        region=current_app.config["PHONE_REGION"],
        window_days=current_app.config["PREFERRED_WINDOW_DAYS"],
        program=program,
    )
    tracking, tracking_errors = parse_tracking(values, program=program)
    errors = {**errors, **tracking_errors}
    return (None if errors else parsed), tracking, errors


def submit(
    parsed: ParsedRequest,
    calendar: ClinicCalendar,
    now: datetime,
    *,
    source: str,
    tracking: Mapping[str, str],
    suspected_automation: bool = False,
) -> Submitted:
    """Store (or spool) the request with its consent evidence and where it came from."""
    locale = str(get_locale())
    return submit_callback_request(
        CallbackRequest(
            name=parsed.name,
            phone=parsed.phone,
            comment=parsed.comment,
            preferred=parsed.preferred,
            marketing_consent=parsed.marketing_consent,
            consent_text=consent_text(locale),
            locale=locale,
            source=source,
            page_url=tracking["page_url"],
            referrer=tracking["referrer"],
            utm={key: tracking[key] for key in UTM_KEYS},
            ip=client_ip(),
            user_agent=request.user_agent.string,
            suspected_automation=suspected_automation,
        ),
        now,
        calendar,
    )
