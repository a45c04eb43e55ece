"""Quick choices for a callback's time, at the edges of the clinic's week (Mon–Sat 09:00–20:00)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from leads.domain.callback_picks import quick_picks
from leads.domain.calendar import make_calendar

MSK = ZoneInfo("Europe/Moscow")
CAL = make_calendar()


def msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


def picks(now: str) -> list[tuple[str, str]]:
    return [(p.kind, p.at.strftime("%a %H:%M")) for p in quick_picks(CAL, msk(now))]


@pytest.mark.parametrize(
    "now, expected",
    [
        pytest.param("2026-11-23 10:07", [("in_an_hour", "Mon 11:15"), ("this_evening", "Mon 18:00"),
                                          ("next_working_morning", "Tue 09:00"), ("tomorrow", "Tue 10:15")],
                     id="monday-morning"),
        pytest.param("2026-11-27 17:50", [("in_an_hour", "Fri 19:00"), ("next_working_morning", "Sat 09:00"),
                                          ("tomorrow", "Sat 18:00")], id="friday-evening-too-late-for-this-evening"),
        pytest.param("2026-11-28 19:30", [("next_working_morning", "Mon 09:00")], id="saturday-after-the-last-call"),
        pytest.param("2026-11-29 12:00", [("next_working_morning", "Mon 09:00"), ("tomorrow", "Mon 12:00")],
                     id="sunday-closed"),
        pytest.param("2026-11-23 19:00", [("next_working_morning", "Tue 09:00"), ("tomorrow", "Tue 19:00")],
                     id="in-an-hour-would-be-after-closing"),
        pytest.param("2026-11-23 08:00", [("in_an_hour", "Mon 09:00"), ("this_evening", "Mon 18:00"),
                                          ("next_working_morning", "Tue 09:00")], id="before-opening"),
    ],
)
def test_quick_choices_are_offered_only_when_the_clinic_is_open_then(now, expected):
    assert picks(now) == expected


def test_the_last_quarter_hour_before_closing_is_still_a_choice_but_closing_time_is_not():
    assert ("in_an_hour", "Mon 19:45") in picks("2026-11-23 18:45")
    assert all(kind != "in_an_hour" for kind, _ in picks("2026-11-23 19:00"))
