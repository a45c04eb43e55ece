"""`flask --app wsgi users …`: accounts from the command line."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from leads.auth.access import ROLES

users_cli = AppGroup("users", help="Accounts of operators, managers and admins.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, help=f"One of: {', '.join(ROLES)}.")
@click.option("--password", help="At least 12 characters; asked for (hidden, twice) when absent.")
@click.option("--display-name", default="", help="The name shown to colleagues (default: NAME).")
def create(name: str, role: str, password: str | None, display_name: str) -> None:
    """Create the account NAME with a role; the password is hashed, never stored."""
    from leads.services.accounts import AccountError, create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    try:
        user = create_user(name, role, password, display_name=display_name)
    except AccountError as refused:
        raise click.ClickException(str(refused.message)) from None
    click.echo(f"created {user.username} ({user.role})")
