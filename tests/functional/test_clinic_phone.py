"""The clinic's number (CLINIC_PHONE) wherever a patient may need to call instead (issue 10, defect 5)."""
from __future__ import annotations

import pytest

PHONE = "+7 (495) 123-45-67"
LINK = 'href="tel:+74951234567"'


@pytest.fixture
def app_settings():
    return {"CLINIC_PHONE": PHONE, "RATELIMIT_ENABLED": True, "RATELIMIT_CALLBACK": "1 per minute"}


def test_the_form_the_thanks_page_the_rate_limit_and_error_pages_give_the_number(client):
    data = {"name": "Пётр", "phone": "+79161234567", "consent": "y"}
    form = client.get("/").get_data(as_text=True)
    sent = client.post("/callback", data=data)
    thanks = client.get(sent.headers["Location"]).get_data(as_text=True)
    limited = client.post("/callback", data=data)
    missing = client.get("/no-such-page")
    assert limited.status_code == 429 and missing.status_code == 404
    for page in (form, thanks, limited.get_data(as_text=True), missing.get_data(as_text=True)):
        assert PHONE in page and LINK in page


def test_without_a_number_the_rate_limit_page_still_says_to_call(app, client):
    app.config["CLINIC_PHONE"] = ""
    data = {"name": "Пётр", "phone": "+79161234567", "consent": "y"}
    client.post("/callback", data=data)
    limited = client.post("/callback", data=data).get_data(as_text=True)
    assert "tel:" not in limited and "позвоните в клинику" in limited
