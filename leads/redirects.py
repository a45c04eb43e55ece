"""The one check every `next` (and any other user-given way back) goes through."""
from __future__ import annotations

from urllib.parse import urlsplit


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
