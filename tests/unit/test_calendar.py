"""The clinic calendar (DESIGN.md §1.1): opening hours, closures, business minutes, slot grid."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leads.domain.calendar import DEFAULT_WEEKLY_PLAN, CalendarError, ClinicCalendar, make_calendar

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
CAL = make_calendar()  # Europe/Moscow, Mon–Sat 09:00–20:00
BERLIN_CAL = make_calendar("Europe/Berlin")
# Open only 01:00–04:00 on Sundays: the hours that contain Berlin's DST changes.
NIGHT_SHIFT = make_calendar("Europe/Berlin", weekly_plan={6: (time(1), time(4))})

# Monday 23 November 2026 .. Tuesday 1 December 2026
MON, TUE, WED, SAT, SUN, NEXT_MON = (date(2026, 11, d) for d in (23, 24, 25, 28, 29, 30))
NEXT_TUE = date(2026, 12, 1)


def msk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MSK)


def berlin(y: int, m: int, d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=BERLIN)


def utc(y: int, m: int, d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


class TestConstruction:
    def test_default_plan_is_monday_to_saturday_nine_to_eight_with_sunday_absent(self) -> None:
        assert dict(DEFAULT_WEEKLY_PLAN) == {wd: (time(9), time(20)) for wd in range(6)}
        assert CAL.tz == MSK
        assert CAL.weekly_plan == DEFAULT_WEEKLY_PLAN
        assert CAL.closures == frozenset()

    def test_calendar_is_immutable_and_hashable(self) -> None:
        with pytest.raises(AttributeError):
            CAL.tz = BERLIN  # type: ignore[misc]
        with pytest.raises(TypeError):
            CAL.weekly_plan[6] = (time(9), time(12))  # type: ignore[index]
        assert hash(CAL) == hash(make_calendar())
        assert CAL == make_calendar()

    @pytest.mark.parametrize(
        "plan",
        [
            {0: (time(20), time(9))}, {0: (time(9), time(9))}, {7: (time(9), time(20))},
            {-1: (time(9), time(20))}, {0: (time(9),)}, {0: ("09:00", "20:00")},
            {0: (time(9, tzinfo=UTC), time(20, tzinfo=UTC))},
        ],
        ids=["closes-first", "empty", "weekday-7", "weekday-minus-1", "one-time", "str", "aware"],
    )
    def test_an_invalid_weekly_plan_is_refused(self, plan: Any) -> None:
        with pytest.raises(CalendarError):
            make_calendar(weekly_plan=plan)

    def test_an_unknown_time_zone_is_refused(self) -> None:
        with pytest.raises(CalendarError):
            make_calendar("Mars/Olympus_Mons")

    def test_a_calendar_that_never_opens_raises_instead_of_looping(self) -> None:
        with pytest.raises(CalendarError):
            make_calendar(weekly_plan={}).next_open(msk(MON, 10))

    def test_with_closures_replaces_the_closures_and_leaves_the_original_alone(self) -> None:
        closed = CAL.with_closures([MON])
        assert closed.closures == frozenset({MON})
        assert closed.with_closures([TUE]).closures == frozenset({TUE})
        assert CAL.closures == frozenset()
        assert closed.tz == CAL.tz and closed.weekly_plan == CAL.weekly_plan
        assert ClinicCalendar(MSK, closures=[MON]).closures == {MON}  # type: ignore[arg-type]


class TestNaiveDatetimesAreRefused:
    NAIVE = datetime(2026, 11, 23, 10, 0)

    @pytest.mark.parametrize(
        "call",
        [
            lambda c, t: c.local(t),
            lambda c, t: c.is_open(t),
            lambda c, t: c.next_open(t),
            lambda c, t: c.closing_time(t),
            lambda c, t: c.next_working_day_opening(t),
            lambda c, t: c.business_minutes(t, msk(TUE, 10)),
            lambda c, t: c.business_minutes(msk(MON, 9), t),
            lambda c, t: c.add_business_minutes(t, 15),
            lambda c, t: c.is_slot_start(t),
        ],
        ids=["local", "is_open", "next_open", "closing_time", "next_working_day_opening",
             "business_minutes-a", "business_minutes-b", "add_business_minutes", "is_slot_start"],
    )
    def test_every_instant_taking_method_refuses_a_naive_datetime(
        self, call: Callable[[ClinicCalendar, datetime], object]
    ) -> None:
        with pytest.raises(CalendarError, match="naive"):
            call(CAL, self.NAIVE)

    def test_opening_hours_wants_a_date_not_a_datetime(self) -> None:
        with pytest.raises(CalendarError):
            CAL.opening_hours(msk(MON, 10))


class TestOpeningHours:
    def test_monday_to_saturday_open_nine_to_eight_sunday_and_closures_are_closed(self) -> None:
        assert CAL.opening_hours(MON) == (msk(MON, 9), msk(MON, 20))
        assert CAL.opening_hours(SAT) == (msk(SAT, 9), msk(SAT, 20))
        assert CAL.opening_hours(SUN) is None
        assert CAL.with_closures([TUE]).opening_hours(TUE) is None

    def test_instants_are_in_the_clinic_time_zone(self) -> None:
        opens, closes = CAL.opening_hours(MON) or (msk(SUN, 0), msk(SUN, 0))
        assert opens.tzinfo == MSK and closes.tzinfo == MSK
        assert opens.astimezone(UTC) == utc(2026, 11, 23, 6)

    @pytest.mark.parametrize(
        ("cal", "day", "opening_utc"),
        [
            (BERLIN_CAL, date(2026, 3, 27), utc(2026, 3, 27, 8)),  # Friday, CET (+01:00)
            (BERLIN_CAL, date(2026, 3, 30), utc(2026, 3, 30, 7)),  # after spring forward, CEST
            (BERLIN_CAL, date(2026, 10, 24), utc(2026, 10, 24, 7)),  # Saturday, CEST
            (BERLIN_CAL, date(2026, 10, 26), utc(2026, 10, 26, 8)),  # after fall back, CET
            (CAL, date(2026, 3, 27), utc(2026, 3, 27, 6)),  # Moscow: +03:00 all year
            (CAL, date(2026, 3, 30), utc(2026, 3, 30, 6)),
            (CAL, date(2026, 10, 26), utc(2026, 10, 26, 6)),
        ],
    )
    def test_nine_local_in_utc_moves_across_dst_in_berlin_and_never_in_moscow(
        self, cal: ClinicCalendar, day: date, opening_utc: datetime
    ) -> None:
        hours = cal.opening_hours(day)
        assert hours is not None
        assert hours[0].astimezone(UTC) == opening_utc
        assert (hours[0].hour, hours[1].hour, hours[0].tzinfo) == (9, 20, cal.tz)


class TestIsOpen:
    @pytest.mark.parametrize(
        "t",
        [msk(MON, 9, 0), msk(MON, 13, 0), msk(MON, 19, 59), msk(SAT, 9, 0), msk(SAT, 19, 45)],
        ids=["09:00", "13:00", "19:59", "saturday-09:00", "saturday-19:45"],
    )
    def test_open_from_nine_inclusive_monday_to_saturday(self, t: datetime) -> None:
        assert CAL.is_open(t)

    @pytest.mark.parametrize(
        "t",
        [msk(MON, 8, 59), msk(MON, 20, 0), msk(MON, 23, 30), msk(TUE, 3, 0), msk(SAT, 20, 0),
         msk(SUN, 12, 0)],
        ids=["08:59", "20:00", "night-23:30", "night-03:00", "saturday-20:00", "sunday-noon"],
    )
    def test_closed_from_eight_inclusive_at_night_and_on_sunday(self, t: datetime) -> None:
        assert not CAL.is_open(t)

    def test_closed_all_day_on_a_closure(self) -> None:
        assert not CAL.with_closures([MON]).is_open(msk(MON, 12))

    def test_an_instant_given_in_utc_is_judged_by_clinic_local_time(self) -> None:
        assert CAL.local(utc(2026, 11, 23, 6)) == msk(MON, 9)
        assert CAL.local(utc(2026, 11, 23, 6)).tzinfo == MSK
        assert CAL.is_open(utc(2026, 11, 23, 6, 0))  # 09:00 Moscow
        assert not CAL.is_open(utc(2026, 11, 23, 5, 59))  # 08:59 Moscow
        assert not CAL.is_open(utc(2026, 11, 23, 17, 0))  # 20:00 Moscow


class TestNextOpen:
    @pytest.mark.parametrize(
        ("t", "expected"),
        [
            (msk(MON, 8, 59), msk(MON, 9)),
            (msk(MON, 9, 0), msk(MON, 9)),
            (msk(MON, 12, 34), msk(MON, 12, 34)),
            (msk(MON, 20, 0), msk(TUE, 9)),
            (msk(MON, 23, 59), msk(TUE, 9)),
            (msk(TUE, 0, 0), msk(TUE, 9)),
            (msk(SAT, 19, 45), msk(SAT, 19, 45)),
            (msk(SAT, 20, 0), msk(NEXT_MON, 9)),
            (msk(SUN, 15, 0), msk(NEXT_MON, 9)),
        ],
        ids=["before-opening", "at-opening", "while-open", "at-closing", "late-night",
             "midnight", "saturday-19:45", "saturday-closing", "sunday"],
    )
    def test_next_open_is_now_if_open_else_the_next_opening(
        self, t: datetime, expected: datetime
    ) -> None:
        assert CAL.next_open(t) == expected

    def test_a_closure_is_skipped(self) -> None:
        assert CAL.with_closures([NEXT_MON]).next_open(msk(SAT, 21)) == msk(NEXT_TUE, 9)

    def test_consecutive_closures_are_skipped(self) -> None:
        holidays = CAL.with_closures(date(2026, 1, d) for d in range(1, 9))  # New Year holidays
        assert holidays.next_open(msk(date(2025, 12, 31), 21)) == msk(date(2026, 1, 9), 9)

    def test_the_result_is_in_the_clinic_zone_even_for_utc_input(self) -> None:
        result = CAL.next_open(utc(2026, 11, 23, 12))
        assert result.tzinfo == MSK and result == msk(MON, 15)

    @pytest.mark.parametrize(
        ("saturday_evening", "monday_opening_utc"),
        [
            (berlin(2026, 3, 28, 21), utc(2026, 3, 30, 7)),
            (berlin(2026, 10, 24, 21), utc(2026, 10, 26, 8)),
        ],
        ids=["spring-forward", "fall-back"],
    )
    def test_berlin_next_open_over_the_dst_change_night_is_monday_nine_local(
        self, saturday_evening: datetime, monday_opening_utc: datetime
    ) -> None:
        result = BERLIN_CAL.next_open(saturday_evening)
        assert result.astimezone(UTC) == monday_opening_utc
        assert (result.hour, result.minute, result.tzinfo) == (9, 0, BERLIN)


class TestClosingTimeAndNextWorkingDay:
    @pytest.mark.parametrize(
        ("t", "expected"),
        [
            (msk(MON, 9), msk(MON, 20)),
            (msk(MON, 19, 59), msk(MON, 20)),
            (msk(MON, 20), None),
            (msk(MON, 8, 59), None),
            (msk(SUN, 12), None),
        ],
    )
    def test_closing_time_of_the_interval_containing_t(
        self, t: datetime, expected: datetime | None
    ) -> None:
        assert CAL.closing_time(t) == expected

    @pytest.mark.parametrize(
        ("t", "expected"),
        [
            (msk(MON, 7), msk(TUE, 9)),  # strictly after today, even before today's opening
            (msk(MON, 12), msk(TUE, 9)),
            (msk(MON, 23), msk(TUE, 9)),
            (msk(SAT, 10), msk(NEXT_MON, 9)),
            (msk(SUN, 10), msk(NEXT_MON, 9)),
        ],
    )
    def test_next_working_day_opening_is_strictly_after_the_local_date(
        self, t: datetime, expected: datetime
    ) -> None:
        assert CAL.next_working_day_opening(t) == expected

    def test_next_working_day_opening_skips_a_closure(self) -> None:
        assert CAL.with_closures([TUE]).next_working_day_opening(msk(MON, 12)) == msk(WED, 9)

    def test_local_date_not_utc_date_decides_the_day(self) -> None:
        # 22:30 UTC on Monday is already 01:30 Tuesday in Moscow.
        assert CAL.next_working_day_opening(utc(2026, 11, 23, 22, 30)) == msk(WED, 9)


class TestBusinessMinutes:
    @pytest.mark.parametrize(
        ("a", "b", "minutes"),
        [
            (msk(MON, 10), msk(MON, 10, 15), 15.0),
            (msk(MON, 8), msk(MON, 9, 30), 30.0),
            (msk(MON, 19, 30), msk(TUE, 9, 30), 60.0),  # the night does not count
            (msk(MON, 21), msk(TUE, 8), 0.0),
            (msk(SAT, 19, 45), msk(NEXT_MON, 9, 10), 25.0),  # nor does Sunday
            (msk(MON, 9), msk(TUE, 9), 660.0),
            (msk(MON, 0), msk(NEXT_MON, 0), 6 * 660.0),
            (msk(MON, 12), msk(MON, 12), 0.0),
            (msk(MON, 13), msk(MON, 12), 0.0),
            (msk(MON, 10), msk(MON, 10) + timedelta(seconds=90), 1.5),
            (utc(2026, 11, 23, 6), utc(2026, 11, 23, 7), 60.0),
        ],
        ids=["same-hour", "before-opening", "overnight", "night-only", "over-sunday",
             "whole-day", "whole-week", "empty", "reversed", "seconds", "utc-input"],
    )
    def test_counts_only_opening_time(self, a: datetime, b: datetime, minutes: float) -> None:
        assert CAL.business_minutes(a, b) == minutes

    def test_a_closure_does_not_count(self) -> None:
        assert CAL.with_closures([TUE]).business_minutes(msk(MON, 19), msk(WED, 10)) == 120.0

    def test_many_weeks(self) -> None:
        # 2026-01-05 is a Monday; 52 weeks later is 2027-01-04, also a Monday.
        a, b = msk(date(2026, 1, 5), 0), msk(date(2027, 1, 4), 0)
        assert CAL.business_minutes(a, b) == 52 * 6 * 660.0

    @pytest.mark.parametrize(
        ("a", "b", "minutes"),
        [
            (berlin(2026, 3, 28, 19), berlin(2026, 3, 30, 10), 120.0),
            (berlin(2026, 3, 23, 9), berlin(2026, 3, 30, 9), 6 * 660.0),
            (berlin(2026, 10, 24, 19), berlin(2026, 10, 26, 10), 120.0),
        ],
        ids=["spring-weekend", "spring-week", "autumn-weekend"],
    )
    def test_berlin_across_a_dst_weekend(self, a: datetime, b: datetime, minutes: float) -> None:
        assert BERLIN_CAL.business_minutes(a, b) == minutes

    @pytest.mark.parametrize(
        ("sunday", "minutes"),
        [(date(2026, 3, 29), 120.0), (date(2026, 10, 25), 240.0), (date(2026, 3, 22), 180.0)],
        ids=["spring-forward-loses-an-hour", "fall-back-gains-an-hour", "ordinary-sunday"],
    )
    def test_hours_spanning_the_dst_change_count_real_minutes(
        self, sunday: date, minutes: float
    ) -> None:
        a = datetime.combine(sunday, time(0), tzinfo=BERLIN)
        assert NIGHT_SHIFT.business_minutes(a, a + timedelta(days=1)) == minutes


class TestAddBusinessMinutes:
    @pytest.mark.parametrize(
        ("t", "minutes", "expected"),
        [
            (msk(MON, 10), 15, msk(MON, 10, 15)),
            (msk(MON, 19, 45), 15, msk(MON, 20)),  # a deadline may fall exactly on closing
            (msk(MON, 19, 50), 15, msk(TUE, 9, 5)),
            (msk(MON, 22), 15, msk(TUE, 9, 15)),
            (msk(MON, 7), 15, msk(MON, 9, 15)),
            (msk(SAT, 19, 45), 30, msk(NEXT_MON, 9, 15)),
            (msk(SUN, 12), 15, msk(NEXT_MON, 9, 15)),
            (msk(MON, 9), 660 * 2 + 30, msk(WED, 9, 30)),
            (msk(MON, 7), 0, msk(MON, 9)),
            (msk(MON, 10), 0, msk(MON, 10)),
            (msk(MON, 10), 0.5, msk(MON, 10) + timedelta(seconds=30)),
        ],
    )
    def test_adds_only_opening_time(self, t: datetime, minutes: float, expected: datetime) -> None:
        result = CAL.add_business_minutes(t, minutes)
        assert result == expected
        assert result.tzinfo == MSK

    def test_a_closure_is_skipped(self) -> None:
        cal = CAL.with_closures([NEXT_MON])
        assert cal.add_business_minutes(msk(SAT, 19, 50), 15) == msk(NEXT_TUE, 9, 5)

    def test_is_the_inverse_of_business_minutes(self) -> None:
        start = msk(MON, 17, 17)
        for minutes in (1, 59, 164, 660, 2000, 10_000):
            assert CAL.business_minutes(start, CAL.add_business_minutes(start, minutes)) == minutes

    def test_negative_minutes_are_refused(self) -> None:
        with pytest.raises(CalendarError):
            CAL.add_business_minutes(msk(MON, 10), -1)

    def test_berlin_over_the_spring_forward_weekend(self) -> None:
        result = BERLIN_CAL.add_business_minutes(berlin(2026, 3, 28, 19, 30), 60)
        assert result == berlin(2026, 3, 30, 9, 30)
        assert result.astimezone(UTC) == utc(2026, 3, 30, 7, 30)

    def test_real_minutes_across_the_dst_jump_inside_opening_hours(self) -> None:
        # 01:00 CET + 90 real minutes = 02:30 CET, which the clocks show as 03:30 CEST.
        result = NIGHT_SHIFT.add_business_minutes(berlin(2026, 3, 29, 1), 90)
        assert result == berlin(2026, 3, 29, 3, 30)


class TestSlotGrid:
    def test_default_grid_runs_from_nine_to_half_past_seven(self) -> None:
        starts = CAL.slot_starts(MON)
        assert starts[0] == msk(MON, 9)
        assert starts[-1] == msk(MON, 19, 30)
        assert len(starts) == 22
        assert msk(MON, 20) not in starts
        assert all(b - a == timedelta(minutes=30) for a, b in pairwise(starts))

    def test_saturday_has_the_same_grid(self) -> None:
        assert [s.time() for s in CAL.slot_starts(SAT)] == [s.time() for s in CAL.slot_starts(MON)]

    def test_sunday_and_a_closure_have_no_slots(self) -> None:
        assert CAL.slot_starts(SUN) == []
        assert CAL.with_closures([MON]).slot_starts(MON) == []

    def test_45_minute_slots_stay_on_the_grid_from_opening(self) -> None:
        starts = CAL.slot_starts(MON, 45)
        # 660 opening minutes hold 14 whole slots: the last starts 18:45 and ends 19:30;
        # 19:15 would be off the 45-minute grid and 19:30 + 45 would end after 20:00.
        assert len(starts) == 14
        assert starts[-1] == msk(MON, 18, 45)
        assert all(s + timedelta(minutes=45) <= msk(MON, 20) for s in starts)

    def test_a_slot_longer_than_the_day_gives_no_slots(self) -> None:
        assert CAL.slot_starts(MON, 12 * 60) == []
        assert CAL.slot_starts(MON, 11 * 60) == [msk(MON, 9)]

    @pytest.mark.parametrize("slot_minutes", [0, -30])
    def test_a_non_positive_slot_length_is_refused(self, slot_minutes: int) -> None:
        with pytest.raises(CalendarError):
            CAL.slot_starts(MON, slot_minutes)

    @pytest.mark.parametrize(
        "t",
        [msk(MON, 9), msk(MON, 9, 30), msk(MON, 19, 30), msk(SAT, 19, 30), utc(2026, 11, 23, 7)],
        ids=["first", "second", "last", "saturday-last", "utc-10:00-msk"],
    )
    def test_grid_starts_are_slot_starts_whatever_zone_they_come_in(self, t: datetime) -> None:
        assert CAL.is_slot_start(t)

    @pytest.mark.parametrize(
        "t",
        [msk(MON, 20), msk(MON, 8, 30), msk(MON, 9, 15), msk(MON, 9, 0) + timedelta(seconds=1),
         msk(SUN, 10)],
        ids=["closing", "before-opening", "off-grid", "one-second-late", "sunday"],
    )
    def test_other_instants_are_not_slot_starts(self, t: datetime) -> None:
        assert not CAL.is_slot_start(t)

    def test_is_slot_start_on_a_closure_and_with_other_lengths(self) -> None:
        assert not CAL.with_closures([MON]).is_slot_start(msk(MON, 10))
        assert CAL.is_slot_start(msk(MON, 18, 45), 45)
        assert not CAL.is_slot_start(msk(MON, 19, 15), 45)

    def test_berlin_grid_is_local_nine_to_half_past_seven_on_both_sides_of_dst(self) -> None:
        for day in (date(2026, 3, 27), date(2026, 3, 30)):
            starts = BERLIN_CAL.slot_starts(day)
            assert (starts[0].time(), starts[-1].time()) == (time(9), time(19, 30))
            assert len(starts) == 22

    def test_slots_spanning_the_dst_jump_last_real_minutes(self) -> None:
        starts = NIGHT_SHIFT.slot_starts(date(2026, 3, 29), 60)
        assert [s.astimezone(UTC) for s in starts] == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)]
