"""The one adapter between the database and the scoring engine.

:func:`wave_responses_frame` turns a wave's stored responses into a pandas DataFrame in
the responses contract (``docs/contracts.md``) — exactly what ``python -m scoring`` reads
from a CSV — so that scoring the database and scoring a file are the same computation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questionnaire import COMMON_ID, DOMAIN_IDS
from survey.models import AnswerSet, CollectionPoint, QuestionnaireVersion, Response, Wave
from survey.services.answers import decode_matrix

FIXED_COLUMNS = ("response_id", "wave", "channel", "point", "town", "sex", "age_group", "duration_s", "submitted_at")
EXTRA_COLUMNS = ("state", "flags", "services_used")
#: The design columns (docs/contracts.md): the town where the response's collection point
#: stands — the design's strata (statistics.md) — and the point's focus domain; both empty
#: for a response without a point (phone, paper).  ``town`` stays the residence answer.
DESIGN_COLUMNS = ("point_town", "point_type")
#: The paradata columns of the integrity checks (docs/integrity.md): keyed hashes of the
#: client address and of the browser-id cookie — never the address or the cookie.
PARADATA_COLUMNS = ("ip_hash", "browser_hash")


def item_columns(versions: Iterable[QuestionnaireVersion]) -> list[str]:
    """Likert item columns in the contract order: domains in their fixed order, then ``overall``."""
    by_questionnaire: dict[str, list[str]] = defaultdict(list)
    for version in versions:
        for code in version.likert_codes:
            if code not in by_questionnaire[version.questionnaire_id]:
                by_questionnaire[version.questionnaire_id].append(code)
    columns: list[str] = []
    for questionnaire_id in (*DOMAIN_IDS, COMMON_ID):
        columns.extend(by_questionnaire.get(questionnaire_id, []))
    return columns


def wave_responses_frame(
    session: Session,
    wave: Wave,
    *,
    states: tuple[str, ...] = ("submitted",),
    include_comments: bool = False,
    design_columns: bool = False,
    paradata: bool = False,
) -> pd.DataFrame:
    """All responses of ``wave`` in the given states, one row each, in the contract.

    Likert answers are float64 (NaN = missing, including 不适用/不清楚).  The declared
    extra columns ``state``, ``flags`` and ``services_used`` follow the items; ``comment``
    only when ``include_comments`` (exports for the office, never the public);
    ``point_town`` and ``point_type`` (:data:`DESIGN_COLUMNS`, from the collection point)
    when ``design_columns`` — what the scoring's design needs (strata = the point's town);
    ``ip_hash`` and ``browser_hash`` (:data:`PARADATA_COLUMNS`, keyed hashes only) when
    ``paradata`` — what the integrity checks read.
    """
    columns = [
        Response.id,
        Response.uid,
        Response.channel,
        CollectionPoint.code,
        Response.town_code,
        Response.sex,
        Response.age_group,
        Response.duration_s,
        Response.submitted_at,
        Response.state,
        Response.flags,
        Response.services_used,
        CollectionPoint.town_code,
        CollectionPoint.focus_domain,
        Response.ip_hash,
        Response.respondent_hash,
    ]
    if include_comments:
        columns.append(Response.comment)
    query = (
        select(*columns)
        .outerjoin(CollectionPoint, Response.point_id == CollectionPoint.id)
        .where(Response.wave_id == wave.id, Response.state.in_(states))
        .order_by(Response.id)
    )
    rows = _fetch_raw(session, query)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    # Responses only ever reference the versions their wave pins (the resident flow and
    # the imports both write through them), so the item layout is known up front.
    versions = {wq.version_id: wq.version for wq in wave.questionnaires}
    codes = item_columns(versions[v] for v in sorted(versions))
    position = {code: index for index, code in enumerate(codes)}
    values = np.full((len(rows), len(codes)), np.nan)

    # One streamed query per version; each chunk of blobs is decoded with one frombuffer.
    for version_id in sorted(versions):
        version = versions[version_id]
        target = np.array([position[code] for code in version.likert_codes], dtype=np.intp)
        query = (
            select(AnswerSet.response_id, AnswerSet.answers)
            .join(Response, AnswerSet.response_id == Response.id)
            .where(AnswerSet.version_id == version_id, Response.wave_id == wave.id, Response.state.in_(states))
        )
        for chunk in _fetch_raw_chunks(session, query):
            matrix = decode_matrix([bytes(row[1]) for row in chunk], len(version.likert_codes))
            response_ids = np.fromiter((row[0] for row in chunk), dtype=np.int64, count=len(chunk))
            row_index = np.searchsorted(ids, response_ids)
            # The responses and their answers are two statements: a resident who submitted in
            # between has answers but no row here (and no other response's row gets them).
            found = row_index < len(ids)
            found[found] = ids[row_index[found]] == response_ids[found]
            values[row_index[found][:, None], target[None, :]] = matrix[found]

    columns_of = list(zip(*rows)) if rows else [()] * len(columns)
    frame = pd.DataFrame(
        {
            "response_id": list(columns_of[1]),
            "wave": wave.code,
            "channel": list(columns_of[2]),
            "point": _strings(columns_of[3]),
            "town": _strings(columns_of[4]),
            "sex": _strings(columns_of[5]),
            "age_group": _strings(columns_of[6]),
            "duration_s": pd.array(columns_of[7], dtype="Float64").to_numpy(dtype=np.float64, na_value=np.nan),
            "submitted_at": _iso_timestamps(columns_of[8]),
        }
    )
    items = pd.DataFrame(values, columns=codes)
    extras = pd.DataFrame(
        {"state": list(columns_of[9]), "flags": _strings(columns_of[10]), "services_used": _strings(columns_of[11])}
    )
    parts = [frame, items, extras]
    if include_comments:
        parts.append(pd.DataFrame({"comment": _strings(columns_of[16])}))
    if design_columns:
        parts.append(pd.DataFrame({"point_town": _strings(columns_of[12]), "point_type": _strings(columns_of[13])}))
    if paradata:
        parts.append(pd.DataFrame({"ip_hash": _strings(columns_of[14]), "browser_hash": _strings(columns_of[15])}))
    return pd.concat(parts, axis=1)


def _raw_cursor(session: Session, query):
    """Execute a SELECT on the DBAPI cursor: no ORM rows, no per-value type processing.

    A million-row export spends most of its time building result objects otherwise.
    Values come back as the driver gives them (SQLite: timestamps as text).
    """
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    cursor = connection.connection.driver_connection.cursor()
    parameters = compiled.params
    if connection.dialect.paramstyle in ("qmark", "numeric"):
        parameters = tuple(compiled.params[name] for name in compiled.positiontup)
    cursor.execute(str(compiled), parameters)
    return cursor


def _fetch_raw(session: Session, query) -> list[tuple]:
    cursor = _raw_cursor(session, query)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def _fetch_raw_chunks(session: Session, query, size: int = 100_000):
    cursor = _raw_cursor(session, query)
    try:
        while chunk := cursor.fetchmany(size):
            yield chunk
    finally:
        cursor.close()


def _strings(values: Iterable[object]) -> list[str]:
    return ["" if value is None else str(value) for value in values]


def _iso_timestamps(values: Iterable[object]) -> list[str]:
    """Stored UTC timestamps as ISO-8601 strings (``2025-06-01T08:00:00+00:00``).

    SQLite returns SQLAlchemy's text form (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), PostgreSQL
    a datetime; string slicing keeps a million rows well under a second.
    """
    out = []
    for value in values:
        if value is None:
            out.append("")
        elif isinstance(value, str):
            out.append(value[:10] + "T" + value[11:19] + "+00:00")
        else:
            out.append(value.astimezone(dt.UTC).isoformat(timespec="seconds"))
    return out
