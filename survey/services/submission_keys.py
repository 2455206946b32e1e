"""One-time submission keys: every rendered resident page carries one.

:func:`claim_key` marks a key used in the same transaction that stores the page's
answers, with a conditional ``UPDATE`` that only one request can win; a repeat (double
tap, browser retry) finds the key used and is sent where the first one went
(:func:`record_result`), storing nothing.

The statements are built once and run on the session's connection: building a statement
and passing it through the ORM costs several times what running it does, and these touch
no object the session holds (bound parameter names differ from the column names, as
SQLAlchemy requires for UPDATE … SET).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from survey.models import Response, SubmissionKey, utcnow

#: What a key sent back with a form may look like (anything else is never looked up).
KEY_PATTERN = r"^[A-Za-z0-9_\-]{20,64}$"

_KEYS = SubmissionKey.__table__
_RESPONSES = Response.__table__
_INSERT_KEY = _KEYS.insert().values(key=bindparam("new_key"), response_id=bindparam("owner"), page=bindparam("page_id"))
_CLAIM_KEY = (
    _KEYS.update()
    .where(_KEYS.c.key == bindparam("claimed"), _KEYS.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_LOCK_RESPONSE = select(_RESPONSES.c.id).where(_RESPONSES.c.id == bindparam("owner")).with_for_update()
_RECORD_RESULT = _KEYS.update().where(_KEYS.c.key == bindparam("claimed")).values(result_url=bindparam("url"))


def unused_key_query(response_id: Any, page_id: Any) -> Any:
    """The newest unused key of ``page_id`` for ``response_id`` (values or bound parameters)."""
    return (
        select(SubmissionKey.key)
        .where(SubmissionKey.response_id == response_id, SubmissionKey.page == page_id, SubmissionKey.used_at.is_(None))
        .order_by(SubmissionKey.created_at.desc())
        .limit(1)
    )


def find_unused_key(session: Session, response_id: int, page_id: str) -> str | None:
    """The newest unused key of a page of a response, if there is one."""
    return session.scalar(unused_key_query(response_id, page_id))


def new_key(session: Session, response_id: int, page_id: str) -> str:
    """A fresh key for a rendering of ``page_id`` (the caller commits)."""
    key = secrets.token_urlsafe(24)
    session.connection().execute(_INSERT_KEY, {"new_key": key, "owner": response_id, "page_id": page_id})
    return key


def find_key(session: Session, key: str) -> SubmissionKey | None:
    return session.scalar(
        select(SubmissionKey).where(SubmissionKey.key == key).execution_options(populate_existing=True)
    )


def claim_key(session: Session, key: str, response: Response, *, now: dt.datetime | None = None) -> bool:
    """Mark ``key`` used; True for the one request that wins it.

    This is the transaction's first write: on SQLite it takes the database's write lock
    before anything is read for the update; on PostgreSQL the row lock makes a racing
    request wait and then find the key used.  The response row is then locked so that
    two pages of one response are never saved at once.
    """
    session.flush()  # nothing is pending here; if it were, it must not be lost
    connection = session.connection()
    result = connection.execute(_CLAIM_KEY, {"claimed": key, "now": now or utcnow()})
    if result.rowcount != 1:
        return False
    # SQLite has no row locks (SQLAlchemy drops FOR UPDATE there, leaving a plain read
    # that locks nothing): the claim above already holds the database's write lock, which
    # serialises the pages of a response as well, so the statement would only cost time.
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK_RESPONSE, {"owner": response.id})
    return True


def record_result(session: Session, key: str, result_url: str) -> None:
    """Remember where the first POST of ``key`` led (a repeat is sent there too)."""
    session.connection().execute(_RECORD_RESULT, {"claimed": key, "url": result_url})
