"""What staff read: dates in sentences, stored codes and audit details in people's words (Russian)."""
from __future__ import annotations

from datetime import date

import pytest
import time_machine

from tests.conftest import at, sign_in
from tests.factories import new_lead


@pytest.fixture
def manager_client(app, make_user):
    client = app.test_client()
    client.user = make_user("manager")
    sign_in(client, client.user)
    return client


def russian(client, *users):
    for user in users:
        sign_in(client, user)
    client.set_cookie("lang", "ru")


def test_a_closed_desk_says_in_good_russian_when_calls_resume(operator_client):
    with time_machine.travel(at("2026-12-05 21:00"), tick=False):  # Saturday after closing
        russian(operator_client, operator_client.user)
        html = operator_client.get("/operator/").text
    assert "Сейчас клиника закрыта. Звонки возобновятся в понедельник 7 декабря в 09:00." in html


@pytest.mark.parametrize(
    "day, russian_text, english_text",
    [
        (date(2026, 12, 7), "в понедельник 7 декабря", "on Monday 7 December"),
        (date(2026, 12, 8), "во вторник 8 декабря", "on Tuesday 8 December"),
        (date(2026, 12, 9), "в среду 9 декабря", "on Wednesday 9 December"),
        (date(2026, 12, 11), "в пятницу 11 декабря", "on Friday 11 December"),
        (date(2026, 12, 12), "в субботу 12 декабря", "on Saturday 12 December"),
    ],
)
def test_a_day_in_a_sentence_takes_the_form_its_language_needs(app, day, russian_text, english_text):
    from flask_babel import force_locale

    from leads.words import on_day

    with app.test_request_context():
        with force_locale("ru"):
            assert on_day(day) == russian_text
        with force_locale("en"):
            assert on_day(day) == english_text


@pytest.mark.parametrize(
    "kind, detail, expected",
    [
        ("privacy_erase", "phone dnc:0a1b; 1 lead(s), 0 visit(s) cancelled", "удалена 1 заявка, отменено 0 визитов"),
        ("privacy_export", "phone dnc:0a1b; csv", "в формате CSV"),
        ("created", "form", "Форма на сайте"),
        ("created", "embed (spooled)", "Виджет на сайте клиники — сохранена, пока база данных была недоступна"),
        ("claimed", "take-next", "кнопкой «Взять следующего»"),
        ("outcome", "new → retry — no answer twice", "Новая → Повторный звонок — no answer twice"),
        ("login_failed", "username=olga locked", "логин olga; вход временно заблокирован"),
        ("doctor_created", "doctor 2: Петрова, Терапевт; plan Mon 09:00-14:00", "Петрова, Терапевт; часы: Пн 09:00-14:00"),
        ("closure_added", "2027-01-01: Новый год", "2027-01-01: Новый год"),  # the data itself
    ],
)
def test_audit_details_read_in_people_s_words(app, kind, detail, expected):
    from flask_babel import force_locale

    from leads.words import describe

    with app.test_request_context(), force_locale("ru"):
        assert describe(kind, detail) == expected


def test_the_audit_log_names_actions_not_codes(manager_client):
    lead_id = new_lead(created="2026-11-23 09:30")
    manager_client.set_cookie("lang", "ru")
    manager_client.get(f"/operator/leads/{lead_id}")  # opening the card is audited
    html = manager_client.get("/manager/audit").text
    assert "Открыл(а) карточку" in html
    assert "open_card" not in html


def test_the_timeline_names_the_source_and_take_next(operator_client):
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        russian(operator_client, operator_client.user)
        lead_id = new_lead(created="2026-11-23 09:30")
        operator_client.post("/operator/next")
        html = operator_client.get(f"/operator/leads/{lead_id}").text
    assert "Форма на сайте" in html and "кнопкой «Взять следующего»" in html
    assert ">form<" not in html and "take-next" not in html
