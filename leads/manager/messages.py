"""Messages to patients that are waiting or failed (/manager/messages), with a retry button.

No message text and no recipient is shown: the appointment's number and the
provider's last error are enough to see what is wrong.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from leads.manager import bp
from leads.services.outbox import OutboxError, list_messages, retry_message


class RetryForm(FlaskForm):
    """The retry button of one failed message (CSRF only)."""


@bp.get("/messages")
def messages():
    """The outbox: failed messages first, then those waiting."""
    return render_template("manager/messages.html", rows=list_messages(), form=RetryForm())


@bp.post("/messages/<int:message_id>/retry")
def retry(message_id: int):
    """Put one failed message back in line."""
    if not RetryForm().validate_on_submit():
        abort(400)
    try:
        retry_message(message_id)
    except OutboxError as exc:
        if exc.code == "not_found":
            abort(404)
        flash(_("This message has not failed; there is nothing to retry."), "error")
    else:
        flash(_("The message will be sent again within a minute."), "success")
    return redirect(url_for(".messages"), code=303)
