"""What staff pages call the codes stored in the database: states, sources, the lead's timeline
and the audit log's actions, and their details in people's words.

Details are written by the services in a fixed English form ("appointment 3: …", "take-next",
"new → retry"); `describe` turns the known forms into the reader's language and keeps any
other detail as it was written (it is then the data itself: a reason, a name, a date).
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import format_date, gettext as _, lazy_gettext as _l, ngettext

STATE_LABELS = {
    "new": _l("New"),
    "retry": _l("Retry"),
    "callback": _l("Callback"),
    "booked": _l("Booked"),
    "closed": _l("Closed"),
}
SOURCE_LABELS = {
    "form": _l("Website form"),
    "embed": _l("Widget on the clinic's site"),
    "api": _l("Clinic's site (API)"),
}
# One name for each thing that happens to a lead or to the data, on the timeline and in the audit log.
ACTION_LABELS = {
    "created": _l("Request received"),
    "repeat_request": _l("Repeat request"),
    "on_do_not_call_list": _l("Request from a number on the do-not-call list"),
    "claimed": _l("Taken"),
    "released": _l("Returned to the queue"),
    "callback_shared": _l("Personal callback overdue: any operator may call"),
    "anonymised": _l("Personal data erased"),
    "open_card": _l("Opened the card"),
    "outcome": _l("Recorded an outcome"),
    "appointment_booked": _l("Booked an appointment"),
    "appointment_moved": _l("Moved an appointment"),
    "appointment_cancelled": _l("Cancelled an appointment"),
    "appointment_attended": _l("The patient came"),
    "appointment_no_show": _l("The patient did not come"),
    "appointment_confirmed_by_patient": _l("The patient confirmed the visit by their link"),
    "appointment_cancelled_by_patient": _l("The patient cancelled the visit by their link"),
    "appointment_confirmed_on_call": _l("Confirmation call: the patient is coming"),
    "appointment_cancelled_on_call": _l("Confirmation call: the patient cancelled the visit"),
    "confirmation_reschedule": _l("Confirmation call: the patient wants another time"),
    "confirmation_no_answer": _l("Confirmation call: no answer"),
    "login": _l("Signed in"),
    "login_failed": _l("Failed sign-in"),
    "logout": _l("Signed out everywhere"),
    "user_created": _l("Created an account"),
    "user_deactivated": _l("Deactivated an account"),
    "user_reactivated": _l("Reactivated an account"),
    "password_reset": _l("Set a new password"),
    "doctor_created": _l("Added a doctor"),
    "doctor_updated": _l("Changed a doctor"),
    "doctor_activated": _l("Doctor takes appointments again"),
    "doctor_deactivated": _l("Doctor no longer takes appointments"),
    "closure_added": _l("Added a closed day"),
    "closure_removed": _l("Removed a closed day"),
    "privacy_lookup": _l("Looked up a patient's data"),
    "privacy_export": _l("Exported a patient's data"),
    "privacy_erase": _l("Erased a patient's data"),
    "search": _l("Searched for patients"),
    "list_queue": _l("Was shown the queue"),
    "list_day_book": _l("Was shown the day's book"),
    "list_visits_to_mark": _l("Was shown the visits to mark"),
    "password_changed": _l("Changed their password"),
    "password_change_failed": _l("Gave a wrong current password"),
    "two_factor_enabled": _l("Turned two-factor sign-in on"),
    "two_factor_disabled": _l("Turned two-factor sign-in off"),
    "two_factor_required": _l("Set who must sign in with a second factor"),
    "login_second_factor": _l("Signed in with the app's code"),
    "login_recovery_code": _l("Signed in with a recovery code"),
}
OUTCOME_LABELS = {
    "booked": _l("Booked"),
    "no_answer": _l("No answer"),
    "busy": _l("Busy"),
    "voicemail": _l("Voicemail"),
    "callback": _l("Call back later"),
    "consulted": _l("Consulted"),
    "declined": _l("Declined"),
    "wrong_number": _l("Wrong number"),
    "do_not_call": _l("Do not call"),
    "spam": _l("Spam"),
}
CLOSE_REASON_LABELS = {
    "unreachable": _l("unreachable after every attempt"),
    "consulted": _l("question answered"),
    "declined": _l("declined"),
    "wrong_number": _l("wrong number"),
    "do_not_call": _l("asked not to be called"),
    "spam": _l("spam"),
}
ROLE_LABELS = {"operator": _l("Operator"), "manager": _l("Manager"), "admin": _l("Admin")}

# "on Monday 7 December": each weekday its own message, for languages that change the weekday's form.
_ON_WEEKDAY = (
    _l("on Monday %(date)s"),
    _l("on Tuesday %(date)s"),
    _l("on Wednesday %(date)s"),
    _l("on Thursday %(date)s"),
    _l("on Friday %(date)s"),
    _l("on Saturday %(date)s"),
    _l("on Sunday %(date)s"),
)

_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_LABELS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))

_SOURCE = re.compile(r"^(?P<source>\w+)(?P<spooled> \(spooled\))?$")
_HELD_BY = re.compile(r"^held by (?P<name>.+)$")
_APPOINTMENT = re.compile(r"^appointment \d+(?:: (?P<rest>.*))?$", re.S)
_TRANSITION = re.compile(r"^(?P<old>\w+) → (?P<new>\w+)(?: — (?P<rest>.*))?$", re.S)
_PHONE_KEY = re.compile(r"^phone (?P<key>\S+)(?:; (?P<extra>.*))?$")
_ERASED = re.compile(r"^(?P<leads>\d+) lead\(s\), (?P<visits>\d+) visit\(s\) cancelled$")
_USERNAME = re.compile(r"^username=(?P<name>\S+)(?P<locked> (?:locked|throttled))?$")
_SERVED = re.compile(r"^(?:(?P<detail>.*); )?(?P<count>\d+) lead\(s\)(?:: (?P<ids>[\d, ]+))?$")
_USER = re.compile(r"^user \d+ (?P<name>\S+) \((?P<role>\w+)\)$")
_DOCTOR = re.compile(r"^doctor \d+: (?P<rest>.*?)(?:; plan (?P<plan>.*))?$", re.S)
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS_EN) + r")\b")


def on_day(day: date) -> str:
    """ "on Monday 7 December" in the reader's language ("в понедельник 7 декабря")."""
    return str(_ON_WEEKDAY[day.weekday()]) % {"date": format_date(day, "d MMMM")}


def label(code: str | None, labels: dict) -> str:
    """The label of `code` in `labels`, else the code itself ("" for none)."""
    return str(labels.get(code, code or ""))


def _state(code: str) -> str:
    return label(code, STATE_LABELS)


def _plan(text: str) -> str:
    if text == "clinic hours":
        return _("clinic hours")
    return _WEEKDAY.sub(lambda m: str(_WEEKDAY_LABELS[_WEEKDAYS_EN.index(m.group(1))]), text)


def _privacy_extra(extra: str) -> str:
    erased = _ERASED.match(extra)
    if erased:
        leads = ngettext("%(num)d lead erased", "%(num)d leads erased", int(erased["leads"]))
        visits = ngettext("%(num)d visit cancelled", "%(num)d visits cancelled", int(erased["visits"]))
        return f"{leads}, {visits}"
    if extra in ("csv", "json"):
        return _("as %(format)s", format=extra.upper())
    return extra


def describe(kind: str, detail: str | None) -> str:
    """The detail of a timeline event or audit entry `kind`, in the reader's language."""
    detail = (detail or "").strip()
    if not detail:
        return ""
    if kind in ("created", "repeat_request") and (m := _SOURCE.match(detail)):
        text = label(m["source"], SOURCE_LABELS)
        return text + (" — " + _("kept while the database was down") if m["spooled"] else "")
    if kind == "claimed" and detail == "take-next":
        return _("with “Take next”")
    if kind == "released" and (m := _HELD_BY.match(detail)):
        return _("from %(name)s", name=m["name"])
    if kind == "callback_shared":
        return ""
    if kind == "anonymised" and detail == "erasure request":
        return _("at the patient's request")
    if kind.startswith(("appointment_", "confirmation_")) and (m := _APPOINTMENT.match(detail)):
        return m["rest"] or ""
    if kind == "outcome" and (m := _TRANSITION.match(detail)):
        text = f"{_state(m['old'])} → {_state(m['new'])}"
        rest = m["rest"] or ""
        if booked := _APPOINTMENT.match(rest):
            rest = booked["rest"] or ""
        return text + (f" — {rest}" if rest else "")
    if kind.startswith("privacy_") and (m := _PHONE_KEY.match(detail)):
        return _privacy_extra(m["extra"]) if m["extra"] else ""
    if (kind.startswith("list_") or kind == "search") and (m := _SERVED.match(detail)):
        count = int(m["count"])
        served = ngettext("%(num)d lead", "%(num)d leads", count) + (f": {m['ids']}" if m["ids"] else "")
        return f"{m['detail']}; {served}" if m["detail"] else served
    if kind == "two_factor_required":
        roles = [label(role.strip(), ROLE_LABELS) for role in detail.split(",") if role.strip() not in ("", "none")]
        return ", ".join(roles) or _("nobody")
    if kind == "login_failed" and (m := _USERNAME.match(detail)):
        text = _("username %(name)s", name=m["name"])
        return text + ("; " + _("sign-in locked for a while") if m["locked"] else "")
    if kind.startswith(("user_", "password_")) and (m := _USER.match(detail)):
        return f"{m['name']} ({label(m['role'], ROLE_LABELS)})"
    if kind.startswith("doctor_") and (m := _DOCTOR.match(detail)):
        return m["rest"] + ("; " + _("hours: %(plan)s", plan=_plan(m["plan"])) if m["plan"] else "")
    return detail
