"""Every route is either public on purpose or guarded: proved by walking app.url_map.

A route nobody listed as public must send an anonymous person to the login
page (or answer 401 to a program asking for JSON), and must answer 403 to a
signed-in role that has no business there.  A route added later without a
guard makes this test fail, naming the route.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter, UUIDConverter

from leads.auth.access import ADMIN_ROLES, DESK_ROLES, MANAGER_ROLES, ROLES
from tests.conftest import sign_in

# Public on purpose: the patient's side, the JSON API for the clinic's site,
# the login page itself, and static files.
PUBLIC_BLUEPRINTS = {"public", "api"}
PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.login_code"}

# Who may use each guarded area (the rest of the roles must get 403).
AREA_ROLES = {
    "auth": ROLES,  # /logout: anyone signed in
    "operator": DESK_ROLES,
    "manager": MANAGER_ROLES,
    "admin": ADMIN_ROLES,
}

# Routes of an area open to fewer of its roles.
ENDPOINT_ROLES = {"auth.two_factor": MANAGER_ROLES}

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml"}


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.split(".")[0] in PUBLIC_BLUEPRINTS


def dummy_value(converter):
    if isinstance(converter, (IntegerConverter, FloatConverter)):
        return 1
    if isinstance(converter, UUIDConverter):
        return uuid.UUID(int=1)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


def guarded_requests(app):
    """(method, url, rule) for every method of every guarded rule, URLs built with dummy arguments."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if is_public(rule.endpoint):
            continue
        values = {name: dummy_value(conv) for name, conv in rule._converters.items()}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            endpoint, _ = adapter.match(url, method=method)
            assert endpoint == rule.endpoint, f"dummy URL {url} for {rule.endpoint} routes elsewhere; extend dummy_value"
            found.append((method, url, rule))
    return found


def area(rule) -> str:
    return rule.endpoint.split(".")[0]


def roles_of(rule) -> tuple:
    """Who may use the route."""
    return ENDPOINT_ROLES.get(rule.endpoint, AREA_ROLES.get(area(rule), ()))


def test_every_guarded_route_belongs_to_an_area_with_known_roles(app):
    unknown = sorted({rule.endpoint for _, _, rule in guarded_requests(app) if area(rule) not in AREA_ROLES})
    assert not unknown, f"routes neither public nor in AREA_ROLES (say who may use them): {unknown}"


def test_the_walk_covers_the_staff_areas(app):
    walked = {area(rule) for _, _, rule in guarded_requests(app)}
    assert {"auth", "operator", "admin"} <= walked


def test_anonymous_people_are_sent_to_the_login_page(app):
    client = app.test_client()
    failures = []
    for method, url, rule in guarded_requests(app):
        answer = client.open(url, method=method, headers=HTML)
        location = urlsplit(answer.location or "")
        if answer.status_code not in (302, 303) or location.path != "/login":
            failures.append(f"{method} {url} ({rule.endpoint}) -> {answer.status_code} {answer.location}")
    assert not failures, "routes open to anonymous people:\n" + "\n".join(failures)


def test_anonymous_programs_asking_for_json_get_401(app):
    client = app.test_client()
    failures = []
    for method, url, rule in guarded_requests(app):
        answer = client.open(url, method=method, headers=JSON)
        if answer.status_code != 401 or answer.json.get("error") is None:
            failures.append(f"{method} {url} ({rule.endpoint}) -> {answer.status_code}")
    assert not failures, "routes that do not answer 401 to anonymous JSON clients:\n" + "\n".join(failures)


def test_signed_in_roles_outside_an_area_get_403(app, make_user):
    failures = []
    for role in ROLES:
        client = app.test_client()
        sign_in(client, make_user(role))
        for method, url, rule in guarded_requests(app):
            if role in roles_of(rule):
                continue
            answer = client.open(url, method=method, headers=HTML)
            if answer.status_code != 403:
                failures.append(f"{role}: {method} {url} ({rule.endpoint}) -> {answer.status_code}")
    assert not failures, "routes open to roles that may not use them:\n" + "\n".join(failures)


def test_operators_are_refused_the_manager_and_admin_areas(app, operator_client):
    for method, url, rule in guarded_requests(app):
        if area(rule) in ("manager", "admin"):
            assert operator_client.open(url, method=method).status_code == 403, f"{method} {url}"


def test_roles_inside_an_area_are_let_in(app, make_user):
    """The guards are not simply closed: every allowed role opens each page without arguments."""
    failures = []
    for role in ROLES:
        client = app.test_client()
        sign_in(client, make_user(role))
        for method, url, rule in guarded_requests(app):
            if method != "GET" or rule.arguments or role not in roles_of(rule):
                continue
            answer = client.get(url, headers=HTML)
            if answer.status_code in (401, 403) or urlsplit(answer.location or "").path == "/login":
                failures.append(f"{role}: GET {url} ({rule.endpoint}) -> {answer.status_code}")
    assert not failures, "routes closed to roles that should use them:\n" + "\n".join(failures)
