"""Office accounts: ``manyi users add|reset-password|disable|enable|list``.

The same service functions as the accounts screen (:mod:`survey.services.accounts`):
they validate and write the audit record, here as ``cli:<login name>``.
"""

from __future__ import annotations

import click

from survey.commands.base import ManyiGroup, fail
from survey.db import get_session
from survey.localtime import format_local
from survey.models import ROLES
from survey.services import accounts
from survey.services.accounts import AccountError
from survey.services.audit import cli_actor

users_group = ManyiGroup(
    "users",
    help="Office accounts: add, reset-password, disable, enable, list.",
    short_help="Office accounts: add, reset-password, disable, list.",
)


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="admin, statistician or publisher.")
def users_add(name: str, role: str) -> None:
    """Create the account NAME with a generated password (shown once)."""
    session = get_session()
    try:
        user, password = accounts.add_account(session, name, role, actor=cli_actor())
    except AccountError as error:
        fail(str(error))
    session.commit()
    click.echo(f"account {user.username} created (role {role})")
    click.echo(f"  password: {password}   (shown once; they can change it after signing in)")


@users_group.command("reset-password")
@click.argument("name")
def users_reset_password(name: str) -> None:
    """Give NAME a new generated password and sign out its sessions."""
    session = get_session()
    try:
        password = accounts.reset_account_password(session, name, actor=cli_actor())
    except AccountError as error:
        fail(str(error))
    session.commit()
    click.echo(f"new password for {name}: {password}   (shown once; every session of {name} is signed out)")


def _set_active(name: str, active: bool) -> None:
    session = get_session()
    try:
        accounts.set_account_active(session, name, active, actor=cli_actor())
    except AccountError as error:
        fail(str(error))
    session.commit()


@users_group.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable NAME: it can no longer sign in, and its sessions end now."""
    _set_active(name, False)
    click.echo(f"account {name} disabled")


@users_group.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Enable NAME again (its password is unchanged)."""
    _set_active(name, True)
    click.echo(f"account {name} enabled")


@users_group.command("list")
def users_list() -> None:
    """List the accounts (last sign-in in Beijing time)."""
    for user in accounts.list_users(get_session()):
        status = "active" if user.active else "disabled"
        last = format_local(user.last_login_at) if user.last_login_at else "never"
        click.echo(f"{user.username:<20} {user.role:<13} {status:<9} last sign-in {last}")


COMMANDS = (users_group,)
