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
from leads.domain.contact import InvalidField, clean_comment, clean_name, normalize_phone
from leads.domain.promise import parse_preferred_window

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
}
TRUE_VALUES = {True, "y", "yes", "on", "true", "1", 1}


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
    """A checkbox or JSON boolean that means yes."""
    if isinstance(value, str):
        value = value.strip().lower()
    return value in TRUE_VALUES


def _text(values: Mapping[str, Any], field: str) -> str | None:
    value = values.get(field)
    if value is None or isinstance(value, str):
        return value
    raise InvalidField(field, "type")


def parse_request(
    values: Mapping[str, Any], calendar: ClinicCalendar, now: datetime, *, region: str, window_days: int
) -> tuple[ParsedRequest | None, dict[str, str]]:
    """Check every field; (the parsed request, {}) or (None, {field: message})."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    steps = (
        ("name", lambda: clean_name(_text(values, "name"))),
        ("phone", lambda: normalize_phone(_text(values, "phone"), region=region)),
        ("comment", lambda: clean_comment(_text(values, "comment"))),
        ("preferred", lambda: _preferred(values.get("preferred_time"), calendar, now, window_days)),
    )
    for key, step in steps:
        try:
            cleaned[key] = step()
        except InvalidField as error:
            errors[error.field] = message(error.field, error.code)
    if not is_checked(values.get("consent")):
        errors["consent"] = message("consent", "required")
    if errors:
        return None, errors
    return (
        ParsedRequest(
            name=cleaned["name"],
            phone=cleaned["phone"],
            comment=cleaned["comment"],
            preferred=cleaned["preferred"],
            marketing_consent=is_checked(values.get("marketing_consent")),
        ),
        {},
    )


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
    except (ValueError, CalendarError):
        raise InvalidField("preferred_time", "invalid") from None
