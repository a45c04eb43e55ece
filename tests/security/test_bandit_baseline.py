"""bandit's accepted warnings: each says why, and no warning outside them is left."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leads.app import ROOT

BASELINE = ROOT / ".ci" / "bandit-baseline.json"
BANDIT = Path(sys.executable).parent / "bandit"


def test_every_accepted_warning_says_why():
    results = json.loads(BASELINE.read_text(encoding="utf-8"))["results"]
    assert results
    for result in results:
        assert len(result.get("accepted_because", "")) > 40, (result["filename"], result["test_id"])


@pytest.mark.skipif(not BANDIT.exists() and not shutil.which("bandit"), reason="bandit is in requirements-dev.txt")
def test_bandit_finds_nothing_beyond_the_accepted_warnings():
    command = [str(BANDIT) if BANDIT.exists() else "bandit", "-q", "-r", "leads", "config.py", "wsgi.py",
               "-b", str(BASELINE), "-f", "json"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    new = json.loads(run.stdout)["results"]
    assert [(r["filename"], r["line_number"], r["test_id"], r["issue_text"]) for r in new] == []
