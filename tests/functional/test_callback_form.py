"""The patient's request form: GET /, POST /callback, the thanks page."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import time_machine

from leads.extensions import db
from leads.models import Lead, LeadEvent, LeadRequest
from leads.services.consent import text_sha256
from tests.conftest import at

VALID = {"name": "Анна-Мария О'Нил", "phone": "8 (916) 123-45-67", "consent": "y"}
MONDAY_MORNING = at("2026-11-23 10:00")


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def field_errors(response) -> dict[str, str]:
    """{field id: message} as the page shows them next to the fields."""
    html = response.get_data(as_text=True)
    return dict(re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]+)</p>', html))


def input_value(response, name: str) -> str | None:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', response.get_data(as_text=True))
    return match.group(1) if match else None


def test_form_shows_three_required_fields_consent_link_and_hours(client):
    html = client.get("/").get_data(as_text=True)
    for name in ("name", "phone", "consent"):
        assert re.search(rf'name="{name}"[^>]*required', html), name
    assert 'href="/consent"' in html
    assert "09:00–20:00" in html
    assert 'name="website"' in html  # the honeypot is there, hidden by CSS


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_valid_request_is_stored_and_the_patient_is_told_when_we_call(client):
    response = client.post("/callback", data=VALID)
    assert response.status_code == 303
    assert re.fullmatch(r"/thanks/[A-Za-z0-9_-]{16,32}", response.headers["Location"])
    client.set_cookie("lang", "en")
    thanks = client.get(response.headers["Location"])
    assert "We will call you within 15 minutes." in thanks.get_data(as_text=True)
    lead = db.session.scalar(sa.select(Lead))
    assert (lead.name, lead.phone, lead.state, lead.request_count) == ("Анна-Мария О'Нил", "+79161234567", "new", 1)


@time_machine.travel(at("2026-11-28 19:50"), tick=False)
def test_on_saturday_evening_the_promise_is_monday_morning(client):
    location = client.post("/callback", data=VALID).headers["Location"]
    client.set_cookie("lang", "en")
    assert "We will call you on Monday 30 November after 09:00." in client.get(location).get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "Enter your name."),
        ({"name": "   "}, "name", "Enter your name."),
        ({"name": "А" * 101}, "name", "at most 100 characters"),
        ({"name": "Ann\x00"}, "name", "characters that cannot be used"),
        ({"name": "Ann\nSmith"}, "name", "characters that cannot be used"),
        ({"phone": ""}, "phone", "Enter your phone number."),
        ({"phone": "123"}, "phone", "Enter a phone number we can call"),
        ({"phone": "+7 999"}, "phone", "Enter a phone number we can call"),
        ({"phone": "9" * 41}, "phone", "too long"),
        ({"consent": ""}, "consent", "Tick the box"),
        ({"comment": "x" * 501}, "comment", "at most 500 characters"),
        ({"comment": "bad\x07bell"}, "comment", "characters that cannot be used"),
        ({"preferred_time": "2026-11-23T03:00:00+00:00"}, "preferred_time", "Choose one of the times offered"),
        ({"preferred_time": "yesterday"}, "preferred_time", "Choose one of the times offered"),
    ],
)
@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_bad_field_gets_its_message_beside_it_and_nothing_is_stored(client, data, field, message):
    client.set_cookie("lang", "en")
    response = client.post("/callback", data={**VALID, **data})
    assert response.status_code == 422
    errors = field_errors(response)
    assert list(errors) == [field]
    assert message in errors[field]
    assert count(Lead) == 0 and count(LeadRequest) == 0


def test_the_other_fields_keep_what_was_typed(client):
    response = client.post("/callback", data={**VALID, "phone": "123", "comment": "Болит спина"})
    assert input_value(response, "name") == "Анна-Мария О&#39;Нил"
    assert input_value(response, "phone") == "123"
    assert "Болит спина</textarea>" in response.get_data(as_text=True)


def test_messages_are_russian_by_default(client):
    errors = field_errors(client.post("/callback", data={**VALID, "name": ""}))
    assert errors["name"] == "Введите ваше имя."


@pytest.mark.parametrize(
    "name", ["Анна-Мария О'Нил", "李小龙", "José Núñez", "Ἀριστοτέλης", "محمد", "A"]
)
def test_names_in_any_script_are_accepted(client, name):
    assert client.post("/callback", data={**VALID, "name": name}).status_code == 303
    assert db.session.scalar(sa.select(Lead.name)) == name


@pytest.mark.parametrize("phone", ["8 (916) 123-45-67", "+7 916 123-45-67", "89161234567", "+79161234567"])
def test_phone_formats_are_one_number(client, phone):
    client.post("/callback", data={**VALID, "phone": phone})
    assert db.session.scalar(sa.select(Lead.phone)) == "+79161234567"


def test_a_repeat_request_adds_to_the_open_lead_and_looks_the_same(client):
    first = client.post("/callback", data=VALID)
    second = client.post("/callback", data={**VALID, "phone": "+7 916 123-45-67", "name": "Анна"})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] != second.headers["Location"]
    first_page = client.get(first.headers["Location"]).get_data(as_text=True)
    second_page = client.get(second.headers["Location"]).get_data(as_text=True)
    # The pages differ only by their own address.
    assert first_page.replace(first.headers["Location"], "") == second_page.replace(second.headers["Location"], "")
    lead = db.session.scalar(sa.select(Lead))
    assert count(Lead) == 1 and lead.request_count == 2 and count(LeadRequest) == 2
    kinds = db.session.scalars(sa.select(LeadEvent.kind).order_by(LeadEvent.id)).all()
    assert kinds == ["created", "repeat_request"]


def test_a_request_after_the_lead_was_closed_opens_a_new_lead(client):
    client.post("/callback", data=VALID)
    db.session.execute(sa.update(Lead).values(state="closed", close_reason="consulted"))
    db.session.commit()
    client.post("/callback", data=VALID)
    assert count(Lead) == 2


def test_consent_evidence_is_stored_with_each_request(client):
    client.post(
        "/callback",
        data={**VALID, "page_url": "https://clinic.example/doctors?utm_source=ya"},
        headers={"User-Agent": "Mozilla/5.0 test"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    request_row = db.session.scalar(sa.select(LeadRequest))
    shown = client.get("/consent").get_data(as_text=True)
    assert request_row.consent_version == 1
    assert request_row.consent_sha256 == text_sha256(request_row_document(request_row))
    assert request_row_document(request_row) in shown  # the hash is of the text the page shows
    assert (request_row.ip, request_row.user_agent) == ("203.0.113.9", "Mozilla/5.0 test")
    assert request_row.page_url == "https://clinic.example/doctors?utm_source=ya"
    assert request_row.consent_at is not None and request_row.marketing_consent is False


def request_row_document(request_row) -> str:
    from leads.models import ConsentDocument

    return db.session.get(ConsentDocument, request_row.consent_document_id).body


def test_changing_the_consent_text_yields_a_new_version(client, app, monkeypatch):
    client.post("/callback", data=VALID)
    import leads.public.submission as submission

    original = submission.consent_text
    monkeypatch.setattr(submission, "consent_text", lambda locale=None: original(locale) + "<p>Новый пункт.</p>")
    client.post("/callback", data={**VALID, "phone": "+79161112233"})
    versions = db.session.execute(
        sa.select(LeadRequest.consent_version, LeadRequest.consent_sha256).order_by(LeadRequest.id)
    ).all()
    assert [v for v, _ in versions] == [1, 2]
    assert versions[0][1] != versions[1][1]


def test_marketing_consent_is_a_separate_box(client):
    client.post("/callback", data={**VALID, "marketing_consent": "y"})
    assert db.session.scalar(sa.select(LeadRequest.marketing_consent)) is True


def test_utm_and_page_are_captured_from_the_form_page(client):
    page = client.get("/?utm_source=yandex&utm_campaign=spring")
    assert input_value(page, "utm_source") == "yandex"
    client.post("/callback", data={**VALID, "utm_source": "yandex", "utm_campaign": "spring"})
    lead = db.session.scalar(sa.select(Lead))
    assert (lead.utm_source, lead.utm_campaign) == ("yandex", "spring")


def test_a_javascript_url_is_not_kept_as_the_page(client):
    client.post("/callback", data={**VALID, "page_url": "javascript:alert(1)"})
    assert db.session.scalar(sa.select(Lead.page_url)) == ""


def test_an_unknown_thanks_id_looks_like_any_other(client):
    assert client.get("/thanks/" + "a" * 22).status_code == 200
    assert client.get("/thanks/not-an-id").status_code == 404


def test_language_switch_sets_english_and_returns_to_the_page(client):
    response = client.get("/lang/en?next=/consent")
    assert response.status_code == 303 and response.headers["Location"] == "/consent"
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "Consent to the processing of personal data" in client.get("/consent").get_data(as_text=True)
    assert client.get("/lang/en?next=//evil.example").headers["Location"] == "/"
    assert client.get("/lang/de").status_code == 404


def test_the_language_switch_on_a_form_with_errors_leads_back_to_the_form(client):
    html = client.post("/callback", data={**VALID, "phone": "123"}).get_data(as_text=True)
    link = re.search(r'href="(/lang/en[^"]*)"', html).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_in_the_widget_frame_the_language_travels_in_the_address(client):
    html = client.get("/embed?page=https://clinic.example/").get_data(as_text=True)
    link = re.search(r'href="(/lang/en[^"]*)"', html).group(1).replace("&amp;", "&")
    assert client.get(link).headers["Location"] == "/embed?page=https%3A%2F%2Fclinic.example%2F&lang=en"


def test_a_new_request_from_a_do_not_call_number_is_stored_and_flagged(client):
    from leads.models import DoNotCall

    db.session.add(DoNotCall(phone="+79161234567"))
    db.session.commit()
    assert client.post("/callback", data=VALID).status_code == 303
    assert db.session.get(DoNotCall, "+79161234567") is not None
    kinds = db.session.scalars(sa.select(LeadEvent.kind).order_by(LeadEvent.id)).all()
    assert kinds == ["created", "on_do_not_call_list"]


def test_a_number_kept_on_the_list_only_as_its_anonymised_key_is_still_flagged(client):
    from leads.models import DoNotCall
    from leads.services.data_rights import do_not_call_key

    db.session.add(DoNotCall(phone=do_not_call_key("+79161234567")))
    db.session.commit()
    client.post("/callback", data=VALID)
    kinds = db.session.scalars(sa.select(LeadEvent.kind).order_by(LeadEvent.id)).all()
    assert kinds == ["created", "on_do_not_call_list"]
