"""The promise put into words the patient reads."""
from __future__ import annotations

from datetime import datetime

from flask_babel import format_date, gettext as _, ngettext

from leads.domain.promise import CallPromise


def _day_parts(moment: datetime) -> tuple[str, str]:
    local_date = moment.date()
    return format_date(local_date, "EEEE"), format_date(local_date, "d MMMM")


def describe_promise(promise: CallPromise, tz, now: datetime) -> str:
    """'We will call you within 15 minutes.', '… on Monday 24 November after 09:00.' and so on."""
    if promise.kind == "within":
        return ngettext(
            "We will call you within %(num)d minute.", "We will call you within %(num)d minutes.", promise.minutes
        )
    if promise.at is None:
        raise ValueError(f"a promise of kind {promise.kind!r} has no time")
    start = promise.at.astimezone(tz)
    today = start.date() == now.astimezone(tz).date()
    if promise.kind == "window":
        if promise.until is None:
            raise ValueError("a window promise has no end")
        end = promise.until.astimezone(tz)
        times = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
        if today:
            return _("We will call you today between %(start)s and %(end)s.", **times)
        weekday, date = _day_parts(start)
        return _("We will call you on %(weekday)s %(date)s between %(start)s and %(end)s.", weekday=weekday, date=date, **times)
    time = start.strftime("%H:%M")
    if today:
        return _("We will call you today after %(time)s.", time=time)
    weekday, date = _day_parts(start)
    return _("We will call you on %(weekday)s %(date)s after %(time)s.", weekday=weekday, date=date, time=time)
