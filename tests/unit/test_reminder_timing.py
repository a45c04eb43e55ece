"""When confirmation calls and patient messages are due (issue 14), at the calendar's edges."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.domain.calendar import CalendarError, make_calendar
from leads.domain.reminders import (
    SendingHours,
    confirmation_due_at,
    confirmation_retry_at,
    into_sending_hours,
    reminder_due_at,
    retry_backoff,
    working_day_before,
)

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
CAL = make_calendar()  # Mon–Sat 09:00–20:00, Sunday closed


def msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


class TestConfirmationDue:
    def test_a_tuesday_visit_is_confirmed_on_monday_at_opening(self) -> None:
        assert confirmation_due_at(CAL, msk("2026-11-24 15:00")) == msk("2026-11-23 09:00")

    def test_a_monday_visit_is_confirmed_on_saturday_not_sunday(self) -> None:
        assert confirmation_due_at(CAL, msk("2026-11-30 09:00")) == msk("2026-11-28 09:00")

    def test_a_visit_after_a_closure_is_confirmed_on_the_working_day_before_it(self) -> None:
        cal = make_calendar(closures=[date(2026, 11, 24)])  # Tuesday shut
        assert confirmation_due_at(cal, msk("2026-11-25 10:00")) == msk("2026-11-23 09:00")

    def test_a_visit_after_the_new_year_closures_is_confirmed_in_december(self) -> None:
        closures = [date(2027, 1, d) for d in range(1, 9)]
        cal = make_calendar(closures=closures)
        # Saturday 9 January 2027; 1–8 January shut, 3 January a Sunday anyway
        assert confirmation_due_at(cal, msk("2027-01-09 12:00")) == msk("2026-12-31 09:00")

    def test_two_working_days_before_skips_sunday_once(self) -> None:
        assert confirmation_due_at(CAL, msk("2026-11-30 12:00"), days_before=2) == msk("2026-11-27 09:00")

    def test_zero_days_before_is_the_visit_days_opening(self) -> None:
        assert confirmation_due_at(CAL, msk("2026-11-30 12:00"), days_before=0) == msk("2026-11-30 09:00")

    def test_a_visit_at_one_minute_past_midnight_utc_uses_the_clinic_date(self) -> None:
        # 2026-11-24 00:01 UTC is 03:01 Tuesday in Moscow
        visit = datetime(2026, 11, 24, 0, 1, tzinfo=ZoneInfo("UTC"))
        assert working_day_before(CAL, CAL.local(visit).date(), 1) == date(2026, 11, 23)

    def test_negative_days_are_refused(self) -> None:
        with pytest.raises(CalendarError):
            working_day_before(CAL, date(2026, 11, 24), -1)


class TestConfirmationRetry:
    def test_no_answer_in_the_morning_is_tried_again_later_that_day(self) -> None:
        visit = msk("2026-11-24 10:00")
        assert confirmation_retry_at(CAL, msk("2026-11-23 11:00"), visit, 60) == msk("2026-11-23 12:00")

    def test_no_retry_past_closing(self) -> None:
        visit = msk("2026-11-24 10:00")
        assert confirmation_retry_at(CAL, msk("2026-11-23 19:00"), visit, 60) is None
        assert confirmation_retry_at(CAL, msk("2026-11-23 18:59"), visit, 60) == msk("2026-11-23 19:59")

    def test_no_retry_at_or_after_the_visit_start(self) -> None:
        visit = msk("2026-11-23 12:00")
        assert confirmation_retry_at(CAL, msk("2026-11-23 11:00"), visit, 60) is None
        assert confirmation_retry_at(CAL, msk("2026-11-23 10:59"), visit, 60) == msk("2026-11-23 11:59")

    def test_no_retry_when_the_clinic_is_closed_now(self) -> None:
        assert confirmation_retry_at(CAL, msk("2026-11-29 11:00"), msk("2026-11-30 12:00"), 60) is None


class TestReminderDue:
    def test_a_day_before_inside_sending_hours_is_exact(self) -> None:
        assert reminder_due_at(msk("2026-11-24 15:00"), 24, MSK) == msk("2026-11-23 15:00")

    def test_at_the_edges_of_sending_hours_it_stays(self) -> None:
        assert reminder_due_at(msk("2026-11-24 11:00"), 2, MSK) == msk("2026-11-24 09:00")
        assert reminder_due_at(msk("2026-11-24 23:00"), 2, MSK) == msk("2026-11-24 21:00")

    def test_a_two_hour_reminder_at_night_moves_to_the_morning_before_the_visit(self) -> None:
        assert reminder_due_at(msk("2026-11-24 10:30"), 2, MSK) == msk("2026-11-24 09:00")

    def test_a_reminder_that_would_move_to_the_visit_start_goes_the_evening_before(self) -> None:
        assert reminder_due_at(msk("2026-11-24 09:00"), 2, MSK) == msk("2026-11-23 21:00")
        assert reminder_due_at(msk("2026-11-24 09:30"), 2, MSK) == msk("2026-11-24 09:00")

    def test_a_reminder_after_sending_hours_moves_earlier_the_same_evening(self) -> None:
        hours = SendingHours(time(9), time(18))
        assert reminder_due_at(msk("2026-11-24 20:00"), 1, MSK, hours) == msk("2026-11-24 18:00")

    def test_never_after_the_visit_starts(self) -> None:
        hours = SendingHours(time(9), time(10))
        assert reminder_due_at(msk("2026-11-24 09:30"), 0, MSK, hours) is None

    def test_a_zone_with_dst_keeps_the_wall_clock_sending_hours(self) -> None:
        # Berlin went to summer time at 02:00 on Sunday 29 March 2026: 24 real hours
        # before 10:00 on Monday is 10:00 Sunday wall time (a fixed offset would say 09:00).
        visit = datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN)
        assert reminder_due_at(visit, 24, BERLIN) == datetime(2026, 3, 29, 10, 0, tzinfo=BERLIN)
        # 27 hours before is 07:00 wall time (the night) → moved to 09:00
        assert reminder_due_at(visit, 27, BERLIN) == datetime(2026, 3, 29, 9, 0, tzinfo=BERLIN)


class TestSendingHours:
    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            ("2026-11-23 08:59", "2026-11-23 09:00"),
            ("2026-11-23 09:00", "2026-11-23 09:00"),
            ("2026-11-23 21:00", "2026-11-23 21:00"),
            ("2026-11-23 21:01", "2026-11-24 09:00"),
            ("2026-11-29 03:00", "2026-11-29 09:00"),  # Sunday: messages are sent, the clinic is shut
        ],
    )
    def test_a_message_written_at_night_waits_for_the_morning(self, now: str, expected: str) -> None:
        assert into_sending_hours(msk(now), MSK) == msk(expected)

    def test_start_must_be_before_end(self) -> None:
        with pytest.raises(CalendarError):
            SendingHours(time(21), time(9))


class TestBackoff:
    def test_doubles_from_the_base_up_to_the_cap(self) -> None:
        delays = [retry_backoff(n, base_seconds=60, cap_seconds=600) for n in range(1, 7)]
        assert delays == [timedelta(seconds=s) for s in (60, 120, 240, 480, 600, 600)]

    def test_a_huge_attempt_count_does_not_overflow(self) -> None:
        assert retry_backoff(10_000) == timedelta(hours=6)
