"""Logging that never writes a patient's phone number or searched name.

Access logs print URLs (a search by phone would carry the number), and
exceptions print values.  Every log record, whichever logger or handler it goes
to, is created with phone numbers masked: the record factory is the one
place all of them pass through.

Phone numbers, not every run of digits: an access log's "200 30405", its
dates and its latencies are kept.  A run of digits and the separators people
type is masked when it is written as an international number (+ or %2B) or
is a valid number of the clinic's region, or holds one.
"""
from __future__ import annotations

import logging
import re

import phonenumbers

# Seven or more digits, allowing the separators people type between them
# (also URL-encoded: %2B for +, %20 and + for spaces, %28/%29 for brackets).
_SEPARATOR = r"(?:[\s\-().+]|%20|%28|%29)*"
PHONE_LIKE = re.compile(rf"(?:\+|%2B)?\d{_SEPARATOR}(?:\d{_SEPARATOR}){{5,}}\d")
_URL_ENCODED = re.compile(r"%2B|%20|%28|%29", re.IGNORECASE)
REGION = "RU"


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith(("+", "%2B")):
        return "[phone]"
    plain = _URL_ENCODED.sub(" ", text)
    try:
        if phonenumbers.is_valid_number(phonenumbers.parse(plain, REGION)):
            return "[phone]"
    except phonenumbers.NumberParseException:
        pass
    # A number next to other digits ("200 89161234567"): mask the number inside, keep the rest.
    spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(plain, REGION)]
    if spans and plain != text:  # URL-encoded: the positions differ, so all of it goes
        return "[phone]"
    for start, end in reversed(spans):
        text = text[:start] + "[phone]" + text[end:]
    return text


# A search term or a note in a URL may be a patient's name, also inside an encoded `next`
# (leads.redirects.PERSONAL_PARAMS).
SEARCH_TERM = re.compile(r"((?:[?&]|%3F|%26)(?:q|note|name|phone|comment)(?:=|%3D))(?:(?!%26)[^&\s\"'])*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with phone numbers and URL search terms masked."""
    return SEARCH_TERM.sub(r"\1[redacted]", PHONE_LIKE.sub(_mask_phone, text))


def install_redaction() -> None:
    """Make every new log record carry its message and traceback with phone numbers masked."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_phones", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback is formatted from this text (handlers keep a record's exc_text):
            # a database error quotes the key it refused, a phone number included.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts_phones = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
