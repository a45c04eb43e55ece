"""Flask's signed-cookie session, with its signing serializer made once per set of keys."""
from __future__ import annotations

from flask import Flask, Response
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer


class SessionCookie(SecureCookieSessionInterface):
    """The same cookie, signature and contents as Flask's own session interface.

    Flask builds a new serializer (keys, salt, signer) at the start and the end
    of every request; it holds nothing that changes between requests, so one
    per secret key (and SECRET_KEY_FALLBACKS) is built and kept.  An empty
    session left unchanged (every call to the JSON API) is closed without
    reading the cookie settings, as Flask would close it: no cookie, and
    `Vary: Cookie` only if the request looked into it.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        fallbacks = app.config["SECRET_KEY_FALLBACKS"]
        key = (app.secret_key, tuple(fallbacks) if fallbacks else ())
        serializer = self._serializers.get(key, False)
        if serializer is False:
            if len(self._serializers) > 8:  # keys changed at run time (tests): forget the old ones
                self._serializers.clear()
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
