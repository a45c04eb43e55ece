"""Security headers, settings, cookies, and logs that never show a phone number."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from leads.app import create_app
from leads.extensions import db
from leads.logs import redact


def test_pages_carry_a_csp_without_inline_script_and_cannot_be_framed(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_page_has_an_inline_script(client):
    for path in ("/", "/embed", "/consent", "/thanks/" + "a" * 22):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " onclick=" not in html and 'style="' not in html, path


# Production refuses per-process rate-limit counters (tests/security/test_rate_limit_storage.py).
SHARED_LIMITS = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15"}


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", {"SECRET_KEY": None})


def test_production_cookies_are_secure_and_http_only(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app("production", {"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://", **SHARED_LIMITS})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_a_pooled_connection_the_server_dropped_is_replaced_before_use(app, backend):
    if backend != "postgresql":
        pytest.skip("a SQLite file has no server to drop a connection")
    with db.engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    killer = sa.create_engine(db.engine.url)
    with killer.begin() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid


@pytest.mark.parametrize(
    ("variable", "value", "setting", "expected"),
    [
        ("CALLBACK_SLA_MINUTES", "20", "CALLBACK_SLA_MINUTES", 20),
        ("MIN_FILL_SECONDS", "0", "MIN_FILL_SECONDS", 0),
        ("RATELIMIT_ENABLED", "false", "RATELIMIT_ENABLED", False),
        ("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0", "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"),
        ("CLINIC_TIMEZONE", "Asia/Yekaterinburg", "CLINIC_TIMEZONE", "Asia/Yekaterinburg"),
        ("EMBED_ALLOWED_ORIGINS", "https://a.example https://b.example", "EMBED_ALLOWED_ORIGINS",
         ["https://a.example", "https://b.example"]),
    ],
)
def test_settings_are_read_from_the_environment(monkeypatch, variable, value, setting, expected):
    import importlib

    import config

    monkeypatch.setenv(variable, value)
    try:
        assert getattr(importlib.reload(config).Config, setting) == expected
    finally:
        monkeypatch.undo()
        importlib.reload(config)


@pytest.mark.parametrize("variable", ["CALLBACK_SLA_MINUTES", "MAX_ATTEMPTS"])
def test_a_malformed_number_setting_names_the_variable(monkeypatch, variable):
    import importlib

    import config

    monkeypatch.setenv(variable, "fifteen")
    try:
        with pytest.raises(RuntimeError, match=variable):
            importlib.reload(config)
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_an_unknown_time_zone_is_refused_at_start(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="CLINIC_TIMEZONE"):
        create_app("testing", {"CLINIC_TIMEZONE": "Mars/Olympus"})


@pytest.mark.parametrize(
    "line",
    [
        '"GET /operator/search?q=%2B7+916+123-45-67 HTTP/1.1" 200',
        "lookup 8 (916) 123-45-67 failed",
        "phone=+79161234567",
        "q=89161234567",
    ],
)
def test_phone_numbers_never_reach_the_logs(line):
    assert "123" not in redact(line).replace("HTTP/1.1", "")


def test_a_searched_name_never_reaches_the_logs():
    line = '"GET /operator/search?q=%D0%90%D0%BD%D0%BD%D0%B0&state=new HTTP/1.1" 200'
    assert redact(line) == '"GET /operator/search?q=[redacted]&state=new HTTP/1.1" 200'


def test_log_records_are_redacted(client, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("werkzeug").info("POST /x phone=+7 916 123-45-67")
    assert "916" not in caplog.text
