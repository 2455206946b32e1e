"""Collection: ``manyi wave …``, ``manyi points …`` and ``manyi qr`` (waves, collection
points and their QR posters).

Every command goes through :mod:`survey.services.waves`, the service the admin screens
use, which validates and writes the audit record (as ``cli:<login name>``).  Bad input
prints what was wrong and how to fix it, exits with status 2 and stores nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app

from survey.commands.base import WAVE, ManyiGroup, command, fail, wave_or_fail
from survey.db import get_session
from survey.localtime import format_local, parse_local
from survey.models import Wave
from survey.services.audit import cli_actor
from survey.services.waves import (
    WaveError,
    add_point,
    close_wave,
    create_wave,
    list_points,
    list_waves,
    open_wave,
    set_wave_window,
    survey_url,
    wave_status,
)


def parse_when(value: str | None, *, option: str, end_of_day: bool = False) -> dt.datetime | None:
    """A time given on the command line, as aware UTC (see :func:`survey.localtime.parse_local`)."""
    if value is None:
        return None
    try:
        return parse_local(value, end_of_day=end_of_day)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option) from None


def _describe(wave: Wave) -> str:
    opens = format_local(wave.opens_at, empty="-")
    window = f"opens {opens}, closes {format_local(wave.closes_at, closing=True, empty='-')}"
    return f"wave {wave.code}: state {wave.state}, residents see: {wave_status(wave)} ({window})"


def _message(error: WaveError | click.BadParameter) -> str:
    return error.format_message() if isinstance(error, click.BadParameter) else str(error)


# --------------------------------------------------------------------------- manyi wave

wave_group = ManyiGroup("wave", help="Create, open, close and list survey waves.")


@wave_group.command("create")
@click.argument("code", type=WAVE)
@click.option("--opens", help="Opening time, e.g. 2025-03-01 or '2025-03-01 08:00' (Beijing time).")
@click.option("--closes", help="Closing time; a date alone means the end of that day.")
@click.option("--title-zh", default="", help="Chinese title (default: '<code>年度荆州区公共服务满意度调查').")
@click.option("--title-en", default="", help="English title.")
def wave_create(code: str, opens: str | None, closes: str | None, title_zh: str, title_en: str) -> None:
    """Create wave CODE (state draft), pinning the newest questionnaire versions."""
    session = get_session()
    try:
        wave = create_wave(
            session,
            code,
            opens_at=parse_when(opens, option="--opens"),
            closes_at=parse_when(closes, option="--closes", end_of_day=True),
            title_zh=title_zh,
            title_en=title_en,
            actor=cli_actor(),
        )
    except (WaveError, click.BadParameter) as error:
        fail(_message(error))
    session.commit()
    pinned = ", ".join(sorted(link.questionnaire_id for link in wave.questionnaires))
    click.echo(f"created wave {wave.code} (draft); questionnaires pinned: {pinned}")
    click.echo(f"next: add collection points with 'manyi points add {wave.code} …', then 'manyi wave open {wave.code}'")


@wave_group.command("open")
@click.argument("code", type=WAVE)
@click.option("--opens", help="Set a new opening time first.")
@click.option("--closes", help="Set a new closing time first (a date alone means the end of that day).")
def wave_open(code: str, opens: str | None, closes: str | None) -> None:
    """Open wave CODE for residents (within its opening window)."""
    session = get_session()
    wave = wave_or_fail(code)
    actor = cli_actor()
    try:
        if opens or closes:
            set_wave_window(
                session,
                wave,
                opens_at=parse_when(opens, option="--opens"),
                closes_at=parse_when(closes, option="--closes", end_of_day=True),
                actor=actor,
            )
        open_wave(session, wave, actor=actor)
    except (WaveError, click.BadParameter) as error:
        fail(_message(error))
    session.commit()
    click.echo(_describe(wave))
    if not wave.points:
        click.echo(
            f"note: wave {wave.code} has no collection points yet; add one with 'manyi points add {wave.code} …'"
        )


@wave_group.command("close")
@click.argument("code", type=WAVE)
def wave_close(code: str) -> None:
    """Close wave CODE: residents see "survey closed"; unfinished drafts stay partial."""
    session = get_session()
    wave = close_wave(session, wave_or_fail(code), actor=cli_actor())
    session.commit()
    click.echo(_describe(wave))


@wave_group.command("list")
@click.argument("code", type=WAVE, required=False)
def wave_list(code: str | None) -> None:
    """List every wave (or only wave CODE) with its state and opening window."""
    waves = [wave_or_fail(code)] if code else list_waves(get_session())
    if not waves:
        click.echo("no waves yet; create one with 'manyi wave create 2025'")
        return
    for wave in waves:
        click.echo(f"{_describe(wave)}, {len(wave.points)} point(s)")


@wave_group.command("settings")
@click.argument("code", type=WAVE)
@click.option("--show", is_flag=True, help="Print the settings (also what is printed after a change).")
@click.option("--margins", metavar="FILE", help="Population margins CSV (variable,level,population): rake to them.")
@click.option("--no-margins", is_flag=True, help="No margins: the responses are not weighted.")
@click.option("--benchmarks", metavar="FILE", multiple=True, help="Benchmarks CSV (repeatable; replaces the stored).")
@click.option("--no-benchmarks", is_flag=True, help="No benchmarks: no rankings.")
@click.option("--target", type=float, help="Target as people say it: 85 (an index of 85 or a satisfied rate of 85%).")
@click.option("--no-target", is_flag=True, help="No target test.")
@click.option(
    "--target-metric",
    type=click.Choice(("index", "satisfied_rate")),
    help="Which figure is the plan's target (both are always tested and shown).",
)
@click.option(
    "--mapping",
    type=click.Choice(("linear", "monitoring")),
    help="Item scores: linear (1→0 … 5→100) or monitoring (1→20 … 5→100, the national monitoring's reading).",
)
@click.option("--strata", type=click.Choice(("point_town", "none")), help="Strata: the point's town, or none.")
@click.option("--variance", type=click.Choice(("linearization", "jackknife", "bootstrap")))
@click.option("--replicates", type=int, help="Bootstrap replicates (default 500).")
@click.option("--seed", type=int, help="Seed of the bootstrap and the report's simulations.")
@click.option("--lonely-psu", type=click.Choice(("fail", "adjust")), help="A stratum with one collection point.")
@click.option("--screening/--no-screening", default=None, help="Quality screening on or off.")
@click.option(
    "--straight-line-fast-fraction",
    metavar="F|none",
    help="Straight-lining excludes only when faster than F × median time (0.5); 'none': alone (old rule).",
)
@click.option("--min-n", type=int, help="Fewest respondents of a stable figure (30).")
@click.option("--min-psus", type=int, help="Fewest PSUs of a stable figure (5).")
@click.option("--domain-weights", metavar="FILE|derived|equal", help="Weights of the domains in the overall index.")
@click.option("--assumed-se", type=float, help="SE of a published score given without one, index points (1.0).")
@click.option("--illustrative/--not-illustrative", default=None, help="Mark every output as illustrative (示意).")
@click.option("--district", help="The district's name as the benchmarks write it (荆州区).")
@click.option("--organiser", metavar="NAME", help="Who runs the survey, shown to residents ('' clears it).")
@click.option("--contact-phone", metavar="PHONE", help="Residents' contact phone, digits and dashes ('' clears it).")
@click.option(
    "--reset", is_flag=True, help="Start from the defaults (then apply the other options; keeps the contact)."
)
def wave_settings_command(code: str, show: bool, **options: object) -> None:
    """Show or set wave CODE's analysis settings (what 'manyi score' and publishing use).

    With no option (or --show) the settings are printed.  Options change single
    settings; the margins and benchmarks files are read now and stored as content (a
    file changing later changes nothing).  Every change is audited; bad input changes
    nothing and exits with status 2.
    """
    from survey.services.settings import (
        SettingsInputError,
        change_wave_settings,
        changes_from_options,
        describe_settings,
        wave_settings,
    )

    session = get_session()
    wave = wave_or_fail(code)
    given = {key: value for key, value in options.items() if value not in (None, False, ())}
    if given:
        try:
            stored, differences = change_wave_settings(session, wave, changes_from_options(options), actor=cli_actor())
        except SettingsInputError as error:
            flag = "--" + error.setting.replace("_", "-")
            fail(f"{flag}: {error}; nothing was changed")
        session.commit()
        if differences:
            click.echo(f"wave {wave.code}: settings changed:")
            for key, (before, after) in differences.items():
                click.echo(f"  {key}: {_shown(before)} → {_shown(after)}")
        else:
            click.echo(f"wave {wave.code}: the settings were already so; nothing changed")
        if not show:
            return
    else:
        stored = wave_settings(session, wave)
    if stored.stored:
        when = format_local(stored.changed_at, empty="-")
        click.echo(f"wave {wave.code}: analysis settings (stored by {stored.changed_by}, {when} Beijing time)")
    else:
        click.echo(f"wave {wave.code}: no analysis settings stored; the defaults apply:")
    width = max(len(key) for key, _ in describe_settings(stored))
    for key, text in describe_settings(stored):
        click.echo(f"  {key:<{width}}  {text}")
    click.echo(f"  {'digest':<{width}}  {stored.digest}")


def _shown(value: object) -> str:
    if isinstance(value, str) and len(value) == 64:
        return f"sha256 {value[:12]}…"
    return "none" if value is None else str(value)


# --------------------------------------------------------------------------- manyi points

points_group = ManyiGroup("points", help="Add and list the collection points of a wave.")


@points_group.command("add")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
@click.option("--code", required=True, help="Point code: lower-case letters, digits, '_' or '-' (e.g. hosp-01).")
@click.option("--town", required=True, help="Town / street / management-area code (see common.yaml, e.g. xicheng).")
@click.option("--place", required=True, help="Where the poster hangs, as residents know it (e.g. 区人民医院门诊大厅).")
@click.option("--domain", "focus_domain", help="The point's focus domain, asked first (e.g. healthcare).")
def points_add(wave_code: str, code: str, town: str, place: str, focus_domain: str | None) -> None:
    """Add a collection point to WAVE, with its own unguessable survey URL."""
    session = get_session()
    wave = wave_or_fail(wave_code)
    try:
        point = add_point(
            session, wave, code=code, town=town, place=place, focus_domain=focus_domain, actor=cli_actor()
        )
    except WaveError as error:
        fail(str(error))
    session.commit()
    click.echo(
        f"added point {point.code} to wave {wave.code}: {survey_url(current_app.config['PUBLIC_BASE_URL'], point)}"
    )


@points_group.command("list")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
def points_list(wave_code: str) -> None:
    """Print each point of WAVE: code, town, place and its survey URL (tab-separated)."""
    wave = wave_or_fail(wave_code)
    points = list_points(get_session(), wave)
    if not points:
        click.echo(
            f"wave {wave.code} has no collection points; add one with "
            f"'manyi points add {wave.code} --code … --town … --place …'",
            err=True,
        )
        return
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo("code\ttown\tplace\turl")
    for point in points:
        click.echo(f"{point.code}\t{point.town_code}\t{point.place}\t{survey_url(base, point)}")


# --------------------------------------------------------------------------- manyi qr


@command("qr", short_help="QR codes and printable A4 posters of a wave's points.")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (created if missing).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "svg", "pdf"]),
    default="png",
    show_default=True,
    help="Format of the QR code files.",
)
@click.option("--point", "point_codes", multiple=True, help="Only this point (repeatable); default: every point.")
def qr_command(wave_code: str, out_dir: Path, fmt: str, point_codes: tuple[str, ...]) -> None:
    """Write a QR code and a printable A4 poster (PDF) for each point of WAVE.

    Files: <point>-qr.<format> and <point>-poster.pdf.  The QR codes encode
    PUBLIC_BASE_URL + /s/<token>; set PUBLIC_BASE_URL (instance/config.py or
    $MANYI_PUBLIC_BASE_URL) to the public address before printing.
    """
    from survey.posters import PosterError, write_point_files

    wave = wave_or_fail(wave_code)
    points = list_points(get_session(), wave)
    if point_codes:
        known = {point.code for point in points}
        unknown = [code for code in point_codes if code not in known]
        if unknown:
            fail(f"wave {wave.code} has no point(s) {', '.join(unknown)}; see 'manyi points list {wave.code}'")
        points = [point for point in points if point.code in point_codes]
    if not points:
        fail(
            f"wave {wave.code} has no collection points; add one with "
            f"'manyi points add {wave.code} --code … --town … --place …'"
        )
    base = current_app.config["PUBLIC_BASE_URL"]
    if base.startswith(("http://127.", "http://localhost")):
        click.echo(f"warning: the QR codes point to {base}, which phones cannot reach; set PUBLIC_BASE_URL", err=True)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"cannot create the folder {out_dir}: {error.strerror}; choose another --out")
    for point in points:
        try:
            written = write_point_files(point, wave, survey_url(base, point), out_dir, fmt)
        except PosterError as error:
            fail(str(error))
        except OSError as error:
            fail(f"cannot write into {out_dir}: {error.strerror}; check the folder's permissions")
        click.echo(f"{point.code}: " + ", ".join(str(path) for path in written))


COMMANDS = (wave_group, points_group, qr_command)
