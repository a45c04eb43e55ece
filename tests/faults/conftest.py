"""Fixtures of the fault suite: a private PostgreSQL (when TEST_DATABASE_URL says PostgreSQL runs here)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.faults.servers import PrivatePostgres


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test's own; skipped unless TEST_DATABASE_URL is set, as every PG test is."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL fault tests run when TEST_DATABASE_URL is set")
    if not PrivatePostgres.available():
        pytest.skip("initdb, pg_ctl and root (to run them as postgres) are needed")
    # Not under pytest's own temporary folder: the postgres user cannot enter root's.
    folder = Path(tempfile.mkdtemp(prefix="callback-desk-pg-"))
    try:
        cluster = PrivatePostgres(folder)
        yield cluster
        cluster.destroy()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
