"""The phone mask on real gunicorn access-log lines: phone numbers go, status, size, dates and latency stay."""
from __future__ import annotations

import re

import pytest
import requests

from tests.faults.servers import Gunicorn, app_environment, flask

pytestmark = pytest.mark.slow

# host - - [date] "request" status size "referrer" "agent" latency
LINE = re.compile(
    r'^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "(?P<request>[^"]*)" '
    r'(?P<status>\d{3}) (?P<size>\d+|-) "[^"]*" "[^"]*" \d+\.\d+$'
)


def test_the_access_log_keeps_its_numbers_and_loses_the_phones(tmp_path):
    env = app_environment(f"sqlite:///{tmp_path / 'desk.sqlite3'}", tmp_path)
    flask(env, "db", "upgrade")
    server = Gunicorn(env, tmp_path, workers=1)
    try:
        assert requests.get(f"{server.url}/", timeout=10).status_code == 200
        assert requests.get(f"{server.url}/consent", timeout=10).status_code == 200
        requests.get(f"{server.url}/thanks/89161234567xxxxxxxxx", timeout=10)
        requests.get(f"{server.url}/?utm_term=%2B7%20916%20123-45-67", timeout=10)
        requests.get(f"{server.url}/?utm_term=8(916)1234567", timeout=10)
    finally:
        server.stop()
    lines = server.access_log.read_text().splitlines()
    assert len(lines) >= 5  # and the readiness checks
    for line in lines:
        found = LINE.match(line)
        assert found, f"access-log line damaged: {line}"
        assert int(found["status"]) in (200, 404)
        assert found["size"] == "-" or int(found["size"]) > 100
    assert "916" not in server.access_log.read_text()
    assert sum("[phone]" in line for line in lines) == 3
