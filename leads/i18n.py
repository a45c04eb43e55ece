"""Languages: Russian by default, English by a visible switch (a cookie)."""
from __future__ import annotations

from flask import Flask, current_app, request

from leads.extensions import babel

LANG_COOKIE = "lang"


def select_locale() -> str:
    """The language chosen with the switch, else Russian.

    Programs calling the JSON API have no switch: Accept-Language decides there.
    """
    languages = current_app.config["LANGUAGES"]
    if not request:
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Every time is shown in the clinic's time zone."""
    return current_app.config["CLINIC_TIMEZONE"]


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the project's translations folder."""
    from leads import ROOT

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "translations"))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def inject_locale():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}
