"""The words and the calendar file of a message about a visit (issue 14).

Rendered at sending time, from the appointment as it is then, in the clinic's
default language and time zone.  No personal data beyond what the patient
already knows: the doctor, the time, the address and their own link.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import format_date, format_time, gettext as _
from icalendar import Calendar, Event

from leads.services.visit_links import visit_url


@dataclass(frozen=True)
class VisitFacts:
    """What a message says about one visit."""

    appointment_id: int
    doctor_name: str
    specialty: str
    start: datetime
    end: datetime


def message_text(kind: str, visit: VisitFacts) -> tuple[str, str]:
    """(subject, text) of a message of `kind` ("booked" or "reminder") about `visit`."""
    config = current_app.config
    values = {
        "clinic": config["CLINIC_NAME"],
        "doctor": visit.doctor_name,
        "specialty": visit.specialty,
        "day": format_date(visit.start, "EEEE d MMMM"),
        "time": format_time(visit.start, "HH:mm"),
        "link": visit_url(visit.appointment_id),
    }
    if kind == "booked":
        subject = _("%(clinic)s: your appointment", **values)
        text = _("%(clinic)s: you are booked: %(doctor)s (%(specialty)s), %(day)s at %(time)s.", **values)
    else:
        subject = _("%(clinic)s: a reminder of your appointment", **values)
        text = _("%(clinic)s: a reminder of your appointment: %(doctor)s (%(specialty)s), %(day)s at %(time)s.", **values)
    if config["CLINIC_ADDRESS"]:
        text += " " + _("Address: %(address)s.", address=config["CLINIC_ADDRESS"])
    text += " " + _("Confirm or cancel: %(link)s", **values)
    return subject, text


def visit_ics(visit: VisitFacts, summary: str) -> bytes:
    """An iCalendar file (RFC 5545) with the visit as one event, in the clinic's time zone."""
    config = current_app.config
    calendar = Calendar()
    calendar.add("prodid", "-//Callback Desk//visit//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    domain = config["PUBLIC_BASE_URL"].split("//")[-1].split("/")[0] or "localhost"
    event.add("uid", f"visit-{visit.appointment_id}@{domain}")
    event.add("summary", summary)
    event.add("dtstart", visit.start)
    event.add("dtend", visit.end)
    event.add("dtstamp", datetime.now(visit.start.tzinfo))
    if config["CLINIC_ADDRESS"]:
        event.add("location", config["CLINIC_ADDRESS"])
    event.add("description", f"{visit.doctor_name} ({visit.specialty})\n{visit_url(visit.appointment_id)}")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
