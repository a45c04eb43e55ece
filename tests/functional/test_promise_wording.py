"""What the thanks page promises, in the patient's words, at the calendar's edges."""
from __future__ import annotations

from datetime import date

import pytest
import time_machine

from leads.extensions import db
from leads.models import Closure
from tests.conftest import at

CASES = [
    # (moment in Moscow, English, Russian)
    ("2026-11-23 10:00", "We will call you within 15 minutes.", "Мы перезвоним вам в течение 15 минут."),
    ("2026-11-23 19:45", "We will call you within 15 minutes.", "Мы перезвоним вам в течение 15 минут."),
    ("2026-11-23 19:46", "We will call you on Tuesday 24 November after 09:00.",
     "Мы перезвоним вам 24 ноября (вторник) после 09:00."),
    ("2026-11-23 21:30", "We will call you on Tuesday 24 November after 09:00.",
     "Мы перезвоним вам 24 ноября (вторник) после 09:00."),
    ("2026-11-24 07:15", "We will call you today after 09:00.", "Мы перезвоним вам сегодня после 09:00."),
    ("2026-11-24 08:59", "We will call you today after 09:00.", "Мы перезвоним вам сегодня после 09:00."),
    ("2026-11-24 09:00", "We will call you within 15 minutes.", "Мы перезвоним вам в течение 15 минут."),
    ("2026-11-28 19:50", "We will call you on Monday 30 November after 09:00.",
     "Мы перезвоним вам 30 ноября (понедельник) после 09:00."),
    ("2026-11-28 23:59", "We will call you on Monday 30 November after 09:00.",
     "Мы перезвоним вам 30 ноября (понедельник) после 09:00."),
    ("2026-11-29 12:00", "We will call you on Monday 30 November after 09:00.",
     "Мы перезвоним вам 30 ноября (понедельник) после 09:00."),
]


def promise_on_page(client, moment: str, lang: str) -> str:
    client.set_cookie("lang", lang)
    with time_machine.travel(at(moment), tick=False):
        location = client.post("/callback", data={"name": "Анна", "phone": "+79161234567", "consent": "y"}).headers[
            "Location"
        ]
        html = client.get(location).get_data(as_text=True)
    return html.split('<p class="promise">', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(("moment", "english", "russian"), CASES)
def test_the_promise_reads_right_in_both_languages(client, moment, english, russian):
    assert promise_on_page(client, moment, "en") == english
    assert promise_on_page(client, moment, "ru") == russian


def test_a_closure_moves_the_promise_past_the_holiday(client):
    db.session.add(Closure(day=date(2026, 11, 30), reason="Праздник"))
    db.session.commit()
    assert promise_on_page(client, "2026-11-28 21:00", "en") == "We will call you on Tuesday 1 December after 09:00."


def test_a_preferred_window_is_promised_as_chosen(client):
    client.set_cookie("lang", "en")
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        location = client.post(
            "/callback",
            data={"name": "Анна", "phone": "+79161234567", "consent": "y",
                  "preferred_time": "2026-11-23T12:00:00+00:00"},
        ).headers["Location"]
        html = client.get(location).get_data(as_text=True)
    assert "We will call you today between 15:00 and 15:30." in html


@pytest.mark.parametrize(
    ("sla", "russian", "english"),
    [
        (1, "Мы перезвоним вам в течение 1 минуты.", "We will call you within 1 minute."),
        (21, "Мы перезвоним вам в течение 21 минуты.", "We will call you within 21 minutes."),
        (3, "Мы перезвоним вам в течение 3 минут.", "We will call you within 3 minutes."),
    ],
)
def test_the_minutes_agree_with_their_number(app, client, sla, russian, english):
    app.config["CALLBACK_SLA_MINUTES"] = sla
    assert promise_on_page(client, "2026-11-23 10:00", "ru") == russian
    assert promise_on_page(client, "2026-11-23 10:00", "en") == english
