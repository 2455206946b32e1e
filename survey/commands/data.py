"""Responses in and out: ``manyi export`` and ``manyi import``.

The same services as the export and import screens; both are recorded in the audit log
as ``cli:<login name>``.
"""

from __future__ import annotations

from pathlib import Path

import click

from scoring.atomic import write_bytes_atomically
from survey.commands.base import WAVE, command, fail, wave_or_fail
from survey.db import get_session
from survey.services import audit
from survey.services.audit import cli_actor
from survey.services.exports import FORMATS, ExportError, export_wave
from survey.services.imports import IMPORT_CHANNELS, import_responses


@command("export", short_help="Export a wave's responses: CSV, XLSX, SPSS, codebook.")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
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
def export_command(wave_code: str, format_: str, out: str, partial: bool, comments: bool) -> None:
    """Export a wave's responses to a file: CSV, long CSV, XLSX, SPSS or the codebook."""
    session = get_session()
    wave = wave_or_fail(wave_code)
    path = Path(out)
    if not path.parent.exists():
        fail(f"the folder {path.parent} does not exist; create it or choose another --out")
    try:
        exported = export_wave(session, wave, format_, include_partial=partial, include_comments=comments)
    except ExportError as error:
        fail(str(error))
    write_bytes_atomically(path, exported.data)
    audit.record_export(
        session,
        actor=cli_actor(),
        wave_code=wave.code,
        file_format=format_,
        rows=exported.rows,
        partial=partial,
        comments=comments,
        file=path.name,
    )
    session.commit()
    click.echo(
        f"{exported.rows} response(s) of wave {wave.code} written to {path} ({format_}, {len(exported.data):,} bytes)"
    )


@command("import", short_help="Import phone or paper responses from a CSV file.")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--channel", required=True, type=click.Choice(IMPORT_CHANNELS), help="phone (CATI) or paper.")
@click.option("--new-ids", is_flag=True, help="Give the responses new ids instead of keeping response_id.")
def import_command(wave_code: str, file: str, channel: str, new_ids: bool) -> None:
    """Import phone or paper responses from FILE (CSV) into WAVE — all rows or none."""
    session = get_session()
    wave = wave_or_fail(wave_code)
    data = Path(file).read_bytes()
    report = import_responses(
        session, wave, data, channel=channel, actor=cli_actor(), filename=Path(file).name, new_ids=new_ids
    )
    session.commit()  # the data when accepted; only the audit record when rejected
    if not report.ok:
        lines = "\n".join(f"  {line}" for line in report.lines())
        fail(f"{report.summary()}\nrows are numbered as in a spreadsheet (the header is row 1):\n{lines}")
    click.echo(report.summary())


COMMANDS = (export_command, import_command)
