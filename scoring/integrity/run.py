"""The integrity review of a responses table from start to end (the CLI and CSV users).

:func:`review_responses` reads (a CSV path or an in-memory table), validates against the
questionnaires, screens and runs :func:`~.review.review_integrity`, keeping the
``submitted_at`` column the estimate step does not load (the timing checks need it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..data import Instrument, read_responses, validate_responses
from ..questionnaire import QuestionnaireSet, load_questionnaires
from ..screening import screen_responses
from .review import Exclusion, IntegrityReview, IntegrityRules, review_integrity

__all__ = ["TIMING_COLUMNS", "review_responses"]

#: Columns the review reads that the estimate step skips by default.
TIMING_COLUMNS = ("submitted_at",)


def review_responses(
    source: str | Path | pd.DataFrame,
    *,
    questionnaires: str | Path | QuestionnaireSet | None = None,
    rules: IntegrityRules | None = None,
    exclusions: Sequence[Exclusion] = (),
    screening: bool = True,
) -> IntegrityReview:
    """Read, validate, screen and review a responses table.

    Parameters
    ----------
    source : path or DataFrame
        A responses CSV (docs/contracts.md) or the table itself.
    questionnaires : path or QuestionnaireSet, optional
        The questionnaire folder the data were collected with (else the items are read
        from the column names).
    rules : IntegrityRules, optional
    exclusions : sequence of Exclusion
        The office's decisions in force.
    screening : bool
        Apply the screening rules (``False``: keep every submitted row).

    Returns
    -------
    IntegrityReview

    Raises
    ------
    ScoringInputError
        A file or table that breaks the contract, naming the column and row.
    """
    frame = source if isinstance(source, pd.DataFrame) else read_responses(source, columns=TIMING_COLUMNS)
    if questionnaires is not None and not isinstance(questionnaires, QuestionnaireSet):
        questionnaires = load_questionnaires(Path(questionnaires))
    instrument = Instrument.from_questionnaires(questionnaires) if questionnaires is not None else None
    required = [column for column in TIMING_COLUMNS if column in frame.columns]
    responses = validate_responses(frame, instrument, required=required)
    return review_integrity(
        responses, screen_responses(responses, enabled=screening), rules=rules, exclusions=exclusions
    )
