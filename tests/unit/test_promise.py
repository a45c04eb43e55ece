"""When the patient should expect the call (DESIGN.md §1.2): the promise and preferred windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.domain.calendar import CalendarError, make_calendar
from leads.domain.promise import (
    CallPromise,
    InvalidWindow,
    parse_preferred_window,
    preferred_windows,
    promise_call,
)

MSK = ZoneInfo("Europe/Moscow")
CAL = make_calendar()
SLA = 15

# Monday 23 November 2026 .. Tuesday 1 December 2026
MON, TUE, WED, THU = (date(2026, 11, d) for d in (23, 24, 25, 26))
SAT, SUN, NEXT_MON = (date(2026, 11, d) for d in (28, 29, 30))
NEXT_TUE = date(2026, 12, 1)


def msk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MSK)


def within(minutes: int = SLA) -> CallPromise:
    return CallPromise(kind="within", minutes=minutes)


def after(at: datetime) -> CallPromise:
    return CallPromise(kind="after", at=at)


class TestPromiseCall:
    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            (msk(MON, 10), within()),
            (msk(MON, 9), within()),
            (msk(MON, 19, 45), within()),  # the call fits exactly before closing
            (msk(MON, 19, 46), after(msk(TUE, 9))),
            (msk(MON, 19, 59), after(msk(TUE, 9))),
            (msk(MON, 20), after(msk(TUE, 9))),
            (msk(MON, 21), after(msk(TUE, 9))),
            (msk(TUE, 2), after(msk(TUE, 9))),
            (msk(MON, 7), after(msk(MON, 9))),
            (msk(MON, 8, 59), after(msk(MON, 9))),
            (msk(SAT, 19, 45), within()),
            (msk(SAT, 19, 46), after(msk(NEXT_MON, 9))),
            (msk(SAT, 19, 50), after(msk(NEXT_MON, 9))),
            (msk(SAT, 21), after(msk(NEXT_MON, 9))),
            (msk(SUN, 12), after(msk(NEXT_MON, 9))),
        ],
        ids=["monday-10:00", "opening", "19:45-fits-exactly", "19:46-too-late", "19:59",
             "closing", "evening", "night", "early-morning", "08:59", "saturday-19:45",
             "saturday-19:46", "saturday-19:50", "saturday-evening", "sunday"],
    )
    def test_without_a_preferred_window(self, now: datetime, expected: CallPromise) -> None:
        assert promise_call(CAL, now, SLA) == expected

    def test_a_closure_on_monday_moves_a_saturday_evening_promise_to_tuesday(self) -> None:
        cal = CAL.with_closures([NEXT_MON])
        assert promise_call(cal, msk(SAT, 21), SLA) == after(msk(NEXT_TUE, 9))

    def test_too_close_to_closing_before_a_closure_skips_the_closure(self) -> None:
        cal = CAL.with_closures([TUE])
        assert promise_call(cal, msk(MON, 19, 50), SLA) == after(msk(WED, 9))

    def test_the_sla_minutes_are_echoed(self) -> None:
        assert promise_call(CAL, msk(MON, 10), 30) == within(30)
        assert promise_call(CAL, msk(MON, 19, 31), 30) == after(msk(TUE, 9))

    def test_the_promised_instant_is_in_the_clinic_zone_for_utc_input(self) -> None:
        promise = promise_call(CAL, datetime(2026, 11, 23, 18, 0, tzinfo=UTC), SLA)  # 21:00 MSK
        assert promise == after(msk(TUE, 9))
        assert promise.at is not None and promise.at.tzinfo == MSK

    def test_a_future_preferred_window_wins_even_when_open(self) -> None:
        window = (msk(TUE, 14), msk(TUE, 14, 30))
        assert promise_call(CAL, msk(MON, 10), SLA, window) == CallPromise(
            kind="window", at=window[0], until=window[1]
        )

    def test_a_preferred_window_wins_when_closed(self) -> None:
        window = (msk(NEXT_MON, 11), msk(NEXT_MON, 11, 30))
        assert promise_call(CAL, msk(SAT, 21), SLA, window).kind == "window"

    def test_a_window_that_has_ended_is_ignored(self) -> None:
        window = (msk(MON, 9), msk(MON, 9, 30))
        assert promise_call(CAL, msk(MON, 10), SLA, window) == within()

    def test_a_window_ending_before_it_starts_is_refused(self) -> None:
        with pytest.raises(InvalidWindow):
            promise_call(CAL, msk(MON, 10), SLA, (msk(TUE, 14), msk(TUE, 13)))

    def test_a_naive_now_is_refused(self) -> None:
        with pytest.raises(CalendarError):
            promise_call(CAL, datetime(2026, 11, 23, 10), SLA)

    def test_a_negative_sla_is_refused(self) -> None:
        with pytest.raises(ValueError):
            promise_call(CAL, msk(MON, 10), -1)

    def test_berlin_promise_over_the_dst_weekend(self) -> None:
        berlin = ZoneInfo("Europe/Berlin")
        promise = promise_call(
            make_calendar("Europe/Berlin"), datetime(2026, 3, 28, 19, 50, tzinfo=berlin), SLA
        )
        assert promise == after(datetime(2026, 3, 30, 9, tzinfo=berlin))
        assert promise.at is not None
        assert promise.at.astimezone(UTC) == datetime(2026, 3, 30, 7, tzinfo=UTC)


class TestPreferredWindows:
    def test_windows_are_half_hours_inside_opening_hours(self) -> None:
        windows = preferred_windows(CAL, msk(MON, 7))
        assert all(end - start == timedelta(minutes=30) for start, end in windows)
        assert all(CAL.is_open(start) and CAL.is_slot_start(start) for start, _ in windows)
        assert all(end <= msk(start.date(), 20) for start, end in windows)

    def test_before_opening_today_and_the_next_two_days_count(self) -> None:
        windows = preferred_windows(CAL, msk(MON, 7))
        assert {start.date() for start, _ in windows} == {MON, TUE, WED}
        assert len(windows) == 3 * 22
        assert windows[0] == (msk(MON, 9), msk(MON, 9, 30))
        assert windows[-1] == (msk(WED, 19, 30), msk(WED, 20))

    def test_the_window_containing_now_is_excluded(self) -> None:
        windows = preferred_windows(CAL, msk(MON, 10, 10))
        assert windows[0] == (msk(MON, 10, 30), msk(MON, 11))

    def test_a_window_starting_exactly_now_is_excluded(self) -> None:
        assert preferred_windows(CAL, msk(MON, 10))[0][0] == msk(MON, 10, 30)

    def test_today_counts_while_its_last_window_is_ahead(self) -> None:
        windows = preferred_windows(CAL, msk(MON, 19, 10))
        assert windows[0] == (msk(MON, 19, 30), msk(MON, 20))
        assert {start.date() for start, _ in windows} == {MON, TUE, WED}

    def test_today_does_not_count_once_no_window_remains(self) -> None:
        windows = preferred_windows(CAL, msk(MON, 19, 30))
        assert {start.date() for start, _ in windows} == {TUE, WED, THU}
        assert len(windows) == 3 * 22

    def test_sunday_and_closures_are_not_working_days(self) -> None:
        windows = preferred_windows(CAL.with_closures([NEXT_MON]), msk(SAT, 19, 45))
        days = {start.date() for start, _ in windows}
        assert days == {NEXT_TUE, date(2026, 12, 2), date(2026, 12, 3)}

    def test_the_number_of_days_is_configurable(self) -> None:
        assert {s.date() for s, _ in preferred_windows(CAL, msk(SUN, 12), days=1)} == {NEXT_MON}
        assert preferred_windows(CAL, msk(SUN, 12), days=0) == []

    def test_window_length_follows_the_slot_grid(self) -> None:
        windows = preferred_windows(CAL, msk(MON, 7), days=1, window_minutes=60)
        assert windows[0] == (msk(MON, 9), msk(MON, 10))
        assert windows[-1] == (msk(MON, 19), msk(MON, 20))

    def test_windows_are_in_the_clinic_zone(self) -> None:
        windows = preferred_windows(CAL, datetime(2026, 11, 23, 4, tzinfo=UTC))
        assert all(start.tzinfo == MSK and end.tzinfo == MSK for start, end in windows)


class TestParsePreferredWindow:
    def test_an_offered_start_gives_its_window(self) -> None:
        assert parse_preferred_window(CAL, msk(MON, 10, 10), msk(TUE, 14)) == (
            msk(TUE, 14),
            msk(TUE, 14, 30),
        )

    def test_the_start_may_be_given_in_utc(self) -> None:
        start = datetime(2026, 11, 24, 11, tzinfo=UTC)  # 14:00 Moscow
        assert parse_preferred_window(CAL, msk(MON, 10), start) == (msk(TUE, 14), msk(TUE, 14, 30))

    @pytest.mark.parametrize(
        "start",
        [
            msk(MON, 10),  # the window containing now
            msk(MON, 9),  # past
            msk(TUE, 14, 15),  # off the grid
            msk(TUE, 20),  # at closing
            msk(TUE, 8, 30),  # before opening
            msk(SUN, 12),  # Sunday
            msk(THU, 10),  # beyond the three working days
        ],
        ids=["current", "past", "off-grid", "closing", "before-opening", "sunday", "too-far"],
    )
    def test_anything_not_offered_is_refused(self, start: datetime) -> None:
        with pytest.raises(InvalidWindow):
            parse_preferred_window(CAL, msk(MON, 10, 10), start)

    def test_invalid_window_is_a_calendar_error(self) -> None:
        assert issubclass(InvalidWindow, CalendarError)

    def test_a_closed_day_is_refused(self) -> None:
        with pytest.raises(InvalidWindow):
            parse_preferred_window(CAL.with_closures([TUE]), msk(MON, 10), msk(TUE, 14))

    def test_a_naive_start_is_refused(self) -> None:
        with pytest.raises(CalendarError):
            parse_preferred_window(CAL, msk(MON, 10), datetime(2026, 11, 24, 14))
