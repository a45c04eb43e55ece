"""What a person typed into the form: phone, name and comment, cleaned or refused."""

from __future__ import annotations

import unicodedata

import phonenumbers

__all__ = [
    "InvalidField",
    "clean_comment",
    "clean_name",
    "format_phone",
    "has_forbidden_chars",
    "normalize_phone",
]

PHONE_MAX_LENGTH = 40

# Control, format (e.g. zero-width space, bidi overrides), surrogate, private-use.  (Not
# "unassigned": a character newer than this Python's Unicode tables may be someone's letter.)
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
COMMENT_ALLOWED_CONTROLS = frozenset("\n\r\t")


class InvalidField(ValueError):
    """A form field was refused; ``code`` says why, for a per-field message."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def has_forbidden_chars(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    """True if `text` holds a control, invisible (format), surrogate or private-use character."""
    return any(
        ch not in allowed and unicodedata.category(ch) in FORBIDDEN_CATEGORIES for ch in text
    )


def normalize_phone(raw: str | None, region: str = "RU") -> str:
    """Parse a phone number as people write it and return it in E.164 (``+74993222308``).

    Raises InvalidField("phone", code) with code "required", "too_long" or "invalid".
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidField("phone", "required")
    if len(text) > PHONE_MAX_LENGTH:
        raise InvalidField("phone", "too_long")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidField("phone", "invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidField("phone", "invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Show an E.164 number as people write it (``+7 916 123-45-67``); unparseable input as is."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def clean_name(raw: str | None, max_length: int = 100) -> str:
    """Trim a person's name; any script is welcome, control and invisible characters are not.

    Raises InvalidField("name", code) with code "required", "control_chars" or "too_long".
    """
    # NFC so that "José" typed with a combining accent is stored, compared and counted the same.
    text = unicodedata.normalize("NFC", (raw or "").strip())
    if not text:
        raise InvalidField("name", "required")
    if has_forbidden_chars(text):
        raise InvalidField("name", "control_chars")
    if len(text) > max_length:
        raise InvalidField("name", "too_long")
    return text


def clean_comment(raw: str | None, max_length: int = 500) -> str:
    """Trim an optional comment; line breaks and tabs are kept, other control characters refused.

    Line endings are normalised to "\\n". Raises InvalidField("comment", code) with code
    "control_chars" or "too_long".
    """
    # Browsers submit textarea line breaks as CRLF, which would make a comment that fits the
    # textarea's maxlength count as too long here.
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text.strip())
    if has_forbidden_chars(text, COMMENT_ALLOWED_CONTROLS):
        raise InvalidField("comment", "control_chars")
    if len(text) > max_length:
        raise InvalidField("comment", "too_long")
    return text
