"""Settings, read from the environment (DESIGN.md §2).

`Config` holds the defaults; `DevelopmentConfig`, `TestingConfig` and
`ProductionConfig` adjust them.  `create_app()` picks one from `FLASK_ENV_CONFIG`
(development by default) and calls its `validate()`.
"""
from __future__ import annotations

import os
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


def engine_options(database_url: str, options: Mapping[str, Any], connect_timeout: int = 0) -> dict[str, Any]:
    """The SQLAlchemy engine options for `database_url`.

    `pool_pre_ping` tests each pooled connection before a request uses it,
    for a server that may have closed it meanwhile.  A SQLite file has no
    server to lose, and the test query cost about 0.06 ms of every request.
    A server that does not answer is given up after `connect_timeout`
    seconds (0: the driver's default, which waits for ever).
    """
    if database_url.startswith("sqlite"):
        return {name: value for name, value in options.items() if name != "pool_pre_ping"}
    result = dict(options)
    if connect_timeout and database_url.startswith("postgresql"):
        result["connect_args"] = {"connect_timeout": connect_timeout, **result.get("connect_args", {})}
    return result


class Config:
    """Defaults shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    # A relative SQLite URL lands in the app's instance/ folder.
    SQLALCHEMY_DATABASE_URI = env_str("DATABASE_URL", "sqlite:///callback_desk.sqlite3")
    # create_app() passes these through engine_options() for the database in use.
    # hide_parameters: a database error's text (logged) never carries a patient's name or phone.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}

    CLINIC_NAME = env_str("CLINIC_NAME", "Клиника")
    # The operator of personal data as the consent document names it (152-FZ art. 9 part 4).
    CLINIC_LEGAL_NAME = env_str("CLINIC_LEGAL_NAME", "")  # empty: CLINIC_NAME
    CLINIC_ADDRESS = env_str("CLINIC_ADDRESS", "")
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
    # The form's signed start time must come back with the page's form (the embed's always does).
    FORM_START_TOKEN_REQUIRED = env_bool("FORM_START_TOKEN_REQUIRED", True)
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_CALLBACK = env_str("RATELIMIT_CALLBACK", "5 per minute;30 per hour")
    RATELIMIT_LOGIN = env_str("RATELIMIT_LOGIN", "20 per minute")
    # Number of proxies in front of the app whose X-Forwarded-For is trusted (0: none).
    TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)

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
    FORM_START_TOKEN_REQUIRED = False  # tests post the page's form without showing it first
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
