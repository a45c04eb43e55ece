"""The OpenAPI 3 document for /api/v1: what the API takes and answers, exactly.

The suite runs schemathesis against the served document (tests/functional/
test_openapi_conformance.py): every request the document allows is taken, every
other one refused with 400/415/422, and every answer is one the document lists.
One rule is beyond JSON Schema and is named as a format: `phone` (a number
valid for its region, by libphonenumber).  The call windows are listed as they
are offered when the document is served.  The characters the API refuses (control,
format, surrogate and private-use characters) are written out as the
patterns' character classes, from the same Unicode tables the API uses.
"""
from __future__ import annotations

import copy
import unicodedata
from functools import cache
from typing import Any

from leads.domain.contact import COMMENT_ALLOWED_CONTROLS, FORBIDDEN_CATEGORIES, PHONE_MAX_LENGTH

FIELD_ERRORS: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "object",
            "description": "Field name → messages for a person, in the request's language.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        }
    },
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "errors": FIELD_ERRORS["properties"]["errors"]},
}


def _escaped(code_point: int) -> str:
    # \uXXXX reads the same in ECMA 262 and Python regular expressions; a character
    # beyond the BMP goes in as itself (JSON carries it as a surrogate pair).
    return f"\\u{code_point:04x}" if code_point <= 0xFFFF else chr(code_point)


@cache
def refused_characters(allowed: str = "") -> str:
    """The body of a character class of every character the API refuses in a text, but `allowed`.

    Surrogates are left out: a JSON text is UTF-8, where a lone one cannot be
    (the API refuses one sent as a \\u escape all the same).
    """
    ranges: list[list[int]] = []
    for code_point in range(0x110000):
        char = chr(code_point)
        category = unicodedata.category(char)
        if category in FORBIDDEN_CATEGORIES and category != "Cs" and char not in allowed:
            if ranges and ranges[-1][1] == code_point - 1:
                ranges[-1][1] = code_point
            else:
                ranges.append([code_point, code_point])
    return "".join(_escaped(a) if a == b else f"{_escaped(a)}-{_escaped(b)}" for a, b in ranges)


def _blank_characters() -> str:
    """Whitespace that trimming removes (and that is not refused anyway)."""
    return "".join(_escaped(cp) for cp in range(0x110000) if chr(cp).isspace() and unicodedata.category(chr(cp)) != "Cc")


def _text(max_length: int, pattern: str | None = None, *, nullable: bool = True) -> dict[str, Any]:
    """A text field; an optional one may be null (taken as empty)."""
    return {
        "type": ["string", "null"] if nullable else "string",
        "maxLength": max_length,
        "pattern": pattern or f"^[^{refused_characters()}]*$",
    }


def _error_response(description: str, schema: str = "FieldErrors") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def openapi_document(windows: list[str]) -> dict[str, Any]:
    """The document served at /api/v1/openapi.json, with the call windows (ISO starts) offered now."""
    document = copy.deepcopy(_document())
    preferred = document["components"]["schemas"]["LeadRequest"]["properties"]["preferred_time"]
    preferred["enum"] = [*preferred["enum"], *windows]
    return document


@cache
def _document() -> dict[str, Any]:
    refused = refused_characters()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Callback Desk API",
            "version": "1.0.0",
            "description": "Leave a callback request for the clinic's operators. "
            "Messages are in Russian unless Accept-Language asks for English.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/leads": {
                "post": {
                    "operationId": "createLead",
                    "summary": "Ask the clinic to call back",
                    "description": "The same rules as the web form. A repeat request for a phone "
                    "that already waits for a call is added to it; the answer is the same.",
                    "parameters": [
                        {
                            "name": "Accept-Language",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "example": "en"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LeadRequest"}}},
                    },
                    "responses": {
                        "201": {
                            "description": "Stored; when the call will come",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/LeadCreated"}}
                            },
                        },
                        "400": _error_response("The body is not a JSON object"),
                        "413": _error_response("The body is too large", "Error"),
                        "415": _error_response("The body is not JSON"),
                        "422": _error_response("One message per invalid field (`utm.utm_source` for a nested one)"),
                        "429": _error_response("Too many requests from this address; see Retry-After", "Error"),
                        "503": _error_response(
                            "The request could not be kept (the database is down and the spool full): "
                            "call the clinic, or retry after Retry-After",
                            "Error",
                        ),
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "LeadRequest": {
                    "type": "object",
                    "required": ["name", "phone", "consent"],
                    "properties": {
                        "name": {
                            **_text(100, f"^[^{refused}]*[^{refused}{_blank_characters()}][^{refused}]*$", nullable=False),
                            "description": "1-100 characters as sent, not only spaces; trimmed when stored",
                        },
                        "phone": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": PHONE_MAX_LENGTH,
                            "format": "phone",
                            "description": "As people write it (8 (499) 322-23-08, +7 916 123-45-67): a number "
                            "valid for its region (Russia unless it starts with +); stored in E.164",
                        },
                        "consent": {
                            "type": "boolean",
                            "const": True,
                            "description": "The patient agreed to the consent document at /consent",
                        },
                        "marketing_consent": {"type": ["boolean", "null"], "default": False},
                        "preferred_time": {
                            "enum": [None, "", "asap"],  # and the windows offered now: see openapi_document
                            "description": "Null, empty or 'asap' for as soon as possible, or the ISO 8601 start "
                            "of a half-hour window inside opening hours in the next working days, as listed "
                            "(the list is the one offered when this document was served)",
                        },
                        "comment": _text(500, f"^[^{refused_characters(''.join(sorted(COMMENT_ALLOWED_CONTROLS)))}]*$"),
                        "page_url": _text(500),
                        "referrer": _text(500),
                        "utm": {
                            "type": ["object", "null"],
                            "properties": {
                                key: _text(100)
                                for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
                            },
                        },
                    },
                },
                "LeadCreated": {
                    "type": "object",
                    "required": ["public_id", "promise", "thanks_url"],
                    "properties": {
                        "public_id": {"type": "string"},
                        "thanks_url": {"type": "string"},
                        "promise": {
                            "type": "object",
                            "required": ["kind", "text"],
                            "properties": {
                                "kind": {"type": "string", "enum": ["within", "after", "window"]},
                                "minutes": {"type": ["integer", "null"]},
                                "at": {"type": ["string", "null"], "format": "date-time"},
                                "until": {"type": ["string", "null"], "format": "date-time"},
                                "text": {"type": "string"},
                            },
                        },
                    },
                },
                "FieldErrors": FIELD_ERRORS,
                "Error": ERROR,
            }
        },
    }
