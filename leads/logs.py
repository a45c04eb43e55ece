"""Logging that never writes a patient's phone number or searched name.

Access logs print URLs (a search by phone would carry the number), and
exceptions print values.  Every log record, whichever logger or handler it goes
to, is created with phone-like digit runs masked: the record factory is the one
place all of them pass through.
"""
from __future__ import annotations

import logging
import re

# Seven or more digits, allowing the separators people type between them
# (also URL-encoded: %2B for +, %20 and + for spaces, %28/%29 for brackets).
_SEPARATOR = r"(?:[\s\-().+]|%20|%28|%29)*"
PHONE_LIKE = re.compile(rf"(?:\+|%2B)?\d{_SEPARATOR}(?:\d{_SEPARATOR}){{5,}}\d")


# A search term or a note in a URL may be a patient's name, also inside an encoded `next`
# (leads.redirects.PERSONAL_PARAMS).
SEARCH_TERM = re.compile(r"((?:[?&]|%3F|%26)(?:q|note|name|phone|comment)(?:=|%3D))(?:(?!%26)[^&\s\"'])*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with phone-like digit runs and URL search terms masked."""
    return SEARCH_TERM.sub(r"\1[redacted]", PHONE_LIKE.sub("[phone]", text))


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
