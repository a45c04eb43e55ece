"""The desk's forms and the words the desk uses for states, outcomes and refusals.

Every POST is a FlaskForm (CSRF), buttons included; the rules themselves live
in the services and the domain, these forms only carry values to them and
their refusals back, as a message by the field.
"""
from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SearchField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from leads.domain.calendar import ClinicCalendar
from leads.domain.contact import InvalidField
from leads.services.calls import NOTE_MAX_LENGTH, OFFERED_OUTCOMES
from leads.words import OUTCOME_LABELS, STATE_LABELS

CALLBACK_DAYS_AHEAD = 31  # how far ahead the callback's date picker reaches

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
    # A quick choice's button sends its instant here, and so do JSON clients ("null": none chosen).
    callback_at = HiddenField(filters=[lambda v: "" if v is None else str(v)])
    # Or a day and a time from the pickers (clinic time).
    callback_day = StringField(_l("Day"), render_kw={"type": "date"})
    callback_time = StringField(_l("Time"), render_kw={"type": "time", "step": 900})
    callback_for = RadioField(
        _l("Who calls back"),
        choices=[SelectChoice("anyone", _l("Anyone")), SelectChoice("me", _l("Me"))],
        default="anyone",
        validate_choice=False,
    )

    def callback_instant(self, clinic_tz: tzinfo) -> datetime | None:
        """The chosen callback time as an aware instant, None if none was chosen.

        A quick choice (or a JSON client's ``callback_at``) wins over the pickers.  A time
        without an offset is clinic time.  Raises InvalidField("callback_at", "invalid") for a
        value that is not a time, ("callback_at", "incomplete") for a day without a time or
        a time without a day.
        """
        raw = (self.callback_at.data or "").strip()
        day, at = (self.callback_day.data or "").strip(), (self.callback_time.data or "").strip()
        if not raw and (day or at):
            if not (day and at):
                raise InvalidField("callback_at", "incomplete")
            raw = f"{day}T{at}"
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidField("callback_at", "invalid") from None
        return value.replace(tzinfo=clinic_tz) if value.tzinfo is None else value

    def fill_callback_picker(self, calendar: ClinicCalendar, now: datetime) -> None:
        """Limit the pickers to the days ahead and to the clinic's hours."""
        today = calendar.local(now).date()
        self.callback_day.render_kw = {
            **self.callback_day.render_kw,
            "min": today.isoformat(),
            "max": (today + timedelta(days=CALLBACK_DAYS_AHEAD)).isoformat(),
        }
        hours = calendar.weekly_plan.values()
        if hours:
            latest = max(closes for _opens, closes in hours)
            last_start = (datetime.combine(today, latest) - timedelta(minutes=15)).time()
            self.callback_time.render_kw = {
                **self.callback_time.render_kw,
                "min": min(opens for opens, _closes in hours).strftime("%H:%M"),
                "max": last_start.strftime("%H:%M"),
            }


class SaveAndNextForm(FlaskForm):
    """The switch of "save and next": `on` is "1" or "0"; `next` is the page to go back to."""

    on = HiddenField()
    next = HiddenField()


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
    messages_consent = BooleanField(_l("The patient agrees to get messages about this visit (SMS, e-mail)"))
    email = StringField(_l("E-mail for the calendar invitation (optional)"), render_kw={"maxlength": 254})

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
