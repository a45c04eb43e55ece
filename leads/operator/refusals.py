"""What the desk answers when a service refuses: one place mapping each refusal to a status,
the field it is about, and the message a person reads.

A refusal with a field is shown by that field (JSON clients get
``{"error": …, "errors": {field: [message]}}``); without one it stands on top of the card.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import format_datetime, gettext as _, lazy_gettext as _l

from leads.domain.contact import InvalidField
from leads.domain.outcomes import OutcomeError
from leads.services.appointments import AppointmentError
from leads.services.calls import NOTE_MAX_LENGTH
from leads.services.errors import (
    LeadClaimedByOther,
    LeadNotFound,
    LeadNotOpen,
    LeadReservedForColleague,
    OutcomeRaced,
    QueueError,
)

# Outcome refusals about a field: (field, message).  Any other code means the lead is no longer open.
OUTCOME_ERRORS = {
    "callback_time_required": ("callback_at", _l("Choose when to call back.")),
    "callback_time_past": ("callback_at", _l("This time has already passed. Choose a later time.")),
    "callback_time_closed": (
        "callback_at",
        _l("The clinic is closed at this time. Choose a time within opening hours."),
    ),
    "unknown_outcome": ("outcome", _l("Choose one of the outcomes on the buttons.")),
    "outcome_not_offered": (
        "outcome",
        _l("To book a visit, choose a free slot under “Book an appointment”."),
    ),
}
FIELD_ERRORS = {
    ("note", "too_long"): _l("The note must be at most %(max)d characters long.", max=NOTE_MAX_LENGTH),
    ("note", "control_chars"): _l("The note contains characters that cannot be used. Type it again."),
    ("callback_at", "invalid"): _l("Choose a time from the list."),
    ("callback_at", "incomplete"): _l("Choose both the day and the time of the callback."),
    ("state", "invalid"): _l("Choose a state from the list."),
}
# Appointment refusals about the appointment or the lead rather than the slot chosen.
APPOINTMENT_STATUS = {"not_found": 404, "not_live": 409, "lead_not_open": 409, "slot_taken": 409}


@dataclass(frozen=True)
class Refusal:
    """How the desk answers one refusal."""

    status: int
    message: str
    field: str | None = None


def field_error(exc: InvalidField) -> str:
    """The message for a refused field."""
    return str(FIELD_ERRORS.get((exc.field, exc.code), _l("Check this field.")))


def _lead_closed() -> Refusal:
    return Refusal(409, _("This lead is already closed or booked."))


def no_slot_chosen() -> Refusal:
    """A booking sent without a readable slot."""
    return Refusal(422, _("Choose a free slot."), "slot")


def refusal(exc: Exception) -> Refusal:
    """The answer to a refusal of the queue, the outcome rules, the appointment book or a field."""
    if isinstance(exc, InvalidField):
        return Refusal(422, field_error(exc), exc.field)
    if isinstance(exc, OutcomeError):
        field, message = OUTCOME_ERRORS.get(exc.code, (None, None))
        return _lead_closed() if message is None else Refusal(422, str(message), field)
    if isinstance(exc, AppointmentError):
        if exc.code == "not_found" and exc.field == "doctor":
            return Refusal(422, str(exc.message), exc.field)
        return Refusal(APPOINTMENT_STATUS.get(exc.code, 422), str(exc.message), exc.field)
    if isinstance(exc, LeadNotFound):
        return Refusal(404, _("This lead does not exist."))
    if isinstance(exc, LeadClaimedByOther):
        return Refusal(
            409,
            _(
                "%(name)s is working on this lead right now. Take the next lead from the queue.",
                name=exc.holder_name or _("Another operator"),
            ),
        )
    if isinstance(exc, LeadNotOpen):
        return _lead_closed()
    if isinstance(exc, LeadReservedForColleague):
        return Refusal(
            409,
            _(
                "%(name)s agreed to call this patient back personally. Others may call from %(time)s.",
                name=exc.owner_name or _("Another operator"),
                time=format_datetime(exc.free_at, "HH:mm"),
            ),
        )
    if isinstance(exc, OutcomeRaced):
        return Refusal(409, _("Someone recorded an outcome on this lead at the same moment. Look at the card again."))
    if isinstance(exc, QueueError):
        return Refusal(409, _("The lead changed while you were working on it. Please try again."))
    raise TypeError(f"not a desk refusal: {exc!r}")
