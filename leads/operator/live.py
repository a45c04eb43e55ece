"""The queue pushed to open pages: server-sent events within a second or two of a change.

Each open queue page holds one request.  It ends after SSE_STREAM_SECONDS (the browser
reconnects by itself, `retry` milliseconds later), so a server with a fixed number of
workers (gunicorn sync or gthread) gets its worker back; see README "Live queue".
"""
from __future__ import annotations

import json
import time

from flask import Response, current_app, stream_with_context

from leads.auth.sessions import not_activity
from leads.operator import bp
from leads.services.clinic import now_utc
from leads.services.queue_events import queue_fingerprint

LOOK_EVERY_SECONDS = 1.0  # a change reaches the page within this and the page's own refresh
HEARTBEAT_SECONDS = 15  # a comment line now and then keeps proxies from closing the stream
RETRY_MILLISECONDS = 1000


def _events(stream_seconds: float):
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    started = last_beat = time.monotonic()
    seen = None
    while time.monotonic() - started < stream_seconds:
        fingerprint = queue_fingerprint(now_utc())
        if fingerprint != seen:
            if seen is not None:
                yield f"event: queue\ndata: {json.dumps({'changed': True})}\n\n"
            seen = fingerprint
        if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
            yield ": still here\n\n"
            last_beat = time.monotonic()
        time.sleep(LOOK_EVERY_SECONDS)


@bp.get("/queue/events")
@not_activity
def queue_events():
    """`event: queue` each time the queue changes (the page then reloads its live part)."""
    response = Response(
        stream_with_context(_events(current_app.config["SSE_STREAM_SECONDS"])), mimetype="text/event-stream"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
