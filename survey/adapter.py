"""The one adapter between the database and the scoring engine.

:func:`wave_responses_frame` turns a wave's stored responses into a pandas DataFrame in
the responses contract (``docs/contracts.md``) — exactly what ``python -m scoring`` reads
from a CSV — so that scoring the database and scoring a file are the same computation.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questionnaire import COMMON_ID, DOMAIN_IDS
from survey.models import AnswerSet, CollectionPoint, QuestionnaireVersion, Response, Wave, as_utc
from survey.services.answers import decode_matrix

FIXED_COLUMNS = ("response_id", "wave", "channel", "point", "town", "sex", "age_group", "duration_s", "submitted_at")
EXTRA_COLUMNS = ("state", "flags", "services_used")


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
) -> pd.DataFrame:
    """All responses of ``wave`` in the given states, one row each, in the contract.

    Likert answers are float64 (NaN = missing, including 不适用/不清楚).  The declared
    extra columns ``state``, ``flags`` and ``services_used`` follow the items; ``comment``
    only when ``include_comments`` (exports for the office, never the public).
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
    ]
    if include_comments:
        columns.append(Response.comment)
    query = (
        select(*columns)
        .outerjoin(CollectionPoint, Response.point_id == CollectionPoint.id)
        .where(Response.wave_id == wave.id, Response.state.in_(states))
        .order_by(Response.id)
    )
    rows = session.execute(query).all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    version_ids = {wq.version_id for wq in wave.questionnaires}
    answer_rows = session.execute(
        select(AnswerSet.version_id, AnswerSet.response_id, AnswerSet.answers)
        .join(Response, AnswerSet.response_id == Response.id)
        .where(Response.wave_id == wave.id, Response.state.in_(states))
        .order_by(AnswerSet.version_id, AnswerSet.response_id)
    ).all()
    version_ids.update(row[0] for row in answer_rows)
    versions = {
        version.id: version
        for version in session.scalars(select(QuestionnaireVersion).where(QuestionnaireVersion.id.in_(version_ids)))
    }
    codes = item_columns(versions[v] for v in sorted(versions))
    position = {code: index for index, code in enumerate(codes)}
    values = np.full((len(rows), len(codes)), np.nan)

    start = 0
    while start < len(answer_rows):
        version_id = answer_rows[start][0]
        stop = start
        while stop < len(answer_rows) and answer_rows[stop][0] == version_id:
            stop += 1
        version = versions[version_id]
        matrix = decode_matrix([row[2] for row in answer_rows[start:stop]], len(version.likert_codes))
        row_index = np.searchsorted(ids, np.fromiter((row[1] for row in answer_rows[start:stop]), dtype=np.int64))
        target = [position[code] for code in version.likert_codes]
        values[np.ix_(row_index, target)] = matrix
        start = stop

    frame = pd.DataFrame(
        {
            "response_id": [row[1] for row in rows],
            "wave": wave.code,
            "channel": [row[2] for row in rows],
            "point": [row[3] or "" for row in rows],
            "town": [row[4] or "" for row in rows],
            "sex": [row[5] or "" for row in rows],
            "age_group": [row[6] or "" for row in rows],
            "duration_s": np.array([np.nan if row[7] is None else row[7] for row in rows], dtype=np.float64),
            "submitted_at": [as_utc(row[8]).isoformat() if row[8] else "" for row in rows],
        }
    )
    items = pd.DataFrame(values, columns=codes)
    extras = pd.DataFrame(
        {
            "state": [row[9] for row in rows],
            "flags": [row[10] or "" for row in rows],
            "services_used": [row[11] or "" for row in rows],
        }
    )
    parts = [frame, items, extras]
    if include_comments:
        parts.append(pd.DataFrame({"comment": [row[12] or "" for row in rows]}))
    return pd.concat(parts, axis=1)
