"""Logging that never writes a patient's phone number.

Access logs print URLs (a search by phone would carry the number), and
exceptions print values; the filter masks every run of digits that could be a
phone number, whatever logger the record came from.
"""
from __future__ import annotations

import logging
import re

# Seven or more digits, allowing the separators people type between them.
PHONE_LIKE = re.compile(r"(?:\+|%2B)?\d(?:[\s\-().]|%20|%28|%29)*(?:\d(?:[\s\-().]|%20|%28|%29)*){5,}\d")


def redact(text: str) -> str:
    """`text` with phone-like digit runs replaced by a mask."""
    return PHONE_LIKE.sub("[phone]", text)


class RedactPhones(logging.Filter):
    """Rewrites a record's message with phone numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FILTER = RedactPhones()


def install_redaction() -> None:
    """Attach the filter to every handler of the root and werkzeug loggers."""
    for logger in (logging.getLogger(), logging.getLogger("werkzeug"), logging.getLogger("gunicorn.access")):
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    # Records that reach a handler added later still pass through this one.
    root = logging.getLogger()
    if _FILTER not in root.filters:
        root.addFilter(_FILTER)
