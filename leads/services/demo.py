"""Demo data for `make run`: leads in every state a new clinic would see."""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from leads.extensions import db
from leads.models import Lead
from leads.services.clinic import now_utc
from leads.services.intake import CallbackRequest, submit_callback_request

FIRST_NAMES = ["Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий", "Наталья", "Алексей"]
LAST_NAMES = ["Иванова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Лебедев", "Козлова", "Новиков"]
SOURCES = [("yandex", "cpc", "spring"), ("google", "cpc", "brand"), ("", "", ""), ("vk", "social", "promo")]


def load_demo(lead_count: int = 40, seed: int = 7) -> list[str]:
    """Create demo leads unless there are leads already; lines to print."""
    from leads.public.submission import consent_text

    if db.session.scalar(sa.select(sa.func.count()).select_from(Lead)):
        return ["demo data: already loaded"]
    rng = random.Random(seed)
    now = now_utc()
    text = consent_text("ru")
    for index in range(lead_count):
        source, medium, campaign = rng.choice(SOURCES)
        request = CallbackRequest(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            phone=f"+7916{1000000 + index * 7919 % 9000000:07d}",
            consent_text=text,
            locale="ru",
            comment=rng.choice(["", "Хочу записаться к терапевту", "Болит спина", "Анализы"]),
            source=rng.choice(["form", "embed", "api"]),
            utm={"utm_source": source, "utm_medium": medium, "utm_campaign": campaign},
            ip="127.0.0.1",
            user_agent="demo",
        )
        submit_callback_request(request, now - timedelta(minutes=rng.randint(1, 3 * 24 * 60)))
    return [f"demo data: {lead_count} leads"]
