"""The OpenAPI 3 document for /api/v1 (tests check responses against it)."""
from __future__ import annotations

from typing import Any

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


def _error_response(description: str, schema: str = "FieldErrors") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def openapi_document() -> dict[str, Any]:
    """The document served at /api/v1/openapi.json."""
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
                        "422": _error_response("One message per invalid field"),
                        "429": _error_response("Too many requests from this address; see Retry-After", "Error"),
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
                        "name": {"type": "string", "minLength": 1, "maxLength": 100},
                        "phone": {
                            "type": "string",
                            "maxLength": 40,
                            "description": "As people write it: 8 (499) 322-23-08, +7 916 123-45-67",
                        },
                        "consent": {
                            "type": "boolean",
                            "description": "The patient agreed to the consent document at /consent",
                        },
                        "marketing_consent": {"type": "boolean", "default": False},
                        "preferred_time": {
                            "type": ["string", "null"],
                            "description": "Empty or 'asap', or the ISO 8601 start of a half-hour "
                            "window inside opening hours in the next working days",
                        },
                        "comment": {"type": "string", "maxLength": 500},
                        "page_url": {"type": "string", "maxLength": 500},
                        "referrer": {"type": "string", "maxLength": 500},
                        "utm": {
                            "type": "object",
                            "properties": {
                                key: {"type": "string", "maxLength": 100}
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
