"""Finding 3: no CSV the desk writes carries a cell a spreadsheet would run as a formula."""
from __future__ import annotations

import csv
import io

import pytest
import time_machine

from leads.spreadsheet import csv_text, neutral_cell
from tests.conftest import at, sign_in
from tests.factories import new_lead

FORMULAS = ['=HYPERLINK("https://evil.example/","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1", "\r=1"]


def cells(body: str) -> list[str]:
    assert body.startswith("\ufeff")
    return [cell for row in csv.reader(io.StringIO(body[1:], newline=""), delimiter=";") for cell in row]


def runs_as_formula(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_that_would_run_is_written_as_text(text):
    assert neutral_cell(text) == "'" + text
    assert not runs_as_formula(cells(csv_text([[text]]))[0])


def test_plain_values_are_written_as_they_are():
    assert cells(csv_text([["Яндекс", 12, "3,5", None]])) == ["Яндекс", "12", "3,5", ""]


@pytest.fixture
def manager(app, make_user):
    client = app.test_client()
    client.user = make_user("manager", "marina")
    return client


def test_the_campaigns_report_neutralises_anonymous_utm_values(app, manager):
    for number, formula in enumerate(FORMULAS[:3]):
        new_lead(phone=f"+7916123456{number}", utm_source=formula, utm_campaign=formula)
    with time_machine.travel(at("2026-11-25 12:00"), tick=False):
        sign_in(manager, manager.user)
        response = manager.get("/manager/reports.csv?table=campaigns&from=2026-11-23&to=2026-11-29")
    assert response.status_code == 200
    written = cells(response.get_data(as_text=True))
    assert not [cell for cell in written if runs_as_formula(cell)]
    assert "'" + FORMULAS[0] in written


def test_the_privacy_export_neutralises_the_patient_s_own_text(app, manager):
    new_lead(name="=1+1", comment="@SUM(A1)")
    sign_in(manager, manager.user)
    response = manager.post("/manager/privacy/export", data={"phone": "+79161234567", "fmt": "csv"})
    assert response.status_code == 200
    written = cells(response.get_data(as_text=True))
    assert "'=1+1" in written and not [cell for cell in written if runs_as_formula(cell)]
