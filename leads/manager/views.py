"""The manager's report page and its CSV files.

The page and each CSV are made from the same `Table` values, so a number in a
spreadsheet is the number on the page.  The CSV files (written by
leads.spreadsheet) have a decimal comma and dates as DD.MM.YYYY.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Union

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from leads.manager import bp
from leads.manager.forms import RangeForm, russian, weekday_name, word
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.report_activity import activity_report
from leads.services.report_period import DefaultPeriod, default_period
from leads.services.reports import Counts, Report, build_report
from leads.services.visit_report import follow_up_by_week
from leads.spreadsheet import csv_text
from leads.words import OUTCOME_LABELS, SOURCE_LABELS, label


@dataclass(frozen=True)
class Number:
    """A fraction shown with a fixed number of decimals (None: not defined, e.g. 0 / 0)."""

    value: float | None
    places: int = 1


Cell = Union[str, int, Number, date, None]


@dataclass(frozen=True)
class Table:
    """One table of the report: what the page shows and a CSV file holds."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


def percent(part: int, whole: int) -> Number:
    """`part` of `whole` in per cent, one decimal; undefined for an empty whole."""
    return Number(round(100 * part / whole, 1) if whole else None)


def format_cell(cell: Cell, decimal_comma: bool, empty: str = "") -> str:
    """A cell as text: dates DD.MM.YYYY, fractions with their decimals."""
    if cell is None:
        return empty
    if isinstance(cell, Number):
        if cell.value is None:
            return empty
        text = f"{cell.value:.{cell.places}f}"
        return text.replace(".", ",") if decimal_comma else text
    if isinstance(cell, date):
        return cell.strftime("%d.%m.%Y")
    return str(cell)


# -- the tables -------------------------------------------------------------------------------


def funnel_table(report: Report) -> Table:
    t = report.totals
    steps = [("step_requests", t.leads), ("step_reached", t.reached), ("step_booked", t.booked),
             ("step_attended", t.attended)]
    rows: list[list[Cell]] = []
    previous = None
    for key, count in steps:
        rows.append([word(key), count, percent(count, previous) if previous is not None else None,
                     percent(count, t.leads)])
        previous = count
    rows.append([word("step_all_requests"), t.requests, None, None])
    return Table("funnel", word("funnel"), [word("step"), word("count"), word("from_previous"), word("from_start")], rows)


def first_call_table(report: Report) -> Table:
    fc = report.first_call
    rows: list[list[Cell]] = [
        [word("called"), fc.called],
        [word("not_called"), fc.not_called],
        [word("median"), Number(fc.median)],
        [word("p90"), Number(fc.p90)],
        [word("within_sla", n=fc.sla_minutes), fc.within_sla],
        [word("within_sla_share"), percent(fc.within_sla, fc.called)],
    ]
    return Table("first_call", word("first_call"), [word("indicator"), word("value")], rows)


def attempts_table(report: Report) -> Table:
    leads = report.totals.leads
    labels = [str(k) for k in range(len(report.attempts) - 1)] + [f"{len(report.attempts) - 1}+"]
    rows: list[list[Cell]] = [[label, n, percent(n, leads)] for label, n in zip(labels, report.attempts, strict=True)]
    average = Number(round(report.attempts_total / leads, 2) if leads else None, 2)
    rows.append([word("average"), average, None])
    return Table("attempts", word("attempts"), [word("attempts_n"), word("leads"), word("share")], rows)


def outcomes_table(report: Report) -> Table:
    total = sum(calls for calls, _ in report.outcomes.values())
    rows: list[list[Cell]] = [
        [str(OUTCOME_LABELS.get(outcome, outcome)), calls, percent(calls, total), reached]
        for outcome, (calls, reached) in report.outcomes.items()
    ]
    return Table("outcomes", word("outcomes"), [word("outcome"), word("calls"), word("share"), word("reached_calls")],
                 rows)


def operators_table(report: Report) -> Table:
    rows: list[list[Cell]] = [
        [r.name, r.calls, r.reached, r.booked, percent(r.booked, r.reached)] for r in report.operators
    ]
    headers = [word("operator"), word("calls"), word("reached_calls"), word("booked_calls"),
               word("conversion_booked_reached")]
    return Table("operators", word("operators"), headers, rows)


def _segment_cells(c: Counts) -> list[Cell]:
    return [c.leads, c.requests, c.reached, c.booked, c.attended, percent(c.booked, c.leads)]


SEGMENT_HEADERS = ("leads", "requests", "reached", "booked", "attended", "conversion_booked_leads")


def sources_table(report: Report) -> Table:
    rows = [[label(r.key[0], SOURCE_LABELS) or word("none"), *_segment_cells(r.counts)] for r in report.sources]
    return Table("sources", word("sources"), [word("source"), *map(word, SEGMENT_HEADERS)], rows)


def campaigns_table(report: Report) -> Table:
    rows = [[r.key[0] or word("none"), r.key[1] or word("none"), *_segment_cells(r.counts)] for r in report.campaigns]
    return Table("campaigns", word("campaigns"), [word("utm_source"), word("utm_campaign"),
                                                  *map(word, SEGMENT_HEADERS)], rows)


def days_table(report: Report) -> Table:
    """Every day of the range, days without leads included."""
    rows: list[list[Cell]] = []
    day = report.first
    while day <= report.last:
        c = report.days.get(day, Counts())
        rows.append([day, c.leads, c.reached, c.booked, c.attended])
        day = date.fromordinal(day.toordinal() + 1)
    return Table("days", word("days"), [word("date"), word("leads"), word("reached"), word("booked"),
                                        word("attended")], rows)


def heat_table(report: Report) -> Table:
    rows: list[list[Cell]] = [
        [weekday_name(wd), *(report.heat.get((wd, hour), 0) for hour in range(24))] for wd in range(7)
    ]
    return Table("heat", word("heat"), [word("weekday"), *(f"{h:02d}" for h in range(24))], rows)


TABLES = {
    "funnel": funnel_table,
    "first_call": first_call_table,
    "attempts": attempts_table,
    "outcomes": outcomes_table,
    "operators": operators_table,
    "sources": sources_table,
    "campaigns": campaigns_table,
    "days": days_table,
    "heat": heat_table,
}


def follow_up_table(first: date, last: date) -> Table:
    """After the booking, per week of visits: confirmations, cancellations by the patient, no-shows
    with and without a message or confirmation that reached the patient (issue 14)."""
    rows: list[list[Cell]] = [
        [w.week, w.visits, w.confirmed, percent(w.confirmed, w.visits), w.cancelled_by_patient,
         w.finished_reached, percent(w.no_show_reached, w.finished_reached),
         w.finished_unreached, percent(w.no_show_unreached, w.finished_unreached)]
        for w in follow_up_by_week(first, last)
    ]
    headers = [_("Week from"), _("Visits"), _("Confirmed"), _("Confirmation rate, %"), _("Cancelled by the patient"),
               _("Visits with a message or confirmation"), _("No-shows among them, %"),
               _("Visits without"), _("No-shows among them, %")]
    return Table("follow_up", _("After the booking (by the week of the visit)"), headers, rows)


# Tables made from the period itself rather than the leads report.
PERIOD_TABLES = {"follow_up": follow_up_table}
HEAT_LEVELS = 10  # CSS classes .heat-0 … .heat-9


def heat_level(count: int, highest: int) -> int:
    """The intensity class of a cell: 0 for none, 1 … 9 in proportion to the busiest hour."""
    if count <= 0 or highest <= 0:
        return 0
    return max(1, -(-count * (HEAT_LEVELS - 1) // highest))


def chart_data(table: Table, until: date | None = None) -> dict:
    """The by-day chart's data, read by static/js/reports.js from a JSON block; no day after `until`."""
    series = [word("leads"), word("reached"), word("booked"), word("attended")]
    rows = [row for row in table.rows if until is None or (isinstance(row[0], date) and row[0] <= until)]
    return {
        "title": word("chart_label"),
        "labels": [format_cell(row[0], True) for row in rows],
        "series": [{"label": label, "data": [row[i + 1] for row in rows]} for i, label in enumerate(series)],
    }


def funnel_chart(table: Table) -> dict:
    """The funnel's four steps as bars (the last row, every request, is not a step)."""
    steps = table.rows[:4]
    return {"label": table.title, "labels": [row[0] for row in steps], "data": [row[1] for row in steps]}


def csv_body(table: Table) -> str:
    """The table as CSV for Excel (Russian settings) and LibreOffice (leads.spreadsheet)."""
    return csv_text([table.headers, *([format_cell(cell, decimal_comma=True) for cell in row] for row in table.rows)])


# -- routes -----------------------------------------------------------------------------------


def _range_from_request() -> tuple[RangeForm, tuple[date, date] | None, DefaultPeriod | None]:
    """The form, the period asked for (None: refused, messages on the form), and the default
    period when none was asked for."""
    form = RangeForm(request.args)
    today = clinic_calendar().local(now_utc()).date()
    if form.asked():
        return form, form.resolve(today), None
    chosen = default_period(today)
    form.show(chosen.first, chosen.last, "week" if chosen.this_week else "custom")
    return form, (chosen.first, chosen.last), chosen


@bp.get("/")
def index():
    """The manager's area opens on the reports."""
    return redirect(url_for("manager.reports"))


@bp.get("/reports")
def reports():
    """The report page for the range in the query string (by default a period with data)."""
    form, period, chosen = _range_from_request()
    if period is None:
        return render_template("manager/reports.html", form=form, word=word, tables=None), 422
    report = build_report(*period)
    tables = {name: build(report) for name, build in TABLES.items()}
    today = clinic_calendar().local(now_utc()).date()
    tables.update({name: build(*period) for name, build in PERIOD_TABLES.items()})
    heat = tables["heat"]
    highest = max((cell for row in heat.rows for cell in row[1:]), default=0)
    return render_template(
        "manager/reports.html",
        form=form,
        word=word,
        tables=tables,
        period=period,
        recent_default=chosen is not None and not chosen.this_week,
        cell=lambda c: format_cell(c, decimal_comma=russian(), empty="—"),
        heat_class=lambda n: f"heat-{heat_level(n, highest)}",
        chart={**chart_data(tables["days"], until=today), "funnel": funnel_chart(tables["funnel"])},
        activity=activity_report(*period),
        today=today,
        csv_args={"from": period[0].isoformat(), "to": period[1].isoformat()},
    )


@bp.get("/reports.csv")
def reports_csv():
    """One table of the report as a CSV file: ?table=funnel&from=YYYY-MM-DD&to=YYYY-MM-DD."""
    name = request.args.get("table", "")
    if name not in TABLES and name not in PERIOD_TABLES:
        return Response(word("bad_table") + "\n", status=404, mimetype="text/plain")
    form, period, _chosen = _range_from_request()
    if period is None:
        messages = [m for f in (form.preset, form.date_from, form.date_to) for m in f.errors]
        return Response("\n".join(messages) + "\n", status=422, mimetype="text/plain")
    table = PERIOD_TABLES[name](*period) if name in PERIOD_TABLES else TABLES[name](build_report(*period))
    filename = f"report-{name}-{period[0].isoformat()}-{period[1].isoformat()}.csv"
    return Response(
        csv_body(table).encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
