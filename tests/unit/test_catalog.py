"""Every string a person may read has its Russian translation: the catalog is checked against
the strings extracted from the code and templates right now (as `make messages` extracts them)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
RUSSIAN = ROOT / "translations" / "ru" / "LC_MESSAGES" / "messages.po"


def extracted(tmp_path: Path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "-k", "_l", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as source:
        return read_po(source)


def untranslated(template, catalog) -> list[str]:
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = found.string if found is not None and isinstance(found.string, tuple) else (found and (found.string,))
        if found is None or found.fuzzy or not all(strings):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            missing.append(f"{message.context + '|' if message.context else ''}{message.id!r} ({where})")
    return missing


def test_every_message_in_code_and_templates_has_a_russian_translation(tmp_path):
    with RUSSIAN.open("rb") as source:
        catalog = read_po(source, locale="ru")
    missing = untranslated(extracted(tmp_path), catalog)
    assert not missing, "no Russian translation (add it to messages.po):\n" + "\n".join(missing)


def test_the_check_finds_a_message_without_translation(tmp_path):
    from babel.messages.catalog import Catalog

    template, catalog = Catalog(), Catalog(locale="ru")
    template.add("Call back later", locations=[("x.html", 1)])
    template.add("New", context="queue counter", locations=[("y.html", 2)])
    catalog.add("Call back later", "Перезвонить позже")
    catalog.add("New", "Новый")  # without the context: another message
    assert untranslated(template, catalog) == ["queue counter|'New' (y.html:2)"]
