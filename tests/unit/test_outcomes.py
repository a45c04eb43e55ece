"""Lead states and call outcomes (DESIGN.md §1.3): what each outcome does to a lead."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.domain.calendar import CalendarError, make_calendar
from leads.domain.outcomes import (
    NO_ANSWER_DELAYS,
    OPEN_STATES,
    REACHED_OUTCOMES,
    LeadState,
    Outcome,
    OutcomeEffect,
    OutcomeError,
    apply_outcome,
)

MSK = ZoneInfo("Europe/Moscow")
CAL = make_calendar()

# Monday 23 November 2026 .. Monday 30 November 2026
MON, TUE, SAT, SUN, NEXT_MON = (
    date(2026, 11, 23),
    date(2026, 11, 24),
    date(2026, 11, 28),
    date(2026, 11, 29),
    date(2026, 11, 30),
)


def msk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MSK)


MONDAY_TEN = msk(MON, 10)


def apply(
    outcome: Outcome,
    now: datetime = MONDAY_TEN,
    *,
    state: LeadState = LeadState.NEW,
    attempts_before: int = 0,
    max_attempts: int = 6,
    callback_at: datetime | None = None,
    callback_for_me: bool = False,
) -> OutcomeEffect:
    return apply_outcome(
        CAL, outcome, now, current_state=state, attempts_before=attempts_before,
        max_attempts=max_attempts, callback_at=callback_at, callback_for_me=callback_for_me,
    )


def retry(at: datetime) -> OutcomeEffect:
    return OutcomeEffect(state=LeadState.RETRY, next_call_at=at, reached=False, close_reason=None)


class TestVocabulary:
    def test_states_and_outcomes_have_the_documented_values(self) -> None:
        assert [s.value for s in LeadState] == ["new", "retry", "callback", "booked", "closed"]
        assert [o.value for o in Outcome] == [
            "booked", "callback", "no_answer", "busy", "voicemail", "consulted", "declined",
            "wrong_number", "do_not_call", "spam",
        ]

    def test_open_states_are_new_retry_and_callback(self) -> None:
        assert OPEN_STATES == {LeadState.NEW, LeadState.RETRY, LeadState.CALLBACK}

    def test_reached_outcomes_are_those_where_the_patient_answered(self) -> None:
        assert REACHED_OUTCOMES == {
            Outcome.BOOKED, Outcome.CALLBACK, Outcome.CONSULTED, Outcome.DECLINED,
            Outcome.DO_NOT_CALL,
        }

    def test_enum_members_compare_equal_to_their_stored_strings(self) -> None:
        assert str(LeadState.NEW) == "new" and f"{Outcome.NO_ANSWER}" == "no_answer"
        assert LeadState("retry") is LeadState.RETRY
        assert "retry" in OPEN_STATES

    def test_no_answer_delays_are_15_minutes_1_hour_3_hours(self) -> None:
        assert NO_ANSWER_DELAYS == (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=3))


class TestOnlyOpenLeadsTakeOutcomes:
    @pytest.mark.parametrize("state", [LeadState.BOOKED, LeadState.CLOSED])
    @pytest.mark.parametrize("outcome", list(Outcome))
    def test_a_booked_or_closed_lead_refuses_every_outcome(
        self, state: LeadState, outcome: Outcome
    ) -> None:
        with pytest.raises(OutcomeError) as caught:
            apply(outcome, state=state, callback_at=msk(MON, 15))
        assert caught.value.code == "lead_not_open"

    @pytest.mark.parametrize("state", sorted(OPEN_STATES))
    def test_every_open_state_takes_an_outcome(self, state: LeadState) -> None:
        assert apply(Outcome.BUSY, state=state).state is LeadState.RETRY

    def test_plain_strings_are_accepted_for_state_and_outcome(self) -> None:
        effect = apply("no_answer", state="callback")  # type: ignore[arg-type]
        assert effect.state is LeadState.RETRY

    def test_a_naive_now_is_refused(self) -> None:
        with pytest.raises(CalendarError):
            apply(Outcome.BUSY, datetime(2026, 11, 23, 10))


class TestNoAnswer:
    @pytest.mark.parametrize(
        ("attempts_before", "next_call_at"),
        [
            (0, msk(MON, 10, 15)),  # 1st attempt: 15 minutes
            (1, msk(MON, 11)),  # 2nd: 1 hour
            (2, msk(MON, 13)),  # 3rd: 3 hours
            (3, msk(TUE, 9)),  # 4th: next working day
            (4, msk(TUE, 9)),  # 5th: next working day
        ],
    )
    def test_retry_ladder_is_15_minutes_1_hour_3_hours_then_next_working_day(
        self, attempts_before: int, next_call_at: datetime
    ) -> None:
        effect = apply(Outcome.NO_ANSWER, state=LeadState.RETRY, attempts_before=attempts_before)
        assert effect == retry(next_call_at)

    def test_the_sixth_attempt_closes_the_lead_as_unreachable(self) -> None:
        effect = apply(Outcome.NO_ANSWER, state=LeadState.RETRY, attempts_before=5)
        assert effect == OutcomeEffect(
            state=LeadState.CLOSED, next_call_at=None, reached=False, close_reason="unreachable"
        )

    @pytest.mark.parametrize(("max_attempts", "attempts_before"), [(3, 2), (1, 0), (6, 9)])
    def test_max_attempts_is_configurable(self, max_attempts: int, attempts_before: int) -> None:
        effect = apply(Outcome.NO_ANSWER, attempts_before=attempts_before,
                       max_attempts=max_attempts)
        assert (effect.state, effect.close_reason) == (LeadState.CLOSED, "unreachable")

    @pytest.mark.parametrize("minute", [45, 55])
    def test_no_answer_on_saturday_evening_retries_on_monday_at_nine(self, minute: int) -> None:
        assert apply(Outcome.NO_ANSWER, msk(SAT, 19, minute)) == retry(msk(NEXT_MON, 9))

    def test_a_retry_past_closing_moves_to_the_next_opening(self) -> None:
        assert apply(Outcome.NO_ANSWER, msk(MON, 19, 50)) == retry(msk(TUE, 9))
        assert apply(Outcome.NO_ANSWER, msk(MON, 18), attempts_before=2) == retry(msk(TUE, 9))

    def test_a_retry_ending_exactly_at_closing_moves_to_the_next_opening(self) -> None:
        assert apply(Outcome.NO_ANSWER, msk(MON, 19, 45)) == retry(msk(TUE, 9))

    def test_a_retry_before_a_closure_skips_it(self) -> None:
        cal = CAL.with_closures([NEXT_MON])
        effect = apply_outcome(
            cal, Outcome.NO_ANSWER, msk(SAT, 19, 55), current_state=LeadState.NEW, attempts_before=0
        )
        assert effect.next_call_at == msk(date(2026, 12, 1), 9)

    def test_next_working_day_from_saturday_is_monday(self) -> None:
        assert apply(Outcome.NO_ANSWER, msk(SAT, 10), attempts_before=3) == retry(msk(NEXT_MON, 9))

    def test_next_call_at_is_in_the_clinic_zone_for_utc_input(self) -> None:
        effect = apply(Outcome.NO_ANSWER, datetime(2026, 11, 23, 7, tzinfo=UTC))  # 10:00 MSK
        assert effect.next_call_at == msk(MON, 10, 15)
        assert effect.next_call_at is not None and effect.next_call_at.tzinfo == MSK


class TestBusyAndVoicemail:
    @pytest.mark.parametrize(
        ("outcome", "now", "next_call_at"),
        [
            (Outcome.BUSY, msk(MON, 10), msk(MON, 10, 10)),
            (Outcome.BUSY, msk(MON, 19, 55), msk(TUE, 9)),
            (Outcome.BUSY, msk(SAT, 19, 55), msk(NEXT_MON, 9)),
            (Outcome.VOICEMAIL, msk(MON, 10), msk(MON, 12)),
            (Outcome.VOICEMAIL, msk(MON, 18, 30), msk(TUE, 9)),
            (Outcome.VOICEMAIL, msk(SAT, 17, 59), msk(SAT, 19, 59)),
        ],
    )
    def test_retry_after_10_minutes_when_busy_and_2_hours_after_voicemail(
        self, outcome: Outcome, now: datetime, next_call_at: datetime
    ) -> None:
        assert apply(outcome, now) == retry(next_call_at)

    @pytest.mark.parametrize("attempts_before", [0, 3, 4])
    def test_delays_do_not_depend_on_the_attempt_number(self, attempts_before: int) -> None:
        assert apply(Outcome.BUSY, attempts_before=attempts_before).next_call_at == msk(MON, 10, 10)

    @pytest.mark.parametrize("outcome", [Outcome.BUSY, Outcome.VOICEMAIL])
    def test_they_count_towards_max_attempts(self, outcome: Outcome) -> None:
        effect = apply(outcome, attempts_before=5)
        assert (effect.state, effect.close_reason, effect.next_call_at) == (
            LeadState.CLOSED, "unreachable", None,
        )


class TestCallback:
    def test_a_callback_is_scheduled_at_the_chosen_time_for_anyone(self) -> None:
        effect = apply(Outcome.CALLBACK, callback_at=msk(TUE, 15))
        assert effect == OutcomeEffect(
            state=LeadState.CALLBACK, next_call_at=msk(TUE, 15), reached=True, close_reason=None
        )

    def test_a_callback_for_me_is_personal(self) -> None:
        effect = apply(Outcome.CALLBACK, callback_at=msk(TUE, 15), callback_for_me=True)
        assert effect.callback_personal is True

    def test_a_callback_does_not_close_after_max_attempts(self) -> None:
        effect = apply(Outcome.CALLBACK, attempts_before=10, callback_at=msk(TUE, 15))
        assert effect.state is LeadState.CALLBACK

    def test_the_callback_time_is_returned_in_the_clinic_zone(self) -> None:
        effect = apply(Outcome.CALLBACK, callback_at=datetime(2026, 11, 24, 12, tzinfo=UTC))
        assert effect.next_call_at == msk(TUE, 15)
        assert effect.next_call_at is not None and effect.next_call_at.tzinfo == MSK

    @pytest.mark.parametrize(
        ("callback_at", "code"),
        [
            (None, "callback_time_required"),
            (msk(MON, 10), "callback_time_past"),  # exactly now
            (msk(MON, 9, 30), "callback_time_past"),
            (msk(MON, 20), "callback_time_closed"),
            (msk(TUE, 8, 59), "callback_time_closed"),
            (msk(SUN, 12), "callback_time_closed"),
        ],
        ids=["missing", "now", "past", "at-closing", "before-opening", "sunday"],
    )
    def test_the_callback_time_must_be_in_the_future_and_inside_opening_hours(
        self, callback_at: datetime | None, code: str
    ) -> None:
        with pytest.raises(OutcomeError) as caught:
            apply(Outcome.CALLBACK, callback_at=callback_at)
        assert caught.value.code == code

    def test_a_callback_on_a_closure_is_refused(self) -> None:
        with pytest.raises(OutcomeError) as caught:
            apply_outcome(
                CAL.with_closures([TUE]), Outcome.CALLBACK, msk(MON, 10),
                current_state=LeadState.NEW, attempts_before=0, callback_at=msk(TUE, 15),
            )
        assert caught.value.code == "callback_time_closed"

    def test_a_naive_callback_time_is_refused(self) -> None:
        with pytest.raises(CalendarError):
            apply(Outcome.CALLBACK, callback_at=datetime(2026, 11, 24, 15))


class TestFinalOutcomes:
    def test_booked_books_the_lead(self) -> None:
        assert apply(Outcome.BOOKED, attempts_before=7) == OutcomeEffect(
            state=LeadState.BOOKED, next_call_at=None, reached=True, close_reason=None
        )

    @pytest.mark.parametrize(
        ("outcome", "reached", "withdraw_consent", "exclude_from_reports"),
        [
            (Outcome.CONSULTED, True, False, False),
            (Outcome.DECLINED, True, False, False),
            (Outcome.WRONG_NUMBER, False, False, False),
            (Outcome.DO_NOT_CALL, True, True, False),
            (Outcome.SPAM, False, False, True),
        ],
    )
    def test_closing_outcomes_close_with_their_own_reason(
        self, outcome: Outcome, reached: bool, withdraw_consent: bool, exclude_from_reports: bool
    ) -> None:
        assert apply(outcome, state=LeadState.CALLBACK) == OutcomeEffect(
            state=LeadState.CLOSED,
            next_call_at=None,
            reached=reached,
            close_reason=outcome.value,
            withdraw_consent=withdraw_consent,
            exclude_from_reports=exclude_from_reports,
        )

    @pytest.mark.parametrize("outcome", list(Outcome))
    def test_reached_matches_the_table(self, outcome: Outcome) -> None:
        effect = apply(outcome, callback_at=msk(TUE, 15))
        assert effect.reached is (outcome in REACHED_OUTCOMES)


class TestArgumentChecks:
    def test_a_negative_attempt_count_is_refused(self) -> None:
        with pytest.raises(ValueError):
            apply(Outcome.BUSY, attempts_before=-1)

    def test_max_attempts_below_one_is_refused(self) -> None:
        with pytest.raises(ValueError):
            apply(Outcome.BUSY, max_attempts=0)

    def test_an_unknown_outcome_is_refused(self) -> None:
        with pytest.raises(ValueError):
            apply("hung_up")  # type: ignore[arg-type]

    def test_outcome_error_is_a_value_error_with_a_code(self) -> None:
        error = OutcomeError("lead_not_open")
        assert isinstance(error, ValueError) and error.code == "lead_not_open"
