"""Recording a call outcome: its effect on the lead, who may record, and what is written."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads.domain.contact import InvalidField
from leads.domain.outcomes import OutcomeError
from leads.extensions import db
from leads.models import AuditEntry, CallAttempt, Closure, DoNotCall, Lead, LeadEvent
from leads.services.calls import record_outcome
from leads.services.errors import LeadClaimedByOther, LeadNotFound, LeadNotOpen, OutcomeRaced
from tests.conftest import at, utc
from tests.factories import MONDAY_10, lead, new_lead

# Monday 23 November 2026; Saturday the 28th; Sunday the 29th; Monday the 30th.
SATURDAY_1955 = at("2026-11-28 19:55")
NEXT_MONDAY_9 = at("2026-11-30 09:00")


@pytest.fixture
def operator(make_user):
    return make_user("operator", "olga")


# -- what each outcome does --------------------------------------------------------------------


@pytest.mark.parametrize(
    "outcome, state, next_call, reached, close_reason",
    [
        ("no_answer", "retry", "2026-11-23 10:15", False, None),
        ("busy", "retry", "2026-11-23 10:10", False, None),
        ("voicemail", "retry", "2026-11-23 12:00", False, None),
        ("consulted", "closed", None, True, "consulted"),
        ("declined", "closed", None, True, "declined"),
        ("wrong_number", "closed", None, False, "wrong_number"),
        ("do_not_call", "closed", None, True, "do_not_call"),
        ("spam", "closed", None, False, "spam"),
    ],
)
def test_each_outcome_moves_the_lead_as_the_table_says(app, operator, outcome, state, next_call, reached, close_reason):
    lead_id = new_lead()

    effect = record_outcome(lead_id, operator.id, outcome, now=MONDAY_10)

    row = lead(lead_id)
    assert (row.state, row.reached, row.close_reason) == (state, reached, close_reason)
    assert effect.state == state
    expected_next = utc(at(next_call)) if next_call else None
    assert row.next_call_at == expected_next
    assert row.attempts == 1
    assert row.first_attempt_at == row.last_attempt_at == utc(MONDAY_10)
    assert row.last_outcome == outcome
    assert row.closed_at == (utc(MONDAY_10) if state == "closed" else None)
    assert row.excluded is (outcome == "spam")


def test_callback_for_me_sets_the_time_and_the_owner(app, operator):
    lead_id = new_lead()
    when = at("2026-11-24 15:30")

    record_outcome(lead_id, operator.id, "callback", callback_at=when, callback_for_me=True, now=MONDAY_10)

    row = lead(lead_id)
    assert (row.state, row.next_call_at, row.callback_owner_id, row.reached) == ("callback", utc(when), operator.id, True)


def test_callback_for_anyone_has_no_owner_and_a_later_outcome_clears_a_personal_one(app, operator):
    lead_id = new_lead(callback_owner_id=None)
    record_outcome(lead_id, operator.id, "callback", callback_at=at("2026-11-23 16:00"), callback_for_me=True, now=MONDAY_10)

    record_outcome(lead_id, operator.id, "callback", callback_at=at("2026-11-24 11:00"), now=at("2026-11-23 16:00"))

    assert lead(lead_id).callback_owner_id is None


def test_no_answer_on_saturday_evening_is_retried_on_monday_morning(app, operator):
    lead_id = new_lead(created="2026-11-28 19:50")

    record_outcome(lead_id, operator.id, "no_answer", now=SATURDAY_1955)

    assert lead(lead_id).next_call_at == utc(NEXT_MONDAY_9)


def test_a_retry_skips_a_closure(app, operator):
    db.session.add(Closure(day=at("2026-11-30 00:00").date(), reason="holiday"))
    db.session.commit()
    lead_id = new_lead(created="2026-11-28 19:50")

    record_outcome(lead_id, operator.id, "busy", now=SATURDAY_1955)

    assert lead(lead_id).next_call_at == utc(at("2026-12-01 09:00"))


def test_no_answers_back_off_then_close_the_lead_as_unreachable(app, operator):
    lead_id = new_lead()
    now = MONDAY_10
    seen = []
    for _ in range(app.config["MAX_ATTEMPTS"]):
        record_outcome(lead_id, operator.id, "no_answer", now=now)
        row = lead(lead_id)
        seen.append(row.next_call_at)
        now = row.next_call_at or now

    row = lead(lead_id)
    assert (row.state, row.close_reason, row.attempts) == ("closed", "unreachable", 6)
    # 15 min, 1 h, 3 h, then the next working day's opening, twice; then closed.
    assert seen == [
        utc(at("2026-11-23 10:15")),
        utc(at("2026-11-23 11:15")),
        utc(at("2026-11-23 14:15")),
        utc(at("2026-11-24 09:00")),
        utc(at("2026-11-25 09:00")),
        None,
    ]


@pytest.mark.parametrize("app_settings", [{"MAX_ATTEMPTS": 2}])
def test_the_attempt_cap_comes_from_settings(app, operator):
    lead_id = new_lead(attempts=1)

    record_outcome(lead_id, operator.id, "busy", now=MONDAY_10)

    assert (lead(lead_id).state, lead(lead_id).close_reason) == ("closed", "unreachable")


def test_do_not_call_puts_the_phone_on_the_list(app, operator):
    lead_id = new_lead(phone="+79161234567")

    record_outcome(lead_id, operator.id, "do_not_call", now=MONDAY_10)

    entry = db.session.get(DoNotCall, "+79161234567")
    assert (entry.lead_id, entry.user_id, entry.added_at) == (lead_id, operator.id, utc(MONDAY_10))


def test_a_phone_already_on_the_list_keeps_its_first_entry(app, operator):
    first = new_lead(phone="+79161234567")
    record_outcome(first, operator.id, "do_not_call", now=MONDAY_10)
    second = new_lead(phone="+79161234567", created="2026-11-24 10:00")

    record_outcome(second, operator.id, "do_not_call", now=at("2026-11-24 10:05"))

    assert db.session.get(DoNotCall, "+79161234567").lead_id == first


def test_the_first_call_decides_whether_the_sla_was_met(app, operator):
    late = new_lead(phone="+79161111111", created="2026-11-23 09:00")
    on_time = new_lead(phone="+79162222222", created="2026-11-23 09:55")

    record_outcome(late, operator.id, "no_answer", now=MONDAY_10)
    record_outcome(on_time, operator.id, "no_answer", now=MONDAY_10)

    assert (lead(late).sla_breached, lead(on_time).sla_breached) == (True, False)


# -- what is written ---------------------------------------------------------------------------


def test_an_outcome_writes_a_call_an_event_and_an_audit_row(app, operator):
    lead_id = new_lead()

    record_outcome(lead_id, operator.id, "no_answer", note="  гудки, потом сброс ", now=MONDAY_10, ip="10.1.2.3")

    call = db.session.scalars(sa.select(CallAttempt).where(CallAttempt.lead_id == lead_id)).one()
    assert (call.operator_id, call.outcome, call.reached, call.note) == (operator.id, "no_answer", False, "гудки, потом сброс")
    assert call.at == utc(MONDAY_10) and call.next_call_at == utc(at("2026-11-23 10:15"))
    event = db.session.scalars(sa.select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.kind == "outcome")).one()
    assert event.user_id == operator.id and "new → retry" in event.detail
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "outcome")).one()
    assert (audit.user_id, audit.lead_id, audit.ip, audit.at) == (operator.id, lead_id, "10.1.2.3", utc(MONDAY_10))


# -- who may record ----------------------------------------------------------------------------


def test_someone_elses_live_claim_refuses_an_operator_and_names_the_holder(app, operator, make_user):
    holder = make_user("operator", "ivan")
    lead_id = new_lead(claimed_by_id=holder.id, claim_expires_at=MONDAY_10 + timedelta(minutes=5))

    with pytest.raises(LeadClaimedByOther) as refused:
        record_outcome(lead_id, operator.id, "no_answer", now=MONDAY_10)

    assert (refused.value.holder_id, refused.value.holder_name) == (holder.id, "Ivan")
    row = lead(lead_id)
    assert (row.state, row.attempts, row.claimed_by_id) == ("new", 0, holder.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0


def test_a_manager_may_record_on_someone_elses_claim_and_the_claim_ends(app, make_user):
    holder, manager = make_user("operator", "ivan"), make_user("manager", "maria")
    lead_id = new_lead(claimed_by_id=holder.id, claim_expires_at=MONDAY_10 + timedelta(minutes=5))

    record_outcome(lead_id, manager.id, "busy", is_manager=True, now=MONDAY_10)

    row = lead(lead_id)
    assert (row.state, row.claimed_by_id, row.claim_expires_at) == ("retry", None, None)


def test_the_holder_records_and_the_claim_ends(app, operator):
    lead_id = new_lead(claimed_by_id=operator.id, claim_expires_at=MONDAY_10 + timedelta(minutes=5))

    record_outcome(lead_id, operator.id, "no_answer", now=MONDAY_10)

    assert (lead(lead_id).claimed_by_id, lead(lead_id).claim_expires_at) == (None, None)


def test_an_expired_claim_does_not_stop_anyone(app, operator, make_user):
    holder = make_user("operator", "ivan")
    lead_id = new_lead(claimed_by_id=holder.id, claim_expires_at=MONDAY_10 - timedelta(seconds=1))

    record_outcome(lead_id, operator.id, "no_answer", now=MONDAY_10)

    assert lead(lead_id).state == "retry"


def test_a_closed_lead_takes_no_more_outcomes(app, operator):
    lead_id = new_lead()
    record_outcome(lead_id, operator.id, "declined", now=MONDAY_10)

    with pytest.raises(LeadNotOpen):
        record_outcome(lead_id, operator.id, "no_answer", now=MONDAY_10 + timedelta(minutes=1))


def test_an_unknown_lead_is_not_found(app, operator):
    with pytest.raises(LeadNotFound):
        record_outcome(999_999, operator.id, "no_answer", now=MONDAY_10)


def test_of_two_concurrent_recordings_only_one_applies(app, operator, make_user, monkeypatch):
    """Both read the lead before either writes; the conditional update lets one through."""
    import leads.services.calls as calls

    other = make_user("operator", "ivan")
    lead_id = new_lead()
    real_apply = calls.apply_outcome

    def apply_then_lose_the_race(*args, **kwargs):
        effect = real_apply(*args, **kwargs)
        # The other operator's recording commits between our read and our write.
        with db.engine.begin() as connection:
            connection.execute(
                sa.update(Lead).where(Lead.id == lead_id).values(attempts=1, state="retry", last_outcome="busy")
            )
        return effect

    monkeypatch.setattr(calls, "apply_outcome", apply_then_lose_the_race)

    with pytest.raises(OutcomeRaced):
        record_outcome(lead_id, other.id, "no_answer", now=MONDAY_10)

    row = lead(lead_id)
    assert (row.attempts, row.last_outcome) == (1, "busy")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0


# -- refused input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"outcome": "callback"}, "callback_time_required"),
        ({"outcome": "callback", "callback_at": at("2026-11-23 09:45")}, "callback_time_past"),
        ({"outcome": "callback", "callback_at": at("2026-11-23 20:00")}, "callback_time_closed"),
        ({"outcome": "callback", "callback_at": at("2026-11-29 12:00")}, "callback_time_closed"),
        ({"outcome": "booked"}, "outcome_not_offered"),
        ({"outcome": "teleported"}, "unknown_outcome"),
    ],
)
def test_refused_outcomes_change_nothing(app, operator, kwargs, code):
    lead_id = new_lead()

    with pytest.raises(OutcomeError) as refused:
        record_outcome(lead_id, operator.id, now=MONDAY_10, **kwargs)

    assert refused.value.code == code
    assert (lead(lead_id).state, lead(lead_id).attempts) == ("new", 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0


def test_a_note_longer_than_1000_characters_is_refused(app, operator):
    lead_id = new_lead()

    with pytest.raises(InvalidField) as refused:
        record_outcome(lead_id, operator.id, "no_answer", note="x" * 1001, now=MONDAY_10)

    assert (refused.value.field, refused.value.code) == ("note", "too_long")
    record_outcome(lead_id, operator.id, "no_answer", note="x" * 1000, now=MONDAY_10)
