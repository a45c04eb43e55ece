"""The lead card (what it shows, the audit row it leaves) and finding leads by phone or name."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leads.domain.contact import InvalidField
from leads.extensions import db
from leads.models import AuditEntry
from leads.services.audit import lead_audit_trail
from leads.services.calls import record_outcome
from leads.services.leads import name_pattern, open_lead_card, search_leads
from leads.services.errors import LeadNotFound
from tests.conftest import at, utc
from tests.factories import MONDAY_10, new_lead


@pytest.fixture
def operator(make_user):
    return make_user("operator", "olga")


# -- the card ----------------------------------------------------------------------------------


def test_opening_a_card_leaves_an_audit_row_with_who_when_and_where(app, operator):
    lead_id = new_lead()

    open_lead_card(lead_id, operator.id, ip="10.0.0.7", now=MONDAY_10)

    entry = db.session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.user_id, entry.lead_id, entry.ip, entry.at) == (
        "open_card", operator.id, lead_id, "10.0.0.7", utc(MONDAY_10)
    )
    [line] = lead_audit_trail(lead_id)
    assert (line.user_name, line.action, line.ip) == ("Olga", "open_card", "10.0.0.7")


def test_the_audit_trail_lists_card_openings_and_outcomes_newest_first(app, operator, make_user):
    manager = make_user("manager", "maria")
    lead_id = new_lead()
    open_lead_card(lead_id, operator.id, now=MONDAY_10)
    record_outcome(lead_id, operator.id, "busy", now=MONDAY_10 + timedelta(minutes=1))
    open_lead_card(lead_id, manager.id, now=MONDAY_10 + timedelta(minutes=2))

    trail = lead_audit_trail(lead_id)

    assert [(line.user_name, line.action) for line in trail] == [
        ("Maria", "open_card"), ("Olga", "outcome"), ("Olga", "open_card")
    ]
    assert "busy" in trail[1].detail


def test_an_unknown_lead_has_no_card_and_leaves_no_audit_row(app, operator):
    with pytest.raises(LeadNotFound):
        open_lead_card(424242, operator.id, now=MONDAY_10)

    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_the_card_shows_every_request_with_its_consent_evidence(app, operator):
    lead_id = new_lead(created="2026-11-23 09:30")
    assert new_lead(created="2026-11-23 09:40") == lead_id  # a repeat request, same open lead

    card = open_lead_card(lead_id, operator.id, now=MONDAY_10)

    assert card.lead.request_count == 2
    assert [r.at for r in card.requests] == [utc(at("2026-11-23 09:40")), utc(at("2026-11-23 09:30"))]
    first = card.requests[-1]
    assert (first.source, first.page_url, first.comment, first.marketing_consent) == (
        "form", "https://clinic.example/therapy", "Хочу к терапевту", True
    )
    assert "utm_source=yandex" in first.utm and "utm_campaign=spring" in first.utm
    assert first.consent_version == 1 and len(first.consent_sha256) == 64


def test_the_card_shows_earlier_leads_of_the_phone_with_their_calls(app, operator):
    earlier = new_lead(created="2026-11-20 10:00")
    record_outcome(earlier, operator.id, "declined", note="передумала", now=at("2026-11-20 10:05"))
    current = new_lead(created="2026-11-23 09:30")
    new_lead(phone="+79169999999")  # somebody else

    card = open_lead_card(current, operator.id, now=MONDAY_10)

    [other] = card.other_leads
    assert (other.lead_id, other.state, other.close_reason) == (earlier, "closed", "declined")
    [call] = other.calls
    assert (call.outcome, call.note, call.user_name) == ("declined", "передумала", "Olga")


def test_the_timeline_merges_events_and_calls_newest_first_with_names(app, operator):
    lead_id = new_lead(created="2026-11-23 09:30")
    new_lead(created="2026-11-23 09:40")
    record_outcome(lead_id, operator.id, "no_answer", note="гудки", now=at("2026-11-23 09:50"))

    card = open_lead_card(lead_id, operator.id, now=MONDAY_10)

    assert [(e.kind, e.outcome, e.user_name) for e in card.timeline] == [
        ("", "no_answer", "Olga"),
        ("repeat_request", "", ""),
        ("created", "", ""),
    ]
    assert card.timeline[0].note == "гудки"
    assert card.timeline[0].next_call_at == utc(at("2026-11-23 10:05"))


def test_the_card_names_the_holder_of_a_live_claim_only(app, operator, make_user):
    holder = make_user("operator", "ivan")
    lead_id = new_lead(claimed_by_id=holder.id, claim_expires_at=MONDAY_10 + timedelta(minutes=3))

    live = open_lead_card(lead_id, operator.id, now=MONDAY_10)
    expired = open_lead_card(lead_id, operator.id, now=MONDAY_10 + timedelta(minutes=3))

    assert (live.holder_id, live.holder_name) == (holder.id, "Ivan")
    assert (expired.holder_id, expired.holder_name) == (None, "")


def test_a_phone_on_the_do_not_call_list_is_flagged_on_its_next_lead(app, operator):
    first = new_lead(created="2026-11-20 10:00")
    record_outcome(first, operator.id, "do_not_call", now=at("2026-11-20 10:05"))
    again = new_lead(created="2026-11-23 09:30")
    unrelated = new_lead(phone="+79169999999")

    assert open_lead_card(again, operator.id, now=MONDAY_10).on_do_not_call is True
    assert open_lead_card(unrelated, operator.id, now=MONDAY_10).on_do_not_call is False


# -- search ------------------------------------------------------------------------------------


@pytest.fixture
def book(app):
    """Three patients: two Cyrillic names, one Latin."""
    return {
        "anna": new_lead(phone="+79161234567", name="Анна Иванова"),
        "petr": new_lead(phone="+74993222308", name="Пётр Соколов"),
        "john": new_lead(phone="+79035550011", name="John Smith"),
    }


def found(query: str, state: str | None = None) -> list[int]:
    return [hit.lead_id for hit in search_leads(query, state)]


@pytest.mark.parametrize(
    "query",
    ["+7 916 123-45-67", "8 (916) 123-45-67", "89161234567", "+79161234567", "916 123 45 67", "4567", "8916123", "123-45"],
)
def test_a_phone_is_found_written_in_any_format_or_by_part_of_it(book, query):
    assert found(query) == [book["anna"]]


@pytest.mark.parametrize("query", ["иванова", "ИВАНОВА", "анна ив", "  Анна   Иванова ", "иВаНоВа"])
def test_a_cyrillic_name_is_found_in_any_case(book, query):
    assert found(query) == [book["anna"]]


@pytest.mark.parametrize("query", ["петр", "ПЁТР", "Петр Соколов"])
def test_ye_and_yo_are_the_same_letter_for_search(book, query):
    assert found(query) == [book["petr"]]


def test_a_latin_name_is_found_in_any_case(book):
    assert found("sMiTh") == [book["john"]]


def test_search_filters_by_state(book, make_user):
    operator = make_user("operator")
    record_outcome(book["anna"], operator.id, "declined", now=MONDAY_10)

    assert found("9161", "closed") == [book["anna"]]
    assert found("9161", "new") == []
    assert set(found("", "new")) == {book["petr"], book["john"]}


@pytest.mark.parametrize("query", ["", "   ", "45", "%", "_", ".*", "Анна (", "[а-я]", "\\"])
def test_search_that_could_match_everyone_or_break_sql_finds_nothing_wrong(book, query):
    hits = found(query)
    assert hits in ([], [book["anna"]])  # "Анна (" finds Anna; nothing else may list the book


def test_an_unknown_state_is_refused(app):
    with pytest.raises(InvalidField) as refused:
        search_leads("анна", "lost")
    assert refused.value.field == "state"


def test_the_name_pattern_spells_out_each_letter_case():
    assert name_pattern("Ан-на") == "[Аа][Нн]-[Нн][Аа]"
    assert name_pattern("ёж") == "[ЁЕеё][Жж]"
    assert name_pattern("(%)") is None
