"""The instance: ``manyi init``, ``manyi demo``, ``manyi questionnaires check|load`` and
``manyi purge-expired``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import click
from flask import current_app

from scoring.questionnaire import QuestionnaireError, load_questionnaires
from survey import DEFAULT_PUBLIC_BASE_URL, default_questionnaires_dir
from survey.commands.base import ManyiGroup, command, fail
from survey.db import get_session
from survey.services.audit import cli_actor
from survey.services.questionnaires import QuestionnairesNotFound, load_into_database, questionnaires_dir

# --------------------------------------------------------------------------- init


@command(
    "init", needs_schema=False, creates_instance=True, short_help="Create or upgrade the instance (safe to repeat)."
)
@click.option(
    "--questionnaires",
    "questionnaires_dir_option",
    type=click.Path(file_okay=False),
    help="Questionnaire folder (default: QUESTIONNAIRES_DIR, $MANYI_QUESTIONNAIRES_DIR or the checkout's questionnaires/).",
)
def init_command(questionnaires_dir_option: str | None) -> None:
    """Create or upgrade the schema, load the questionnaires, create the first admin.

    Safe to run again: it changes nothing when everything is up to date.
    """
    from survey.services.setup import initialise

    try:
        report = initialise(current_app, questionnaires_dir_option, actor=cli_actor())
    except QuestionnaireError as error:
        fail(f"the questionnaires are invalid, nothing was loaded:\n{error}")
    except QuestionnairesNotFound as error:
        fail(str(error))
    if report.revision_before != report.revision_after:
        click.echo(f"schema upgraded: {report.revision_before or 'empty'} → {report.revision_after}")
    else:
        click.echo(f"schema up to date ({report.revision_after})")
    loaded = report.questionnaires
    if loaded.new_versions:
        click.echo(
            f"questionnaires loaded: {len(loaded.new_versions)} new version(s): {', '.join(loaded.new_versions)}"
        )
    else:
        click.echo(f"questionnaires up to date ({len(loaded.unchanged)} files)")
    if report.admin_password:
        click.echo("first admin account created:")
        click.echo("  user name: admin")
        click.echo(
            f"  password:  {report.admin_password}   (shown once; change it with 'manyi users reset-password admin')"
        )


# --------------------------------------------------------------------------- demo


def _demo_base_url(host: str, port: int) -> str:
    """Where the demo's links point: PUBLIC_BASE_URL when it is configured, else the
    address the demo really serves on."""
    configured = current_app.config["PUBLIC_BASE_URL"]
    if configured != DEFAULT_PUBLIC_BASE_URL:
        return str(configured).rstrip("/")
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown_host}:{port}"


@command(
    "demo", needs_schema=False, creates_instance=True, short_help="A demo wave with synthetic responses, served here."
)
@click.option(
    "--responses",
    default=3000,
    show_default=True,
    type=click.IntRange(0, 2_000_000),
    help="Synthetic responses to generate (0: collection points only).",
)
@click.option("--seed", default=2025, show_default=True, type=int, help="Seed of the synthetic generator.")
@click.option("--no-serve", is_flag=True, help="Create the data and stop (for scripts and tests).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--reset-admin-password", is_flag=True, help="Give the 'admin' account a new password (audited).")
def demo_command(responses: int, seed: int, no_serve: bool, host: str, port: int, reset_admin_password: bool) -> None:
    """Initialise, create an open demo wave 2025 with synthetic responses, and serve it.

    The demo's figures are illustrative (synthetic), not survey results.  It refuses an
    instance that holds real waves, and keeps the admin password unless
    --reset-admin-password is given.
    """
    from survey.services.setup import DemoRefused, create_demo

    base = _demo_base_url(host, port)
    current_app.config["PUBLIC_BASE_URL"] = base
    try:
        report = create_demo(current_app, responses=responses, seed=seed, reset_admin_password=reset_admin_password)
    except DemoRefused as error:
        fail(str(error))
    except QuestionnaireError as error:
        fail(f"the questionnaires are invalid:\n{error}")
    except QuestionnairesNotFound as error:
        fail(str(error))
    if report.created:
        click.echo(
            f"demo wave {report.wave_code} created with {report.responses} synthetic responses (illustrative data)"
        )
    else:
        click.echo(f"demo wave {report.wave_code} already exists ({report.responses} responses); nothing added")
    if report.publication_note:
        click.echo(f"results: {report.publication_note}")
    click.echo("")
    click.echo("Resident survey (one URL per collection point; the QR codes point here):")
    # Show a mix of places (hospital, school, service hall, …) rather than the first codes.
    shown, kinds = [], set()
    for entry in report.point_urls:
        kind = entry[0].split("-")[0]
        if kind not in kinds:
            kinds.add(kind)
            shown.append(entry)
    for code, place, url in shown[:5]:
        click.echo(f"  {code:<12} {place}  {url}")
    if len(report.point_urls) > len(shown[:5]):
        click.echo(f"  … and {len(report.point_urls) - len(shown[:5])} more: 'manyi points list {report.wave_code}'")
    if report.admin_password:
        click.echo(f"Admin:    {base}/admin   (user: admin, password: {report.admin_password})")
    else:
        click.echo(
            f"Admin:    {base}/admin   (user: admin, password unchanged; "
            "'manyi demo --reset-admin-password' gives it a new one)"
        )
    click.echo(f"Results:  {base}/results/{report.wave_code}")
    if no_serve:
        return
    from werkzeug.serving import run_simple

    from survey.commands.jobs import start_worker_thread

    start_worker_thread(current_app._get_current_object())  # type: ignore[attr-defined]  # the demo's jobs

    click.echo(f"\nServing on http://{host}:{port} (with a job worker) — press Ctrl+C to stop.")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- questionnaires

questionnaires_group = ManyiGroup("questionnaires", help="Check and load the questionnaire files.")


def _configured_folder(config: Mapping[str, Any]) -> str:
    """The configured questionnaire folder, or stop saying how to configure one."""
    try:
        return str(questionnaires_dir(config))
    except QuestionnairesNotFound as error:
        fail(f"{error}; or name the folder: 'manyi questionnaires check DIR'")


@questionnaires_group.command("check", with_appcontext=False)
@click.argument("directory", required=False, type=click.Path())
def questionnaires_check(directory: str | None) -> None:
    """Validate every questionnaire file in DIRECTORY; load nothing."""
    folder = directory or _configured_folder(
        {"QUESTIONNAIRES_DIR": os.environ.get("MANYI_QUESTIONNAIRES_DIR") or default_questionnaires_dir()}
    )
    try:
        questionnaires = load_questionnaires(folder)
    except QuestionnaireError as error:
        fail(f"{len(error.problems)} problem(s) in {folder}:\n{error}")
    files = list(questionnaires)
    items = sum(len(q.items) for q in files)
    click.echo(f"ok: {len(files)} files, {items} items valid in {folder}")
    for questionnaire in files:
        click.echo(f"  {questionnaire.id:<20} {len(questionnaire.items):>2} items  version {questionnaire.version}")


@questionnaires_group.command("load")
@click.argument("directory", required=False, type=click.Path())
def questionnaires_load(directory: str | None) -> None:
    """Load new versions of the questionnaires in DIRECTORY (old versions stay)."""
    folder = directory or _configured_folder(current_app.config)
    session = get_session()
    try:
        report = load_into_database(session, folder)
    except QuestionnaireError as error:
        fail(f"{len(error.problems)} problem(s), nothing was loaded:\n{error}")
    session.commit()
    if report.new_versions:
        click.echo(f"loaded {len(report.new_versions)} new version(s): {', '.join(report.new_versions)}")
    else:
        click.echo(f"nothing new: all {len(report.unchanged)} questionnaires already loaded")


# --------------------------------------------------------------------------- retention


@command("purge-expired", short_help="Delete responses past their retention period.")
@click.option(
    "--years",
    type=click.IntRange(1, 100),
    default=None,
    help="Retention period (default: RESPONSE_RETENTION_YEARS, 3).",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_expired_command(years: int | None, dry_run: bool, yes: bool) -> None:
    """Delete the responses of waves whose retention period has passed.

    Keeps the promise of the residents' privacy notice.  Published results (snapshots)
    stay; the individual responses, answers and comments are deleted.
    """
    from survey.services.retention import DEFAULT_RETENTION_YEARS, expired_waves, purge_wave_responses
    from survey.services.waves import get_wave

    years = years or int(current_app.config.get("RESPONSE_RETENTION_YEARS", DEFAULT_RETENTION_YEARS))
    session = get_session()
    expired = expired_waves(session, years=years)
    if not expired:
        click.echo(f"nothing to delete: no wave ended more than {years} year(s) ago still has responses")
        return
    for item in expired:
        click.echo(
            f"wave {item.code}: ended {item.ended_at:%Y-%m-%d}, retention ended {item.expires_at:%Y-%m-%d}, "
            f"{item.responses} responses"
        )
    if dry_run:
        click.echo("dry run: nothing deleted")
        return
    if not yes and not click.confirm("Delete these responses permanently?"):
        fail("cancelled; nothing deleted", status=1)
    actor = cli_actor()
    for item in expired:
        deleted = purge_wave_responses(session, get_wave(session, item.code), years=years, actor=actor)
        click.echo(f"wave {item.code}: {deleted} responses deleted")
    session.commit()


COMMANDS = (init_command, demo_command, questionnaires_group, purge_expired_command)
