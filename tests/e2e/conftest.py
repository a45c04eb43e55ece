"""Browser tests: the app on a live server, a clinic's site on another origin, Chromium.

Fixtures for every e2e module:

- ``live_server``: the app served over HTTP in a background thread, on a clean
  database for each test.  ``live_server.url`` (no trailing slash),
  ``live_server.app`` (use ``with live_server.app.app_context():`` to read or
  seed the database; ``live_server.app.config`` may be changed at run time).
  A module changes settings by redefining ``live_app_settings`` (module scope).
- ``host_site``: a tiny static server on another port (another origin) that
  plays the clinic's website; ``host_site.url_for(path)``, ``host_site.origin``,
  ``host_site.add(path, html)``.  ``/clinic.html`` carries the widget snippet.
- ``page``, ``context``, ``browser``: pytest-playwright's, on Debian's Chromium
  (never ``playwright install``).  ``--headed`` and ``--slowmo`` still work.
  Per module or test: ``pytest.mark.browser_context_args(viewport=...)``.
- ``console_messages``: everything the page (and its frames) logged.

Without /usr/bin/chromium the browser tests are skipped, unless
REQUIRE_BROWSER=1 (CI), which turns the skip into a failure.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from leads.app import create_app
from leads.extensions import db, limiter
from leads.services.consent import forget_cached_versions

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    """Everything under tests/e2e drives a browser: mark it e2e."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


# --- the browser -----------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at Debian's Chromium."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {message}", pytrace=False)
        pytest.skip(message)
    args = list(CHROMIUM_ARGS)
    if browser_type_launch_args.get("headless") is False:  # --headed
        args.remove("--headless")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}


@pytest.fixture
def console_messages(page):
    """(type, text) of every console message of `page`, its frames included."""
    messages: list[tuple[str, str]] = []
    page.on("console", lambda message: messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: messages.append(("pageerror", str(error))))
    return messages


# --- the clinic's website (another origin) ---------------------------------


@dataclass
class HostSite:
    """A static site on its own port; pages are kept in memory."""

    origin: str
    pages: dict[str, str] = field(default_factory=dict)

    def url_for(self, path: str) -> str:
        return f"{self.origin}{path}"

    def add(self, path: str, html: str) -> str:
        """Serve `html` at `path` (query strings are ignored); returns its URL."""
        self.pages[path] = html
        return self.url_for(path)


def widget_page(desk_url: str, attributes: str = "", title: str = "Клиника «Здоровье»") -> str:
    """A clinic page with the one-line snippet (and a link before it, for focus tests)."""
    return f"""<!doctype html>
<html lang="ru">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <style>body {{ font-family: Georgia, serif; margin: 2rem; }} button {{ background: red; }}</style>
</head>
<body>
  <h1>{title}</h1>
  <p>Мы работаем с понедельника по субботу. <a href="#services" id="services-link">Услуги</a></p>
  <script src="{desk_url}/static/widget.js" {attributes} defer></script>
</body>
</html>
"""


def _handler_for(site: HostSite):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            body = site.pages.get(path)
            if body is None:
                self.send_error(404)
                return
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep the test output clean
            pass

    return Handler


@pytest.fixture(scope="module")
def host_site():
    """The clinic's site: 127.0.0.1 on another port, i.e. another origin (same site)."""
    site = HostSite(origin="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(site))
    server.daemon_threads = True
    site.origin = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="host-site", daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


# --- the app on a live server ----------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: object
    port: int


@pytest.fixture(scope="module")
def live_app_settings() -> dict:
    """Extra settings for this module's live app (redefine in a module to change)."""
    return {}


@pytest.fixture(scope="module")
def _live_server(tmp_path_factory, host_site, live_app_settings):
    """One running app per module (a fresh database file), served by werkzeug."""
    tmp = tmp_path_factory.mktemp("live")
    settings = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'e2e.sqlite3'}",
        "SPOOL_PATH": str(tmp / "spool.jsonl"),
        "WTF_CSRF_ENABLED": True,
        "MIN_FILL_SECONDS": 0,
        "EMBED_ALLOWED_ORIGINS": [host_site.origin],
        **live_app_settings,
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(tmp / "instance"))
        app = create_app("testing", settings)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, port=server.server_port)
    server.shutdown()
    server.server_close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(_live_server, host_site):
    """The live app with an empty database, reset rate limits and the default host page."""
    app = _live_server.app
    forget_cached_versions()
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        if app.config["RATELIMIT_ENABLED"]:
            limiter.reset()
        db.session.remove()
    host_site.add("/clinic.html", widget_page(_live_server.url))
    host_site.add("/clinic-en.html", widget_page(_live_server.url, 'data-lang="en"', "Health Clinic"))
    yield _live_server
    forget_cached_versions()


# -- the staff side: one operator, signing in through the real login page ----------------------

OPERATOR_PASSWORD = "correct horse battery"


def add_operator(username: str = "olga") -> None:
    """An active operator (call inside the live app's context)."""
    from werkzeug.security import generate_password_hash

    from leads.models import User

    db.session.add(
        User(
            username=username,
            display_name=username.title(),
            role="operator",
            # One PBKDF2 round: these tests are about the pages, not the hash.
            password_hash=generate_password_hash(OPERATOR_PASSWORD, method="pbkdf2:sha256:1"),
            active=True,
        )
    )
    db.session.commit()


def database_reader(app):
    """read(fn): fn's result, run in a fresh context of the live app (its own session)."""

    def read(fn):
        with app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    return read


def sign_in(page, desk, username: str = "olga") -> None:
    """Through the real login page, in English (the language switch's cookie)."""
    from playwright.sync_api import expect

    page.context.add_cookies([{"name": "lang", "value": "en", "url": desk.url}])
    page.goto(f"{desk.url}/login?next=/operator/")
    page.locator("#username").fill(username)
    page.locator("#password").fill(OPERATOR_PASSWORD)
    page.locator("form.login-form button[type=submit]").click()
    expect(page).to_have_url(f"{desk.url}/operator/")
