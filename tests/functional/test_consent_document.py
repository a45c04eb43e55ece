"""The consent document a request's evidence refers to: rendered once, versioned when it changes."""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, FileSystemLoader

from leads.app import ROOT
from leads.extensions import db
from leads.models import ConsentDocument, LeadRequest
from leads.services.consent import text_sha256

VALID = {"name": "Анна", "phone": "+79161234567", "consent": "y"}


def document_on_page(client, lang: str) -> str:
    """The consent text as /consent shows it in `lang`."""
    html = client.get(f"/consent?lang={lang}").get_data(as_text=True)
    return re.search(r'<article class="consent-document">(.*)</article>', html, re.S).group(1)


def stored_requests() -> list[tuple[int, str]]:
    return db.session.execute(
        sa.select(LeadRequest.consent_version, LeadRequest.consent_sha256).order_by(LeadRequest.id)
    ).all()


def test_an_unchanged_consent_document_keeps_its_version(app, client):
    for phone in ("+79161234567", "+79161234568", "+79161234569"):
        assert client.post("/callback", data={**VALID, "phone": phone}).status_code == 303
    assert [version for version, _ in stored_requests()] == [1, 1, 1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentDocument)) == 1


def test_each_language_keeps_its_own_document(client):
    for lang in ("en", "ru", "en", "ru"):
        client.post(f"/callback?lang={lang}", data={**VALID, "phone": f"+7916123456{len(stored_requests())}"})
    english, russian = document_on_page(client, "en"), document_on_page(client, "ru")
    assert english != russian
    assert [sha for _, sha in stored_requests()] == [text_sha256(text) for text in (english, russian) * 2]
    documents = db.session.execute(sa.select(ConsentDocument.locale, ConsentDocument.version)).all()
    assert sorted(documents) == [("en", 1), ("ru", 1)]


@pytest.fixture
def editable_consent(app, tmp_path):
    """The Russian consent document as a file the test can edit, reloaded like in development."""
    folder = tmp_path / "templates"
    (folder / "consent").mkdir(parents=True)
    path = folder / "consent" / "text_ru.html"
    path.write_text((ROOT / "templates" / "consent" / "text_ru.html").read_text(encoding="utf-8"), encoding="utf-8")
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(folder)), FileSystemLoader(str(ROOT / "templates"))])
    app.jinja_env.auto_reload = True
    return path


def test_an_edited_consent_document_gets_a_new_version(client, editable_consent):
    client.post("/callback", data=VALID)
    first_text = document_on_page(client, "ru")
    edited = editable_consent.read_text(encoding="utf-8") + "<p>Новый пункт.</p>"
    editable_consent.write_text(edited, encoding="utf-8")
    later = os.stat(editable_consent).st_mtime + 10
    os.utime(editable_consent, (later, later))

    client.post("/callback", data={**VALID, "phone": "+79161112233"})
    second_text = document_on_page(client, "ru")

    assert "Новый пункт." in second_text and "Новый пункт." not in first_text
    (v1, sha1), (v2, sha2) = stored_requests()
    assert (v1, v2) == (1, 2)
    assert (sha1, sha2) == (text_sha256(first_text), text_sha256(second_text))


@pytest.mark.parametrize(
    "clinic_name, days, period",
    [("Клиника", 365, "365 дней"), ("Здоровье", 21, "21 день"), ("ООО «Клиника Здоровье»", 3, "3 дня")],
)
def test_the_document_names_the_operator_its_address_and_the_retention_period(app, client, clinic_name, days, period):
    app.config.update(CLINIC_NAME=clinic_name, CLINIC_LEGAL_NAME="", CLINIC_ADDRESS="Москва, ул. Лесная, д. 5",
                      RETENTION_DAYS=days)
    text = re.sub(r"<[^>]+>", "", document_on_page(client, "ru"))
    assert f"Оператор персональных данных (далее — Оператор): {clinic_name}, адрес: Москва, ул. Лесная, д. 5." in text
    assert f"не дольше {period} после последнего обращения" in text
    # The items 152-FZ art. 9 part 4 lists: purposes, data, actions, term, withdrawal.
    for heading in ("Для чего", "Какие данные", "Что Оператор делает с данными", "Сколько действует согласие",
                    "Как отозвать согласие"):
        assert heading in text
    assert "согласие Клиник" not in text and "(далее — Клиника)" not in text


def test_the_legal_name_replaces_the_clinic_s_short_name(app, client):
    app.config.update(CLINIC_NAME="Здоровье", CLINIC_LEGAL_NAME="ООО «Здоровье», ИНН 7701234567")
    assert "ООО «Здоровье», ИНН 7701234567" in document_on_page(client, "en")
