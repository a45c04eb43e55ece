"""The one CSV writer of the desk: every CSV file (reports, a patient's export) is made here.

The files are for Excel with Russian settings and for LibreOffice: UTF-8 with
a BOM, `;` between fields, CRLF line ends.  A text cell that a spreadsheet
would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
return) is written with a leading apostrophe, so it shows as the text it is:
anything a patient or an anonymous visitor typed (a name, a comment, a
`utm_source`) reaches these files (OWASP "CSV injection").
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutral_cell(value: Any) -> str:
    """`value` as CSV cell text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """The rows as one CSV file's text, a BOM first; every cell through `neutral_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows([neutral_cell(cell) for cell in row] for row in rows)
    return "\ufeff" + out.getvalue()
