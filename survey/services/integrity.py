"""The integrity review of a wave from the database (docs/integrity.md).

:func:`review_wave` builds the wave's scoring frame with the design columns and the keyed
paradata (``ip_hash``, ``browser_hash``; never an address) and runs
:func:`scoring.integrity.run.review_responses` on it — the same checks a CSV user gets from
``python -m scoring integrity``.  It reads only; it stores nothing and needs no audit record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from survey.models import Wave

if TYPE_CHECKING:
    from scoring.integrity import IntegrityReview, IntegrityRules

__all__ = ["IntegrityUnavailable", "review_wave"]


class IntegrityUnavailable(ValueError):
    """The wave cannot be reviewed (no submitted responses yet, or bad data)."""


def review_wave(session: Session, wave: Wave, *, rules: IntegrityRules | None = None) -> IntegrityReview:
    """Run the integrity checks over the wave's submitted responses as they are now.

    Raises
    ------
    IntegrityUnavailable
        The wave has no submitted response, or its data break the responses contract
        (the message says which column and row).
    """
    from scoring.errors import ScoringInputError
    from scoring.integrity.run import review_responses
    from survey.adapter import wave_responses_frame
    from survey.services.questionnaires import wave_questionnaires

    frame = wave_responses_frame(session, wave, design_columns=True, paradata=True)
    if frame.empty:
        raise IntegrityUnavailable(f"wave {wave.code!r} has no submitted responses yet; nothing to review")
    try:
        return review_responses(frame, questionnaires=wave_questionnaires(wave), rules=rules)
    except ScoringInputError as error:
        raise IntegrityUnavailable(str(error)) from error
