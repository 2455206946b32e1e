"""``manyi wave …``, ``manyi points …`` and ``manyi qr``: waves, collection points and
their QR posters from the shell.

Every command goes through the shared service layer (:mod:`survey.services.waves`, the
same one the admin screens use) and records its change in the audit log.  Bad input
prints what was wrong and how to fix it, exits with status 2 and stores nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from survey.cli import fail, require_schema
from survey.db import get_session
from survey.models import Wave, as_utc
from survey.services import audit
from survey.services.waves import (
    WaveError,
    add_point,
    close_wave,
    create_wave,
    get_wave,
    list_points,
    list_waves,
    open_wave,
    set_wave_window,
    survey_url,
    wave_status,
)

_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def parse_when(value: str | None, *, option: str, end_of_day: bool = False) -> dt.datetime | None:
    """A time given on the command line, as aware UTC.

    Accepts ``2025-03-01`` (a date: the start of that day, or with ``end_of_day`` the end
    of it, so ``--closes 2025-12-31`` keeps the wave open all of 31 December),
    ``2025-03-01 08:00`` or ISO 8601 with an offset.  Times without an offset are in the
    district's time zone (``BABEL_DEFAULT_TIMEZONE``, Asia/Shanghai).
    """
    if value is None:
        return None
    text = value.strip()
    zone = _local_zone()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        return (start + dt.timedelta(days=1) if end_of_day else start).astimezone(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for pattern in _TIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        raise click.BadParameter(
            f"{value!r} is not a date or time; use e.g. 2025-03-01 or '2025-03-01 08:00' (Beijing time)",
            param_hint=option,
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


def _local(moment: dt.datetime | None, *, closing: bool = False) -> str:
    """A stored time in the district's time zone; a closing time at midnight reads as
    24:00 of the day before (``--closes 2025-12-31`` prints as ``2025-12-31 24:00``)."""
    if moment is None:
        return "-"
    local = as_utc(moment).astimezone(_local_zone())
    if closing and local.time() == dt.time():
        return (local - dt.timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def _describe(wave: Wave) -> str:
    status = wave_status(wave)
    window = f"opens {_local(wave.opens_at)}, closes {_local(wave.closes_at, closing=True)}"
    return f"wave {wave.code}: state {wave.state}, residents see: {status} ({window})"


# --------------------------------------------------------------------------- manyi wave

wave_group = AppGroup("wave", help="Create, open, close and list survey waves.")


@wave_group.command("create")
@click.argument("code")
@click.option("--opens", help="Opening time, e.g. 2025-03-01 or '2025-03-01 08:00' (Beijing time).")
@click.option("--closes", help="Closing time; a date alone means the end of that day.")
@click.option("--title-zh", default="", help="Chinese title (default: '<code>年度荆州区公共服务满意度调查').")
@click.option("--title-en", default="", help="English title.")
def wave_create(code: str, opens: str | None, closes: str | None, title_zh: str, title_en: str) -> None:
    """Create wave CODE (state draft), pinning the newest questionnaire versions."""
    require_schema()
    session = get_session()
    try:
        opens_at = parse_when(opens, option="--opens")
        closes_at = parse_when(closes, option="--closes", end_of_day=True)
        wave = create_wave(session, code, opens_at=opens_at, closes_at=closes_at, title_zh=title_zh, title_en=title_en)
    except (WaveError, click.BadParameter) as error:
        fail(error.format_message() if isinstance(error, click.BadParameter) else str(error))
    audit.record(
        session,
        "wave.create",
        username=audit.cli_actor(),
        target=f"wave {wave.code}",
        detail={"opens_at": _local(wave.opens_at), "closes_at": _local(wave.closes_at, closing=True)},
    )
    session.commit()
    pinned = ", ".join(sorted(wq.questionnaire_id for wq in wave.questionnaires))
    click.echo(f"created wave {wave.code} (draft); questionnaires pinned: {pinned}")
    click.echo(f"next: add collection points with 'manyi points add {wave.code} …', then 'manyi wave open {wave.code}'")


@wave_group.command("open")
@click.argument("code")
@click.option("--opens", help="Set a new opening time first.")
@click.option("--closes", help="Set a new closing time first (a date alone means the end of that day).")
def wave_open(code: str, opens: str | None, closes: str | None) -> None:
    """Open wave CODE for residents (within its opening window)."""
    require_schema()
    session = get_session()
    try:
        wave = get_wave(session, code)
        if opens or closes:
            set_wave_window(
                session,
                wave,
                opens_at=parse_when(opens, option="--opens"),
                closes_at=parse_when(closes, option="--closes", end_of_day=True),
            )
        open_wave(session, wave)
    except (WaveError, click.BadParameter) as error:
        fail(error.format_message() if isinstance(error, click.BadParameter) else str(error))
    audit.record(
        session,
        "wave.state",
        username=audit.cli_actor(),
        target=f"wave {wave.code}",
        detail={"state": "open", "opens_at": _local(wave.opens_at), "closes_at": _local(wave.closes_at, closing=True)},
    )
    session.commit()
    click.echo(_describe(wave))
    if not wave.points:
        click.echo(
            f"note: wave {wave.code} has no collection points yet; add one with 'manyi points add {wave.code} …'"
        )


@wave_group.command("close")
@click.argument("code")
def wave_close(code: str) -> None:
    """Close wave CODE: residents see "survey closed"; unfinished drafts stay partial."""
    require_schema()
    session = get_session()
    try:
        wave = close_wave(session, get_wave(session, code))
    except WaveError as error:
        fail(str(error))
    audit.record(
        session, "wave.state", username=audit.cli_actor(), target=f"wave {wave.code}", detail={"state": "closed"}
    )
    session.commit()
    click.echo(_describe(wave))


@wave_group.command("list")
def wave_list() -> None:
    """List every wave with its state and opening window."""
    require_schema()
    waves = list_waves(get_session())
    if not waves:
        click.echo("no waves yet; create one with 'manyi wave create 2025'")
        return
    for wave in waves:
        click.echo(f"{_describe(wave)}, {len(wave.points)} point(s)")


# --------------------------------------------------------------------------- manyi points

points_group = AppGroup("points", help="Add and list the collection points of a wave.")


@points_group.command("add")
@click.argument("wave_code", metavar="WAVE")
@click.option("--code", required=True, help="Point code: lower-case letters, digits, '_' or '-' (e.g. hosp-01).")
@click.option("--town", required=True, help="Town / street / management-area code (see common.yaml, e.g. xicheng).")
@click.option("--place", required=True, help="Where the poster hangs, as residents know it (e.g. 区人民医院门诊大厅).")
@click.option("--domain", "focus_domain", help="The point's focus domain, asked first (e.g. healthcare).")
def points_add(wave_code: str, code: str, town: str, place: str, focus_domain: str | None) -> None:
    """Add a collection point to WAVE, with its own unguessable survey URL."""
    require_schema()
    session = get_session()
    try:
        wave = get_wave(session, wave_code)
        point = add_point(session, wave, code=code, town=town, place=place, focus_domain=focus_domain)
    except WaveError as error:
        fail(str(error))
    audit.record(
        session,
        "point.create",
        username=audit.cli_actor(),
        target=f"point {wave.code}/{point.code}",
        detail={"town": point.town_code, "place": point.place, "focus_domain": point.focus_domain},
    )
    session.commit()
    click.echo(
        f"added point {point.code} to wave {wave.code}: {survey_url(current_app.config['PUBLIC_BASE_URL'], point)}"
    )


@points_group.command("list")
@click.argument("wave_code", metavar="WAVE")
def points_list(wave_code: str) -> None:
    """Print each point of WAVE: code, town, place and its survey URL (tab-separated)."""
    require_schema()
    session = get_session()
    try:
        wave = get_wave(session, wave_code)
    except WaveError as error:
        fail(str(error))
    points = list_points(session, wave)
    if not points:
        click.echo(
            f"wave {wave.code} has no collection points; add one with 'manyi points add {wave.code} --code … --town … --place …'",
            err=True,
        )
        return
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo("code\ttown\tplace\turl")
    for point in points:
        click.echo(f"{point.code}\t{point.town_code}\t{point.place}\t{survey_url(base, point)}")


# --------------------------------------------------------------------------- manyi qr


@click.command("qr")
@with_appcontext
@click.argument("wave_code", metavar="WAVE")
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

    require_schema()
    session = get_session()
    try:
        wave = get_wave(session, wave_code)
    except WaveError as error:
        fail(str(error))
    points = list_points(session, wave)
    if point_codes:
        known = {point.code for point in points}
        unknown = [code for code in point_codes if code not in known]
        if unknown:
            fail(f"wave {wave.code} has no point(s) {', '.join(unknown)}; see 'manyi points list {wave.code}'")
        points = [point for point in points if point.code in point_codes]
    if not points:
        fail(
            f"wave {wave.code} has no collection points; add one with 'manyi points add {wave.code} --code … --town … --place …'"
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
