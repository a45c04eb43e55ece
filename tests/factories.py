"""Rows for tests, made the way the app makes them."""
from __future__ import annotations

import sqlalchemy as sa

from leads.extensions import db
from leads.models import Lead, LeadRequest
from leads.services.intake import CallbackRequest, submit_callback_request
from tests.conftest import at

# Monday 23 November 2026, 10:00 in the clinic: open.
MONDAY_10 = at("2026-11-23 10:00")


def new_lead(
    phone: str = "+79161234567",
    name: str = "Анна Иванова",
    created: str = "2026-11-23 09:30",
    **changes,
) -> int:
    """A lead created the way a patient creates one (form request, consent), then `changes`."""
    submitted = submit_callback_request(
        CallbackRequest(
            name=name,
            phone=phone,
            consent_text="Я согласен на обработку персональных данных. v1",
            locale="ru",
            comment="Хочу к терапевту",
            marketing_consent=True,
            page_url="https://clinic.example/therapy",
            utm={"utm_source": "yandex", "utm_campaign": "spring"},
            ip="203.0.113.5",
            user_agent="pytest",
        ),
        at(created),
    )
    lead_id = db.session.scalar(sa.select(LeadRequest.lead_id).where(LeadRequest.public_id == submitted.public_id))
    if changes:
        db.session.execute(sa.update(Lead).where(Lead.id == lead_id).values(**changes))
        db.session.commit()
    return lead_id


def lead(lead_id: int) -> Lead:
    """The lead as the database has it now."""
    return db.session.get(Lead, lead_id, populate_existing=True)
