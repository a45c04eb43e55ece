"""My callbacks on the queue page: each with its day, overdue ones marked, and today's count right."""
from __future__ import annotations

import re

import time_machine

from leads.services.calls import record_outcome
from tests.conftest import at, sign_in, utc
from tests.factories import new_lead


def agree_callback(lead_id: int, user_id: int, when: str, agreed: str, for_me: bool = False) -> None:
    record_outcome(lead_id, user_id, "callback", callback_at=utc(at(when)), callback_for_me=for_me, now=utc(at(agreed)))


def queue_page(client, when: str) -> str:
    with time_machine.travel(at(when), tick=False):
        sign_in(client, client.user)
        client.set_cookie("lang", "en")
        return client.get("/operator/").text


def my_callback_rows(html: str) -> list[str]:
    section = html.split('class="my-callbacks"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<tr class="callback-row[^"]*">(.*?)</tr>', section, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_my_callbacks_show_their_day_and_the_overdue_ones_are_marked(operator_client, make_user):
    me, other = operator_client.user, make_user("operator", username="pavel")
    old = new_lead(phone="+79161110001", name="Анна Старая", created="2026-11-17 09:30")
    today = new_lead(phone="+79161110002", name="Борис Сегодня", created="2026-11-23 09:30")
    tomorrow = new_lead(phone="+79161110003", name="Вера Завтра", created="2026-11-23 09:40")
    theirs = new_lead(phone="+79161110004", name="Глеб Чужой", created="2026-11-23 09:50")
    agree_callback(old, me.id, "2026-11-17 11:00", agreed="2026-11-17 10:00")  # six days ago, never called
    agree_callback(today, me.id, "2026-11-23 15:00", agreed="2026-11-23 10:00", for_me=True)
    agree_callback(tomorrow, me.id, "2026-11-24 09:30", agreed="2026-11-23 10:05")
    agree_callback(theirs, other.id, "2026-11-23 16:00", agreed="2026-11-23 10:10")

    html = queue_page(operator_client, "2026-11-23 12:00")

    assert my_callback_rows(html) == [
        "Tue 17 Nov, 11:00 Анна Старая +7 916 111-00-01 overdue",
        "today 15:00 Борис Сегодня +7 916 111-00-02 only me",
        "tomorrow 09:30 Вера Завтра +7 916 111-00-03",
    ]
    # Due by tonight: the overdue one, mine at 15:00 and Pavel's at 16:00.
    assert re.search(r'data-counter="callbacks_due_today">3<', html)
    # In the queue the old callback reads with its day, not as if it were today's 11:00.
    assert "Callback Tue 17 Nov, 11:00" in " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_without_callbacks_the_page_says_so(operator_client):
    assert "You have no callbacks agreed." in queue_page(operator_client, "2026-11-23 12:00")
