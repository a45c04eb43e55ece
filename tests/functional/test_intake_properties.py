"""Property tests of the intake (issue 10): whatever arrives, never a 500, never a row or a spool
record from a refused request, and every spooled record is one replay can store.

Arbitrary unicode (NUL, surrogates, right-to-left marks, long texts), wrong JSON
types, nested JSON, duplicate form fields, odd dates.
"""
from __future__ import annotations

import json

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from werkzeug.datastructures import MultiDict

from leads.extensions import db
from leads.models import LeadRequest
from leads.services.intake import replay_spool, spool

pytestmark = pytest.mark.slow

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
odd_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec=None), max_size=30),  # surrogates included
    st.sampled_from(["\x00", "a\x00b", "\u202eevil", "\ud800", "Анна", " ", "+7 916 123-45-67", "x" * 100_000]),
)
odd_date = st.one_of(
    st.sampled_from(["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+03:00", "2026-02-30T10:00:00+03:00", "asap", ""]),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
FIELDS = ["name", "phone", "consent", "marketing_consent", "preferred_time", "comment", "page_url", "referrer", "utm"]


def rows() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LeadRequest))


def assert_kept_or_refused(response, before_rows: int, before_spool: int, acknowledged: tuple[int, ...]) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    kept = (rows() - before_rows) + (spool().size() - before_spool)
    assert kept == (1 if response.status_code in acknowledged else 0)


@given(body=st.dictionaries(st.sampled_from(FIELDS), json_value | odd_date, max_size=9))
@SETTINGS
def test_any_json_body_is_stored_once_or_refused_never_a_500(client, body):
    before_rows, before_spool = rows(), spool().size()
    body = {"name": "Анна", "phone": "+79161234567", "consent": True, **body}
    response = client.post("/api/v1/leads", data=json.dumps(body), content_type="application/json")
    assert_kept_or_refused(response, before_rows, before_spool, (201,))


@given(depth=st.integers(min_value=1, max_value=30_000), opener=st.sampled_from(["[", '{"a":']))
@SETTINGS
def test_nested_json_is_refused_never_a_500(client, depth, opener):
    closer = "]" if opener == "[" else "}"
    response = client.post("/api/v1/leads", data=opener * depth + "1" + closer * depth, content_type="application/json")
    assert response.status_code in (400, 413, 422)  # 422: a shallow object, without the fields


@given(
    fields=st.lists(
        st.tuples(
            st.sampled_from(FIELDS[:-1] + ["utm_source", "utm_term", "website"]),
            # As a form carries them: a lone surrogate arrives as the bytes that encode it.
            (odd_text | odd_date).map(lambda text: text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")),
        ),
        max_size=12,
    )
)
@SETTINGS
def test_any_form_post_is_stored_once_or_refused_never_a_500(client, fields):
    """Duplicate fields included: the form takes the first of each, as the page sends only one."""
    before_rows, before_spool = rows(), spool().size()
    data = [("name", "Анна"), ("phone", "+79161234567"), ("consent", "y"), *fields]
    response = client.post("/callback", data=MultiDict(data))
    honeypot = bool(next((value for name, value in fields if name == "website"), "").strip())  # the first one counts
    assert_kept_or_refused(response, before_rows, before_spool, () if honeypot else (303,))


def test_every_spooled_record_is_one_replay_can_store(app, client, monkeypatch):
    """The same odd inputs while the database is down: each spooled record is stored by replay."""

    def database_down(record, **kwargs):
        raise sa.exc.OperationalError("INSERT", None, ConnectionError("down"))

    @given(body=st.dictionaries(st.sampled_from(FIELDS), json_value | odd_date, max_size=9))
    @SETTINGS
    def spool_odd_requests(body):
        body = {"name": "Анна", "phone": "+79161234567", "consent": True, **body}
        with monkeypatch.context() as patch:
            patch.setattr("leads.services.intake.store_request", database_down)
            response = client.post("/api/v1/leads", data=json.dumps(body), content_type="application/json")
        assert response.status_code < 500

    spool_odd_requests()
    waiting = spool().size()
    assert waiting > 0
    assert replay_spool() == (waiting, 0)
    assert rows() == waiting
    assert not spool().dead_letter_path.exists()
