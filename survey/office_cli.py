"""The office's commands: ``manyi users``, ``manyi export``, ``manyi import``, ``manyi publish``.

Each goes through the same service functions as the admin screens and is written to the
audit log as ``cli:<login name>``.  Bad input prints what was wrong and how to fix it,
exits with status 2 and changes nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from survey.admin.services import add_account, reset_account_password, set_account_active
from survey.cli import fail
from survey.db import get_session
from survey.models import ROLES, User
from survey.services.accounts import AccountError
from survey.services.audit import cli_actor
from survey.services.exports import FORMATS, ExportError, export_wave
from survey.services.imports import IMPORT_CHANNELS, import_responses
from survey.services.waves import WaveError, get_wave

users_group = AppGroup("users", help="Office accounts: add, reset-password, disable, enable, list.")


def _wave(code: str):
    try:
        return get_wave(get_session(), code)
    except WaveError as error:
        fail(str(error))


# --------------------------------------------------------------------------- users


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="admin, statistician or publisher.")
def users_add(name: str, role: str) -> None:
    """Create the account NAME with a generated password (shown once)."""
    session = get_session()
    try:
        user, password = add_account(session, name, role, actor=cli_actor())
    except AccountError as error:
        session.rollback()
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
        password = reset_account_password(session, name, actor=cli_actor())
    except AccountError as error:
        session.rollback()
        fail(str(error))
    session.commit()
    click.echo(f"new password for {name}: {password}   (shown once; every session of {name} is signed out)")


@users_group.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable NAME: it can no longer sign in, and its sessions end now."""
    session = get_session()
    try:
        set_account_active(session, name, False, actor=cli_actor())
    except AccountError as error:
        session.rollback()
        fail(str(error))
    session.commit()
    click.echo(f"account {name} disabled")


@users_group.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Enable NAME again (its password is unchanged)."""
    session = get_session()
    try:
        set_account_active(session, name, True, actor=cli_actor())
    except AccountError as error:
        session.rollback()
        fail(str(error))
    session.commit()
    click.echo(f"account {name} enabled")


@users_group.command("list")
def users_list() -> None:
    """List the accounts."""
    from sqlalchemy import select

    for user in get_session().scalars(select(User).order_by(User.username)):
        status = "active" if user.active else "disabled"
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        click.echo(f"{user.username:<20} {user.role:<13} {status:<9} last sign-in {last}")


# --------------------------------------------------------------------------- export / import


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a failure leaves no half file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@click.command("export")
@click.argument("wave_code", metavar="WAVE")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="csv",
    show_default=True,
    help="csv (responses contract), long, xlsx, sav (SPSS with Chinese labels) or codebook.",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="File to write.")
@click.option("--partial", is_flag=True, help="Include unfinished (partial) responses.")
@click.option("--comments", is_flag=True, help="Include residents' comments (office use only; never publish them).")
@with_appcontext
def export_command(wave_code: str, format_: str, out: str, partial: bool, comments: bool) -> None:
    """Export a wave's responses to a file: CSV, long CSV, XLSX, SPSS or the codebook."""
    session = get_session()
    wave = _wave(wave_code)
    path = Path(out)
    if not path.parent.exists():
        fail(f"the folder {path.parent} does not exist; create it or choose another --out")
    try:
        exported = export_wave(session, wave, format_, include_partial=partial, include_comments=comments)
    except ExportError as error:
        fail(str(error))
    _write_atomically(path, exported.data)
    from survey.services import audit

    audit.record(
        session,
        "export",
        username=cli_actor(),
        target=f"wave {wave.code}",
        detail={"format": format_, "rows": exported.rows, "partial": partial, "comments": comments, "file": path.name},
    )
    session.commit()
    click.echo(
        f"{exported.rows} response(s) of wave {wave.code} written to {path} ({format_}, {len(exported.data):,} bytes)"
    )


@click.command("import")
@click.argument("wave_code", metavar="WAVE")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--channel", required=True, type=click.Choice(IMPORT_CHANNELS), help="phone (CATI) or paper.")
@click.option("--new-ids", is_flag=True, help="Give the responses new ids instead of keeping response_id.")
@with_appcontext
def import_command(wave_code: str, file: str, channel: str, new_ids: bool) -> None:
    """Import phone or paper responses from FILE (CSV) into WAVE — all rows or none."""
    session = get_session()
    wave = _wave(wave_code)
    data = Path(file).read_bytes()
    report = import_responses(
        session, wave, data, channel=channel, actor=cli_actor(), filename=Path(file).name, new_ids=new_ids
    )
    session.commit()  # the data when accepted; only the audit record when rejected
    if not report.ok:
        lines = "\n".join(f"  {line}" for line in report.lines())
        fail(f"{report.summary()}\nrows are numbered as in a spreadsheet (the header is row 1):\n{lines}")
    click.echo(report.summary())


# --------------------------------------------------------------------------- publish


@click.command("publish")
@click.argument("wave_code", metavar="WAVE")
@click.option("--reason", default="", help="Why (required when the wave was published before; shown to the public).")
@click.option(
    "--margins",
    type=click.Path(exists=True, dir_okay=False),
    help="Population margins CSV for raking (default: none, unweighted).",
)
@click.option(
    "--benchmarks", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Benchmarks CSV (repeatable)."
)
@click.option(
    "--variance",
    type=click.Choice(("linearization", "jackknife", "bootstrap")),
    default="linearization",
    show_default=True,
)
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf (faster; for tests and drafts).")
@with_appcontext
def publish_command(
    wave_code: str, reason: str, margins: str | None, benchmarks: tuple[str, ...], variance: str, no_pdf: bool
) -> None:
    """Score WAVE from the database and publish the results at /results/WAVE.

    The run (results.json, report files, configuration, input hashes) is frozen as a new
    revision; earlier revisions stay public.
    """
    from flask import current_app

    from survey.services.publication import PublicationError, PublishOptions, publish_wave

    session = get_session()
    wave = _wave(wave_code)
    options = PublishOptions(
        margins=Path(margins) if margins else None,
        benchmarks=tuple(Path(path) for path in benchmarks),
        variance=variance,
        pdf=not no_pdf,
    )
    try:
        publication = publish_wave(session, wave, actor=cli_actor(), reason=reason, options=options)
    except PublicationError as error:
        session.rollback()
        fail(str(error))
    session.commit()
    overall = json.loads(publication.results_json).get("overall") or {}
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo(
        f"wave {wave.code} published: revision {publication.revision}, overall index "
        f"{overall.get('index', float('nan')):.1f} ({len(publication.files)} files)"
    )
    click.echo(f"  {base}/results/{wave.code}")
    click.echo(f"  {base}/results/{wave.code}.json")
