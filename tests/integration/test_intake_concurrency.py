"""Requests arriving at once: every one stored, never a second lead for one phone.

Threads each make their own requests (so their own app context and session);
processes each build their own app on the same database.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Lead, LeadRequest

pytestmark = pytest.mark.slow
REQUESTS = 200


def phone(index: int) -> str:
    return f"+7916{5000000 + index:07d}"


def post_requests(client, phones: list[str]) -> list[int]:
    return [
        client.post("/api/v1/leads", json={"name": "Гость", "phone": p, "consent": True}).status_code
        for p in phones
    ]


def in_threads(app, phones: list[str], threads: int = 8) -> list[int]:
    chunks = [phones[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        results = pool.map(lambda chunk: post_requests(app.test_client(), chunk), chunks)
    return [status for chunk in results for status in chunk]


def submit_from_process(database_url: str, instance: str, phones: list[str]) -> list[int]:
    """Runs in a fresh process: its own app on the shared database."""
    import os

    os.environ["INSTANCE_PATH"] = instance
    from leads.app import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    statuses = in_threads(app, phones, threads=4)
    with app.app_context():
        db.engine.dispose()
    return statuses


def in_processes(app, phones: list[str], tmp_path) -> list[int]:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    halves = [phones[0::2], phones[1::2]]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(submit_from_process, url, str(tmp_path / f"p{i}"), half) for i, half in enumerate(halves)]
        return [status for future in futures for status in future.result()]


def counts() -> tuple[int, int]:
    db.session.remove()
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Lead)),
        db.session.scalar(sa.select(sa.func.count()).select_from(LeadRequest)),
    )


def test_200_distinct_phones_from_8_threads_make_200_leads(app):
    statuses = in_threads(app, [phone(i) for i in range(REQUESTS)])
    assert statuses == [201] * REQUESTS
    assert counts() == (REQUESTS, REQUESTS)


def test_200_requests_for_one_phone_from_8_threads_make_one_lead(app):
    statuses = in_threads(app, [phone(0)] * REQUESTS)
    assert statuses == [201] * REQUESTS
    assert counts() == (1, REQUESTS)
    assert db.session.scalar(sa.select(Lead.request_count)) == REQUESTS


def test_200_distinct_phones_from_2_processes_make_200_leads(app, tmp_path):
    statuses = in_processes(app, [phone(i) for i in range(REQUESTS)], tmp_path)
    assert statuses == [201] * REQUESTS
    assert counts() == (REQUESTS, REQUESTS)


def test_200_requests_for_one_phone_from_2_processes_make_one_lead(app, tmp_path):
    statuses = in_processes(app, [phone(0)] * REQUESTS, tmp_path)
    assert statuses == [201] * REQUESTS
    assert counts() == (1, REQUESTS)
    assert db.session.scalar(sa.select(Lead.request_count)) == REQUESTS
