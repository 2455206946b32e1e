"""The ``manyi`` command line: Flask's ``FlaskGroup`` plus Manyi's commands.

``manyi run``, ``manyi shell`` and ``manyi routes`` work as with ``flask``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app, has_app_context
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy import select

from scoring.questionnaire import QuestionnaireError, load_questionnaires
from survey import DEFAULT_QUESTIONNAIRES_DIR, create_app


def _create_app():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """Manyi (满意): public-service satisfaction surveys.

    The instance folder is ./instance (or $MANYI_INSTANCE_PATH); the database is the
    SQLite file in it (or $MANYI_DATABASE_URL).
    """


def fail(message: str, status: int = 2) -> NoReturn:
    """Print an error to stderr and exit non-zero, rolling back anything not committed."""
    if has_app_context():
        from survey.db import get_session

        get_session().rollback()
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(status)


def require_schema() -> None:
    """Stop with a clear message when the database schema is missing or out of date."""
    from survey import schema

    if schema.current_revision(current_app) != schema.head_revision(current_app):
        fail("the database schema is not up to date; run 'manyi init' first")


# --------------------------------------------------------------------------- init / demo


@main.command("init")
@click.option(
    "--questionnaires",
    "questionnaires_dir",
    type=click.Path(file_okay=False),
    help="Questionnaire folder (default: the repository's questionnaires/).",
)
def init_command(questionnaires_dir: str | None) -> None:
    """Create or upgrade the schema, load the questionnaires, create the first admin.

    Safe to run again: it changes nothing when everything is up to date.
    """
    from survey.services.setup import initialise

    try:
        report = initialise(current_app, questionnaires_dir)
    except QuestionnaireError as error:
        fail(f"the questionnaires are invalid, nothing was loaded:\n{error}")
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


@main.command("demo")
@click.option(
    "--responses",
    default=3000,
    show_default=True,
    type=click.IntRange(0, 2_000_000),
    help="Synthetic responses to generate.",
)
@click.option("--seed", default=2025, show_default=True, type=int, help="Seed of the synthetic generator.")
@click.option("--no-serve", is_flag=True, help="Create the data and stop (for scripts and tests).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo_command(responses: int, seed: int, no_serve: bool, host: str, port: int) -> None:
    """Initialise, create an open demo wave 2025 with synthetic responses, and serve it.

    The demo's figures are illustrative (synthetic), not survey results.  It resets the
    'admin' account's password and prints the new one.
    """
    from survey.services.setup import create_demo

    try:
        report = create_demo(current_app, responses=responses, seed=seed)
    except QuestionnaireError as error:
        fail(f"the questionnaires are invalid:\n{error}")
    base = f"http://{host}:{port}"
    if report.created:
        click.echo(
            f"demo wave {report.wave_code} created with {report.responses} synthetic responses (illustrative data)"
        )
    else:
        click.echo(f"demo wave {report.wave_code} already exists ({report.responses} responses); nothing added")
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
    click.echo(f"Admin:    {base}/admin   (user: admin, password: {report.admin_password})")
    click.echo(f"Results:  {base}/results/{report.wave_code}")
    if no_serve:
        return
    from werkzeug.serving import run_simple

    click.echo(f"\nServing on {base} — press Ctrl+C to stop.")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


# --------------------------------------------------------------------------- questionnaires

questionnaires_group = AppGroup("questionnaires", help="Check and load the questionnaire files.")
main.add_command(questionnaires_group)


def _default_questionnaires_dir() -> str:
    import os

    return os.environ.get("MANYI_QUESTIONNAIRES_DIR") or str(DEFAULT_QUESTIONNAIRES_DIR)


@questionnaires_group.command("check", with_appcontext=False)
@click.argument("directory", required=False, type=click.Path())
def questionnaires_check(directory: str | None) -> None:
    """Validate every questionnaire file in DIRECTORY; load nothing."""
    directory = directory or _default_questionnaires_dir()
    try:
        questionnaires = load_questionnaires(directory)
    except QuestionnaireError as error:
        fail(f"{len(error.problems)} problem(s) in {directory}:\n{error}")
    files = list(questionnaires)
    items = sum(len(q.items) for q in files)
    click.echo(f"ok: {len(files)} files, {items} items valid in {Path(directory)}")
    for questionnaire in files:
        click.echo(f"  {questionnaire.id:<20} {len(questionnaire.items):>2} items  version {questionnaire.version}")


@questionnaires_group.command("load")
@click.argument("directory", required=False, type=click.Path())
def questionnaires_load(directory: str | None) -> None:
    """Load new versions of the questionnaires in DIRECTORY (old versions stay)."""
    from survey.db import get_session
    from survey.services.questionnaires import load_into_database

    directory = directory or current_app.config["QUESTIONNAIRES_DIR"]
    require_schema()
    session = get_session()
    try:
        report = load_into_database(session, directory)
    except QuestionnaireError as error:
        session.rollback()
        fail(f"{len(error.problems)} problem(s), nothing was loaded:\n{error}")
    session.commit()
    if report.new_versions:
        click.echo(f"loaded {len(report.new_versions)} new version(s): {', '.join(report.new_versions)}")
    else:
        click.echo(f"nothing new: all {len(report.unchanged)} questionnaires already loaded")


# --------------------------------------------------------------------------- retention


@main.command("purge-expired")
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
    from survey.db import get_session
    from survey.models import Wave
    from survey.services import audit
    from survey.services.retention import DEFAULT_RETENTION_YEARS, expired_waves, purge_wave_responses

    years = years or int(current_app.config.get("RESPONSE_RETENTION_YEARS", DEFAULT_RETENTION_YEARS))
    session = get_session()
    expired = expired_waves(session, years=years)
    if not expired:
        click.echo(f"nothing to delete: no wave ended more than {years} year(s) ago still has responses")
        return
    for item in expired:
        click.echo(
            f"wave {item.code}: ended {item.ended_at:%Y-%m-%d}, retention ended {item.expires_at:%Y-%m-%d}, {item.responses} responses"
        )
    if dry_run:
        click.echo("dry run: nothing deleted")
        return
    if not yes and not click.confirm("Delete these responses permanently?"):
        fail("cancelled; nothing deleted", status=1)
    for item in expired:
        wave = session.scalar(select(Wave).where(Wave.code == item.code))
        deleted = purge_wave_responses(session, wave)
        audit.record(
            session,
            "retention.purge",
            username=audit.CLI_ACTOR,
            target=f"wave {item.code}",
            detail={"responses": deleted, "years": years},
        )
        click.echo(f"wave {item.code}: {deleted} responses deleted")
    session.commit()


# --------------------------------------------------------------------------- waves, points, QR posters

from survey.respond.cli import points_group, qr_command, wave_group  # noqa: E402

main.add_command(wave_group)
main.add_command(points_group)
main.add_command(qr_command)


# --------------------------------------------------------------------------- the office: accounts, export, import, publish

from survey.office_cli import export_command, import_command, publish_command, users_group  # noqa: E402

main.add_command(users_group)
main.add_command(export_command)
main.add_command(import_command)
main.add_command(publish_command)


# --------------------------------------------------------------------------- the statistician's report

from survey.score import score_command  # noqa: E402

main.add_command(score_command)
