"""Background jobs as plain functions of `now`, at their edges (DESIGN.md §1.3, §1.4, §1.7).

Each job is run at a frozen instant on either side of its boundary, then run
again to show it is idempotent.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads import jobs
from leads.extensions import db
from leads.models import Appointment, CallAttempt, Doctor, Lead, LeadEvent, LeadRequest
from leads.services.calls import record_outcome
from leads.services.intake import request_record, spool
from leads.services.maintenance import (
    anonymise_expired_leads,
    appointments_to_mark,
    count_appointments_to_mark,
    flag_sla_breaches,
    share_overdue_callbacks,
)
from tests.conftest import at, utc
from tests.factories import lead, new_lead

SLA = 15
GRACE = 15
RETENTION_DAYS = 30


@pytest.fixture
def app_settings():
    return {"CALLBACK_SLA_MINUTES": SLA, "CALLBACK_GRACE_MINUTES": GRACE, "RETENTION_DAYS": RETENTION_DAYS}


@pytest.fixture
def operator(make_user):
    return make_user("operator", "olga")


def events_of(lead_id: int, kind: str) -> list[LeadEvent]:
    return list(db.session.scalars(sa.select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.kind == kind)))


# -- SLA watch ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "created, checked, breached",
    [
        # Wednesday evening: 10 minutes that day, 5 the next morning.
        ("2026-11-25 19:50", "2026-11-25 20:30", False),
        ("2026-11-25 19:50", "2026-11-26 09:04", False),
        ("2026-11-25 19:50", "2026-11-26 09:05", True),
        # Saturday evening: Sunday is closed, so the deadline is Monday 09:05.
        ("2026-11-28 19:50", "2026-11-28 20:00", False),
        ("2026-11-28 19:50", "2026-11-29 12:00", False),
        ("2026-11-28 19:50", "2026-11-30 09:04", False),
        ("2026-11-28 19:50", "2026-11-30 09:05", True),
        # Inside opening hours: 15 plain minutes.
        ("2026-11-24 10:00", "2026-11-24 10:14", False),
        ("2026-11-24 10:00", "2026-11-24 10:15", True),
    ],
)
def test_a_new_lead_is_flagged_once_its_sla_minutes_of_opening_time_have_passed(app, created, checked, breached):
    lead_id = new_lead(created=created)

    flagged = flag_sla_breaches(utc(at(checked)))

    assert flagged == int(breached)
    assert lead(lead_id).sla_breached is breached


def test_a_lead_without_a_stored_deadline_gets_one_from_the_calendar(app):
    lead_id = new_lead(created="2026-11-28 19:50", sla_due_at=None)

    assert flag_sla_breaches(utc(at("2026-11-30 09:04"))) == 0
    assert lead(lead_id).sla_due_at == utc(at("2026-11-30 09:05"))
    assert flag_sla_breaches(utc(at("2026-11-30 09:05"))) == 1


def test_a_lead_already_called_is_never_flagged_by_the_watch(app, operator):
    lead_id = new_lead(created="2026-11-24 10:00")
    record_outcome(lead_id, operator.id, "no_answer", now=at("2026-11-24 10:05"))

    assert flag_sla_breaches(utc(at("2026-11-24 18:00"))) == 0
    assert lead(lead_id).sla_breached is False


def test_the_sla_watch_run_twice_changes_nothing_more(app):
    late, early = new_lead(created="2026-11-24 10:00"), new_lead(phone="+79161234568", created="2026-11-24 11:00")
    now = utc(at("2026-11-24 11:05"))

    assert flag_sla_breaches(now) == 1
    assert flag_sla_breaches(now) == 0
    assert (lead(late).sla_breached, lead(early).sla_breached) == (True, False)


# -- callback grace ----------------------------------------------------------------------------

def personal_callback(operator_id: int, due: str = "2026-11-24 15:00") -> int:
    lead_id = new_lead(created="2026-11-24 10:00")
    record_outcome(lead_id, operator_id, "callback", callback_at=at(due), callback_for_me=True, now=at("2026-11-24 10:05"))
    return lead_id


@pytest.mark.parametrize("overdue_minutes, shared", [(GRACE - 1, False), (GRACE, False), (GRACE + 1, True)])
def test_a_personal_callback_becomes_shared_only_when_overdue_by_more_than_the_grace(app, operator, overdue_minutes, shared):
    lead_id = personal_callback(operator.id)

    count = share_overdue_callbacks(utc(at("2026-11-24 15:00")) + timedelta(minutes=overdue_minutes))

    assert count == int(shared)
    assert lead(lead_id).callback_owner_id == (None if shared else operator.id)
    assert len(events_of(lead_id, "callback_shared")) == int(shared)


def test_sharing_callbacks_twice_writes_one_timeline_line(app, operator):
    lead_id = personal_callback(operator.id)
    now = utc(at("2026-11-24 16:00"))

    assert share_overdue_callbacks(now) == 1
    assert share_overdue_callbacks(now) == 0
    assert len(events_of(lead_id, "callback_shared")) == 1
    assert lead(lead_id).state == "callback"


def test_an_overdue_callback_someone_is_holding_is_left_alone(app, operator, make_user):
    lead_id = personal_callback(operator.id)
    other = make_user("operator", "boris")
    now = utc(at("2026-11-24 16:00"))
    db.session.execute(
        sa.update(Lead).where(Lead.id == lead_id).values(claimed_by_id=other.id, claim_expires_at=now + timedelta(minutes=5))
    )
    db.session.commit()

    assert share_overdue_callbacks(now) == 0
    assert lead(lead_id).callback_owner_id == operator.id


# -- retention ---------------------------------------------------------------------------------

CLOSED_AT = at("2026-01-12 11:00")


def closed_lead(operator_id: int, phone: str = "+79161234567", name: str = "Анна Иванова") -> int:
    lead_id = new_lead(phone=phone, name=name, created="2026-01-12 10:00")
    record_outcome(lead_id, operator_id, "declined", note=f"{name} просила не звонить", now=CLOSED_AT)
    return lead_id


@pytest.mark.parametrize("extra, anonymised", [(timedelta(0), False), (timedelta(minutes=1), True)])
def test_a_closed_lead_is_anonymised_only_after_more_than_retention_days(app, operator, extra, anonymised):
    lead_id = closed_lead(operator.id)

    count = anonymise_expired_leads(utc(CLOSED_AT) + timedelta(days=RETENTION_DAYS) + extra)

    assert count == int(anonymised)
    row = lead(lead_id)
    assert (row.anonymized_at is not None) is anonymised
    assert (row.name == "" and row.phone == "") is anonymised


def test_retention_removes_name_phone_and_free_text_and_keeps_the_statistics(app, operator):
    lead_id = closed_lead(operator.id)
    before = lead(lead_id)
    kept = (before.state, before.close_reason, before.reached, before.attempts, before.created_at, before.closed_at,
            before.last_outcome, before.utm_source, before.source)  # fmt: skip
    now = utc(CLOSED_AT) + timedelta(days=RETENTION_DAYS, minutes=1)

    anonymise_expired_leads(now)

    row = lead(lead_id)
    assert (row.state, row.close_reason, row.reached, row.attempts, row.created_at, row.closed_at,
            row.last_outcome, row.utm_source, row.source) == kept  # fmt: skip
    assert (row.name, row.phone, row.comment, row.page_url, row.anonymized_at) == ("", "", "", "", now)
    request = db.session.scalar(sa.select(LeadRequest).where(LeadRequest.lead_id == lead_id))
    assert (request.name, request.phone, request.comment, request.ip, request.user_agent, request.page_url) == ("",) * 6
    assert request.consent_sha256 and request.consent_version  # the consent evidence stays, without a person
    call = db.session.scalar(sa.select(CallAttempt).where(CallAttempt.lead_id == lead_id))
    assert (call.note, call.outcome, call.reached) == ("", "declined", True)
    assert len(events_of(lead_id, "anonymised")) == 1


def test_retention_run_twice_changes_nothing_more(app, operator):
    lead_id = closed_lead(operator.id)
    now = utc(CLOSED_AT) + timedelta(days=RETENTION_DAYS, hours=1)

    assert anonymise_expired_leads(now) == 1
    first = lead(lead_id).anonymized_at
    assert anonymise_expired_leads(now + timedelta(days=1)) == 0
    assert lead(lead_id).anonymized_at == first
    assert len(events_of(lead_id, "anonymised")) == 1


def test_retention_leaves_open_leads_and_recent_visits_alone(app, operator):
    open_lead = new_lead(phone="+79161230001", created="2026-01-12 10:00")
    booked = new_lead(phone="+79161230002", created="2026-01-12 10:00", state="booked")
    doctor = Doctor(name="Д-р Петров", specialty="терапевт")
    db.session.add(doctor)
    db.session.flush()
    now = utc(CLOSED_AT) + timedelta(days=RETENTION_DAYS, hours=1)
    visit = now - timedelta(days=1)  # the visit was yesterday: the data stay
    db.session.add(Appointment(doctor_id=doctor.id, lead_id=booked, starts_at=visit, ends_at=visit + timedelta(minutes=30)))
    db.session.commit()

    assert anonymise_expired_leads(now) == 0
    assert lead(open_lead).name and lead(booked).name
    assert anonymise_expired_leads(visit + timedelta(days=RETENTION_DAYS, minutes=1)) == 1
    assert lead(booked).phone == ""


# -- appointments to mark ----------------------------------------------------------------------

def test_past_visits_still_scheduled_are_listed_for_marking(app):
    lead_id = new_lead(state="booked")
    doctor = Doctor(name="Д-р Петров", specialty="терапевт")
    db.session.add(doctor)
    db.session.flush()
    now = utc(at("2026-11-24 12:00"))

    def visit(start: str, status: str = "scheduled") -> int:
        starts = utc(at(start))
        row = Appointment(doctor_id=doctor.id, lead_id=lead_id, starts_at=starts, ends_at=starts + timedelta(minutes=30), status=status)
        db.session.add(row)
        db.session.flush()
        return row.id

    ended = visit("2026-11-24 11:30")  # ended exactly now
    visit("2026-11-24 11:00", "attended")
    visit("2026-11-24 11:45")  # still going on
    earlier = visit("2026-11-23 10:00")
    db.session.commit()

    assert [a.appointment_id for a in appointments_to_mark(now)] == [earlier, ended]
    assert count_appointments_to_mark(now) == 2


# -- the wrappers the scheduler calls ----------------------------------------------------------

def test_every_job_wrapper_runs_in_its_own_app_context_and_reports(app):
    from leads.domain.promise import CallPromise
    from leads.services.intake import CallbackRequest

    request = CallbackRequest(name="Борис", phone="+79161112233", consent_text="Я согласен. v1", locale="ru")
    spool().append(request_record(request, "spooled-1", utc(at("2026-11-24 10:00")), CallPromise(kind="within", minutes=SLA)))

    results = {spec.id: getattr(jobs, spec.func.split(":")[1])(app) for spec in jobs.JOBS}

    assert set(results) == {"sla_watch", "callback_grace", "spool_replay", "appointments_to_mark", "retention",
                            "login_failures", "outbox", "confirmations"}
    assert results["outbox"] == "nothing due"
    assert results["spool_replay"] == "1 stored, 0 waiting"
    assert db.session.scalar(sa.select(LeadRequest.name).where(LeadRequest.public_id == "spooled-1")) == "Борис"
