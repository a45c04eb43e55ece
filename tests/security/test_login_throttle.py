"""Finding 5: failures throttle the (username, address) pair and the address with growing delays;
nobody elsewhere can lock a staff account, and the answer never tells whether a username exists."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from leads.domain.throttle import PER_ACCOUNT, next_attempt_at
from leads.extensions import db
from leads.models import LoginFailure
from leads.services.maintenance import purge_login_failures
from tests.conftest import at
from tests.functional.test_auth import PASSWORD

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
DESK = {"REMOTE_ADDR": "198.51.100.10"}


@pytest.fixture
def client(app):
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    return browser


def log_in(client, username, password=PASSWORD, address=DESK):
    return client.post("/login", data={"username": username, "password": password}, environ_base=address)


def fail(client, username, times, address=ATTACKER):
    for _ in range(times):
        assert log_in(client, username, "not the password", address).status_code == 401


@pytest.mark.parametrize(
    ("failures", "wait"), [(4, None), (5, 30), (6, 60), (7, 120), (9, 480), (10, 900), (40, 900)]
)
def test_the_wait_doubles_from_thirty_seconds_to_fifteen_minutes(failures, wait):
    latest = at("2026-11-24 10:00")
    expected = None if wait is None else latest + timedelta(seconds=wait)
    assert next_attempt_at(failures, latest, PER_ACCOUNT) == expected


def test_an_attacker_elsewhere_cannot_lock_the_account(client, make_user):
    make_user("operator", username="olga")
    with time_machine.travel(at("2026-11-24 10:00"), tick=False):
        fail(client, "olga", 5)
        assert log_in(client, "olga", address=ATTACKER).status_code == 429
        assert log_in(client, "olga", address=DESK).status_code == 303


def test_the_delays_grow_and_a_wait_is_not_pushed_back_by_attempts_during_it(client, make_user):
    make_user("operator", username="olga")
    with time_machine.travel(at("2026-11-24 10:00"), tick=False) as clock:
        fail(client, "olga", 5)
        clock.move_to(at("2026-11-24 10:00:29"))
        refused = log_in(client, "olga", "guess", ATTACKER)
        assert refused.status_code == 429 and "Too many failed attempts. Try again at 10:01." in refused.text
        clock.move_to(at("2026-11-24 10:00:30"))
        fail(client, "olga", 1)  # the sixth: the next wait is a minute
        clock.move_to(at("2026-11-24 10:01:29"))
        assert log_in(client, "olga", address=ATTACKER).status_code == 429
        clock.move_to(at("2026-11-24 10:01:30"))
        assert log_in(client, "olga", address=ATTACKER).status_code == 303


def test_one_address_spraying_usernames_is_throttled_as_a_whole(client, make_user):
    make_user("operator", username="olga")
    with time_machine.travel(at("2026-11-24 10:00"), tick=False):
        for number in range(20):
            fail(client, f"user-{number}", 1)
        assert log_in(client, "user-99", "guess", ATTACKER).status_code == 429
        assert log_in(client, "olga", address=DESK).status_code == 303


def test_an_unknown_username_gets_exactly_the_same_answers(client, make_user):
    make_user("operator", username="olga")
    answers = {}
    for name in ("olga", "nobody"):
        with time_machine.travel(at("2026-11-24 10:00"), tick=False):
            fail(client, name, 5)
            refused = log_in(client, name, "guess", ATTACKER)
        answers[name] = (refused.status_code, refused.text.replace(name, "NAME"))
    assert answers["olga"] == answers["nobody"]


def test_a_success_clears_only_that_address_s_failures(client, make_user):
    make_user("operator", username="olga")
    fail(client, "olga", 4)
    fail(client, "olga", 4, DESK)
    assert log_in(client, "olga").status_code == 303
    assert set(db.session.scalars(sa.select(LoginFailure.ip))) == {ATTACKER["REMOTE_ADDR"]}


def test_failures_older_than_an_hour_are_forgotten_and_purged_by_the_job(client, make_user):
    with time_machine.travel(at("2026-11-24 10:00"), tick=False):
        for number in range(30):
            fail(client, f"random-{number}", 1, {"REMOTE_ADDR": f"192.0.2.{number}"})
    assert purge_login_failures(at("2026-11-24 10:59")) == 0
    assert purge_login_failures(at("2026-11-24 11:00")) == 30
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0
