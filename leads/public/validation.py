"""One set of rules for a callback request, shared by the form and the JSON API.

`parse_request` turns what a person (or a program) sent into plain values, or
into one message per bad field, written for the person who has to fix it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

from leads.domain.calendar import CalendarError, ClinicCalendar
from leads.domain.contact import InvalidField, clean_comment, clean_name, has_forbidden_chars, normalize_phone
from leads.domain.promise import parse_preferred_window
from leads.services.intake import UTM_KEYS

MESSAGES: dict[tuple[str, str], Any] = {
    ("name", "required"): _l("Enter your name."),
    ("name", "too_long"): _l("The name must be at most 100 characters long."),
    ("name", "control_chars"): _l("The name contains characters that cannot be used. Type it again."),
    ("name", "type"): _l("The name must be text."),
    ("phone", "required"): _l("Enter your phone number."),
    ("phone", "invalid"): _l("Enter a phone number we can call, for example 8 916 123-45-67 or +7 916 123-45-67."),
    ("phone", "too_long"): _l("The phone number is too long. Enter it again, digits only if need be."),
    ("phone", "type"): _l("The phone number must be text."),
    ("consent", "required"): _l(
        "Tick the box to agree to the processing of your personal data: without it we cannot call you back."
    ),
    ("comment", "too_long"): _l("The comment must be at most 500 characters long."),
    ("comment", "control_chars"): _l("The comment contains characters that cannot be used."),
    ("comment", "type"): _l("The comment must be text."),
    ("preferred_time", "invalid"): _l("Choose one of the times offered, or “as soon as possible”."),
    ("consent", "type"): _l("Consent must be true: the patient agreed to the consent document."),
    ("marketing_consent", "type"): _l("marketing_consent must be true or false."),
    ("tracking", "type"): _l("This value must be text."),
    ("tracking", "too_long"): _l("This value is too long."),
    ("tracking", "control_chars"): _l("This value contains characters that cannot be used."),
}
# What a form's checkbox sends when ticked.
CHECKED = {"y", "yes", "on", "true", "1"}
# Where a request came from: the longest value kept of each.
TRACKING_LENGTHS = {"page_url": 500, "referrer": 500}
UTM_LENGTH = 100


@dataclass(frozen=True)
class ParsedRequest:
    """A request whose fields passed every rule."""

    name: str
    phone: str
    comment: str
    preferred: tuple[datetime, datetime] | None
    marketing_consent: bool


def message(field: str, code: str) -> str:
    """The person-facing message for a field's error code, in the current language."""
    return str(MESSAGES[(field, code)])


def is_checked(value: Any) -> bool:
    """A form's checkbox value that means yes."""
    return isinstance(value, str) and value.strip().lower() in CHECKED


def _text(values: Mapping[str, Any], field: str, max_length: int | None = None) -> str | None:
    """The field's text as sent; a program's text longer than `max_length` is refused before trimming."""
    value = values.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(field, "type")
    if max_length is not None and len(value) > max_length:
        raise InvalidField(field, "too_long")
    return value


def tracking_text(value: Any, max_length: int) -> str:
    """A value captured with the request (page, referrer, UTM): text that the database can store.

    Raises InvalidField("tracking", code) with code "type", "too_long" or "control_chars".
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidField("tracking", "type")
    if len(value) > max_length:
        raise InvalidField("tracking", "too_long")
    if has_forbidden_chars(value):
        raise InvalidField("tracking", "control_chars")
    return value


def parse_tracking(values: Mapping[str, Any], *, program: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Where the request came from ({page_url, referrer, utm_*: text}) and ({field: message}).

    A program is told which value it must fix (`utm.utm_source`); the form's
    values travel in hidden fields the person cannot fix, so one that cannot
    be stored is cut to length or left out, never a reason to refuse them.
    """
    raw: dict[str, Any] = {"page_url": values.get("page_url"), "referrer": values.get("referrer")}
    errors: dict[str, str] = {}
    if program:
        utm = values.get("utm")
        if utm is not None and not isinstance(utm, dict):
            errors["utm"] = message("tracking", "type")
        utm = utm if isinstance(utm, dict) else {}
        raw.update({f"utm.{key}": utm.get(key) for key in UTM_KEYS})
    else:
        raw.update({key: values.get(key) for key in UTM_KEYS})
    found: dict[str, str] = {}
    for name, value in raw.items():
        length = TRACKING_LENGTHS.get(name, UTM_LENGTH)
        try:
            text = tracking_text(value, length)
        except InvalidField as error:
            if program:
                errors[name] = message("tracking", error.code)
            cut = value[:length] if isinstance(value, str) else ""
            text = "" if program or has_forbidden_chars(cut) else cut
        found[name.removeprefix("utm.")] = text
    return found, errors


def parse_request(
    values: Mapping[str, Any],
    calendar: ClinicCalendar,
    now: datetime,
    *,
    region: str,
    window_days: int,
    program: bool = False,
) -> tuple[ParsedRequest | None, dict[str, str]]:
    """Check every field; (the parsed request, {}) or (None, {field: message}).

    A `program` (the JSON API) sends JSON types: consent is `true`,
    marketing_consent a boolean, and texts are measured as sent, before
    trimming, as its OpenAPI document says.
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    limit = (lambda length: length) if program else (lambda length: None)
    steps = (
        ("name", lambda: clean_name(_text(values, "name", limit(100)))),
        ("phone", lambda: normalize_phone(_text(values, "phone", limit(40)), region=region)),
        ("comment", lambda: clean_comment(_text(values, "comment", limit(500)))),
        ("preferred", lambda: _preferred(values.get("preferred_time"), calendar, now, window_days)),
        ("consent", lambda: _consent(values.get("consent"), program)),
        ("marketing_consent", lambda: _marketing_consent(values.get("marketing_consent"), program)),
    )
    for key, step in steps:
        try:
            cleaned[key] = step()
        except InvalidField as error:
            errors[error.field] = message(error.field, error.code)
    if errors:
        return None, errors
    return (
        ParsedRequest(
            name=cleaned["name"],
            phone=cleaned["phone"],
            comment=cleaned["comment"],
            preferred=cleaned["preferred"],
            marketing_consent=cleaned["marketing_consent"],
        ),
        {},
    )


def _consent(value: Any, program: bool) -> bool:
    if program:
        if value is None or value is False:
            raise InvalidField("consent", "required")
        if value is not True:
            raise InvalidField("consent", "type")
        return True
    if not is_checked(value):
        raise InvalidField("consent", "required")
    return True


def _marketing_consent(value: Any, program: bool) -> bool:
    if not program:
        return is_checked(value)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidField("marketing_consent", "type")
    return value


def _preferred(raw: Any, calendar: ClinicCalendar, now: datetime, window_days: int):
    """"" / "asap" / None → as soon as possible; else the ISO start of an offered window."""
    if raw in (None, "", "asap"):
        return None
    if not isinstance(raw, str):
        raise InvalidField("preferred_time", "invalid")
    try:
        start = datetime.fromisoformat(raw)
        if start.tzinfo is None:
            raise ValueError("naive")
        return parse_preferred_window(calendar, now, start, days=window_days)
    except (ValueError, OverflowError, CalendarError):  # a date at the end of time overflows
        raise InvalidField("preferred_time", "invalid") from None
