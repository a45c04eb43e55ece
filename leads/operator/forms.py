"""The desk's forms and the words the desk uses for states, outcomes and refusals.

Every POST is a FlaskForm (CSRF), buttons included; the rules themselves live
in the services and the domain, these forms only carry values to them and
their refusals back, as a message by the field.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from flask_babel import format_date, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SearchField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from leads.domain.calendar import ClinicCalendar
from leads.domain.contact import InvalidField
from leads.services.calls import NOTE_MAX_LENGTH, OFFERED_OUTCOMES
from leads.words import OUTCOME_LABELS, STATE_LABELS

# The callback chooser: every quarter hour of the next few working days.
CALLBACK_STEP = timedelta(minutes=15)
CALLBACK_WORKING_DAYS = 6
CALLBACK_SEARCH_DAYS = 31  # how far to look for those working days (closures, long holidays)

# Outcomes that cannot be undone by calling again: the desk asks before recording them.
CONFIRM_OUTCOMES = {
    "do_not_call": _l("Put this number on the do-not-call list? The patient will not be called again."),
    "spam": _l("Close this lead as spam? It will not appear in reports."),
}

class ButtonForm(FlaskForm):
    """A POST that is only a button (take next, claim, release): it carries the CSRF token."""


class OutcomeForm(FlaskForm):
    """What came of a call: the outcome (the button pressed), a note, and for a callback its time."""

    outcome = HiddenField()
    note = TextAreaField(_l("Note (optional)"), render_kw={"maxlength": NOTE_MAX_LENGTH, "rows": 2})
    # A JSON client's null means "no time chosen", not the text "None".
    callback_at = SelectField(
        _l("Call back at"), choices=[], validate_choice=False, coerce=lambda v: "" if v is None else str(v)
    )
    callback_for = RadioField(
        _l("Who calls back"),
        choices=[SelectChoice("anyone", _l("Anyone")), SelectChoice("me", _l("Me"))],
        default="anyone",
        validate_choice=False,
    )

    def callback_instant(self, clinic_tz: tzinfo) -> datetime | None:
        """The chosen callback time as an aware instant, None if none was chosen.

        A time without an offset is clinic time. Raises InvalidField("callback_at", "invalid").
        """
        raw = (self.callback_at.data or "").strip()
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidField("callback_at", "invalid") from None
        return value.replace(tzinfo=clinic_tz) if value.tzinfo is None else value

    def fill_callback_choices(self, calendar: ClinicCalendar, now: datetime) -> None:
        """Offer only opening hours: the quarter hours of the next working days, grouped by day."""
        choices = [SelectChoice("", str(_l("Choose a time")))]
        for day, times in callback_times(calendar, now):
            group = format_date(day, "EEEE d MMMM")
            choices += [SelectChoice(t.isoformat(), f"{t:%H:%M}", optgroup=group) for t in times]
        self.callback_at.choices = choices


def callback_times(calendar: ClinicCalendar, now: datetime) -> list[tuple[date, list[datetime]]]:
    """(day, quarter-hour starts still ahead) for the next working days, in clinic time."""
    today = calendar.local(now).date()
    days: list[tuple[date, list[datetime]]] = []
    for offset in range(CALLBACK_SEARCH_DAYS):
        day = today + timedelta(days=offset)
        hours = calendar.opening_hours(day)
        if hours is None:
            continue
        opens, closes = hours
        times, current = [], opens
        while current < closes:
            if current > now:
                times.append(calendar.local(current))
            # In UTC: aware + timedelta in a zone with DST is wall-clock arithmetic.
            current = calendar.local(current.astimezone(UTC) + CALLBACK_STEP)
        if times:
            days.append((day, times))
        if len(days) == CALLBACK_WORKING_DAYS:
            break
    return days


class SearchForm(FlaskForm):
    """Find a lead by phone or name: posted, so the search term never sits in an address (or a log)."""

    q = SearchField(
        _l("Phone or name"),
        render_kw={"autocomplete": "off", "maxlength": 100, "placeholder": "+7 916 123-45-67"},
    )
    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("Any"))] + [SelectChoice(k, v) for k, v in STATE_LABELS.items()],
        validate_choice=False,
    )


def outcome_buttons() -> list[tuple[str, str, str]]:
    """(outcome, label, keyboard shortcut) in the order of the buttons.

    `booked` has no button: a booking is a slot picked in the booking panel.
    """
    offered = [o for o in OFFERED_OUTCOMES if o.value != "booked"]
    return [(o.value, str(OUTCOME_LABELS[o.value]), str(i)) for i, o in enumerate(offered, start=1)]


# -- the appointment book ----------------------------------------------------------------------

APPOINTMENT_STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "attended": _l("Attended"),
    "no_show": _l("Did not come"),
    "cancelled": _l("Cancelled"),
}
CANCEL_REASON_MAX_LENGTH = 200


class BookForm(FlaskForm):
    """A slot picked from the panel: the button's value ``"<doctor id>/<ISO start>"``.

    JSON clients may send ``doctor_id`` and ``start`` instead.
    """

    slot = HiddenField()
    doctor_id = HiddenField()
    start = HiddenField()
    note = TextAreaField(_l("Note (optional)"), render_kw={"maxlength": NOTE_MAX_LENGTH, "rows": 2})

    def chosen(self, clinic_tz: tzinfo) -> tuple[int, datetime] | None:
        """(doctor id, aware start) of the chosen slot; None if none or not readable.

        A start without an offset is clinic time.
        """
        raw = (self.slot.data or "").strip()
        doctor, _sep, start = raw.partition("/") if raw else (self.doctor_id.data or "", "/", self.start.data or "")
        try:
            doctor_id = int(str(doctor).strip())
            moment = datetime.fromisoformat(str(start).strip())
        except (TypeError, ValueError):
            return None
        return doctor_id, moment.replace(tzinfo=clinic_tz) if moment.tzinfo is None else moment


class CancelForm(FlaskForm):
    """Cancel an appointment: the reason is required (the service says so)."""

    reason = StringField(_l("Reason for cancelling"), render_kw={"maxlength": CANCEL_REASON_MAX_LENGTH})
    next = HiddenField()


class AttendanceForm(FlaskForm):
    """After its start: did the patient come? (the button pressed: "yes" or "no")."""

    attended = HiddenField()
    next = HiddenField()


class SlotFinderForm(FlaskForm):
    """Which free slots to show on the card (GET: no CSRF token)."""

    class Meta:
        csrf = False

    specialty = SelectField(_l("Specialty"), choices=[], validate_choice=False)
    doctor = SelectField(_l("Doctor"), choices=[], validate_choice=False)
    day = HiddenField()
    reschedule = HiddenField()

    def fill_choices(self, specialties: list[str], doctors: list) -> None:
        """Every specialty and every active doctor (with their specialty)."""
        self.specialty.choices = [SelectChoice("", str(_l("Any specialty")))] + [
            SelectChoice(s, s) for s in specialties
        ]
        self.doctor.choices = [SelectChoice("", str(_l("Any doctor")))] + [
            SelectChoice(str(d.id), f"{d.name} — {d.specialty}") for d in doctors
        ]
