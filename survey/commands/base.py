"""What every ``manyi`` command shares: one way to fail, one check that the instance is
initialised, one parameter type for a wave code.

* :func:`fail` prints ``error: …`` to stderr, rolls back anything not committed and
  exits with status 2.
* :class:`ManyiGroup` is the group class of ``manyi`` and its sub-groups.  Every command
  registered on one runs inside the app context of an instance whose database schema is
  up to date, or stops with "run 'manyi init'" (:func:`require_initialised`), unless it
  is declared ``needs_schema=False`` (``init``, ``demo``, ``questionnaires check``).
* :data:`WAVE` is the click type of a wave code argument.
* :func:`create_cli_app` is the app factory of the command line: it refuses to work in
  a folder without an instance (nothing is created there) unless the command declared
  ``creates_instance=True`` (``init`` and ``demo``).
"""

from __future__ import annotations

import copy
import functools
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from survey import create_app, instance_path
from survey.models import Wave
from survey.services.waves import WaveError, validate_wave_code

#: The message of every command run where there is no instance.
NO_INSTANCE = "no instance here ({path}); run 'manyi init' (or 'manyi demo') or set MANYI_INSTANCE_PATH"


def fail(message: str, status: int = 2) -> NoReturn:
    """Print an error to stderr and exit non-zero, rolling back anything not committed."""
    if has_app_context():
        from survey.db import get_session

        get_session().rollback()
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(status)


# --------------------------------------------------------------------------- the instance


def create_cli_app() -> Flask:
    """The app of the instance the command works on (``$MANYI_INSTANCE_PATH`` or ``./instance``).

    Only a command that creates instances (``creates_instance=True``) may run where
    there is none; any other stops with :data:`NO_INSTANCE` and creates nothing.
    """
    context = click.get_current_context(silent=True)
    creates = bool(context is not None and getattr(context.command, "creates_instance", False))
    folder = instance_path()
    if not creates and not os.path.isdir(folder):
        fail(NO_INSTANCE.format(path=folder))
    return create_app()


def require_initialised() -> None:
    """Stop with a clear message unless the database schema exists and is up to date."""
    from survey import schema

    try:
        current = schema.current_revision(current_app)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(f"cannot open the database ({reason}); check MANYI_DATABASE_URL, or run 'manyi init'")
    head = schema.head_revision(current_app)
    if current is None:
        fail("the database has no schema yet; run 'manyi init' first")
    if current != head:
        fail(f"the database schema is at revision {current}, the newest is {head}; run 'manyi init' to upgrade it")


def _prepare(callback: Callable[..., Any], *, needs_schema: bool, in_app: bool) -> Callable[..., Any]:
    """``callback`` run as a Manyi command: in the app context (``in_app``), after
    :func:`require_initialised` (``needs_schema``)."""
    if needs_schema and in_app:
        inner = callback

        @functools.wraps(inner)
        def checked(*args: Any, **kwargs: Any) -> Any:
            require_initialised()
            return inner(*args, **kwargs)

        callback = checked
    if in_app:
        callback = with_appcontext(callback)
    callback.manyi_prepared = True  # type: ignore[attr-defined]
    return callback


def _mark(command: click.Command, *, creates_instance: bool) -> click.Command:
    command.creates_instance = creates_instance  # type: ignore[attr-defined]
    return command


def command(
    name: str | None = None,
    *,
    needs_schema: bool = True,
    creates_instance: bool = False,
    with_appcontext: bool = True,
    **attrs: Any,
) -> Callable[[Callable[..., Any]], click.Command]:
    """A top-level ``manyi`` command (``click.command`` with the Manyi checks).

    Parameters
    ----------
    needs_schema
        Stop with "run 'manyi init'" unless the schema is up to date (default).
    creates_instance
        May run where no instance exists yet (``init`` and ``demo`` only).
    with_appcontext
        Run in the instance's app context (default); False for commands that need no app.
    """

    def decorator(callback: Callable[..., Any]) -> click.Command:
        prepared = _prepare(callback, needs_schema=needs_schema, in_app=with_appcontext)
        return _mark(click.command(name, **attrs)(prepared), creates_instance=creates_instance)

    return decorator


class ManyiGroup(AppGroup):
    """A command group whose commands run in an initialised instance.

    ``group.command(...)`` takes the options of :func:`command`.  Commands made
    elsewhere and added with :meth:`add_command` get the same check (on a copy: the
    original command object is left as it was).
    """

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:  # type: ignore[override]
        needs_schema = kwargs.pop("needs_schema", True)
        creates_instance = kwargs.pop("creates_instance", False)
        in_app = kwargs.pop("with_appcontext", True)

        def decorator(callback: Callable[..., Any]) -> click.Command:
            prepared = _prepare(callback, needs_schema=needs_schema, in_app=in_app)
            made = click.Group.command(self, *args, **kwargs)(prepared)
            return _mark(made, creates_instance=creates_instance)

        return decorator

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        callback = cmd.callback
        if not isinstance(cmd, click.Group) and callback is not None and not getattr(callback, "manyi_prepared", False):
            cmd = copy.copy(cmd)
            cmd.callback = _prepare(callback, needs_schema=True, in_app=True)
        super().add_command(cmd, name)


# --------------------------------------------------------------------------- wave codes


class WaveCode(click.ParamType):
    """A wave code argument (``2025``): its form checked as the wave service checks it;
    the command looks the wave up (:func:`wave_or_fail`)."""

    name = "WAVE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        try:
            validate_wave_code(text)
        except WaveError as error:
            self.fail(str(error), param, ctx)
        return text


WAVE = WaveCode()


def wave_or_fail(code: str) -> Wave:
    """The wave ``code`` of the current instance, or stop naming the waves there are."""
    from survey.db import get_session
    from survey.services.waves import find_wave, list_waves

    session = get_session()
    wave = find_wave(session, code)
    if wave is None:
        known = ", ".join(w.code for w in list_waves(session)) or "none yet"
        fail(f"no wave {code!r} (waves: {known}); create it with 'manyi wave create {code}'")
    return wave
