"""The figures a report needs, stored on the lead when they happen.

A lead's clinic-local arrival date and hour are written at intake; the
business minutes from arrival to the first call when that call is recorded,
and each call carries its lead's arrival date and its own clinic-local date
(leads/services/calls.py);
`visit_booked` when a visit is booked for it and `visit_attended` when one is
marked attended (leads/services/appointments.py).  A visit cancelled or
missed later leaves both as they are: the report counts a lead as booked once
it had a visit, and no attended visit changes status again.
The report then only counts and groups rows (leads/services/reports.py).
Business minutes depend on the closures: adding or removing one counts again
the first calls of the leads it falls between (`count_first_calls_again`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leads.domain.calendar import ClinicCalendar
from leads.extensions import db
from leads.models import Appointment, CallAttempt, Lead
from leads.services.clinic import fresh_calendar, now_utc

BATCH = 1000


def arrival_figures(calendar: ClinicCalendar, created: datetime) -> dict[str, Any]:
    """The lead's arrival as the report groups it: clinic-local date and hour."""
    local = calendar.local(created)
    return {"arrival_day": local.date(), "arrival_hour": local.hour}


def first_call_minutes(calendar: ClinicCalendar, created: datetime, first_call: datetime) -> float:
    """Business minutes from arrival to the first call, to a hundredth of a minute."""
    return round(calendar.business_minutes(created, first_call), 2)


def note_visit(lead_id: int, **flags: bool) -> None:
    """Set the lead's visit figures (`visit_booked=True`, `visit_attended=True`); the caller commits."""
    db.session.execute(sa.update(Lead).where(Lead.id == lead_id).values(**flags))


def visit_figures(lead_id: Any) -> dict[str, Any]:
    """The visit figures as SQL over the appointments of `lead_id` (a column or a value)."""
    visits = sa.select(Appointment.id).where(Appointment.lead_id == lead_id)
    return {"visit_booked": visits.exists(), "visit_attended": visits.where(Appointment.status == "attended").exists()}


def count_figures_again(*where: Any) -> int:
    """Work out again the stored figures of the leads matching `where`; how many there were.

    For rows written without them (the migration's backfill, tests' hand-made
    history) and after a closure changed. The caller commits.
    """
    calendar = fresh_calendar(now_utc())
    query = sa.select(Lead.id, Lead.created_at, Lead.first_attempt_at).where(*where).order_by(Lead.id)
    rows = db.session.execute(query).all()
    for start in range(0, len(rows), BATCH):
        db.session.execute(
            sa.update(Lead),
            [
                {
                    "id": lead_id,
                    **arrival_figures(calendar, created),
                    "first_call_minutes": first_call_minutes(calendar, created, first) if first else None,
                }
                for lead_id, created, first in rows[start:start + BATCH]
            ],
        )
    db.session.execute(sa.update(Lead).where(*where).values(**visit_figures(Lead.id)))
    arrival = sa.select(Lead.arrival_day).where(Lead.id == CallAttempt.lead_id).scalar_subquery()
    of_the_leads = CallAttempt.lead_id.in_(sa.select(Lead.id).where(*where))
    db.session.execute(sa.update(CallAttempt).where(of_the_leads).values(arrival_day=arrival))
    calls = db.session.execute(sa.select(CallAttempt.id, CallAttempt.at).where(of_the_leads)).all()
    for start in range(0, len(calls), BATCH):
        db.session.execute(sa.update(CallAttempt), [
            {"id": call_id, "day": calendar.local(at).date()} for call_id, at in calls[start:start + BATCH]
        ])
    return len(rows)


def count_first_calls_again(day: date) -> int:
    """After a closure on `day` came or went: the leads that arrived before it and were first called after it."""
    calendar = fresh_calendar(now_utc())
    # A day's local midnight lies within a day of its UTC midnight in every zone.
    after = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=calendar.tz)
    before = datetime.combine(day + timedelta(days=2), datetime.min.time(), tzinfo=calendar.tz)
    return count_figures_again(Lead.created_at < before, Lead.first_attempt_at >= after)
