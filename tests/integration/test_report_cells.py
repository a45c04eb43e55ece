"""The report's stored cells give exactly the figures counted on the spot, after every kind of change.

Data: the hand-counted week of test_reports.py (Mon 23 – Sun 29 November 2026), reported on
Tuesday 1 December, so every day of the week has ended and is stored by the first report.
Each test changes something a later report must show, reports again, and compares every
figure with a report that counts every day on the spot (no stored cells).
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from leads.extensions import db
from leads.models import Appointment, CallAttempt, Closure, Lead, ReportCell, ReportDirty, ReportSealedDay
from leads.services import report_cells, reports
from leads.services.calls import record_outcome
from leads.services.clinic import forget_closures
from leads.services.queue import claim_lead
from leads.services.report_cells import Refreshed, day_number
from leads.services.reports import build_report, store_report_cells
from tests.conftest import at, utc
from tests.integration.test_reports import MONDAY, NOW, SUNDAY, store_history

NOW_UTC = utc(at(NOW))


def counted_on_the_spot(monkeypatch, first=MONDAY, last=SUNDAY, now=NOW_UTC):
    with monkeypatch.context() as patch:
        patch.setattr(reports, "refresh", lambda *args, **kwargs: Refreshed(None))
        return build_report(first, last, now=now)


@pytest.fixture
def ids(app, make_user):
    return store_history(make_user)


@pytest.fixture
def stored(ids, monkeypatch):
    """The first report: it stores the week and agrees with counting on the spot."""
    first = build_report(MONDAY, SUNDAY, now=NOW_UTC)
    sealed = set(db.session.scalars(sa.select(ReportSealedDay.day)))
    assert sealed == {day_number(MONDAY + timedelta(days=n)) for n in range(7)}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportCell)) > 0
    assert first == counted_on_the_spot(monkeypatch)
    return first


def report_again(monkeypatch):
    again = build_report(MONDAY, SUNDAY, now=NOW_UTC)
    assert again == counted_on_the_spot(monkeypatch)
    return again


def test_an_outcome_recorded_on_a_stored_day_is_counted(stored, ids, make_user, monkeypatch):
    operator = make_user("operator", "pavel")
    record_outcome(ids["L8"], operator.id, "no_answer", now=utc(at("2026-12-01 11:00")))

    again = report_again(monkeypatch)
    assert again.first_call.called == stored.first_call.called + 1
    assert again.attempts_total == stored.attempts_total + 1
    assert "Pavel" in [row.name for row in again.operators]


def test_a_visit_marked_attended_is_counted(stored, ids, monkeypatch):
    visit = db.session.scalar(sa.select(Appointment).where(Appointment.lead_id == ids["L4"]))
    visit.status = "attended"
    db.session.commit()

    assert report_again(monkeypatch).totals.attended == stored.totals.attended + 1


def test_a_lead_closed_as_spam_leaves_every_figure(stored, ids, monkeypatch):
    db.session.execute(sa.update(Lead).where(Lead.id == ids["L12"]).values(excluded=True, close_reason="spam"))
    db.session.commit()

    again = report_again(monkeypatch)
    assert again.totals.leads == stored.totals.leads - 1
    assert sum(calls for calls, _ in again.outcomes.values()) == sum(c for c, _ in stored.outcomes.values()) - 1


def test_a_repeat_request_on_an_old_lead_is_counted(stored, ids, monkeypatch):
    db.session.execute(sa.update(Lead).where(Lead.id == ids["L5"]).values(request_count=Lead.request_count + 1))
    db.session.commit()

    assert report_again(monkeypatch).totals.requests == stored.totals.requests + 1


def test_a_lead_stored_late_on_an_ended_day_is_counted(stored, monkeypatch):
    # A request spooled on Wednesday while the database was down, replayed on Tuesday 1 December.
    db.session.add(Lead(name="late", phone="+79160009999", created_at=at("2026-11-25 16:00"),
                        last_request_at=at("2026-11-25 16:00")))
    db.session.commit()

    again = report_again(monkeypatch)
    assert again.totals.leads == stored.totals.leads + 1
    assert again.days[date(2026, 11, 25)].leads == stored.days[date(2026, 11, 25)].leads + 1


def test_a_call_deleted_or_changed_is_counted(stored, ids, monkeypatch):
    calls = db.session.scalars(sa.select(CallAttempt).where(CallAttempt.lead_id == ids["L11"])).all()
    db.session.delete(calls[0])
    calls[1].outcome = "busy"
    db.session.commit()

    again = report_again(monkeypatch)
    assert again.outcomes["busy"][0] == stored.outcomes.get("busy", (0, 0))[0] + 1


def sealed_days() -> dict[int, object]:
    return dict(db.session.execute(sa.select(ReportSealedDay.day, ReportSealedDay.sealed_at)).all())


def test_a_new_closure_counts_again_the_days_of_the_leads_it_falls_between(stored, monkeypatch):
    # Fri 27 becomes a holiday: it falls between arrival and first call for leads of Thu 26
    # (L11, L10), Fri 27 (L12, L13) and Sat 28 (L4) only.  Monday's figures cannot change.
    before = sealed_days()
    db.session.add(Closure(day=date(2026, 11, 27), reason="holiday"))
    db.session.commit()
    forget_closures()

    store_report_cells(utc(at("2026-12-01 12:05")))
    after = sealed_days()
    recounted = {day for day in after if after[day] != before.get(day)}
    assert {day_number(date(2026, 11, d)) for d in (26, 27, 28)} <= recounted
    assert day_number(MONDAY) not in recounted
    again = report_again(monkeypatch)
    assert (again.first_call.median, again.first_call.p90) == (17.5, 31.5)  # as in test_reports
    assert again.first_call != stored.first_call


def test_a_closure_ahead_counts_no_stored_day_again(stored):
    # Nobody has been called after a closure that has not come yet.
    db.session.add(Closure(day=date(2026, 12, 31), reason="New Year's Eve"))
    db.session.commit()
    assert store_report_cells(NOW_UTC) > 0  # its first run stores the other, empty days once
    db.session.add(Closure(day=date(2027, 1, 2), reason="holiday"))
    db.session.commit()
    assert store_report_cells(NOW_UTC) == 0


def test_a_claim_does_not_make_a_day_count_again(stored, ids, make_user):
    # Claims come and go all day; they change no figure, so they must not cost a recount.
    operator = make_user("operator", "pavel")
    claim_lead(ids["L8"], operator.id, now=utc(at("2026-12-01 11:00")))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportDirty)) == 0


def test_today_is_counted_on_the_spot_and_never_stored(ids, monkeypatch):
    # Reported on Friday 27 at noon: Monday to Thursday are stored, Friday on is counted each time.
    friday_noon = utc(at("2026-11-27 12:00"))
    first = build_report(MONDAY, SUNDAY, now=friday_noon)
    sealed = set(db.session.scalars(sa.select(ReportSealedDay.day)))
    assert sealed == {day_number(MONDAY + timedelta(days=n)) for n in range(4)}
    assert first == counted_on_the_spot(monkeypatch, now=friday_noon)

    db.session.add(Lead(name="now", phone="+79160008888", created_at=friday_noon, last_request_at=friday_noon))
    db.session.commit()
    assert build_report(MONDAY, SUNDAY, now=friday_noon).totals.leads == first.totals.leads + 1


def test_when_cells_cannot_be_stored_the_report_counts_every_day(ids, monkeypatch):
    def fail(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT INTO report_cells", {}, Exception("disk full"))

    monkeypatch.setattr(report_cells, "_seal", fail)
    report = build_report(MONDAY, SUNDAY, now=NOW_UTC)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSealedDay)) == 0
    assert report == counted_on_the_spot(monkeypatch)
    assert report.totals.leads == 11


def test_the_scheduler_job_counts_only_changed_days_and_a_second_run_nothing(stored, ids, monkeypatch):
    # Stored by the first report: the week.  The job keeps the last 400 ended days stored, so its
    # first run counts the other (empty) days once; then only the days whose leads change.
    store_report_cells(NOW_UTC)
    assert store_report_cells(NOW_UTC) == 0

    db.session.execute(sa.update(Lead).where(Lead.id.in_([ids["L1"], ids["L3"], ids["L6"]]))
                       .values(request_count=Lead.request_count + 1))
    db.session.commit()
    assert store_report_cells(NOW_UTC) == 2  # L1 and L3 arrived on Monday, L6 on Tuesday
    assert store_report_cells(NOW_UTC) == 0
    assert report_again(monkeypatch).totals.requests == stored.totals.requests + 3


def test_sqlite_a_change_committed_while_the_days_are_counted_is_counted_too(backend, ids, monkeypatch):
    # SQLite counts by plain reads, then becomes the writer: a call recorded in between (by
    # another connection) must not be lost.  PostgreSQL counts inside its writing transaction.
    if backend != "sqlite":
        pytest.skip("the count-then-write path is SQLite's")
    before = counted_on_the_spot(monkeypatch)
    become_writer = report_cells._become_writer

    def a_repeat_request_in_between(last_seen):
        with db.engine.begin() as other:
            other.execute(sa.update(Lead).where(Lead.id == ids["L3"]).values(request_count=Lead.request_count + 1))
        return become_writer(last_seen)

    monkeypatch.setattr(report_cells, "_become_writer", a_repeat_request_in_between)
    report = build_report(MONDAY, SUNDAY, now=NOW_UTC)
    monkeypatch.undo()
    assert report.totals.requests == before.totals.requests + 1
    assert report == counted_on_the_spot(monkeypatch)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportDirty)) == 0


def test_managers_reporting_at_once_store_each_day_once(app, ids, monkeypatch):
    # Four reports at the same moment on a week nobody has stored: one refresh at a time on
    # PostgreSQL, the last writer's cells on SQLite; never a day's cells twice.
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    barrier = Barrier(4)

    def report(_):
        with app.app_context():
            barrier.wait()
            try:
                return build_report(MONDAY, SUNDAY, now=NOW_UTC)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(4) as pool:
        reports_at_once = list(pool.map(report, range(4)))
    expected = counted_on_the_spot(monkeypatch)
    assert all(r == expected for r in reports_at_once)
    hours = db.session.execute(sa.select(ReportCell.day, ReportCell.hour, sa.func.count())
                               .where(ReportCell.kind == 1).group_by(ReportCell.day, ReportCell.hour)).all()
    assert hours and all(count == 1 for _, _, count in hours)
    assert build_report(MONDAY, SUNDAY, now=NOW_UTC) == expected


def test_a_long_range_cut_short_keeps_the_windows_it_stored(ids, monkeypatch):
    # Two months never stored are counted a window at a time; when the second window fails,
    # the first stays stored and the report still has every figure, counted on the spot.
    seal, calls = report_cells._seal, []

    def second_fails(days, key, now):
        calls.append(days)
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT INTO report_sealed_days", {}, Exception("timeout"))
        seal(days, key, now)

    first = SUNDAY - timedelta(days=59)
    monkeypatch.setattr(report_cells, "_seal", second_fails)
    report = build_report(first, SUNDAY, now=NOW_UTC)
    monkeypatch.undo()
    stored = set(db.session.scalars(sa.select(ReportSealedDay.day)))
    assert stored == {day_number(first) + n for n in range(report_cells.WINDOW_DAYS)}
    assert report == counted_on_the_spot(monkeypatch, first=first)
    assert build_report(first, SUNDAY, now=NOW_UTC) == report
    assert len(set(db.session.scalars(sa.select(ReportSealedDay.day)))) == 60
