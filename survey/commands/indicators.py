"""The plan's indicators: ``manyi indicators import FILE`` and ``manyi indicators list``.

The same service as the indicators screen (:mod:`survey.services.indicators`): a file is
checked whole and stored whole or not at all; both doors are recorded in the audit log
(``cli:<login name>`` here).
"""

from __future__ import annotations

from pathlib import Path

import click

from survey.commands.base import ManyiGroup, fail
from survey.db import get_session
from survey.services.audit import cli_actor
from survey.services.indicators import IndicatorError, import_values, indicator_rows

indicators_group = ManyiGroup("indicators", help="Record and list the yearly values of the plan's indicators.")


@indicators_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
def import_command(file: str) -> None:
    """Record indicator values from FILE, a CSV with the header code,year,value,source,note.

    Every row is checked first (a known indicator code, a year, a number, a source); a file
    with any problem is refused with each problem named by row and column, and nothing is
    stored.  A value for a code and year recorded before replaces it.
    """
    session = get_session()
    path = Path(file)
    try:
        result = import_values(session, path.read_bytes(), actor=cli_actor(), name=path.name)
    except IndicatorError as error:
        session.commit()  # the audit record of the refusal, and nothing else
        fail(f"{error}\nrows are numbered as in a spreadsheet (the header is row 1)")
    session.commit()
    click.echo(
        f"{path.name}: {result.rows} value(s) — {len(result.added)} new, {len(result.replaced)} replaced, "
        f"{result.unchanged} already recorded as they are"
    )
    for entry, old in result.replaced:
        click.echo(f"  replaced {entry.code} {entry.year}: {old:g} → {entry.value:g}")


@indicators_group.command("list")
@click.option("--year", type=int, help="Only the values of this year.")
def list_command(year: int | None) -> None:
    """List the plan's indicators (code, target) with the values recorded for each year."""
    plan, rows = indicator_rows(get_session(), language="en")
    if plan is None:
        fail("no district plan is loaded; run 'manyi init' (or 'manyi questionnaires load') first")
    click.echo(f"{plan.document}: {len(rows)} task indicators (code, target [year], recorded values)")
    for row in rows:
        values = {y: v for y, v in row.values.items() if year is None or y == year}
        recorded = "; ".join(f"{y}: {v.value:g} ({v.source})" for y, v in sorted(values.items())) or "-"
        click.echo(f"t{row.task:02d}  {row.code:<44} {row.target} [{row.target_year}]  {recorded}")


COMMANDS = (indicators_group,)
