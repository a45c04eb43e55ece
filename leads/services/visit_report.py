"""What came after the bookings, week by week (issue 14): confirmations, cancellations by the
patient, and no-shows split by whether a message or a confirmation reached the patient.

One SQL aggregate over the appointments whose visit falls in the range (clinic dates, by
the visit's start, not the lead's arrival), grouped by clinic week (Monday to Sunday).  The
week of a visit is a CASE over the weeks' starting instants, computed here from the
calendar, so local midnight is right in any zone and on both databases.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment
from leads.outbox_models import ConfirmationTask, OutboxMessage
from leads.services.clinic import clinic_calendar, now_utc
from leads.services.reports import period_bounds

# A confirmation call with one of these ends reached the patient.
REACHED_TASK_STATUSES = ("confirmed", "reschedule", "cancelled")


@dataclass(frozen=True)
class FollowUpWeek:
    """One clinic week of visits (`week` is its Monday)."""

    week: date
    visits: int
    confirmed: int
    cancelled_by_patient: int
    finished_reached: int  # attended or no-show, a message or a confirmation reached the patient
    no_show_reached: int
    finished_unreached: int
    no_show_unreached: int


def follow_up_by_week(first: date, last: date, now: datetime | None = None) -> list[FollowUpWeek]:
    """The weeks (Monday first) of visits from `first` to `last` (clinic dates, inclusive)."""
    cal = clinic_calendar(now or now_utc())
    monday = first - timedelta(days=first.weekday())
    mondays = [monday + timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)]

    def week_start(monday: date) -> datetime:
        return datetime.combine(monday, time(), tzinfo=cal.tz)

    start, end = period_bounds(cal, first, last)
    week = sa.case(*[(Appointment.starts_at < week_start(m + timedelta(weeks=1)), i) for i, m in enumerate(mondays)],
                   else_=len(mondays) - 1)
    message_reached = sa.exists().where(OutboxMessage.appointment_id == Appointment.id, OutboxMessage.status == "sent")
    call_reached = sa.exists().where(ConfirmationTask.appointment_id == Appointment.id,
                                     ConfirmationTask.status.in_(REACHED_TASK_STATUSES))
    # One row per visit with its week and flags; the outer query only adds them up (PostgreSQL
    # would not see a CASE with bound values in GROUP BY as the one in SELECT).
    visits = (
        sa.select(
            week.label("week"),
            Appointment.confirmed_at.is_not(None).label("confirmed"),
            Appointment.cancelled_by_patient.label("by_patient"),
            Appointment.status.in_(("attended", "no_show")).label("finished"),
            (Appointment.status == "no_show").label("no_show"),
            sa.or_(Appointment.confirmed_at.is_not(None), message_reached, call_reached).label("reached"),
        )
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .subquery()
    )

    def count(*conditions) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0))

    v = visits.c
    rows = db.session.execute(
        sa.select(
            v.week,
            sa.func.count(),
            count(v.confirmed),
            count(v.by_patient),
            count(v.finished, v.reached),
            count(v.no_show, v.reached),
            count(v.finished, sa.not_(v.reached)),
            count(v.no_show, sa.not_(v.reached)),
        ).group_by(v.week)
    ).all()
    found = {int(row[0]): [int(n or 0) for n in row[1:]] for row in rows}
    return [FollowUpWeek(m, *found.get(i, [0] * 7)) for i, m in enumerate(mondays)]
