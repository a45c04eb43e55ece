"""The one check every `next` (and any other user-given way back) goes through."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

# Query parameters that may hold a patient's name, phone or an operator's note.
PERSONAL_PARAMS = frozenset({"q", "note", "name", "phone", "comment"})


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (never an open redirect).

    Refused: absolute URLs, scheme-relative `//host`, backslashes (browsers read
    `/\\host` as `//host`), and any control or space character — browsers strip
    a tab or newline from a URL, so `/<tab>/host` arrives as `//host`, and a
    newline cannot go into a Location header at all.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(not char.isprintable() or char.isspace() for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def without_personal_data(path: str, query: str = "") -> str:
    """`path` with its `query` minus the parameters that may hold personal data (PERSONAL_PARAMS).

    For addresses the desk itself puts in a URL (the login page's `next`), which
    browsers, proxies and access logs keep in full.
    """
    kept = [(key, value) for key, value in parse_qsl(query, keep_blank_values=True) if key not in PERSONAL_PARAMS]
    return f"{path}?{urlencode(kept)}" if kept else path
