"""Versions of the consent document, identified by the SHA-256 of their text."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from flask import render_template
from flask_babel import get_locale
from sqlalchemy.exc import IntegrityError

from leads.extensions import db
from leads.models import ConsentDocument


@dataclass(frozen=True)
class ConsentVersion:
    """The consent text a patient saw: its row, version number and hash."""

    id: int
    version: int
    sha256: str


# database engine -> SHA-256 of the text -> version; a text, once stored, never changes its number.
_known: WeakKeyDictionary[sa.Engine, dict[str, ConsentVersion]] = WeakKeyDictionary()


def text_sha256(body: str) -> str:
    """SHA-256 of the exact text, as hex."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def consent_version(locale: str, body: str) -> ConsentVersion:
    """The stored version of this exact text, recording a new version if the text changed.

    Commits only when a new version is recorded.  Two processes seeing a new
    text at once race on the unique hash; the loser reads the winner's row.
    """
    known = _known.setdefault(db.engine, {})
    digest = text_sha256(body)
    if digest in known:
        return known[digest]
    for _ in range(3):
        row = db.session.scalar(sa.select(ConsentDocument).where(ConsentDocument.sha256 == digest))
        if row is None:
            latest = db.session.scalar(
                sa.select(sa.func.max(ConsentDocument.version)).where(ConsentDocument.locale == locale)
            )
            row = ConsentDocument(locale=locale, version=(latest or 0) + 1, sha256=digest, body=body)
            db.session.add(row)
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                continue
        found = ConsentVersion(id=row.id, version=row.version, sha256=row.sha256)
        known[digest] = found
        return found
    raise RuntimeError("could not record the consent document version")


def forget_cached_versions() -> None:
    """Drop the in-process cache (tests that recreate the database use it)."""
    _known.clear()


def consent_text(locale: str | None = None) -> str:
    """The consent document exactly as shown at /consent, in `locale` (its SHA-256 identifies the version)."""
    locale = locale or str(get_locale())
    return render_template(f"consent/text_{locale}.html")
