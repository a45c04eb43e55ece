"""Routes of the patient's side. Views parse, call one service, and answer."""
from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, get_locale, lazy_gettext as _l

from leads.domain.contact import format_phone
from leads.domain.promise import preferred_windows, promise_call
from leads.errors import error_response
from leads.extensions import csrf, limiter
from leads.i18n import LANG_COOKIE
from leads.public import bp
from leads.public.forms import (
    CallbackForm,
    honeypot_filled,
    read_started,
    sent_too_fast,
    started_is_valid,
    started_token,
)
from leads.redirects import local_path
from leads.public.promise_text import describe_promise
from leads.public.submission import parse, submit
from leads.services.consent import consent_text
from leads.services.clinic import calendar_or_default, now_utc
from leads.services.health import health_report
from leads.services.intake import UTM_KEYS, promise_for_request, recent_request_phone

PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def callback_rate_limit() -> str:
    """Per-IP limits on sending the form (RATELIMIT_CALLBACK)."""
    return current_app.config["RATELIMIT_CALLBACK"]


def opening_hours_rows(calendar) -> list[tuple[str, str]]:
    """The weekly plan as (weekday names, hours) rows for the page footer."""
    rows: list[tuple[str, str]] = []
    reference = now_utc().date()
    monday = reference.fromordinal(reference.toordinal() - reference.weekday())
    for weekday in range(7):
        day = monday.fromordinal(monday.toordinal() + weekday)
        hours = calendar.weekly_plan.get(weekday)
        text = f"{hours[0]:%H:%M}–{hours[1]:%H:%M}" if hours else str(_l("closed"))
        name = format_date(day, "EEE")
        if rows and rows[-1][1] == text:
            first = rows[-1][0].split("–")[0]
            rows[-1] = (f"{first}–{name}", text)
        else:
            rows.append((name, text))
    return rows


def window_choices(calendar, now) -> list[tuple[str, str]]:
    """'As soon as possible' and the half-hour windows of the next working days."""
    tz = calendar.tz
    choices = [("", str(_l("As soon as possible")))]
    for start, end in preferred_windows(calendar, now, days=current_app.config["PREFERRED_WINDOW_DAYS"]):
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        label = f"{format_date(local_start.date(), 'EEE d MMMM')}, {local_start:%H:%M}–{local_end:%H:%M}"
        choices.append((start.isoformat(), label))
    return choices


def public_url(path: str) -> str:
    """`path` on this desk as the public sees it: PUBLIC_BASE_URL + path, never built from the Host header.

    Without PUBLIC_BASE_URL the path alone (a URL relative to the desk).
    """
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def _safe_url(value: str | None) -> str:
    """An http(s) URL as given, or nothing (never a javascript: link in the operator's view)."""
    value = (value or "").strip()[:500]
    return value if urlsplit(value).scheme in ("http", "https") else ""


def _render_form(form: CallbackForm, template: str, status: int = 200, form_error: str | None = None):
    now = now_utc()
    calendar = calendar_or_default(now)
    form.preferred_time.choices = window_choices(calendar, now)
    sla_minutes = current_app.config["CALLBACK_SLA_MINUTES"]
    # Outside the hours (or too near closing), the page says before the button when the call will come.
    promise = promise_call(calendar, now, sla_minutes)
    html = render_template(
        template,
        form=form,
        hours=opening_hours_rows(calendar),
        is_open=calendar.is_open(now),
        sla_minutes=sla_minutes,
        later_promise=describe_promise(promise, calendar.tz, now) if promise.kind == "after" else "",
        in_widget=request.args.get("in") == "widget",
        form_error=form_error,
    )
    return make_response(html, status)


def _new_form(embedded: bool = False) -> CallbackForm:
    """A blank form carrying where it was opened from (page, referrer, UTM)."""
    form = CallbackForm(meta={"csrf": not embedded})
    form.started.data = started_token(embedded)
    page = request.args.get("page")
    form.page_url.data = _safe_url(page) if page else public_url(request.full_path.rstrip("?"))
    # In the widget's frame our own referrer is the clinic page: only `ref` tells the patient's.
    form.referrer.data = _safe_url(request.args.get("ref", "") if page else request.referrer or "")
    for key in UTM_KEYS:
        getattr(form, key).data = request.args.get(key, "")[:100]
    return form


@bp.get("/")
def index():
    """The request form."""
    return _render_form(_new_form(), "public/index.html")


@bp.get("/embed")
def embed():
    """The form for an iframe on the clinic's site (framing allowed by EMBED_ALLOWED_ORIGINS)."""
    return _render_form(_new_form(embedded=True), "public/embed.html")


@bp.post("/callback")
@limiter.shared_limit(callback_rate_limit, scope="callback-request")
def callback():
    """Take a request from the page: 303 to the thanks page, or the form again with messages.

    CSRF was checked before the view ran; with PUBLIC_FORM_CHECKS (on but in
    tests) the post must also come from this desk's page, with its start token.
    """
    if current_app.config["PUBLIC_FORM_CHECKS"] and not same_origin_post():
        return _not_from_our_page()
    return _take_request(embedded=False)


@bp.post("/embed")
@csrf.exempt
@limiter.shared_limit(callback_rate_limit, scope="callback-request")
def embed_submit():
    """Take a request from the widget's frame, where no cookie can be relied on.

    On a clinic site of another domain the browser keeps our session cookie
    out of the frame (SameSite), so a session-bound CSRF token cannot work.
    Instead the Origin (or Referer) must be this desk and the form's signed
    start token fresh and unused: a forged cross-site post fails the first, a
    replayed form the second.
    """
    g.frameable = True
    if not same_origin_post():
        return _not_from_our_page()
    return _take_request(embedded=True)


def same_origin_post() -> bool:
    """True if the browser says the post came from this desk's own page (Origin, else Referer).

    A post that says nothing, or says `Origin: null` (a sandboxed frame, a
    file, a privacy redirect), is not taken: every browser that shows our
    form sends one of them.  "This desk" is PUBLIC_BASE_URL's host when set.
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    own = urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc or request.host
    return urlsplit(source).netloc == own


def _not_from_our_page():
    return error_response(403, _l("This form can only be sent from the clinic's own page. Please open the form again."))


def _take_request(embedded: bool):
    """Store the posted request, or show the form again as typed, with a message at each bad field.

    The posted values are read as they came (`request.form`), as the JSON API
    reads its body; the WTForms form is built only to show the page again.
    Only the honeypot drops a request; a form sent too fast is stored flagged.
    """
    posted = request.form
    if honeypot_filled(posted):
        # A normal-looking answer and nothing stored.
        return _to_thanks(secrets.token_urlsafe(16), embedded)
    template = "public/embed.html" if embedded else "public/index.html"
    started = read_started(posted)
    checked = embedded or current_app.config["PUBLIC_FORM_CHECKS"]
    if checked and not started_is_valid(started, embedded):
        # An old, foreign or already sent form: shown again with what was typed, to be sent once more.
        form = _form_again(embedded, shown_at=None)
        return _render_form(form, template, 400, _l("This form has expired. Please check your details and send it again."))
    now = now_utc()
    calendar = calendar_or_default(now)
    parsed, tracking, errors = parse(posted, calendar, now)
    if errors:
        # A token of its own (this one is spent), still counting the fill time from the first showing.
        form = _form_again(embedded, shown_at=started.shown_at if started else None)
        for field, text in errors.items():
            getattr(form, field).errors = [text]
        return _render_form(form, template, 422)
    tracking = {**tracking, "page_url": _page_url(tracking["page_url"]), "referrer": _safe_url(tracking["referrer"])}
    submitted = submit(
        parsed,
        calendar,
        now,
        source="embed" if embedded else "form",
        tracking=tracking,
        suspected_automation=sent_too_fast(started),
    )
    return _to_thanks(submitted.public_id, embedded)


def _page_url(posted: str) -> str:
    """The page the form was on: an http(s) URL, or a page of this desk (a path)."""
    return posted[:500] if posted.startswith("/") and not posted.startswith("//") else _safe_url(posted)


def _form_again(embedded: bool, shown_at: float | None) -> CallbackForm:
    """The posted form, to show again with a new start token (the embed's frame has no session for CSRF)."""
    form = CallbackForm(meta={"csrf": False}) if embedded else CallbackForm()
    form.started.data = started_token(embedded, shown_at)
    return form


def _to_thanks(public_id: str, embedded: bool):
    # The frame may have no cookies: the language travels in the address.
    args: dict[str, Any] = {"embed": "1", "lang": str(get_locale())} if embedded else {}
    if embedded and request.args.get("in") == "widget":
        args["in"] = "widget"
    return redirect(url_for(".thanks", public_id=public_id, **args), code=303)


@bp.get("/thanks/<public_id>")
def thanks(public_id: str):
    """When the call will come."""
    if not PUBLIC_ID.match(public_id):
        abort(404)
    g.frameable = request.args.get("embed") == "1"
    now = now_utc()
    promise = promise_for_request(public_id, now)
    tz = calendar_or_default(now).tz
    return render_template(
        "public/thanks.html",
        promise_text=describe_promise(promise, tz, now),
        phone=format_phone(recent_request_phone(public_id, now) or ""),
        embedded=g.frameable,
        in_widget=request.args.get("in") == "widget",
    )


@bp.get("/consent")
def consent():
    """The consent document (its exact text is what each request's hash refers to)."""
    return render_template("public/consent.html", body=consent_text())


@bp.get("/lang/<code>")
def set_language(code: str):
    """The language switch: remembers the choice in a cookie and goes back."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    response = redirect(local_path(request.args.get("next")) or "/", code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: send them the icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/healthz")
def healthz():
    """Database status and spool size; 503 when the database is down."""
    report = health_report()
    return jsonify(report), 200 if report["database"] == "ok" else 503
