"""The audit log: who did what, when — logins, account, wave and point changes, exports,
imports and publications.

Every office action goes through :func:`record`, from the admin screens and from the
``manyi`` command line alike.  The client address is kept only as a keyed hash under the
audit log's own key (:data:`survey.privacy.AUDIT_ADDRESS`), and anything that looks like a secret is removed from
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
from survey.privacy import AUDIT_ADDRESS, client_address, keyed_hash

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
    "wave.window": "wave opening times changed",
    "wave.targets": "wave targets set",
    "wave.settings": "wave analysis settings changed",
    "point.create": "collection point created",
    "point.update": "collection point changed",
    "export": "responses exported",
    "export.download": "exported file downloaded",
    "import": "responses imported",
    "import.rejected": "import rejected",
    "publication": "results published",
    "indicator.record": "plan indicator value recorded",
    "indicator.import": "plan indicator values imported",
    "indicator.import.rejected": "plan indicator import rejected",
    "retention.purge": "expired responses deleted",
    "integrity.exclude": "point or address excluded from the estimate",
    "integrity.withdraw": "exclusion decision withdrawn",
    "job.succeeded": "office job succeeded",
    "job.failed": "office job failed",
}

#: Keys never stored in ``detail``, at any depth (compared case-insensitively, as substrings).
_SECRET_MARKERS = ("password", "secret", "token", "csrf")

#: Who acts when a command is run from the shell rather than a signed-in screen.
CLI_ACTOR = "cli"
#: Who acts when a script or a fixture changes something without naming anyone.
SYSTEM_ACTOR = "system"
#: Who acts for ``manyi demo``.
DEMO_ACTOR = "demo"

#: Who did it: a signed-in account, or a name (``cli:<login>``, ``demo``, ``system``).
Actor = User | str


# --------------------------------------------------------------------------- targets
# One spelling for what an event acted on, whichever door (screen or command) it came in by.


def wave_target(wave_code: str) -> str:
    """``wave 2025``."""
    return f"wave {wave_code}"


def point_target(wave_code: str, point_code: str) -> str:
    """``wave 2025 point hosp-01``."""
    return f"wave {wave_code} point {point_code}"


def account_target(username: str) -> str:
    """``account alice``."""
    return f"account {username}"


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
    actor: Actor | None = None,
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
    actor
        Who acted: an account, or a name for the command line (:func:`cli_actor`), the
        demo or a script.  The service functions take it from their caller.
    user, username
        The same, given apart (``username`` alone for a failed sign-in).
    target
        What was acted on (``wave 2025``, ``point hosp-01``, ``account alice``).
    detail
        Extra facts (JSON-able); secret-looking keys are dropped.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to survey.services.audit.ACTIONS")
    if actor is not None:
        if isinstance(actor, User):
            user = actor
        else:
            username = actor
    # The audit log's own key: its hashes cannot be matched with the responses' (privacy.py).
    ip_hash = keyed_hash(client_address(), purpose=AUDIT_ADDRESS) if has_request_context() else None
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


def record_export(
    session: Session,
    *,
    actor: Actor,
    wave_code: str,
    file_format: str,
    rows: int,
    partial: bool,
    comments: bool,
    file: str | None = None,
) -> AuditEvent:
    """Record an export of a wave's responses, as the screen and ``manyi export`` both do."""
    detail: dict[str, Any] = {"format": file_format, "rows": rows, "partial": partial, "comments": comments}
    if file:
        detail["file"] = file
    return record(session, "export", actor=actor, target=wave_target(wave_code), detail=detail)


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
    ``login``) and one user.

    A page past the last (a hand-typed ``?page=…``, however large) shows the last page.
    """
    query = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    if action:
        condition = (AuditEvent.action == action) | AuditEvent.action.startswith(action + ".")
        query = query.where(condition)
        count = count.where(condition)
    if username:
        query = query.where(AuditEvent.username == username)
        count = count.where(AuditEvent.username == username)
    total = session.scalar(count) or 0
    last_page = max(1, -(-total // per_page))
    page = min(max(1, page), last_page)
    events = session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return AuditPage(list(events), total, page, per_page)
