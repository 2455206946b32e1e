"""What a resident request reads before it decides anything: the point of ``/s/<token>``
with its wave and, in the same statement, the draft, the pins, the page's unused key and
the key sent with a form (:func:`read_visit`).

Every statement is a round trip and, through the ORM, a fraction of a millisecond of CPU,
so a resident request reads everything it may need at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, select
from sqlalchemy.orm import Session, contains_eager

from survey.models import AnswerSet, CollectionPoint, Response, SubmissionKey, WaveQuestionnaire
from survey.services import submission_keys
from survey.services.pinned_surveys import PinnedVersions
from survey.services.waves import well_formed_token


@dataclass
class Visit:
    """What a resident request reads before it decides anything (see :func:`read_visit`)."""

    #: The point, with its wave loaded.
    point: CollectionPoint
    #: The response the draft cookie names, if it was started at this point (any state).
    response: Response | None = None
    #: The wave's pinned versions (question pages only).
    pins: PinnedVersions | None = None
    #: The response's stored answer sets as ``(version id, packed answers)`` (question
    #: pages only; empty without a response).
    answer_rows: tuple[tuple[int, bytes], ...] = ()
    #: The newest unused key of the page asked for (a GET of a question page), if any.
    unused_key: str | None = None
    #: The row of the submission key sent with a form (a POST), if it exists.
    key_row: SubmissionKey | None = None


def _pins_column() -> Any:
    """The wave's pins as one string ``id:version;id:version…``, correlated to the point.

    Questionnaire ids are lower-case words (``[a-z_]+``), so ``:`` and ``;`` cannot occur
    in them.  ``aggregate_strings`` is ``group_concat`` on SQLite, ``string_agg`` on
    PostgreSQL.
    """
    pair = WaveQuestionnaire.questionnaire_id + ":" + cast(WaveQuestionnaire.version_id, String)
    return (
        select(func.aggregate_strings(pair, ";"))
        .where(WaveQuestionnaire.wave_id == CollectionPoint.wave_id)
        .scalar_subquery()
    )


def _parse_pins(joined: str | None) -> PinnedVersions:
    pairs = []
    for pin in (joined or "").split(";"):
        if pin:
            questionnaire_id, _, version_id = pin.partition(":")
            pairs.append((questionnaire_id, int(version_id)))
    return tuple(sorted(pairs))


@functools.cache
def _visit_statement(with_response: bool, with_key: bool, with_page: bool, with_unused_key: bool) -> Any:
    """The statement of :func:`read_visit` for one combination of what it reads.

    Built once per combination (there are few) with bound parameters ``token``, ``uid``,
    ``key`` and ``page_id``: building an ORM statement of this size costs more CPU than
    running it.  The columns are, in order: the point (its wave loaded with it), the
    response, the key row, the pins, the unused key, an answer set's version and answers.
    """
    statement = (
        select(CollectionPoint)
        .join(CollectionPoint.wave)
        .options(contains_eager(CollectionPoint.wave))
        .where(CollectionPoint.token == bindparam("token"))
    )
    if with_response:
        statement = statement.outerjoin(
            Response, and_(Response.uid == bindparam("uid"), Response.point_id == CollectionPoint.id)
        ).add_columns(Response)
    if with_key:
        statement = statement.outerjoin(SubmissionKey, SubmissionKey.key == bindparam("key")).add_columns(SubmissionKey)
    if with_page:
        statement = statement.add_columns(_pins_column())
        if with_response and with_unused_key:
            statement = statement.add_columns(
                submission_keys.unused_key_query(Response.id, bindparam("page_id")).scalar_subquery()
            )
        if with_response:
            statement = statement.outerjoin(AnswerSet, AnswerSet.response_id == Response.id).add_columns(
                AnswerSet.version_id, AnswerSet.answers
            )
    return statement


def read_visit(
    session: Session,
    token: str,
    *,
    uid: str | None = None,
    page_id: str | None = None,
    unused_key_of_page: bool = False,
    key: str | None = None,
) -> Visit | None:
    """The point of ``/s/<token>`` (None when there is none) with its wave and, in the
    same statement, what the request needs next.

    Every statement is a round trip and, through the ORM, a fraction of a millisecond
    of CPU, so a resident request reads everything it may need at once:

    * ``uid``: the response the draft cookie names, if it was started at this point;
    * ``page_id``: (a question page) the wave's pinned versions and the response's
      stored answer sets; with ``unused_key_of_page`` (a GET) also that page's newest
      unused key;
    * ``key``: (a POST) the submission key row sent with the form.

    Nothing here is written, and what is read is what the separate look-ups read
    (:func:`survey.respond.drafts.load_answers`, :func:`issue_key`,
    :func:`survey.services.submission_keys.find_key`).
    """
    if not well_formed_token(token):
        return None
    with_response = uid is not None
    with_page = page_id is not None
    with_unused_key = with_page and with_response and unused_key_of_page
    statement = _visit_statement(with_response, key is not None, with_page, with_unused_key)
    params: dict[str, Any] = {"token": token}
    if with_response:
        params["uid"] = uid
    if key is not None:
        params["key"] = key
    if with_unused_key:
        params["page_id"] = page_id
    rows = session.execute(statement, params).all()
    if not rows:
        return None
    first = iter(rows[0])
    visit = Visit(point=next(first))
    if with_response:
        visit.response = next(first)
    if key is not None:
        visit.key_row = next(first)
    if with_page:
        visit.pins = _parse_pins(next(first))
        if with_unused_key:
            visit.unused_key = next(first)
        if with_response:
            # One row per stored answer set (a single row of NULLs when there is none).
            visit.answer_rows = tuple((row[-2], row[-1]) for row in rows if row[-2] is not None)
    return visit


def issue_key(session: Session, response: Response, page_id: str, visit: Visit | None = None) -> str:
    """The one-time key for a rendering of ``page_id``.

    A page shown again before it was sent (a reload) reuses its unused key, so reloads do
    not pile up rows; once a key is used, the next rendering gets a new one.  With
    ``visit`` (read by :func:`read_visit` with ``unused_key_of_page``) the unused key it
    found is used instead of looking again.  The caller commits.
    """
    unused = visit.unused_key if visit is not None else submission_keys.find_unused_key(session, response.id, page_id)
    return unused or submission_keys.new_key(session, response.id, page_id)
