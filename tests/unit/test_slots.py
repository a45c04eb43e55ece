"""The appointment slot grid and why a slot is refused (DESIGN.md §1.1, §1.5)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.domain.calendar import CalendarError, make_calendar
from leads.domain.slots import (
    SlotRefused,
    check_slot,
    free_slots,
    free_slots_of_doctors,
    slot_grid,
    validate_doctor_plan,
)

MSK = ZoneInfo("Europe/Moscow")
CAL = make_calendar("Europe/Moscow", closures=[date(2026, 12, 31)])
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=MSK)  # Monday before opening
MON_WED_FRI_MORNINGS = {0: (time(9), time(14)), 2: (time(9), time(14)), 4: (time(9), time(14))}


def msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


def starts(slots) -> list[str]:
    return [slot.start.strftime("%H:%M") for slot in slots]


def test_the_grid_runs_from_nine_to_the_last_start_at_half_past_seven():
    grid = starts(slot_grid(CAL, date(2026, 11, 23), 30))
    assert grid[0] == "09:00" and grid[-1] == "19:30" and len(grid) == 22
    assert "20:00" not in grid


def test_every_slot_ends_by_closing():
    last = slot_grid(CAL, date(2026, 11, 23), 30)[-1]
    assert last.end == msk("2026-11-23 20:00")


def test_saturday_has_the_same_grid():
    assert starts(slot_grid(CAL, date(2026, 11, 28), 30)) == starts(slot_grid(CAL, date(2026, 11, 23), 30))


@pytest.mark.parametrize("day", [date(2026, 11, 29), date(2026, 12, 31)], ids=["sunday", "closure"])
def test_sunday_and_a_closure_have_no_slots(day):
    assert slot_grid(CAL, day, 30) == []


def test_a_doctors_plan_narrows_the_grid():
    assert starts(slot_grid(CAL, date(2026, 11, 23), 30, MON_WED_FRI_MORNINGS))[-1] == "13:30"
    assert slot_grid(CAL, date(2026, 11, 24), 30, MON_WED_FRI_MORNINGS) == []  # Tuesday


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        ("2026-11-23 07:30", "past"),
        ("2026-11-29 10:00", "closed_day"),
        ("2026-12-31 10:00", "closure"),
        ("2026-11-24 10:15", "off_grid"),
        ("2026-11-24 08:30", "outside_hours"),
        ("2026-11-24 20:00", "outside_hours"),
        ("2026-11-24 19:45", "outside_hours"),
    ],
)
def test_a_slot_is_refused_with_the_reason(moment, code):
    with pytest.raises(SlotRefused) as refused:
        check_slot(CAL, msk(moment), now=NOW, slot_minutes=30)
    assert refused.value.code == code


@pytest.mark.parametrize("moment", ["2026-11-24 09:00", "2026-11-24 19:30", "2026-11-28 19:30"])
def test_first_and_last_slots_are_bookable(moment):
    slot = check_slot(CAL, msk(moment), now=NOW, slot_minutes=30)
    assert slot.start == msk(moment)


def test_a_slot_outside_the_doctors_plan_is_refused():
    with pytest.raises(SlotRefused) as refused:
        check_slot(CAL, msk("2026-11-23 14:00"), now=NOW, slot_minutes=30, plan=MON_WED_FRI_MORNINGS)
    assert refused.value.code == "outside_doctor_plan"
    assert check_slot(CAL, msk("2026-11-23 13:30"), now=NOW, slot_minutes=30, plan=MON_WED_FRI_MORNINGS)


def test_an_inactive_doctor_is_refused_first():
    with pytest.raises(SlotRefused) as refused:
        check_slot(CAL, msk("2026-11-29 10:00"), now=NOW, slot_minutes=30, doctor_active=False)
    assert refused.value.code == "inactive_doctor"


def test_a_slot_that_started_a_minute_ago_is_past():
    with pytest.raises(SlotRefused) as refused:
        check_slot(CAL, msk("2026-11-23 10:00"), now=msk("2026-11-23 10:01"), slot_minutes=30)
    assert refused.value.code == "past"


def test_free_slots_skip_taken_and_started_ones():
    taken = [msk("2026-11-23 11:00"), msk("2026-11-24 09:00")]
    free = free_slots(CAL, date(2026, 11, 23), date(2026, 11, 24), now=msk("2026-11-23 10:45"),
                      slot_minutes=30, taken=taken)
    first_day = [s for s in free if s.start.date() == date(2026, 11, 23)]
    assert starts(first_day)[:2] == ["11:30", "12:00"]
    assert msk("2026-11-24 09:00") not in [s.start for s in free]
    assert len(free) == 17 + 21


def test_free_slots_over_a_weekend_and_a_closure():
    free = free_slots(CAL, date(2026, 12, 26), date(2026, 12, 31), now=NOW, slot_minutes=30)
    days = sorted({s.start.date() for s in free})
    assert days == [date(2026, 12, 26), date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30)]


def test_a_doctors_plan_must_lie_inside_clinic_hours():
    validate_doctor_plan(CAL, MON_WED_FRI_MORNINGS)
    with pytest.raises(CalendarError):
        validate_doctor_plan(CAL, {0: (time(8), time(12))})
    with pytest.raises(CalendarError):
        validate_doctor_plan(CAL, {6: (time(10), time(12))})


def test_forty_five_minute_slots_end_by_closing():
    grid = slot_grid(CAL, date(2026, 11, 23), 45)
    assert grid[-1].start.strftime("%H:%M") == "18:45" and grid[-1].end <= msk("2026-11-23 20:00")


def test_the_grid_keeps_wall_time_across_a_dst_change():
    berlin = make_calendar("Europe/Berlin")
    before, after = slot_grid(berlin, date(2026, 3, 28), 30), slot_grid(berlin, date(2026, 3, 30), 30)
    assert starts(before) == starts(after)
    assert before[0].start.utcoffset() != after[0].start.utcoffset()


# -- several doctors at once (the appointment book's search) ----------------------------------


def test_free_slots_of_doctors_match_free_slots_per_doctor():
    plans = {"ivanov": None, "petrov": MON_WED_FRI_MORNINGS}
    taken = {"ivanov": [msk("2026-11-23 11:00")], "petrov": [msk("2026-11-25 09:00").astimezone(ZoneInfo("UTC"))]}
    now = msk("2026-11-23 10:45")
    together = list(free_slots_of_doctors(CAL, date(2026, 11, 23), date(2026, 11, 29), now=now, slot_minutes=30,
                                          plans=plans, taken=taken))
    for key, plan in plans.items():
        alone = free_slots(CAL, date(2026, 11, 23), date(2026, 11, 29), now=now, slot_minutes=30, plan=plan,
                           taken=taken[key])
        assert [(s, e) for k, s, e in together if k == key] == [(slot.start, slot.end) for slot in alone]
    assert [(s, list(plans).index(k)) for k, s, _ in together] == sorted((s, list(plans).index(k)) for k, s, _ in together)


def test_free_slots_of_doctors_take_naive_utc_as_the_database_keeps_it():
    naive_utc = datetime(2026, 11, 24, 6, 0)  # 09:00 in Moscow
    free = free_slots_of_doctors(CAL, date(2026, 11, 24), date(2026, 11, 24), now=NOW, slot_minutes=30,
                                 plans={1: None}, taken={1: [naive_utc]})
    assert next(free)[1] == msk("2026-11-24 09:30")


def test_free_slots_of_doctors_skip_closures_sundays_and_days_outside_every_plan():
    free = list(free_slots_of_doctors(CAL, date(2026, 12, 29), date(2027, 1, 3), now=NOW, slot_minutes=30,
                                      plans={1: {1: (time(9), time(10))}}, taken={}))
    # Tuesday 29 Dec only: 31 Dec is a closure, 3 Jan a Sunday, the others outside the plan
    assert [s for _, s, _ in free] == [msk("2026-12-29 09:00"), msk("2026-12-29 09:30")]


def test_free_slots_of_doctors_keep_wall_time_across_a_dst_change():
    berlin = make_calendar("Europe/Berlin")
    free = list(free_slots_of_doctors(berlin, date(2026, 3, 28), date(2026, 3, 30), now=NOW, slot_minutes=30,
                                      plans={1: None}, taken={}))
    assert {s.strftime("%H:%M") for _, s, _ in free if s.day == 28} == {s.strftime("%H:%M") for _, s, _ in free if s.day == 30}
    assert all(end - start == timedelta(minutes=30) for _, start, end in free)
