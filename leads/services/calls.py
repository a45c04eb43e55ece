"""Recording what came of a call (DESIGN.md §1.3).

`record_outcome` is the one writer of call outcomes: the retry rules live in
`leads.domain.outcomes.apply_outcome`; this module checks who may record,
applies the effect to the lead with a conditional UPDATE (so that two people
recording at the same moment cannot both win), and writes the call row, the
timeline event, the audit row and, for a withdrawn consent, the do-not-call
entry, all in one transaction.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from leads.domain.calendar import ClinicCalendar
from leads.domain.contact import InvalidField, clean_comment
from leads.domain.outcomes import LeadState, Outcome, OutcomeEffect, OutcomeError, apply_outcome
from leads.extensions import db
from leads.models import CallAttempt, DoNotCall, Lead, LeadEvent, User
from leads.services.audit import record_audit
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.errors import LeadClaimedByOther, LeadNotFound, LeadNotOpen, OutcomeRaced
from leads.services.queue import check_not_reserved
from leads.services.report_facts import first_call_minutes
from leads.services.unit_of_work import unit_of_work

__all__ = [
    "NOTE_MAX_LENGTH",
    "OFFERED_OUTCOMES",
    "add_outcome",
    "check_may_record",
    "claim_holder",
    "clean_note",
    "record_outcome",
]

NOTE_MAX_LENGTH = 1000  # CallAttempt.note's column length

# What the desk records, in the order of the buttons and their keyboard shortcuts.
# `booked` is not among them: the appointment book records it together with the
# appointment, in one transaction (leads/services/appointments.py).
OFFERED_OUTCOMES: tuple[Outcome, ...] = (
    Outcome.NO_ANSWER,
    Outcome.BUSY,
    Outcome.VOICEMAIL,
    Outcome.CALLBACK,
    Outcome.CONSULTED,
    Outcome.DECLINED,
    Outcome.WRONG_NUMBER,
    Outcome.DO_NOT_CALL,
    Outcome.SPAM,
)


def claim_holder(lead: Lead, now: datetime) -> int | None:
    """The id of the user whose claim on `lead` is live at `now`, or None."""
    if lead.claimed_by_id is None or lead.claim_expires_at is None or lead.claim_expires_at <= now:
        return None
    return lead.claimed_by_id


def _parse_outcome(outcome: str | Outcome) -> Outcome:
    try:
        parsed = Outcome(outcome)
    except ValueError:
        raise OutcomeError("unknown_outcome", f"unknown outcome {outcome!r}") from None
    if parsed not in OFFERED_OUTCOMES:
        raise OutcomeError("outcome_not_offered", f"{parsed} is recorded by booking an appointment, not from the desk")
    return parsed


def clean_note(note: str | None) -> str:
    """The call note trimmed and checked; InvalidField("note", …) when it cannot be stored."""
    try:
        return clean_comment(note, max_length=NOTE_MAX_LENGTH)
    except InvalidField as exc:
        raise InvalidField("note", exc.code) from None


def _check_may_record(lead: Lead | None, lead_id: int, user_id: int, is_manager: bool, now: datetime) -> Lead:
    """The lead, if `user_id` may record on it now; else the QueueError that says why not."""
    if lead is None:
        raise LeadNotFound(lead_id)
    holder_id = claim_holder(lead, now)
    if holder_id is not None and holder_id != user_id and not is_manager:
        holder = db.session.get(User, holder_id)
        raise LeadClaimedByOther(holder_id, holder.display_name if holder else "")
    if not lead.is_open:
        raise LeadNotOpen(lead_id)
    if holder_id != user_id:
        check_not_reserved(lead, user_id, is_manager=is_manager, now=now)
    return lead


def record_outcome(
    lead_id: int,
    user_id: int,
    outcome: str | Outcome,
    *,
    note: str = "",
    callback_at: datetime | None = None,
    callback_for_me: bool = False,
    is_manager: bool = False,
    now: datetime | None = None,
    ip: str = "",
) -> OutcomeEffect:
    """Record the outcome of a call on a lead and end the claim on it; commits.

    Only the holder of a live claim, or a manager/admin (`is_manager`), may
    record on a claimed lead; anyone on the desk may record on an unclaimed one.

    :raise OutcomeError: "unknown_outcome", "outcome_not_offered" (booked), or
        the domain's "callback_time_required" / "callback_time_past" / "callback_time_closed".
    :raise InvalidField: ("note", "too_long" | "control_chars").
    :raise LeadNotFound, LeadNotOpen, LeadClaimedByOther, OutcomeRaced: see leads.services.errors.
    """
    now = now or now_utc()
    parsed = _parse_outcome(outcome)
    note = clean_note(note)
    with unit_of_work():
        return add_outcome(
            lead_id,
            user_id,
            parsed,
            note=note,
            callback_at=callback_at,
            callback_for_me=callback_for_me,
            is_manager=is_manager,
            now=now,
            ip=ip,
        )


def check_may_record(lead_id: int, user_id: int, *, is_manager: bool = False, now: datetime) -> Lead:
    """The lead, freshly read, if `user_id` may record an outcome on it now.

    :raise LeadNotFound, LeadClaimedByOther, LeadNotOpen: see leads.services.errors.
    """
    return _check_may_record(
        db.session.get(Lead, lead_id, populate_existing=True), lead_id, user_id, is_manager, now
    )


def add_outcome(
    lead_id: int,
    user_id: int,
    outcome: Outcome,
    *,
    note: str = "",
    callback_at: datetime | None = None,
    callback_for_me: bool = False,
    is_manager: bool = False,
    now: datetime,
    ip: str = "",
    detail: str = "",
) -> OutcomeEffect:
    """Apply an already accepted outcome to the lead and add the call, event and audit rows.

    The caller owns the transaction: `record_outcome` for the desk's outcomes,
    the appointment book for `booked` (with its appointment).  On a lost race
    the QueueError saying why is raised, and the caller's unit of work rolls
    back everything it did.  `detail` is added to the timeline and audit text.
    """
    lead = check_may_record(lead_id, user_id, is_manager=is_manager, now=now)
    calendar = clinic_calendar(now)
    effect = apply_outcome(
        calendar,
        outcome,
        now,
        current_state=lead.state,
        attempts_before=lead.attempts,
        max_attempts=current_app.config["MAX_ATTEMPTS"],
        callback_at=callback_at if outcome is Outcome.CALLBACK else None,
        callback_for_me=callback_for_me,
    )
    state_before, lead_phone, arrival_day = lead.state, lead.phone, lead.arrival_day
    if not _apply_effect(lead, user_id, outcome, effect, calendar, is_manager=is_manager, now=now):
        # Say what changed under us: closed, claimed by someone, or simply recorded first.
        check_may_record(lead_id, user_id, is_manager=is_manager, now=now)
        raise OutcomeRaced(lead_id)

    db.session.add(
        CallAttempt(
            lead_id=lead_id,
            operator_id=user_id,
            at=now,
            outcome=outcome.value,
            reached=effect.reached,
            note=note,
            next_call_at=effect.next_call_at,
            arrival_day=arrival_day,
            day=calendar.local(now).date(),
        )
    )
    transition = f"{outcome.value}: {state_before} → {effect.state.value}"
    if effect.close_reason:
        transition += f" ({effect.close_reason})"
    if detail:
        transition += f" — {detail}"
    db.session.add(LeadEvent(lead_id=lead_id, at=now, kind="outcome", user_id=user_id, detail=transition))
    if effect.withdraw_consent:
        _add_to_do_not_call(lead_phone, lead_id, user_id, now)
    record_audit(user_id, "outcome", lead_id=lead_id, detail=transition, ip=ip, now=now)
    return effect


def _apply_effect(
    lead: Lead,
    user_id: int,
    outcome: Outcome,
    effect: OutcomeEffect,
    calendar: ClinicCalendar,
    *,
    is_manager: bool,
    now: datetime,
) -> bool:
    """Update the lead if nobody changed it since it was read; True when it was updated.

    The WHERE clause repeats what was checked in Python: same state and attempt
    count as read (a version check: every outcome adds an attempt), and the
    claim still free or ours.  Of two concurrent recordings only one matches.
    """
    closed = effect.state is LeadState.CLOSED
    conditions = [Lead.id == lead.id, Lead.state == lead.state, Lead.attempts == lead.attempts]
    if not is_manager:
        conditions.append(
            sa.or_(
                Lead.claimed_by_id.is_(None),
                Lead.claimed_by_id == user_id,
                Lead.claim_expires_at.is_(None),
                Lead.claim_expires_at <= now,
            )
        )
    values: dict[str, Any] = {
        "state": effect.state.value,
        "next_call_at": effect.next_call_at,
        "attempts": lead.attempts + 1,
        "first_attempt_at": lead.first_attempt_at or now,
        "last_attempt_at": now,
        "last_outcome": outcome.value,
        "reached": lead.reached or effect.reached,
        # A personal callback belongs to whoever agreed it; any other outcome ends it.
        "callback_owner_id": user_id if effect.callback_personal else None,
        "close_reason": effect.close_reason if closed else None,
        "closed_at": now if closed else None,
        "excluded": lead.excluded or effect.exclude_from_reports,
        "claimed_by_id": None,
        "claim_expires_at": None,
    }
    confirmed = lead.suspected_automation and effect.reached
    if confirmed:
        # A person answered: the request suspected of automation counts from now on.
        values.update(suspected_automation=False, excluded=effect.exclude_from_reports)
    if lead.first_attempt_at is None:
        values["first_call_minutes"] = first_call_minutes(calendar, lead.created_at, now)
        if lead.sla_due_at is not None and (confirmed or not lead.suspected_automation):
            # The first call decides the speed-to-lead SLA once and for all.
            values["sla_breached"] = now > lead.sla_due_at
    statement = sa.update(Lead).where(*conditions).values(**values).returning(Lead.id)
    updated = db.session.execute(statement, execution_options={"synchronize_session": False}).scalar()
    if updated is None:
        return False
    db.session.expire(lead)
    return True


def _add_to_do_not_call(phone: str, lead_id: int, user_id: int, now: datetime) -> None:
    """Put `phone` on the do-not-call list; a phone already there keeps its first entry."""
    if not phone:
        return
    insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
    db.session.execute(
        insert(DoNotCall)
        .values(phone=phone, added_at=now, lead_id=lead_id, user_id=user_id)
        .on_conflict_do_nothing(index_elements=["phone"])
    )
