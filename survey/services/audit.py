"""The audit log: who did what, when — logins, account, wave and point changes, exports,
imports and publications.

Every office action goes through :func:`record`, from the admin screens and from the
``manyi`` command line alike.  The client address is kept only as a keyed hash
(:func:`survey.privacy.keyed_hash`), and anything that looks like a secret is removed from
the details before they are stored, so that a password can never end up in the log.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import has_request_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.models import AuditEvent, User
from survey.privacy import client_address, keyed_hash

#: Actions recorded, with a short description (shown as a filter on the audit page).
ACTIONS: dict[str, str] = {
    "login.success": "signed in",
    "login.failure": "failed sign-in",
    "logout": "signed out",
    "account.create": "account created",
    "account.reset_password": "password reset",
    "account.change_password": "own password changed",
    "account.disable": "account disabled",
    "account.enable": "account enabled",
    "wave.create": "wave created",
    "wave.state": "wave opened or closed",
    "wave.targets": "wave targets set",
    "point.create": "collection point created",
    "point.update": "collection point changed",
    "export": "responses exported",
    "import": "responses imported",
    "import.rejected": "import rejected",
    "publication": "results published",
    "retention.purge": "expired responses deleted",
}

#: Keys never stored in ``detail``, at any depth (compared case-insensitively, as substrings).
_SECRET_MARKERS = ("password", "secret", "token", "csrf")

#: Who acts when a command is run from the shell rather than a signed-in screen.
CLI_ACTOR = "cli"


def cli_actor() -> str:
    """The name recorded for a command run from the shell: ``cli:<login name>``."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        who = "unknown"
    return f"{CLI_ACTOR}:{who}"


def _scrub(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key removed."""
    if isinstance(value, Mapping):
        return {
            str(key): _scrub(item)
            for key, item in value.items()
            if not any(marker in str(key).lower() for marker in _SECRET_MARKERS)
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def record(
    session: Session,
    action: str,
    *,
    user: User | None = None,
    username: str | None = None,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to ``session`` (the caller commits with its own change).

    Parameters
    ----------
    action
        One of :data:`ACTIONS`.
    user, username
        The acting account; ``username`` alone for a failed sign-in or the command line.
    target
        What was acted on (``wave 2025``, ``point hosp-01``, ``account alice``).
    detail
        Extra facts (JSON-able); secret-looking keys are dropped.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to survey.services.audit.ACTIONS")
    ip_hash = keyed_hash(client_address(), purpose="ip") if has_request_context() else None
    event = AuditEvent(
        user_id=user.id if user is not None else None,
        username=(user.username if user is not None else username) or "",
        action=action,
        target=target[:200],
        detail=_scrub(dict(detail)) if detail else None,
        ip_hash=ip_hash,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first."""

    events: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_events(
    session: Session,
    *,
    action: str | None = None,
    username: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Audit events, newest first, optionally of one action (or action family such as
    ``login``) and one user."""
    query = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    if action:
        condition = (AuditEvent.action == action) | AuditEvent.action.startswith(action + ".")
        query = query.where(condition)
        count = count.where(condition)
    if username:
        query = query.where(AuditEvent.username == username)
        count = count.where(AuditEvent.username == username)
    page = max(1, page)
    events = session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return AuditPage(list(events), session.scalar(count) or 0, page, per_page)
