"""The manager's reports over HTTP: access, the range form, the page, and every CSV against the page."""
from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest
import time_machine

from tests.conftest import at, sign_in
from tests.integration.test_reports import store_history

WEDNESDAY = "2026-11-25 12:00"
TABLES = ("funnel", "first_call", "attempts", "outcomes", "operators", "sources", "campaigns", "days", "heat",
          "follow_up")


@contextmanager
def frozen(text: str, client):
    """Stop the clock at clinic-local `text`, signing the client in again at that time."""
    with time_machine.travel(at(text), tick=False):
        sign_in(client, client.user)
        yield


@pytest.fixture
def manager(app, make_user):
    client = app.test_client()
    client.user = make_user("manager", "marina")
    sign_in(client, client.user)
    return client


class TableReader(HTMLParser):
    """Cell texts of every <table id="table-…"> on a page."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (attrs.get("id") or "").startswith("table-"):
            self._table = self.tables.setdefault(attrs["id"][6:], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = self._row = None


def page_tables(html: str) -> dict[str, list[list[str]]]:
    reader = TableReader()
    reader.feed(html)
    return reader.tables


def read_csv(response) -> list[list[str]]:
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    assert "\r\n" in body and "\n" not in body.replace("\r\n", "")
    return list(csv.reader(io.StringIO(body[1:], newline=""), delimiter=";"))


def number(text: str) -> float:
    """A figure as written with a decimal comma."""
    return float(text.replace(",", "."))


# -- access ------------------------------------------------------------------------------------


def test_manager_area_opens_on_the_reports(manager):
    response = manager.get("/manager/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/manager/reports")


def test_an_operator_may_not_see_reports(operator_client):
    assert operator_client.get("/manager/reports").status_code == 403
    assert operator_client.get("/manager/reports.csv?table=funnel").status_code == 403


def test_anonymous_people_are_sent_to_sign_in(client):
    response = client.get("/manager/reports")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- the page ----------------------------------------------------------------------------------


def test_the_page_shows_the_week_s_figures_without_inline_code(app, manager, make_user):
    store_history(make_user)
    with frozen(WEDNESDAY, manager):
        response = manager.get("/manager/reports")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    assert set(tables) == set(TABLES)
    assert tables["funnel"][1] == ["Заявки", "11", "—", "100,0"]
    assert tables["funnel"][2] == ["Дозвонились", "7", "63,6", "63,6"]
    assert tables["funnel"][3] == ["Записаны", "5", "71,4", "45,5"]
    assert tables["funnel"][4] == ["Пришли на приём", "2", "40,0", "18,2"]
    assert tables["funnel"][5][:2] == ["Всего обращений (с повторными)", "14"]
    first_call = {row[0]: row[1] for row in tables["first_call"][1:]}
    assert first_call["Медиана, рабочих минут"] == "22,5"
    assert first_call["90-й перцентиль, рабочих минут"] == "46,5"
    assert first_call["Доля в пределах норматива, %"] == "40,0"
    # The CSP allows no inline script or style: data only, classes only.
    assert "style=" not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all('src="' in attrs or 'type="application/json"' in attrs for attrs, _ in scripts)
    assert 'id="report-data"' in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert 'class="heat-9"' in html  # Monday 10:00, the busiest hour


def test_the_page_speaks_english_too(app, manager, make_user):
    store_history(make_user)
    manager.set_cookie("lang", "en")
    with frozen(WEDNESDAY, manager):
        manager.set_cookie("lang", "en")
        html = manager.get("/manager/reports").get_data(as_text=True)
    assert page_tables(html)["funnel"][2] == ["Reached", "7", "63.6", "63.6"]


@pytest.mark.parametrize(
    "preset, first, last",
    [
        ("today", "2026-11-25", "2026-11-25"),
        ("week", "2026-11-23", "2026-11-29"),
        ("month", "2026-11-01", "2026-11-30"),
        ("", "2026-11-23", "2026-11-29"),  # the default: this week, Monday to Sunday
    ],
)
def test_range_presets(manager, preset, first, last):
    with frozen(WEDNESDAY, manager):
        html = manager.get(f"/manager/reports?preset={preset}").get_data(as_text=True)
    assert f'name="from" value="{first}"' in html and f'name="to" value="{last}"' in html


def test_a_custom_range_accepts_typed_dates(app, manager, make_user):
    store_history(make_user)
    with frozen(WEDNESDAY, manager):
        html = manager.get("/manager/reports?preset=custom&from=23.11.2026&to=2026-11-23").get_data(as_text=True)
    assert page_tables(html)["funnel"][1][1] == "3"  # L1 L2 L3 arrived on Monday


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("from=2026-11-29&to=2026-11-23", "to", "Конец периода не может быть раньше начала."),
        ("from=31.02.2026&to=2026-11-23", "from", "Введите дату в виде ДД.ММ.ГГГГ, например 23.11.2026."),
        ("from=2026-11-01&to=soon", "to", "Введите дату в виде ДД.ММ.ГГГГ, например 23.11.2026."),
        ("from=&to=2026-11-23", "from", "Укажите начало периода."),
        ("from=2020-01-01&to=2026-11-23", "to", "Период — не больше 731 дней."),
    ],
)
def test_a_bad_custom_range_gets_a_message_by_the_field(manager, query, field, message):
    with frozen(WEDNESDAY, manager):
        response = manager.get(f"/manager/reports?preset=custom&{query}")
        csv_response = manager.get(f"/manager/reports.csv?table=funnel&{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error" role="alert">{message}</p>' in html
    assert 'id="table-funnel"' not in html
    assert csv_response.status_code == 422 and message in csv_response.get_data(as_text=True)


# -- CSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_each_csv_holds_the_page_s_figures(app, manager, make_user, table):
    store_history(make_user)
    with frozen(WEDNESDAY, manager):
        page = page_tables(manager.get("/manager/reports?from=2026-11-23&to=2026-11-29").get_data(as_text=True))
        response = manager.get(f"/manager/reports.csv?table={table}&from=2026-11-23&to=2026-11-29")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="report-{table}-2026-11-23-2026-11-29.csv"'
    )
    rows = read_csv(response)
    shown = [[("" if c == "—" else c) for c in row] for row in page[table]]
    assert rows == shown  # headers translated, same cells, same order
    for row in rows[1:]:
        for text in row[1:]:
            if text and text[0].isdigit():
                number(text)  # every figure reads as a number with a decimal comma


def test_csv_fractions_and_dates_for_a_russian_spreadsheet(app, manager, make_user):
    store_history(make_user)
    with frozen(WEDNESDAY, manager):
        funnel = read_csv(manager.get("/manager/reports.csv?table=funnel&from=2026-11-23&to=2026-11-29"))
        days = read_csv(manager.get("/manager/reports.csv?table=days&from=2026-11-23&to=2026-11-29"))
        attempts = read_csv(manager.get("/manager/reports.csv?table=attempts&from=2026-11-23&to=2026-11-29"))
    assert funnel[0] == ["Этап", "Количество", "Конверсия из предыдущего этапа, %", "Конверсия из заявок, %"]
    assert number(funnel[3][2]) == 71.4 and funnel[3][2] == "71,4"
    assert days[1] == ["23.11.2026", "3", "3", "2", "1"]
    assert days[-1][0] == "29.11.2026"
    assert attempts[-1][:2] == ["В среднем на заявку", "1,64"]  # 18 attempts / 11 leads


def test_an_unknown_table_is_not_found(manager):
    assert manager.get("/manager/reports.csv?table=leads").status_code == 404
