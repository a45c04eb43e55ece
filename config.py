"""Settings, read from the environment (DESIGN.md §2).

`Config` holds the defaults; `DevelopmentConfig`, `TestingConfig` and
`ProductionConfig` adjust them.  `create_app()` picks one from `FLASK_ENV_CONFIG`
(development by default) and calls its `validate()`.
"""
from __future__ import annotations

import os
from datetime import time
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def env_str(name: str, default: str) -> str:
    """A string setting; an empty variable counts as unset."""
    return os.environ.get(name) or default


def env_int(name: str, default: int) -> int:
    """An integer setting; a malformed value stops start-up with the variable's name."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise RuntimeError(f"{name} must be true or false, got {raw!r}")


def env_list(name: str, default: str = "") -> list[str]:
    """A space- or comma-separated list."""
    raw = env_str(name, default)
    return [item for item in raw.replace(",", " ").split() if item]


def env_int_list(name: str, default: str) -> list[int]:
    """A space- or comma-separated list of whole numbers; a malformed one stops start-up with the name."""
    try:
        return [int(item) for item in env_list(name, default)]
    except ValueError:
        raise RuntimeError(f"{name} must be whole numbers separated by commas, got {os.environ.get(name)!r}") from None


def engine_options(database_url: str, options: Mapping[str, Any], connect_timeout: int = 0) -> dict[str, Any]:
    """The SQLAlchemy engine options for `database_url`.

    A server that does not answer is given up after `connect_timeout`
    seconds (0: the driver's default, which waits for ever).  (PostgreSQL's
    pooled connections are tested before use by `leads.db_deadline`, under a
    deadline, as `pool_pre_ping` would without one.)
    """
    result = dict(options)
    if connect_timeout and database_url.startswith("postgresql"):
        result["connect_args"] = {"connect_timeout": connect_timeout, **result.get("connect_args", {})}
    return result


def parse_message_hours(raw: str) -> tuple[time, time]:
    """MESSAGE_HOURS "HH:MM-HH:MM" as (start, end); RuntimeError names the setting."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise RuntimeError(f"MESSAGE_HOURS must look like 09:00-21:00, got {raw!r}") from None
    if not start < end:
        raise RuntimeError(f"MESSAGE_HOURS must start before it ends, got {raw!r}")
    return start, end


class Config:
    """Defaults shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    # A relative SQLite URL lands in the app's instance/ folder.
    SQLALCHEMY_DATABASE_URI = env_str("DATABASE_URL", "sqlite:///callback_desk.sqlite3")
    # create_app() passes these through engine_options() for the database in use.
    # hide_parameters: a database error's text (logged) never carries a patient's name or phone.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}

    CLINIC_NAME = env_str("CLINIC_NAME", "Клиника")
    # The operator of personal data as the consent document names it (152-FZ art. 9 part 4).
    CLINIC_LEGAL_NAME = env_str("CLINIC_LEGAL_NAME", "")  # empty: CLINIC_NAME
    CLINIC_ADDRESS = env_str("CLINIC_ADDRESS", "")
    # How long one live-queue stream (server-sent events) lasts before the browser reconnects.
    SSE_STREAM_SECONDS = env_int("SSE_STREAM_SECONDS", 300)
    CLINIC_TIMEZONE = env_str("CLINIC_TIMEZONE", "Europe/Moscow")
    # The number patients can call, as people write it; shown on the form, the
    # thanks page and every error page (nothing is shown while it is unset).
    CLINIC_PHONE = env_str("CLINIC_PHONE", "")
    PHONE_REGION = env_str("PHONE_REGION", "RU")
    CALLBACK_SLA_MINUTES = env_int("CALLBACK_SLA_MINUTES", 15)
    CALLBACK_GRACE_MINUTES = env_int("CALLBACK_GRACE_MINUTES", 15)
    CLAIM_MINUTES = env_int("CLAIM_MINUTES", 10)
    MAX_ATTEMPTS = env_int("MAX_ATTEMPTS", 6)
    SLOT_MINUTES = env_int("SLOT_MINUTES", 30)
    RETENTION_DAYS = env_int("RETENTION_DAYS", 365)
    PREFERRED_WINDOW_DAYS = env_int("PREFERRED_WINDOW_DAYS", 3)
    # How long a worker keeps the closure dates before reading them again.
    CALENDAR_CACHE_SECONDS = env_int("CALENDAR_CACHE_SECONDS", 60)

    # Anti-abuse
    MIN_FILL_SECONDS = env_int("MIN_FILL_SECONDS", 3)
    # The page's form must come from this desk's page (Origin/Referer) with its
    # signed, single-use start token (the embed's form always must).
    PUBLIC_FORM_CHECKS = env_bool("PUBLIC_FORM_CHECKS", True)
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_CALLBACK = env_str("RATELIMIT_CALLBACK", "5 per minute;30 per hour")
    RATELIMIT_LOGIN = env_str("RATELIMIT_LOGIN", "20 per minute")
    # Number of proxies in front of the app whose X-Forwarded-For is trusted (0: none).
    TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)

    # Where patients reach this desk, e.g. https://desk.clinic.example: the API's
    # thanks_url and a request's page address are built on it, never on the
    # request's Host header (unset: addresses relative to the desk).
    PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "")

    # Embedding and the JSON API
    EMBED_ALLOWED_ORIGINS = env_list("EMBED_ALLOWED_ORIGINS")
    CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")

    # 64 KiB is far more than a callback request needs.
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 64 * 1024)
    SPOOL_PATH = os.environ.get("SPOOL_PATH")  # default: instance/spool.jsonl
    # Past this size the spool takes no more requests: patients are asked to
    # call (CLINIC_PHONE) instead of being told a request was received.
    SPOOL_MAX_BYTES = env_int("SPOOL_MAX_BYTES", 50 * 1024 * 1024)

    # A stuck database fails a request within these bounds (then the intake
    # spools it), well inside gunicorn's 30 s worker timeout.
    DATABASE_CONNECT_TIMEOUT_SECONDS = env_int("DATABASE_CONNECT_TIMEOUT_SECONDS", 3)
    DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000)
    SQLITE_BUSY_TIMEOUT_MS = env_int("SQLITE_BUSY_TIMEOUT_MS", 5000)

    # After the booking (issue 14): confirmation calls and messages to the patient.
    CONFIRM_CALL_DAYS_BEFORE = env_int("CONFIRM_CALL_DAYS_BEFORE", 1)  # working days
    CONFIRM_RETRY_MINUTES = env_int("CONFIRM_RETRY_MINUTES", 60)  # after a call nobody answered
    REMINDER_HOURS_BEFORE = env_int_list("REMINDER_HOURS_BEFORE", "24")  # e.g. "24,2"
    MESSAGE_HOURS = env_str("MESSAGE_HOURS", "09:00-21:00")  # clinic time, when messages may arrive
    OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_BACKOFF_SECONDS = env_int("OUTBOX_BACKOFF_SECONDS", 60)  # doubled after each failure
    # SMS through an HTTP gateway: a POST of SMS_GATEWAY_BODY (form-encoded, with {token},
    # {phone} as digits, {text}) to SMS_GATEWAY_URL.  No URL: no SMS.
    SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
    SMS_GATEWAY_TOKEN = env_str("SMS_GATEWAY_TOKEN", "")
    SMS_GATEWAY_BODY = env_str("SMS_GATEWAY_BODY", "api_id={token}&to={phone}&msg={text}&json=1")
    SMS_TIMEOUT_SECONDS = env_int("SMS_TIMEOUT_SECONDS", 10)
    # E-mail over SMTP with an .ics invitation.  No host: no e-mail.
    SMTP_HOST = env_str("SMTP_HOST", "")
    SMTP_PORT = env_int("SMTP_PORT", 587)
    SMTP_USERNAME = env_str("SMTP_USERNAME", "")
    SMTP_PASSWORD = env_str("SMTP_PASSWORD", "")
    SMTP_STARTTLS = env_bool("SMTP_STARTTLS", True)
    SMTP_FROM = env_str("SMTP_FROM", "")

    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = CLINIC_TIMEZONE
    LANGUAGES = ("ru", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 60)
    # However busy, a session ends this long after signing in (a shift, with room to spare).
    SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 12)
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a clock

    LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
    # `flask demo` and its known logins (admin / admin-demo-pass …): development and tests only.
    DEMO_ALLOWED = False

    @staticmethod
    def validate(settings: Mapping[str, Any]) -> None:
        """Refuse settings that cannot work; create_app() calls it on the final config."""
        for name in ("CALLBACK_SLA_MINUTES", "CLAIM_MINUTES", "MAX_ATTEMPTS", "RETENTION_DAYS", "SESSION_MAX_HOURS"):
            if settings[name] <= 0:
                raise RuntimeError(f"{name} must be positive")
        if not 5 <= settings["SLOT_MINUTES"] <= 240:
            raise RuntimeError("SLOT_MINUTES must be between 5 and 240")
        if settings["MIN_FILL_SECONDS"] < 0:
            raise RuntimeError("MIN_FILL_SECONDS must not be negative")
        if settings["CONFIRM_CALL_DAYS_BEFORE"] < 0 or settings["CONFIRM_RETRY_MINUTES"] <= 0:
            raise RuntimeError("CONFIRM_CALL_DAYS_BEFORE must not be negative, CONFIRM_RETRY_MINUTES must be positive")
        if any(not 0 < hours <= 24 * 14 for hours in settings["REMINDER_HOURS_BEFORE"]):
            raise RuntimeError("REMINDER_HOURS_BEFORE must be hours between 1 and 336, e.g. 24,2")
        parse_message_hours(settings["MESSAGE_HOURS"])
        if (settings["SMS_GATEWAY_URL"] or settings["SMTP_HOST"]) and not settings.get("PUBLIC_BASE_URL"):
            raise RuntimeError("PUBLIC_BASE_URL must be set when SMS or e-mail is on: each message links to the visit")
        gateway = settings.get("SMS_GATEWAY_URL") or ""
        if gateway and not gateway.startswith(("https://", "http://")):
            raise RuntimeError(f"SMS_GATEWAY_URL must be an http(s) address, got {gateway!r}")
        base = settings.get("PUBLIC_BASE_URL") or ""
        if base and not (base.startswith(("https://", "http://")) and base.split("://", 1)[1].strip("/")):
            raise RuntimeError(f"PUBLIC_BASE_URL must be an http(s) address such as https://desk.clinic.example, got {base!r}")
        try:
            ZoneInfo(settings["CLINIC_TIMEZONE"])
        except (ZoneInfoNotFoundError, ValueError):
            raise RuntimeError(f"CLINIC_TIMEZONE {settings['CLINIC_TIMEZONE']!r} is not a known time zone") from None


class DevelopmentConfig(Config):
    """Local development: debug on; without SECRET_KEY a key is generated once
    and kept in instance/ (create_app), so restarts keep people signed in."""

    DEBUG = True
    DEMO_ALLOWED = True


class TestingConfig(Config):
    """The test suite: isolated database, no rate limits unless a test turns them on."""

    TESTING = True
    DEMO_ALLOWED = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = env_str("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    MIN_FILL_SECONDS = 0
    PUBLIC_FORM_CHECKS = False  # tests post the page's form without showing it first
    CALENDAR_CACHE_SECONDS = 0  # tests add closures and expect them at once


class ProductionConfig(Config):
    """Production: secrets required, cookies only over HTTPS."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    @staticmethod
    def validate(settings: Mapping[str, Any]) -> None:
        Config.validate(settings)
        if not settings.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production")
        # memory:// counts in each worker process alone: N gunicorn workers let N times the limit
        # through.  Only a deployment that says it runs one worker (gunicorn's WEB_CONCURRENCY=1) may.
        memory = settings["RATELIMIT_STORAGE_URI"].startswith("memory://")
        if settings["RATELIMIT_ENABLED"] and memory and os.environ.get("WEB_CONCURRENCY", "").strip() != "1":
            raise RuntimeError(
                "RATELIMIT_STORAGE_URI is memory://, which every gunicorn worker counts alone: "
                "set RATELIMIT_STORAGE_URI=redis://host:6379/0 (shared by the workers), "
                "or WEB_CONCURRENCY=1 for a single worker"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
