"""From what was sent to a stored request: shared by the form, the embed and the API."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from flask import current_app, request
from flask_babel import get_locale

from leads.domain.calendar import ClinicCalendar
from leads.net import client_ip
from leads.public.validation import ParsedRequest, parse_request, parse_tracking
from leads.services.consent import consent_text
from leads.services.intake import UTM_KEYS, CallbackRequest, Submitted, submit_callback_request


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
