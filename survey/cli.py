"""The ``manyi`` command line: Manyi's commands (:mod:`survey.commands`), then Flask's
``run``, ``shell`` and ``routes``.

The group only assembles: each command lives in its area's module of
:mod:`survey.commands`, which shares one way to fail, one instance and schema check and
one wave-code type (:mod:`survey.commands.base`).  Listing or helping never loads the
app, so ``manyi --help`` and ``manyi --version`` work anywhere and create nothing.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, routes_command, run_command, shell_command

from survey import __version__
from survey.commands import accounts, data, indicators, instance, integrity, jobs, publication, waves
from survey.commands.base import ManyiGroup, create_cli_app

#: Manyi's commands in the order ``manyi --help`` lists them.
MANYI_COMMANDS: tuple[click.Command, ...] = (
    *instance.COMMANDS,
    *waves.COMMANDS,
    *accounts.COMMANDS,
    *data.COMMANDS,
    *publication.COMMANDS,
    *indicators.COMMANDS,
    *integrity.COMMANDS,
    *jobs.COMMANDS,
)


class ManyiCommandLine(ManyiGroup, FlaskGroup):
    """``manyi``: Flask's group with Manyi's commands first and no app loaded to list them."""

    def __init__(self, **attrs: object) -> None:
        super().__init__(add_default_commands=False, add_version_option=False, **attrs)  # type: ignore[arg-type]
        # Flask's --app and --env-file would load another app or settings: not offered.
        self.params = [parameter for parameter in self.params if parameter.name not in ("app", "env_file")]
        for manyi_command in MANYI_COMMANDS:
            self.add_command(manyi_command)
        for flask_command in (run_command, shell_command, routes_command):
            click.Group.add_command(self, flask_command)  # as Flask made them (they load the app themselves)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        # Manyi registers no commands on the app: looking one up never loads it.
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        manyi_names = [command.name for command in MANYI_COMMANDS]
        flask_names = [name for name in self.commands if name not in manyi_names]
        limit = formatter.width - 6 - max(len(name) for name in self.commands)
        for title, names in (("Commands", manyi_names), ("Flask's commands", flask_names)):
            rows = [(name, self.commands[name].get_short_help_str(limit)) for name in names if name]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


@click.group(cls=ManyiCommandLine, create_app=create_cli_app)
@click.version_option(__version__, "--version", "-V", prog_name="manyi", message="%(prog)s %(version)s")
def main() -> None:
    """Manyi (满意): public-service satisfaction surveys.

    The instance folder is ./instance (or $MANYI_INSTANCE_PATH); the database is the
    SQLite file in it (or $MANYI_DATABASE_URL).  Start with 'manyi init' or 'manyi demo'.
    """
