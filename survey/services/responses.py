"""Storing whole responses in bulk (synthetic demo data, imports)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from survey.models import NOT_APPLICABLE, AnswerSet, CollectionPoint, Response, Wave, new_response_uid

BATCH = 5000
RECORD_COLUMNS = (
    "response_id",
    "point",
    "town",
    "sex",
    "age_group",
    "duration_s",
    "submitted_at",
    "services_used",
    "comment",
    "flags",
)


def _timestamp(value: object) -> dt.datetime | None:
    if value is None or value == "" or (isinstance(value, float) and np.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").to_pydatetime()


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def insert_frame(
    session: Session,
    wave: Wave,
    frame: pd.DataFrame,
    *,
    channel: str | None,
    keep_response_ids: bool = False,
    not_applicable: Mapping[str, np.ndarray] | None = None,
    state: str = "submitted",
) -> int:
    """Insert validated responses (a DataFrame in the responses contract) as submitted
    (or in ``state``: an import job stages its rows, :mod:`survey.services.imports`).

    ``channel`` is every row's channel; None takes each row's own from the frame's
    ``channel`` column (phone and paper rows of a synthetic sample or an import keep
    theirs, in the frame's order).

    Item columns must hold 1..K or NaN.  ``not_applicable`` optionally marks, per item
    column, the rows whose missing value was an explicit 不适用/不清楚 (kept apart from
    "not asked" in storage).  Returns the number of responses stored.
    """
    versions = {wq.questionnaire_id: wq.version for wq in wave.questionnaires}
    points = {
        code: point_id
        for code, point_id in session.execute(
            select(CollectionPoint.code, CollectionPoint.id).where(CollectionPoint.wave_id == wave.id)
        )
    }
    layouts = []
    for version in versions.values():
        present = [code for code in version.likert_codes if code in frame.columns]
        if present:
            layouts.append((version, present))

    total = 0
    for start in range(0, len(frame), BATCH):
        chunk = frame.iloc[start : start + BATCH]
        rows = []
        fixed = [column for column in RECORD_COLUMNS if column in chunk.columns]
        channels = [channel] * len(chunk) if channel is not None else chunk["channel"].astype(str).tolist()
        for data, row_channel in zip(chunk[fixed].to_dict("records"), channels, strict=True):
            submitted = _timestamp(data.get("submitted_at"))
            duration = data.get("duration_s")
            duration = None if duration is None or pd.isna(duration) else float(duration)
            started = submitted - dt.timedelta(seconds=duration) if submitted and duration else submitted
            rows.append(
                {
                    "uid": str(data["response_id"]) if keep_response_ids else new_response_uid(),
                    "wave_id": wave.id,
                    "point_id": points.get(str(data.get("point") or "")),
                    "channel": row_channel,
                    "state": state,
                    "started_at": started,
                    "updated_at": submitted,
                    "submitted_at": submitted,
                    "duration_s": duration,
                    "sex": _text(data.get("sex")),
                    "age_group": _text(data.get("age_group")),
                    "town_code": _text(data.get("town")),
                    "services_used": _text(data.get("services_used")),
                    "comment": _text(data.get("comment")),
                    "flags": _text(data.get("flags")) or "",
                    "language": "zh",
                }
            )
        ids = session.scalars(insert(Response).returning(Response.id, sort_by_parameter_order=True), rows).all()
        answer_rows = []
        for version, present in layouts:
            codes = version.likert_codes
            matrix = np.zeros((len(chunk), len(codes)), dtype=np.uint8)
            for column_index, code in enumerate(codes):
                if code not in present:
                    continue
                values = chunk[code].to_numpy(dtype=np.float64)
                answered = ~np.isnan(values)
                matrix[answered, column_index] = values[answered].astype(np.uint8)
                if not_applicable and code in not_applicable:
                    marks = np.asarray(not_applicable[code][start : start + BATCH], dtype=bool)
                    matrix[marks & ~answered, column_index] = NOT_APPLICABLE
            asked = matrix.any(axis=1)
            for row_index in np.flatnonzero(asked):
                answer_rows.append(
                    {"response_id": ids[row_index], "version_id": version.id, "answers": matrix[row_index].tobytes()}
                )
        if answer_rows:
            session.execute(insert(AnswerSet), answer_rows)
        total += len(rows)
    session.flush()
    return total
