"""Finding 6: `flask demo` creates known logins only in development and testing, never in production."""
from __future__ import annotations

import sqlalchemy as sa

from leads.app import create_app
from leads.extensions import db
from leads.models import User


def test_production_refuses_the_demo_command_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app("production", {"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/prod.db", "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code != 0
        assert "development" in result.output and "nothing was created" in result.output
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        db.engine.dispose()


def test_only_development_and_testing_allow_demo_logins():
    from config import CONFIGS

    assert {name for name, config in CONFIGS.items() if config.DEMO_ALLOWED} == {"development", "testing"}
