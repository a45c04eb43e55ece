"""The manager's report, figure by figure, on a data set small enough to count by hand.

The week reported is Monday 23 – Sunday 29 November 2026 (Moscow, UTC+3, no
DST).  The clinic is open Mon–Sat 09:00–20:00.  Every expected number below
is worked out in the comments from the table of leads.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from leads.extensions import db
from leads.models import Appointment, CallAttempt, Doctor, Lead
from leads.services.reports import build_report, period_bounds
from leads.services.clinic import clinic_calendar
from leads.services.report_facts import count_figures_again
from tests.conftest import at, utc

NOW = "2026-12-01 12:00"
MONDAY, SUNDAY = date(2026, 11, 23), date(2026, 11, 29)

# name: (created, source, utm_source, utm_campaign, requests, state, reached, attempts, excluded, close_reason)
#                                    business minutes to the first call, worked out:
LEADS = {
    # Mon 10:00 → first call Mon 10:05                                            = 5
    "L1": ("2026-11-23 10:00", "form", "yandex", "spring", 1, "booked", True, 1, False, None),
    # Mon 10:30 → Mon 10:40                                                        = 10
    "L2": ("2026-11-23 10:30", "form", "yandex", "spring", 1, "closed", True, 2, False, None),
    # Mon 19:50 → Tue 09:20: 10 before closing + 20 after opening (the night)     = 30
    "L3": ("2026-11-23 19:50", "form", "google", "brand", 1, "closed", True, 1, False, "consulted"),
    # Sat 19:45 → Mon 30 09:10: 15 + Sunday closed + 10 (the weekend)             = 25
    "L4": ("2026-11-28 19:45", "api", "", "", 2, "booked", True, 2, False, None),
    # Sun 12:00 (closed) → Mon 30 09:00: no opening time in between               = 0
    "L5": ("2026-11-29 12:00", "form", "google", "brand", 1, "retry", False, 1, False, None),
    # Tue 08:00 (before opening) → Tue 09:45                                       = 45
    "L6": ("2026-11-24 08:00", "form", "yandex", "autumn", 1, "closed", True, 1, False, "declined"),
    # Tue 12:00, three requests (two repeats) → Tue 12:03                          = 3
    "L7": ("2026-11-24 12:00", "form", "yandex", "spring", 3, "booked", True, 2, False, None),
    # Wed 14:00, never called                                                      = none
    "L8": ("2026-11-25 14:00", "form", "", "", 1, "new", False, 0, False, None),
    # spam: left out of every figure, its call too
    "L9": ("2026-11-25 15:00", "form", "yandex", "spring", 1, "closed", False, 1, True, "spam"),
    # a test lead (excluded): left out, its call too
    "L10": ("2026-11-26 09:00", "form", "yandex", "spring", 1, "retry", False, 1, True, None),
    # Thu 11:00 → Thu 11:30, six unanswered attempts                               = 30
    "L11": ("2026-11-26 11:00", "form", "google", "brand", 1, "closed", False, 6, False, "unreachable"),
    # Fri 18:00 → Fri 18:20; booked by state only (no appointment row)            = 20
    "L12": ("2026-11-27 18:00", "api", "yandex", "spring", 1, "booked", True, 1, False, None),
    # Fri 19:30 → Sat 09:30: 30 + 30                                               = 60
    "L13": ("2026-11-27 19:30", "form", "", "", 1, "closed", False, 1, False, "wrong_number"),
    # outside the week: Sunday 22nd one minute before midnight, Monday 30th at midnight
    "L14": ("2026-11-22 23:59", "form", "yandex", "spring", 1, "booked", True, 1, False, None),
    "L15": ("2026-11-30 00:00", "form", "yandex", "spring", 1, "new", False, 0, False, None),
}

# (lead, operator, local time, outcome, reached)
CALLS = [
    ("L1", "olga", "2026-11-23 10:05", "booked", True),
    ("L2", "olga", "2026-11-23 10:40", "no_answer", False),
    ("L2", "ivan", "2026-11-23 11:00", "booked", True),
    ("L3", "ivan", "2026-11-24 09:20", "consulted", True),
    ("L4", "olga", "2026-11-30 09:10", "busy", False),
    ("L4", "olga", "2026-11-30 09:30", "booked", True),
    ("L5", "ivan", "2026-11-30 09:00", "no_answer", False),
    ("L6", "olga", "2026-11-24 09:45", "declined", True),
    ("L7", "olga", "2026-11-24 12:03", "callback", True),
    ("L7", "olga", "2026-11-24 15:00", "booked", True),
    ("L9", "ivan", "2026-11-25 15:05", "spam", False),
    ("L10", "olga", "2026-11-26 09:10", "no_answer", False),
    ("L11", "ivan", "2026-11-26 11:30", "no_answer", False),
    ("L11", "ivan", "2026-11-26 12:30", "no_answer", False),
    ("L11", "olga", "2026-11-26 15:30", "voicemail", False),
    ("L11", "ivan", "2026-11-26 17:30", "no_answer", False),
    ("L11", "ivan", "2026-11-27 09:00", "no_answer", False),
    ("L11", "ivan", "2026-11-27 12:00", "no_answer", False),
    ("L12", "ivan", "2026-11-27 18:20", "booked", True),
    ("L13", "olga", "2026-11-28 09:30", "wrong_number", False),
    ("L14", "ivan", "2026-11-23 09:00", "booked", True),
]

# (lead, status): L2's visit was a no-show (the lead closed, still "booked" in the funnel);
# L4's is still ahead; L7 has a cancelled first booking and an attended second one.
APPOINTMENTS = [
    ("L1", "attended", "2026-11-24 10:00"),
    ("L2", "no_show", "2026-11-24 11:00"),
    ("L4", "scheduled", "2026-12-02 10:00"),
    ("L7", "cancelled", "2026-11-25 10:00"),
    ("L7", "attended", "2026-11-25 10:30"),
    ("L14", "attended", "2026-11-24 12:00"),
]


def store_history(make_user, leads=LEADS, calls=CALLS, appointments=APPOINTMENTS, tz="Europe/Moscow") -> dict:
    """Write the leads, calls and appointments; return the lead ids by name."""
    operators = {name: make_user("operator", name) for name in ("olga", "ivan")}
    doctor = Doctor(name="Dr House", specialty="therapist")
    db.session.add(doctor)
    ids = {}
    for number, (name, row) in enumerate(leads.items()):
        created, source, utm_source, utm_campaign, requests, state, reached, attempts, excluded, reason = row
        first = next((when for lead, _, when, _, _ in calls if lead == name), None)
        lead = Lead(
            name=name, phone=f"+7916000{number:04d}", state=state, close_reason=reason, source=source,
            utm_source=utm_source, utm_campaign=utm_campaign, request_count=requests,
            created_at=at(created, tz), last_request_at=at(created, tz), reached=reached, attempts=attempts,
            first_attempt_at=at(first, tz) if first else None, excluded=excluded,
        )
        db.session.add(lead)
        db.session.flush()
        ids[name] = lead.id
    for lead, operator, when, outcome, reached in calls:
        db.session.add(CallAttempt(lead_id=ids[lead], operator_id=operators[operator].id, at=at(when, tz),
                                   outcome=outcome, reached=reached))
    for lead, status, starts in appointments:
        db.session.add(Appointment(doctor_id=doctor.id, lead_id=ids[lead], starts_at=at(starts, tz),
                                   ends_at=at(starts, tz) + timedelta(minutes=30), status=status))
    db.session.flush()
    count_figures_again(Lead.id.in_(ids.values()))  # what intake and the first call store
    db.session.commit()
    return ids


@pytest.fixture
def report(app, make_user):
    store_history(make_user)
    return build_report(MONDAY, SUNDAY)


def test_the_range_runs_from_local_midnight_to_local_midnight(app):
    since, until = period_bounds(clinic_calendar(), MONDAY, SUNDAY)
    assert since == utc(at("2026-11-23 00:00")) and since.hour == 21  # 00:00 Moscow = 21:00 UTC the day before
    assert until == utc(at("2026-11-30 00:00"))


def test_funnel_counts_leads_once_and_requests_apart(report):
    # In the week and not excluded: L1–L8, L11–L13 = 11 leads (L9 spam, L10 test, L14/L15 outside).
    # Requests: 1 each, L4 2, L7 3 → 11 − 2 + 2 + 3 = 14.
    # Reached: L1 L2 L3 L4 L6 L7 L12 = 7.
    # Booked: L1 L4 L7 (appointment and state), L2 (appointment only), L12 (state only) = 5.
    # Attended: L1, L7 (its attended second booking) = 2.
    t = report.totals
    assert (t.leads, t.requests, t.reached, t.booked, t.attended) == (11, 14, 7, 5, 2)


def test_time_to_first_call_in_business_minutes(report):
    # Called leads, sorted: L5 0, L7 3, L1 5, L2 10, L12 20, L4 25, L3 30, L11 30, L6 45, L13 60 (n = 10).
    # Median: position 0.5·9 = 4.5 → (20 + 25) / 2 = 22.5.
    # p90: position 0.9·9 = 8.1 → 45 + 0.1·(60 − 45) = 46.5.
    # Within the 15-minute SLA: 0, 3, 5, 10 → 4 of 10.  L8 was never called.
    fc = report.first_call
    assert (fc.called, fc.not_called) == (10, 1)
    assert (fc.median, fc.p90) == (22.5, 46.5)
    assert (fc.within_sla, fc.sla_minutes) == (4, 15)


def test_attempts_per_lead(report):
    # attempts: L1 1, L2 2, L3 1, L4 2, L5 1, L6 1, L7 2, L8 0, L11 6, L12 1, L13 1 → 18 in all.
    # 0: L8; 1: L1 L3 L5 L6 L12 L13; 2: L2 L4 L7; 6+: L11.
    assert report.attempts_total == 18
    assert report.attempts == (1, 6, 3, 0, 0, 0, 1)


def test_outcome_mix_leaves_out_excluded_leads(report):
    # The 18 calls of the week's leads; L9's spam call, L10's and L14's calls are not counted.
    # no_answer: L2, L5, L11 ×5 = 7; booked: L1 L2 L4 L7 L12 = 5 (all reached); one each of the rest.
    assert report.outcomes == {
        "no_answer": (7, 0),
        "booked": (5, 5),
        "busy": (1, 0),
        "callback": (1, 1),
        "consulted": (1, 1),
        "declined": (1, 1),
        "voicemail": (1, 0),
        "wrong_number": (1, 0),
    }


def test_by_operator(report):
    # olga: L1 booked, L2 no_answer, L4 busy + booked, L6 declined, L7 callback + booked,
    #       L11 voicemail, L13 wrong_number → 9 calls, 5 reached, 3 booked.
    # ivan: L2 booked, L3 consulted, L5 no_answer, L11 no_answer ×5, L12 booked → 9 calls, 3 reached, 2 booked.
    rows = [(r.name, r.calls, r.reached, r.booked) for r in report.operators]
    assert rows == [("Ivan", 9, 3, 2), ("Olga", 9, 5, 3)]


def test_by_source_and_campaign(report):
    # form: L1 L2 L3 L5 L6 L7 L8 L11 L13 = 9 leads, 11 requests, reached L1 L2 L3 L6 L7 = 5,
    #       booked L1 L2 L7 = 3, attended L1 L7 = 2.   api: L4 L12 = 2, 3 requests, 2 reached, 2 booked.
    assert [(r.key, tuple(vars(r.counts).values())) for r in report.sources] == [
        (("form",), (9, 11, 5, 3, 2)),
        (("api",), (2, 3, 2, 2, 0)),
    ]
    # yandex/spring: L1 L2 L7 L12; google/brand: L3 L5 L11; none: L4 L8 L13; yandex/autumn: L6.
    assert [(r.key, tuple(vars(r.counts).values())) for r in report.campaigns] == [
        (("yandex", "spring"), (4, 6, 4, 4, 2)),
        (("", ""), (3, 4, 1, 1, 0)),
        (("google", "brand"), (3, 3, 1, 0, 0)),
        (("yandex", "autumn"), (1, 1, 1, 0, 0)),
    ]


def test_by_day_of_arrival(report):
    # Mon: L1 L2 L3; Tue: L6 L7; Wed: L8; Thu: L11; Fri: L12 L13; Sat: L4; Sun: L5.
    days = {day: (c.leads, c.reached, c.booked, c.attended) for day, c in report.days.items()}
    assert days == {
        date(2026, 11, 23): (3, 3, 2, 1),
        date(2026, 11, 24): (2, 2, 1, 1),
        date(2026, 11, 25): (1, 0, 0, 0),
        date(2026, 11, 26): (1, 0, 0, 0),
        date(2026, 11, 27): (2, 1, 1, 0),
        date(2026, 11, 28): (1, 1, 1, 0),
        date(2026, 11, 29): (1, 0, 0, 0),
    }


def test_by_weekday_and_hour_of_arrival(report):
    # (weekday Monday = 0, local hour)
    assert report.heat == {
        (0, 10): 2, (0, 19): 1, (1, 8): 1, (1, 12): 1, (2, 14): 1, (3, 11): 1,
        (4, 18): 1, (4, 19): 1, (5, 19): 1, (6, 12): 1,
    }


def test_a_closure_is_not_business_time(app, make_user):
    # Fri 27 is a public holiday here: L13 (Fri 19:30 → Sat 09:30) counts only Saturday's 30 minutes,
    # L12 (Fri 18:00 → 18:20) none.  Called values: 0 3 5 10 0 25 30 30 45 30 →
    # sorted 0 0 3 5 10 25 30 30 30 45: median (10 + 25) / 2 = 17.5; p90 30 + 0.1·15 = 31.5.
    from leads.models import Closure

    db.session.add(Closure(day=date(2026, 11, 27), reason="holiday"))
    store_history(make_user)
    fc = build_report(MONDAY, SUNDAY).first_call
    assert (fc.median, fc.p90, fc.within_sla) == (17.5, 31.5, 5)


def test_an_empty_range_has_zeros_and_no_percentiles(app, make_user):
    store_history(make_user)
    report = build_report(date(2026, 10, 1), date(2026, 10, 31))
    assert report.totals.leads == 0
    assert (report.first_call.median, report.first_call.p90) == (None, None)
    assert report.operators == [] and report.outcomes == {} and report.days == {}


class TestZoneWithDaylightSaving:
    """Berlin leaves summer time on Sunday 25 October 2026 at 03:00 (UTC+2 → UTC+1)."""

    @pytest.fixture
    def app_settings(self):
        return {"CLINIC_TIMEZONE": "Europe/Berlin"}

    BERLIN_LEADS = {
        # Sat 19:50 CEST → Mon 09:05 CET: 10 + 5 business minutes (a fixed offset would say 10 + 65)
        "B1": ("2026-10-24 19:50", "form", "", "", 1, "retry", False, 1, False, None),
        # Sat 23:30 CEST and Sun 23:30 CET: each on its own local day and hour 23
        "B2": ("2026-10-24 23:30", "form", "", "", 1, "new", False, 0, False, None),
        "B3": ("2026-10-25 23:30", "form", "", "", 1, "new", False, 0, False, None),
        # Mon 00:30 CET, in the range; Tue 00:00 is not
        "B4": ("2026-10-26 00:30", "form", "", "", 1, "retry", False, 1, False, None),
        "B5": ("2026-10-27 00:00", "form", "", "", 1, "new", False, 0, False, None),
    }
    BERLIN_CALLS = [
        ("B1", "olga", "2026-10-26 09:05", "no_answer", False),
        ("B4", "olga", "2026-10-26 09:30", "no_answer", False),  # 30 minutes
    ]

    def test_local_days_hours_and_business_minutes(self, app, make_user):
        tz = "Europe/Berlin"
        store_history(make_user, self.BERLIN_LEADS, self.BERLIN_CALLS, [], tz=tz)
        report = build_report(date(2026, 10, 24), date(2026, 10, 26))
        assert report.totals.leads == 4
        assert {d: c.leads for d, c in report.days.items()} == {
            date(2026, 10, 24): 2, date(2026, 10, 25): 1, date(2026, 10, 26): 1,
        }
        assert report.heat == {(5, 19): 1, (5, 23): 1, (6, 23): 1, (0, 0): 1}
        # values 15 and 30: median 22.5, p90 15 + 0.9·15 = 28.5
        assert (report.first_call.median, report.first_call.p90, report.first_call.within_sla) == (22.5, 28.5, 1)
