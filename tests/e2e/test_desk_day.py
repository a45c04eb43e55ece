"""The operator's working day in a real browser: the outcome row, callbacks, save and next.

The clock stands at Monday 23 November 2026, 10:00 in the clinic (ticking on).
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from leads.extensions import db
from leads.models import User
from leads.services.calls import record_outcome
from tests.conftest import at, utc

from tests.e2e.conftest import sign_in
from tests.e2e.test_operator_clicks import desk, lead_row, monday_morning  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(locale="en-GB", viewport={"width": 1366, "height": 900})]


def test_the_outcome_buttons_are_one_even_row_in_the_order_of_their_keys(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/leads/{desk.leads[0]}")
    boxes = page.locator(".outcome-buttons button").evaluate_all(
        "buttons => buttons.map(b => { const r = b.getBoundingClientRect();"
        " return {key: b.dataset.shortcut, x: r.x, y: r.y, w: r.width, h: r.height}; })"
    )
    assert [b["key"] for b in boxes] == list("123456789")
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 1  # one row
    assert max(b["w"] for b in boxes) - min(b["w"] for b in boxes) < 1  # even
    assert max(b["h"] for b in boxes) - min(b["h"] for b in boxes) < 1
    note = page.locator("#note").bounding_box()
    assert note["y"] + note["height"] <= boxes[0]["y"]  # the note stays above the row


def test_the_callback_button_in_the_row_sends_the_day_and_time_chosen_below_it(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/leads/{desk.leads[1]}")
    page.locator("#note").fill("после обеда")
    page.locator("#callback_day").fill("2026-11-24")
    page.locator("#callback_time").fill("14:30")
    page.get_by_role("button", name=re.compile("Call back later")).click()
    expect(page.locator(".flash")).to_contain_text("Recorded: Call back later. Next call Tue 24 Nov, 14:30.")
    row = lead_row(desk, desk.leads[1])
    assert (row["state"], row["notes"]) == ("callback", ["после обеда"])


def test_a_quick_choice_records_the_callback_in_one_click(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/leads/{desk.leads[1]}")
    picks = page.locator(".quick-pick")
    # Monday 10:00: in an hour, this evening, tomorrow at this time, Tuesday's opening.
    expect(picks).to_have_count(4)
    expect(picks.nth(0)).to_contain_text("In an hour")
    expect(picks.nth(0)).to_contain_text(re.compile(r"today 11:[0-5]\d"))
    expect(picks.nth(1)).to_contain_text("today 18:00")
    expect(picks.nth(2)).to_contain_text("tomorrow 09:00")
    expect(picks.nth(3)).to_contain_text(re.compile(r"tomorrow 10:[0-5]\d"))
    page.get_by_role("button", name=re.compile("This evening")).click()
    expect(page.locator(".flash")).to_contain_text("Next call Mon 23 Nov, 18:00.")
    assert lead_row(desk, desk.leads[1])["state"] == "callback"


def test_the_time_picker_offers_only_opening_hours(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/leads/{desk.leads[1]}")
    time_input = page.locator("#callback_time")
    expect(time_input).to_have_attribute("min", "09:00")
    expect(time_input).to_have_attribute("max", "19:45")
    expect(page.locator("#callback_day")).to_have_attribute("min", "2026-11-23")
    time_input.fill("21:00")
    assert time_input.evaluate("input => input.validity.rangeOverflow")


def test_my_callbacks_are_listed_with_their_day_and_the_overdue_one_marked(page: Page, desk):  # noqa: F811
    def agree(lead_id, when, agreed):
        def write():
            olga = db.session.scalar(sa.select(User.id).where(User.username == "olga"))
            record_outcome(lead_id, olga, "callback", callback_at=utc(at(when)), now=utc(at(agreed)))

        desk.read(write)

    agree(desk.leads[0], "2026-11-20 11:00", agreed="2026-11-20 10:00")  # last Friday, never called
    agree(desk.leads[1], "2026-11-23 16:00", agreed="2026-11-23 09:50")
    sign_in(page, desk)
    rows = page.locator(".my-callbacks tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Fri 20 Nov, 11:00")
    expect(rows.nth(0).locator(".overdue")).to_be_visible()
    expect(rows.nth(1)).to_contain_text("today 16:00")
    expect(rows.nth(1).locator(".overdue")).to_have_count(0)
    expect(page.locator('[data-counter="callbacks_due_today"]')).to_have_text("2")


def test_save_and_next_takes_the_next_lead_in_the_same_action_when_chosen(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    page.locator("button.take-next").click()
    expect(page).to_have_url(re.compile(rf"/operator/leads/{desk.leads[0]}$"))
    page.get_by_role("button", name="Take the next lead instead").click()
    expect(page).to_have_url(re.compile(rf"/operator/leads/{desk.leads[0]}$"))  # back on the same card
    expect(page.locator(".save-and-next strong")).to_have_text("take the next lead")

    page.get_by_role("button", name=re.compile("No answer")).click()

    expect(page).to_have_url(re.compile(rf"/operator/leads/{desk.leads[1]}$"))  # the next lead, already mine
    expect(page.locator(".flash")).to_contain_text("Recorded: No answer")
    assert lead_row(desk, desk.leads[0])["state"] == "retry"
    assert lead_row(desk, desk.leads[1])["claimed"] is not None


def test_without_save_and_next_an_outcome_goes_back_to_the_queue(page: Page, desk):  # noqa: F811
    sign_in(page, desk)
    page.locator("button.take-next").click()
    page.get_by_role("button", name=re.compile("Busy")).click()
    expect(page).to_have_url(f"{desk.url}/operator/")


# -- the day's book ----------------------------------------------------------------------------


@pytest.fixture
def doctors(desk):  # noqa: F811
    """Dr Petrova every day; Dr Orlov on Mondays, Wednesdays and Thursdays, 09:00–14:00."""
    from datetime import time

    from leads.services.doctors import save_doctor

    def add():
        olga = db.session.scalar(sa.select(User.id).where(User.username == "olga"))
        save_doctor(user_id=olga, name="Dr Petrova", specialty="Therapist", plan=None)
        save_doctor(user_id=olga, name="Dr Orlov", specialty="Surgeon", plan={d: (time(9), time(14)) for d in (0, 2, 3)})

    return desk.read(add)


def test_past_slots_are_greyed_and_a_free_cell_books_the_lead_in_hand(page: Page, desk, doctors):  # noqa: F811
    sign_in(page, desk)
    page.locator("button.take-next").click()  # Анна is in hand
    page.goto(f"{desk.url}/operator/appointments")
    # Monday just after 10:00: the 09:00, 09:30 and 10:00 slots are gone for both doctors.
    expect(page.locator("td.cell-past")).to_have_count(6)
    expect(page.locator(".in-hand")).to_contain_text("Анна Иванова")
    cell = page.get_by_role("button", name=re.compile(r"Book Анна Иванова: Dr Orlov, Mon 23 Nov, 11:00"))
    cell.click()
    expect(page.locator(".flash")).to_contain_text("Booked: Dr Orlov, Monday 23 November at 11:00")
    assert lead_row(desk, desk.leads[0])["state"] == "booked"


def test_a_doctor_s_week_shows_each_of_their_days_and_moves_monday_to_monday(page: Page, desk, doctors):  # noqa: F811
    sign_in(page, desk)
    page.goto(f"{desk.url}/operator/appointments")
    page.get_by_role("link", name="Dr Orlov").click()
    headers = page.locator("table.week-book thead th")
    expect(headers).to_have_text(["Time", "Mon 23 Nov", "Wed 25 Nov", "Thu 26 Nov"])
    page.get_by_role("link", name="Week →").click()
    expect(headers).to_have_text(["Time", "Mon 30 Nov", "Wed 2 Dec", "Thu 3 Dec"])
