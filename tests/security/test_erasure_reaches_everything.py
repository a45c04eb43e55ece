"""Finding 8: erasure reaches every text column of every table, and the spool.

The audit found the patient's name, phone and e-mail still in `leads.utm_term`,
`leads.utm_content` and `lead_requests.utm` after an erasure, and a spooled
request that a later replay would have brought back.
"""
from __future__ import annotations

from datetime import date

import pytest

from leads.services.erasure import erase_patient
from leads.services.intake import CallbackRequest, request_record, spool
from leads.services.reports import build_report
from leads.domain.promise import promise_call
from leads.services.clinic import calendar_or_default
from leads.services.spool import Spool
from tests.conftest import at
from tests.factories import new_lead
from tests.integration.test_data_rights import (  # noqa: F401  (fixtures)
    ANNA,
    ANNA_TRACES,
    ANNA_TYPED,
    NOW,
    manager,
    operator,
    patient,
    traces_left,
)

EMAIL = "anna.ivanova@mail.example"
TRACES = (*ANNA_TRACES, EMAIL, "anna.ivanova", "916 123 45 67")


@pytest.fixture
def leaky_patient(patient):
    """Anna's details also in every anonymous field a page can pass: utm_*, the page and referrer, a comment."""
    tagged = f"Анна Иванова {ANNA} {EMAIL}"
    new_lead(
        phone="+79161234567",
        name="Анна Иванова",
        created="2026-11-26 09:30",
        comment=f"пишите на {EMAIL}",
        utm_source=f"Анна {EMAIL}",
        utm_medium="8 916 123 45 67",
        utm_campaign=f"Иванова-{ANNA}",
        utm_term=tagged[:100],
        utm_content=tagged[:100],
        page_url=f"https://clinic.example/?email={EMAIL}&phone=89161234567",
    )
    return patient


def spool_anna_and_boris(now):
    """A request of each waiting in the spool, and one of Anna's the database refused, in the dead letters."""
    calendar = calendar_or_default(now)
    for name, phone in (("Анна Иванова", ANNA), ("Борис Смирнов", "+79035550011")):
        request = CallbackRequest(
            name=name, phone=phone, consent_text="v1", locale="ru", comment=f"{EMAIL if phone == ANNA else ''}",
            utm={"utm_term": name},
        )
        record = request_record(request, f"spooled-{phone[-4:]}-aaaaaaaa", now, promise_call(calendar, now, 15, None))
        spool().append(record)
        if phone == ANNA:
            spool().dead_letter(record, "refused by the database")


def test_after_erasure_no_trace_is_left_in_any_column_cell_or_the_spool(app, leaky_patient, manager):
    spool_anna_and_boris(at("2026-11-27 11:00"))
    assert traces_left(TRACES)

    erase_patient(ANNA_TYPED, manager.id, ip="192.0.2.1", now=NOW)

    assert traces_left(TRACES) == []
    files = Spool(app.config["SPOOL_PATH"])
    left = files.path.read_text(encoding="utf-8")
    assert not [needle for needle in TRACES if needle in left + files.dead_letter_path.read_text(encoding="utf-8")]
    assert "Борис Смирнов" in left  # another patient's request still waits for the database


def test_the_report_s_campaigns_still_add_up_after_erasure(app, leaky_patient, manager):
    before = build_report(date(2026, 11, 23), date(2026, 11, 27))
    erase_patient(ANNA_TYPED, manager.id, now=NOW)
    after = build_report(date(2026, 11, 23), date(2026, 11, 27))
    assert after.totals == before.totals
    assert sum(row.counts.leads for row in after.campaigns) == sum(row.counts.leads for row in before.campaigns)
