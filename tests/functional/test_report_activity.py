"""Reports by activity date: a morning's calls on last week's leads show under today."""
from __future__ import annotations

import re

import time_machine

from leads.services.calls import record_outcome
from tests.conftest import at, sign_in, utc
from tests.factories import new_lead
from tests.functional.test_reports_http import manager, page_tables  # noqa: F401  (fixture)


def rows_of(html: str, table_id: str) -> list[list[str]]:
    """Cell texts of the rows of <table id=table_id> (the activity tables have no CSV, no "table-" id)."""
    body = html.split(f'<table id="{table_id}">', 1)[1].split("</table>", 1)[0]
    return [
        [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_today_s_calls_on_older_leads_show_today_per_operator_and_per_day(manager, make_user):  # noqa: F811
    olga = make_user("operator", "olga")
    older = [new_lead(phone=f"+7916555000{i}", created="2026-11-18 10:00") for i in range(3)]
    record_outcome(older[0], olga.id, "no_answer", now=utc(at("2026-11-25 09:10")))
    record_outcome(older[1], olga.id, "consulted", now=utc(at("2026-11-25 09:20")))
    record_outcome(older[2], olga.id, "busy", now=utc(at("2026-11-24 17:00")))  # yesterday

    with time_machine.travel(at("2026-11-25 12:00"), tick=False):
        sign_in(manager, manager.user)
        manager.set_cookie("lang", "en")
        html = manager.get("/manager/reports?preset=today").text

    assert rows_of(html, "activity-operators")[1:] == [["Olga", "2", "1", "0"], ["All operators", "2", "1", "0"]]
    assert rows_of(html, "activity-days")[1:] == [["Wed 25 Nov", "2", "1", "0"]]
    # By arrival date the same morning shows nothing: the leads came last week.
    assert page_tables(html)["funnel"][1][1] == "0"


def test_a_period_without_calls_says_so(manager):  # noqa: F811
    with time_machine.travel(at("2026-11-25 12:00"), tick=False):
        sign_in(manager, manager.user)
        manager.set_cookie("lang", "en")
        html = manager.get("/manager/reports?preset=today").text
    assert "No calls were made in this period." in html
    assert "Nothing in this period." in html  # an empty table says so instead of standing empty
