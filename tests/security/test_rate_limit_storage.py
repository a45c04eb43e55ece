"""Finding 10, storage: rate-limit counters shared by every worker process.

With Flask-Limiter's `memory://` each gunicorn worker counts alone (the audit
saw 33 of 60 sign-ins processed against 20 per minute).  Production refuses
to start with it unless one worker is declared; the README's production line
sets Redis; and two separate processes sharing Redis hold one limit.
"""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from leads.app import ROOT, create_app
from tests.functional.test_anti_abuse import redis_reachable

WORKER = """
import json, sys
from leads.app import create_app
from leads.extensions import db
app = create_app("testing", {
    "RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "10 per minute", "RATELIMIT_STRATEGY": "moving-window",
    "RATELIMIT_STORAGE_URI": sys.argv[1], "RATELIMIT_KEY_PREFIX": sys.argv[2],
    "SQLALCHEMY_DATABASE_URI": "sqlite://", "WTF_CSRF_ENABLED": False,
})
with app.app_context():
    db.create_all()
client = app.test_client()
codes = [client.post("/login", data={"username": f"x{i}", "password": "y"}).status_code for i in range(10)]
print(json.dumps(codes))
"""


def refused_in_two_processes(storage: str, tmp_path: Path) -> int:
    """Two worker processes each try to sign in 10 times against one limit of 10 per minute;
    how many of the 20 attempts were refused (429)."""
    prefix = f"t{uuid.uuid4().hex[:12]}"

    def worker(number: int) -> list[int]:
        out = subprocess.run(
            [sys.executable, "-c", WORKER, storage, prefix],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={"INSTANCE_PATH": str(tmp_path / f"w{number}"), "PATH": "/usr/bin:/bin"},
        )
        assert out.returncode == 0, out.stderr
        codes = json.loads(out.stdout.strip().splitlines()[-1])
        assert set(codes) <= {401, 429}, codes  # each attempt reached the sign-in check or the limit
        return codes

    with ThreadPoolExecutor(2) as pool:
        codes = [code for result in pool.map(worker, (1, 2)) for code in result]
    return codes.count(429)


@pytest.mark.skipif(not redis_reachable(), reason="needs Redis on 127.0.0.1:6379")
def test_two_processes_sharing_redis_hold_one_limit(tmp_path):
    assert refused_in_two_processes("redis://127.0.0.1:6379/15", tmp_path) == 10


def test_memory_counters_do_not_hold_across_processes(tmp_path):
    """Why production refuses memory://: each process lets its own 10 through."""
    assert refused_in_two_processes("memory://", tmp_path) == 0


def test_production_refuses_memory_counters_unless_one_worker_is_declared(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    settings = {"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_STORAGE_URI": "memory://"}
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app("production", settings)
    create_app("production", {**settings, "RATELIMIT_ENABLED": False})
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    create_app("production", settings)
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with pytest.raises(RuntimeError, match="redis://"):
        create_app("production", settings)


def test_the_readme_production_line_sets_redis():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(text for text in readme.splitlines() if text.startswith("Production: `FLASK_ENV_CONFIG=production"))
    assert "RATELIMIT_STORAGE_URI=redis://" in line
