"""The report page opened without a period shows one with data (issue 13, item 7).

This week when anything happened in it (a lead arrived or a call was made), otherwise the 30 days
up to the last day that had either, and the page says so.  The clock is set at the edges: Monday
just after midnight, a Sunday-night lead, data only in a past month.
"""
from __future__ import annotations

from datetime import date

import time_machine

from leads.services.calls import record_outcome
from leads.services.report_period import DefaultPeriod, default_period
from tests.conftest import at, sign_in, utc
from tests.factories import new_lead
from tests.functional.test_reports_http import manager, page_tables  # noqa: F401  (fixture)

NOTE = "This week has no requests or calls yet, so the report shows the period up to the last day that had them."


def open_reports(client, now: str) -> str:
    with time_machine.travel(at(now), tick=False):
        sign_in(client, client.user)
        client.set_cookie("lang", "en")
        response = client.get("/manager/reports")
    assert response.status_code == 200
    return response.text


def shown_period(html: str) -> tuple[str, str]:
    first = html.split('name="from" value="', 1)[1].split('"', 1)[0]
    last = html.split('name="to" value="', 1)[1].split('"', 1)[0]
    return first, last


def checked_preset(html: str) -> str:
    return html.split('checked', 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]


def funnel_requests(html: str) -> str:
    return page_tables(html)["funnel"][1][1]


def test_data_only_in_a_past_month_opens_on_that_data_not_on_zeros(manager):  # noqa: F811
    new_lead(phone="+79165550001", created="2026-10-05 10:00")
    new_lead(phone="+79165550002", created="2026-10-12 18:00")

    html = open_reports(manager, "2026-11-25 12:00")

    assert shown_period(html) == ("2026-09-13", "2026-10-12")  # 30 days up to the last lead's day
    assert funnel_requests(html) == "2"
    assert "Period: 13.09.2026 — 12.10.2026." in html
    assert NOTE in html
    assert checked_preset(html) == "custom"


def test_a_lead_today_opens_on_this_week_with_today_in_it(manager):  # noqa: F811
    new_lead(phone="+79165550001", created="2026-10-05 10:00")
    new_lead(phone="+79165550003", created="2026-11-25 09:30")

    html = open_reports(manager, "2026-11-25 09:31")

    assert shown_period(html) == ("2026-11-23", "2026-11-29")
    assert funnel_requests(html) == "1"
    assert checked_preset(html) == "week"
    assert NOTE not in html


def test_just_after_midnight_on_monday_last_week_s_sunday_lead_is_shown(manager):  # noqa: F811
    new_lead(phone="+79165550004", created="2026-11-22 23:59")  # Sunday night

    html = open_reports(manager, "2026-11-23 00:01")

    assert shown_period(html) == ("2026-10-24", "2026-11-22")
    assert funnel_requests(html) == "1"
    assert NOTE in html


def test_a_lead_at_monday_midnight_belongs_to_the_new_week(manager):  # noqa: F811
    new_lead(phone="+79165550004", created="2026-11-22 23:59")
    new_lead(phone="+79165550005", created="2026-11-23 00:00")

    html = open_reports(manager, "2026-11-23 00:01")

    assert shown_period(html) == ("2026-11-23", "2026-11-29")
    assert funnel_requests(html) == "1"
    assert NOTE not in html


def test_calls_this_week_on_older_leads_keep_this_week(manager, make_user):  # noqa: F811
    olga = make_user("operator", "olga")
    older = new_lead(phone="+79165550006", created="2026-11-18 10:00")
    record_outcome(older, olga.id, "no_answer", now=utc(at("2026-11-23 09:05")))

    html = open_reports(manager, "2026-11-23 10:00")

    assert shown_period(html) == ("2026-11-23", "2026-11-29")
    assert NOTE not in html
    assert "No calls were made in this period." not in html


def test_the_recent_period_ends_at_the_last_call_when_it_came_after_the_last_lead(manager, make_user):  # noqa: F811
    olga = make_user("operator", "olga")
    lead_id = new_lead(phone="+79165550007", created="2026-10-05 10:00")
    record_outcome(lead_id, olga.id, "no_answer", now=utc(at("2026-10-20 11:00")))

    html = open_reports(manager, "2026-11-25 12:00")

    assert shown_period(html) == ("2026-09-21", "2026-10-20")
    assert funnel_requests(html) == "1"


def test_spam_and_test_leads_are_not_data(app, manager):  # noqa: F811
    new_lead(phone="+79165550008", created="2026-10-05 10:00")
    new_lead(phone="+79165550009", created="2026-11-24 10:00", excluded=True, close_reason="spam", state="closed")
    new_lead(phone="+79165550010", created="2026-11-24 11:00", excluded=True)

    html = open_reports(manager, "2026-11-25 12:00")

    assert shown_period(html) == ("2026-09-06", "2026-10-05")
    assert funnel_requests(html) == "1"


def test_without_any_data_the_page_opens_on_this_week(manager):  # noqa: F811
    html = open_reports(manager, "2026-11-25 12:00")

    assert shown_period(html) == ("2026-11-23", "2026-11-29")
    assert checked_preset(html) == "week"
    assert NOTE not in html


def test_a_period_asked_for_is_shown_even_without_data(manager):  # noqa: F811
    new_lead(phone="+79165550001", created="2026-10-05 10:00")
    with time_machine.travel(at("2026-11-25 12:00"), tick=False):
        sign_in(manager, manager.user)
        html = manager.get("/manager/reports?preset=week").text
    assert shown_period(html) == ("2026-11-23", "2026-11-29")
    assert funnel_requests(html) == "0"


def test_the_service_answers_for_a_given_day(app):
    new_lead(phone="+79165550001", created="2026-10-05 10:00")
    assert default_period(date(2026, 11, 25)) == DefaultPeriod(date(2026, 9, 6), date(2026, 10, 5), this_week=False)
    assert default_period(date(2026, 10, 7)) == DefaultPeriod(date(2026, 10, 5), date(2026, 10, 11), this_week=True)
    # Data after the day asked about does not count (the report is never of the future).
    assert default_period(date(2026, 10, 4)) == DefaultPeriod(date(2026, 9, 28), date(2026, 10, 4), this_week=True)


def test_the_russian_page_says_why_it_shows_an_older_period(manager):  # noqa: F811
    new_lead(phone="+79165550001", created="2026-10-05 10:00")
    with time_machine.travel(at("2026-11-25 12:00"), tick=False):
        sign_in(manager, manager.user)
        html = manager.get("/manager/reports").text
    assert "На этой неделе пока нет ни заявок, ни звонков" in html
