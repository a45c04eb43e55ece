"""The report's range form and the words of the report (Russian first, English second).

The range is read from the query string (a GET form, no CSRF: it changes
nothing).  Presets: today, this week (Monday–Sunday), this month, or a custom
from–to; a bad custom range gets a message by the field.

The report's words are kept here in both languages rather than in the message
catalog: they are the column headers of the CSV files too, and a manager's
spreadsheet must get the same words as the page.
"""
from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime, timedelta

from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import StringField

from leads.services.reports import MAX_RANGE_DAYS

PRESETS = ("today", "week", "month", "custom")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")  # the date input's value; what people type

# key -> (Russian, English)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Отчёты", "Reports"),
    "today": ("Сегодня", "Today"),
    "week": ("Эта неделя", "This week"),
    "month": ("Этот месяц", "This month"),
    "custom": ("Свой период", "Custom range"),
    "from": ("С", "From"),
    "to": ("По", "To"),
    "show": ("Показать", "Show"),
    "csv": ("CSV", "CSV"),
    "period": ("Период", "Period"),
    "excluded_note": (
        "Спам и тестовые заявки не учитываются. Время до первого звонка — в рабочих минутах клиники.",
        "Spam and test leads are left out. Time to the first call is in the clinic's opening minutes.",
    ),
    # tables
    "funnel": ("Воронка", "Funnel"),
    "first_call": ("Время до первого звонка", "Time to the first call"),
    "attempts": ("Попытки на заявку", "Attempts per lead"),
    "outcomes": ("Итоги звонков", "Call outcomes"),
    "operators": ("По операторам", "By operator"),
    "sources": ("По источникам", "By source"),
    "campaigns": ("По UTM-меткам", "By UTM source and campaign"),
    "days": ("По дням", "By day"),
    "heat": ("По дню недели и часу поступления", "By weekday and hour of arrival"),
    # columns
    "step": ("Этап", "Step"),
    "count": ("Количество", "Count"),
    "from_previous": ("Конверсия из предыдущего этапа, %", "Conversion from the previous step, %"),
    "from_start": ("Конверсия из заявок, %", "Conversion from requests, %"),
    "indicator": ("Показатель", "Indicator"),
    "value": ("Значение", "Value"),
    "leads": ("Заявки", "Leads"),
    "requests": ("Обращения (с повторными)", "Requests (repeats included)"),
    "reached": ("Дозвонились", "Reached"),
    "booked": ("Записаны", "Booked"),
    "attended": ("Пришли", "Attended"),
    "share": ("Доля, %", "Share, %"),
    "calls": ("Звонки", "Calls"),
    "reached_calls": ("Дозвонились", "Reached"),
    "booked_calls": ("Записали", "Booked"),
    "operator": ("Оператор", "Operator"),
    "outcome": ("Итог", "Outcome"),
    "source": ("Источник", "Source"),
    "utm_source": ("utm_source", "utm_source"),
    "utm_campaign": ("utm_campaign", "utm_campaign"),
    "conversion_booked_reached": ("Конверсия (записали / дозвонились), %", "Conversion (booked / reached), %"),
    "conversion_booked_leads": ("Конверсия (записаны / заявки), %", "Conversion (booked / leads), %"),
    "date": ("Дата", "Date"),
    "weekday": ("День недели", "Weekday"),
    "attempts_n": ("Попыток", "Attempts"),
    "average": ("В среднем на заявку", "Average per lead"),
    "called": ("Заявок с звонком", "Leads called"),
    "not_called": ("Ещё не звонили", "Not called yet"),
    "median": ("Медиана, рабочих минут", "Median, business minutes"),
    "p90": ("90-й перцентиль, рабочих минут", "90th percentile, business minutes"),
    "within_sla": ("Позвонили в пределах SLA ({n} мин)", "Called within the SLA ({n} min)"),
    "within_sla_share": ("Доля в пределах SLA, %", "Share within the SLA, %"),
    "none": ("(нет)", "(none)"),
    "chart_label": ("Заявки по дням", "Leads by day"),
    # funnel steps
    "step_requests": ("Заявки", "Requests"),
    "step_reached": ("Дозвонились", "Reached"),
    "step_booked": ("Записаны", "Booked"),
    "step_attended": ("Пришли на приём", "Attended"),
    "step_all_requests": ("Всего обращений (с повторными)", "All requests (repeats included)"),
    # messages
    "bad_date": ("Введите дату в виде ДД.ММ.ГГГГ, например 23.11.2026.", "Enter a date like 23.11.2026."),
    "missing_from": ("Укажите начало периода.", "Enter the first day of the range."),
    "missing_to": ("Укажите конец периода.", "Enter the last day of the range."),
    "reversed": ("Конец периода не может быть раньше начала.", "The last day must not be before the first day."),
    "too_long": (f"Период — не больше {MAX_RANGE_DAYS} дней.", f"A range covers at most {MAX_RANGE_DAYS} days."),
    "bad_preset": ("Выберите период из списка.", "Choose a range from the list."),
    "bad_table": ("Такой таблицы нет.", "There is no such table."),
}
WEEKDAYS = (
    ("Понедельник", "Monday"), ("Вторник", "Tuesday"), ("Среда", "Wednesday"), ("Четверг", "Thursday"),
    ("Пятница", "Friday"), ("Суббота", "Saturday"), ("Воскресенье", "Sunday"),
)


def russian() -> bool:
    """True when the page speaks Russian (the default)."""
    return str(get_locale() or "ru").startswith("ru")


def word(key: str, **values) -> str:
    """The report's word for `key` in the current language."""
    ru, en = WORDS[key]
    return (ru if russian() else en).format(**values)


def weekday_name(weekday: int) -> str:
    """Monday = 0."""
    return WEEKDAYS[weekday][0 if russian() else 1]


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

    preset = StringField()  # one of PRESETS; absent: custom when dates are given, else this week
    # The query string says `from` and `to` (a Python keyword cannot be an attribute).
    date_from = StringField(name="from")
    date_to = StringField(name="to")

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
        first = self._day(self.date_from, "missing_from")
        last = self._day(self.date_to, "missing_to")
        if first is None or last is None:
            return None
        if last < first:
            self.date_to.errors.append(word("reversed"))
            return None
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            self.date_to.errors.append(word("too_long"))
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
