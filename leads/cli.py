"""`flask --app wsgi …` commands: spool replay, demo data."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

spool_cli = AppGroup("spool", help="Requests kept on disk while the database was down.")


@spool_cli.command("replay")
def spool_replay() -> None:
    """Insert spooled requests into the database, each exactly once."""
    from leads.services.intake import replay_spool

    stored, waiting = replay_spool()
    click.echo(f"stored {stored}, still waiting {waiting}")
    if waiting:
        raise SystemExit(1)


@click.command("demo")
@click.option("--leads", "lead_count", default=40, show_default=True, help="How many demo leads to create.")
def demo(lead_count: int) -> None:
    """Load demo data and print the demo logins (idempotent)."""
    from leads.services.demo import load_demo
    from leads.services.demo_users import load_demo_users

    for line in [*load_demo_users(), *load_demo(lead_count)]:
        click.echo(line)


def init_app(app: Flask) -> None:
    """Register the commands."""
    from leads.auth.cli import users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(spool_cli)
    app.cli.add_command(demo)
