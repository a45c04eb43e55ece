"""`flask --app wsgi …` commands: spool replay, demo data, the scheduler."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

spool_cli = AppGroup("spool", help="Requests kept on disk while the database was down.")


@spool_cli.command("replay")
def spool_replay() -> None:
    """Insert spooled requests into the database, each exactly once."""
    from leads.services.intake import replay_spool

    stored, waiting = replay_spool()
    click.echo(f"stored {stored}, still waiting {waiting}")
    if waiting:
        raise SystemExit(1)


@click.group("outbox", invoke_without_command=True)
@click.pass_context
@with_appcontext
def outbox_cli(ctx: click.Context) -> None:
    """Messages to patients: list the pending and failed ones (or retry one)."""
    if ctx.invoked_subcommand is not None:
        return
    from leads.services.outbox import list_messages

    rows = list_messages()
    if not rows:
        click.echo("no pending or failed messages")
    for row in rows:
        click.echo(f"{row.id}\t{row.status}\t{row.channel}\t{row.kind}\tappointment {row.appointment_id}\t"
                   f"attempts {row.attempts}\tnext {row.next_attempt_at:%Y-%m-%d %H:%M}Z\t{row.last_error}")


@outbox_cli.command("retry")
@click.argument("message_id", type=int)
@with_appcontext
def outbox_retry(message_id: int) -> None:
    """Send a failed message again at the next run of the outbox job."""
    from leads.services.outbox import OutboxError, retry_message

    try:
        retry_message(message_id)
    except OutboxError as exc:
        text = {"not_found": "no such message", "not_failed": "the message has not failed; nothing to retry"}
        raise click.ClickException(f"message {message_id}: {text[exc.code]}") from None
    click.echo(f"message {message_id} will be sent at the next run")


@click.command("demo")
@click.option("--leads", "lead_count", default=40, show_default=True, help="How many demo leads to create.")
@with_appcontext
def demo(lead_count: int) -> None:
    """Load demo data and print the demo logins (idempotent; development and testing only)."""
    from flask import current_app

    from leads.services.demo import load_demo
    from leads.services.demo_users import load_demo_users

    if not current_app.config["DEMO_ALLOWED"]:
        raise click.ClickException(
            "The demo data and its known logins are for development only (FLASK_ENV_CONFIG=development); "
            "this app runs another configuration, so nothing was created. "
            "Create real accounts with `flask --app wsgi users create NAME --role admin`."
        )
    for line in [*load_demo_users(), *load_demo(lead_count)]:
        click.echo(line)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job once now and exit (skipped while a scheduler runs).")
@with_appcontext
def scheduler(once: bool) -> None:
    """Run the background jobs (one process; others wait as hot standbys)."""
    import signal
    import threading

    from flask import current_app

    from leads.scheduler import LockUnreachable, run_jobs_once, run_scheduler

    # Flask's documented way to the app behind its proxy; its type stubs call the proxy a Flask.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        try:
            click.echo("jobs ran" if run_jobs_once(app) else "a scheduler is running; nothing done")
        except LockUnreachable as unreachable:
            raise click.ClickException(f"the database cannot be reached ({unreachable}); nothing done") from None
        return
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_scheduler(app, stop)


def init_app(app: Flask) -> None:
    """Register the commands."""
    from leads.auth.cli import users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(spool_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(demo)
    app.cli.add_command(scheduler)
