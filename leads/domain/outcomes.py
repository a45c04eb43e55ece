"""Lead states and what each call outcome does to a lead (DESIGN.md §1.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from leads.domain.calendar import ClinicCalendar

__all__ = [
    "NO_ANSWER_DELAYS",
    "OPEN_STATES",
    "REACHED_OUTCOMES",
    "LeadState",
    "Outcome",
    "OutcomeEffect",
    "OutcomeError",
    "apply_outcome",
]


class LeadState(StrEnum):
    """Where a lead is: new → (retry | callback)* → booked | closed."""

    NEW = "new"
    RETRY = "retry"
    CALLBACK = "callback"
    BOOKED = "booked"
    CLOSED = "closed"


OPEN_STATES: frozenset[LeadState] = frozenset({LeadState.NEW, LeadState.RETRY, LeadState.CALLBACK})


class Outcome(StrEnum):
    """What happened on one call attempt."""

    BOOKED = "booked"
    CALLBACK = "callback"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    CONSULTED = "consulted"
    DECLINED = "declined"
    WRONG_NUMBER = "wrong_number"
    DO_NOT_CALL = "do_not_call"
    SPAM = "spam"


REACHED_OUTCOMES: frozenset[Outcome] = frozenset(
    {Outcome.BOOKED, Outcome.CALLBACK, Outcome.CONSULTED, Outcome.DECLINED, Outcome.DO_NOT_CALL}
)

NO_ANSWER_DELAYS = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=3))
BUSY_DELAY = timedelta(minutes=10)
VOICEMAIL_DELAY = timedelta(hours=2)

_CLOSING_OUTCOMES: dict[Outcome, str] = {
    Outcome.CONSULTED: "consulted",
    Outcome.DECLINED: "declined",
    Outcome.WRONG_NUMBER: "wrong_number",
    Outcome.DO_NOT_CALL: "do_not_call",
    Outcome.SPAM: "spam",
}


class OutcomeError(ValueError):
    """An outcome cannot be recorded; ``code`` is one of the documented codes."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class OutcomeEffect:
    """What recording an outcome does to the lead."""

    state: LeadState
    next_call_at: datetime | None  # None when closed/booked
    reached: bool
    close_reason: str | None  # "unreachable", "consulted", "declined", "wrong_number", ...
    callback_personal: bool = False
    withdraw_consent: bool = False
    exclude_from_reports: bool = False


def _retry_at(cal: ClinicCalendar, outcome: Outcome, now: datetime, attempt: int) -> datetime:
    if outcome is Outcome.BUSY:
        delay = BUSY_DELAY
    elif outcome is Outcome.VOICEMAIL:
        delay = VOICEMAIL_DELAY
    elif attempt <= len(NO_ANSWER_DELAYS):
        delay = NO_ANSWER_DELAYS[attempt - 1]
    else:
        return cal.next_working_day_opening(now)
    return cal.next_open(now.astimezone(UTC) + delay)


def apply_outcome(
    cal: ClinicCalendar,
    outcome: Outcome,
    now: datetime,
    *,
    current_state: LeadState,
    attempts_before: int,
    max_attempts: int = 6,
    callback_at: datetime | None = None,
    callback_for_me: bool = False,
) -> OutcomeEffect:
    """Return the effect of recording ``outcome`` at ``now`` on a lead in ``current_state``.

    This call is attempt number ``attempts_before + 1``: every outcome is an attempt. Raises
    OutcomeError with code "lead_not_open", "callback_time_required", "callback_time_past" or
    "callback_time_closed"; CalendarError for a naive datetime.
    """
    outcome, current_state = Outcome(outcome), LeadState(current_state)
    now = cal.local(now)
    if attempts_before < 0:
        raise ValueError(f"attempts_before must not be negative, got {attempts_before}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    if current_state not in OPEN_STATES:
        raise OutcomeError("lead_not_open", f"lead is {current_state}, not open")
    attempt = attempts_before + 1
    reached = outcome in REACHED_OUTCOMES

    if outcome in (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL):
        if attempt >= max_attempts:
            return OutcomeEffect(LeadState.CLOSED, None, reached, "unreachable")
        return OutcomeEffect(LeadState.RETRY, _retry_at(cal, outcome, now, attempt), reached, None)

    if outcome is Outcome.CALLBACK:
        if callback_at is None:
            raise OutcomeError("callback_time_required")
        callback_at = cal.local(callback_at)
        if callback_at.astimezone(UTC) <= now.astimezone(UTC):
            raise OutcomeError("callback_time_past")
        if not cal.is_open(callback_at):
            raise OutcomeError("callback_time_closed")
        return OutcomeEffect(
            LeadState.CALLBACK, callback_at, reached, None, callback_personal=callback_for_me
        )

    if outcome is Outcome.BOOKED:
        return OutcomeEffect(LeadState.BOOKED, None, reached, None)

    return OutcomeEffect(
        LeadState.CLOSED,
        None,
        reached,
        _CLOSING_OUTCOMES[outcome],
        withdraw_consent=outcome is Outcome.DO_NOT_CALL,
        exclude_from_reports=outcome is Outcome.SPAM,
    )
