"""The application factory.

`create_app()` is built from small `register_*` steps so that each concern
(extensions, blueprints, errors, security headers, CLI) can be read alone.
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from config import CONFIGS, engine_options

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app for `config_name` (development, testing, production).

    `overrides` replaces settings after the config class is applied; tests use it.
    """
    name = config_name or os.environ.get("FLASK_ENV_CONFIG", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"FLASK_ENV_CONFIG must be one of {sorted(CONFIGS)}, got {name!r}")
    app = Flask(
        "leads",
        instance_relative_config=True,
        instance_path=os.environ.get("INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    config_class = CONFIGS[name]
    app.config.from_object(config_class)
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"],
        app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        app.config["DATABASE_CONNECT_TIMEOUT_SECONDS"],
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if name == "development" and not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")
    config_class.validate(app.config)

    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_commands(app)
    return app


def _instance_secret(path: Path) -> str:
    """A development secret generated once and kept beside the database."""
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def register_logging(app: Flask) -> None:
    """Log at LOG_LEVEL, with phone numbers masked in every record."""
    from leads.logs import install_redaction

    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic announces its plugins at INFO on every start; only migrations need its voice.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    install_redaction()


def register_extensions(app: Flask) -> None:
    """Bind the extension instances and the clinic's settings to the app."""
    from leads import i18n
    from leads.db_setup import install_connection_settings
    from leads.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    # Batch mode lets later migrations alter tables on SQLite too.
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app, ROOT / "translations")
    with app.app_context():
        install_connection_settings(
            db.engine,
            statement_timeout_ms=app.config["DATABASE_STATEMENT_TIMEOUT_MS"],
            busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        )


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience (DESIGN.md §3)."""
    from leads.admin import bp as admin_bp
    from leads.api import bp as api_bp
    from leads.auth import bp as auth_bp
    from leads.manager import bp as manager_bp
    from leads.operator import bp as operator_bp
    from leads.public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(operator_bp, url_prefix="/operator")
    app.register_blueprint(manager_bp, url_prefix="/manager")
    app.register_blueprint(admin_bp, url_prefix="/admin")


def register_errorhandlers(app: Flask) -> None:
    """Roll back, then answer JSON to programs and a page to people."""
    from leads.errors import init_app

    init_app(app)


def register_security_headers(app: Flask) -> None:
    """CSP without inline script, nosniff, referrer policy, framing rules."""
    from leads.security import init_app

    init_app(app)


def register_commands(app: Flask) -> None:
    """`flask --app wsgi …` commands."""
    from leads.cli import init_app

    init_app(app)
