"""Languages: Russian by default, English by a visible switch (a cookie)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel import Locale
from flask import Flask, current_app, request
from flask_babel import get_locale

from leads.extensions import babel

LANG_COOKIE = "lang"


def select_locale() -> Locale:
    """The language chosen with the switch, else Russian.

    `?lang=` comes first: the widget's frame on another site may get no
    cookies.  Programs calling the JSON API have no switch: Accept-Language
    decides there.
    """
    return _locale(_locale_code())


def _locale_code() -> str:
    languages = current_app.config["LANGUAGES"]
    if not request:
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen is not None and chosen in languages:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@lru_cache(maxsize=8)
def _locale(code: str) -> Locale:
    """One Locale per language and process: Babel's parse looks for the locale's data file each time."""
    return Locale.parse(code)


def select_timezone() -> str:
    """Every time is shown in the clinic's time zone."""
    return current_app.config["CLINIC_TIMEZONE"]


def language_url(code: str) -> str:
    """The switch's link: remember `code` and come back to this page in it.

    In the widget's frame, where the cookie may not stick, the address carries
    `lang` too.  After a form was posted, the way back is the form.
    """
    from urllib.parse import urlencode

    from flask import g, url_for

    in_frame = request.endpoint in ("public.embed", "public.embed_submit") or g.get("frameable", False)
    if request.method == "GET":
        path = request.path
        args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    else:
        path = url_for("public.embed") if request.endpoint == "public.embed_submit" else url_for("public.index")
        args = []
    if in_frame:
        args.append(("lang", code))
    target = f"{path}?{urlencode(args)}" if args else path
    return url_for("public.set_language", code=code, next=target)


def init_app(app: Flask, translations: Path) -> None:
    """Bind Flask-Babel with the project's `translations` folder."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(translations))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def inject_locale():
        return {
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "language_url": language_url,
        }
