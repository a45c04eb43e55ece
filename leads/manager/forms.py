"""The report's range form and the words of the report.

The range is read from the query string (a GET form, no CSRF: it changes
nothing).  Presets: today, this week (Monday–Sunday), this month, or a custom
from–to; a bad custom range gets a message by the field.

The report's words are in the message catalog (English msgids, Russian in
translations/ru).  They are the column headers of the CSV files too: the page
and each CSV get them from `word`, so a manager's spreadsheet has the same
words as the page.  A word that reads differently in Russian depending on what
it counts (leads booked / calls that booked, a funnel step / a column) has a
message context of its own.
"""
from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime, timedelta
from functools import cache

from flask_babel import get_locale, gettext, pgettext
from flask_wtf import FlaskForm
from wtforms import StringField

from leads.services.reports import MAX_RANGE_DAYS

PRESETS = ("today", "week", "month", "custom")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")  # the date input's value; what people type


@cache
def _words(locale: str) -> dict[str, str]:
    """key -> the report's word in `locale` (the current request's), %-placeholders unfilled.

    Looked up once per language and process, as the catalogs themselves are
    loaded once per process: a page asks for a hundred words.
    """
    return {
        "title": gettext("Reports"),
        "today": gettext("Today"),
        "week": gettext("This week"),
        "month": gettext("This month"),
        "custom": gettext("Custom range"),
        "from": gettext("From"),
        "to": gettext("To"),
        "show": gettext("Show"),
        "csv": "CSV",
        "period": gettext("Period"),
        "excluded_note": gettext(
            "Spam and test leads are left out. Time to the first call is in the clinic's opening minutes."
        ),
        # tables
        "funnel": gettext("Funnel"),
        "first_call": gettext("Time to the first call"),
        "attempts": gettext("Attempts per lead"),
        "outcomes": gettext("Call outcomes"),
        "operators": gettext("By operator"),
        "sources": gettext("By source"),
        "campaigns": gettext("By UTM source and campaign"),
        "days": gettext("By day"),
        "heat": gettext("By weekday and hour of arrival"),
        # columns
        "step": gettext("Step"),
        "count": gettext("Count"),
        "from_previous": gettext("Conversion from the previous step, %"),
        "from_start": gettext("Conversion from requests, %"),
        "indicator": gettext("Indicator"),
        "value": gettext("Value"),
        "leads": gettext("Leads"),
        "requests": gettext("Requests (repeats included)"),
        "reached": gettext("Reached"),
        "booked": pgettext("report: leads", "Booked"),
        "attended": pgettext("report: leads", "Attended"),
        "share": gettext("Share, %"),
        "calls": gettext("Calls"),
        "reached_calls": gettext("Reached"),
        "booked_calls": pgettext("report: calls", "Booked"),
        "operator": gettext("Operator"),
        "outcome": gettext("Outcome"),
        "source": gettext("Source"),
        "utm_source": "utm_source",
        "utm_campaign": "utm_campaign",
        "conversion_booked_reached": gettext("Conversion (booked / reached), %"),
        "conversion_booked_leads": gettext("Conversion (booked / leads), %"),
        "date": gettext("Date"),
        "weekday": gettext("Weekday"),
        "attempts_n": pgettext("report: column", "Attempts"),
        "average": gettext("Average per lead"),
        "called": gettext("Leads called"),
        "not_called": gettext("Not called yet"),
        "median": gettext("Median, business minutes"),
        "p90": gettext("90th percentile, business minutes"),
        "within_sla": gettext("Called within the SLA (%(n)d min)"),
        "within_sla_share": gettext("Share within the SLA, %"),
        "none": gettext("(none)"),
        "chart_label": gettext("Leads by day"),
        # funnel steps
        "step_requests": pgettext("report: funnel step", "Requests"),
        "step_reached": gettext("Reached"),
        "step_booked": pgettext("report: leads", "Booked"),
        "step_attended": pgettext("report: funnel step", "Attended"),
        "step_all_requests": gettext("All requests (repeats included)"),
        # messages
        "bad_date": gettext("Enter a date like 23.11.2026."),
        "missing_from": gettext("Enter the first day of the range."),
        "missing_to": gettext("Enter the last day of the range."),
        "reversed": gettext("The last day must not be before the first day."),
        "too_long": gettext("A range covers at most %(days)d days."),
        "bad_preset": gettext("Choose a range from the list."),
        "bad_table": gettext("There is no such table."),
        # weekdays, Monday = 0
        **{f"weekday_{i}": name for i, name in enumerate((
            gettext("Monday"), gettext("Tuesday"), gettext("Wednesday"), gettext("Thursday"),
            gettext("Friday"), gettext("Saturday"), gettext("Sunday"),
        ))},
    }


def russian() -> bool:
    """True when the page speaks Russian (the default)."""
    return str(get_locale() or "ru").startswith("ru")


def word(key: str, **values) -> str:
    """The report's word for `key` in the current language, its %(name)s placeholders filled from `values`."""
    text = _words(str(get_locale() or "ru"))[key]
    return text % values if values else text


def weekday_name(weekday: int) -> str:
    """Monday = 0."""
    return word(f"weekday_{weekday}")


def parse_day(text: str) -> date | None:
    """A date from the date input (YYYY-MM-DD) or typed (DD.MM.YYYY); None if neither."""
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The clinic dates of a preset: today, this week (Monday–Sunday), this month."""
    if preset == "today":
        return today, today
    if preset == "month":
        last = month_calendar.monthrange(today.year, today.month)[1]
        return today.replace(day=1), today.replace(day=last)
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


class RangeForm(FlaskForm):
    """The report's range, from the query string."""

    class Meta:
        csrf = False

    # One of PRESETS; absent: custom when dates are given.  With neither, the page opens on a
    # period with data (leads.services.report_period, `show`); `resolve` alone takes this week.
    preset = StringField()
    # The query string says `from` and `to` (a Python keyword cannot be an attribute).
    date_from = StringField(name="from")
    date_to = StringField(name="to")

    def asked(self) -> bool:
        """True when the query string names a preset or a date."""
        return bool(self.preset.data or self.date_from.data or self.date_to.data)

    def show(self, first: date, last: date, preset: str) -> None:
        """Fill the form with a period chosen for the manager (the page's default)."""
        self.preset.data = preset
        self.date_from.data, self.date_to.data = first.isoformat(), last.isoformat()

    def resolve(self, today: date) -> tuple[date, date] | None:
        """The range asked for, or None with messages on the fields."""
        for f in (self.preset, self.date_from, self.date_to):
            f.errors = []
        preset = self.preset.data or ""
        custom = preset == "custom" or (not preset and (self.date_from.data or self.date_to.data))
        if preset and preset not in PRESETS:
            self.preset.errors.append(word("bad_preset"))
            return None
        if not custom:
            first, last = preset_range(preset or "week", today)
            self.preset.data = preset or "week"
            self.date_from.data, self.date_to.data = first.isoformat(), last.isoformat()
            return first, last
        self.preset.data = "custom"
        typed_first = self._day(self.date_from, "missing_from")
        typed_last = self._day(self.date_to, "missing_to")
        if typed_first is None or typed_last is None:
            return None
        first, last = typed_first, typed_last
        if last < first:
            self.date_to.errors.append(word("reversed"))
            return None
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            self.date_to.errors.append(word("too_long", days=MAX_RANGE_DAYS))
            return None
        return first, last

    @staticmethod
    def _day(f: StringField, missing: str) -> date | None:
        text = (f.data or "").strip()
        if not text:
            f.errors.append(word(missing))
            return None
        day = parse_day(text)
        if day is None:
            f.errors.append(word("bad_date"))
        return day
