"""The questionnaires a wave serves, rebuilt once per set of pinned versions and cached.

A wave pins questionnaire versions when it is created (:class:`~survey.models.WaveQuestionnaire`)
and stored versions never change, so the objects rebuilt from them are cached per set of
version ids: immutable data that any worker can rebuild, none depending on another's
cache.  The resident pages read only the pins on each request (see
:func:`survey.respond.visits.read_visit`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questionnaire import COMMON_ID, QuestionnaireSet
from survey.models import QuestionnaireVersion, Wave, WaveQuestionnaire
from survey.services.questionnaires import build_questionnaire_set

#: Where the common block's non-Likert answers are stored: item code → responses column.
COMMON_COLUMNS: dict[str, str] = {
    "services_used": "services_used",
    "sex": "sex",
    "age_group": "age_group",
    "town": "town_code",
    "comment": "comment",
}

#: A wave's pinned versions: sorted ``(questionnaire id, version id)`` pairs.
PinnedVersions = tuple[tuple[str, int], ...]

_CACHE_SIZE = 32


class SurveyDefinitionError(RuntimeError):
    """The wave's pinned questionnaires contain an item the resident flow cannot store."""


@dataclass(frozen=True)
class VersionLayout:
    """Where a questionnaire version's Likert answers go: its id and packed item order."""

    version_id: int
    likert_codes: tuple[str, ...]


@dataclass(frozen=True)
class PinnedSurvey:
    """The questionnaire versions a wave serves, rebuilt as objects, with their layouts.

    ``form_classes`` keeps the page form classes the resident pages build from these
    questionnaires (see :func:`survey.respond.routes.page_form_class_for`): like the
    questionnaires they never change, so they live as long as this object does.
    """

    questionnaires: QuestionnaireSet
    layouts: Mapping[str, VersionLayout]
    form_classes: dict[tuple[str, str, bool], type] = field(default_factory=dict, compare=False, repr=False)

    def layout_of_version(self, version_id: int) -> tuple[str, VersionLayout] | None:
        for questionnaire_id, layout in self.layouts.items():
            if layout.version_id == version_id:
                return questionnaire_id, layout
        return None


_cache: dict[PinnedVersions, PinnedSurvey] = {}
_lock = threading.Lock()


def wave_pins(session: Session, wave: Wave) -> PinnedVersions:
    """The versions ``wave`` pins, read from the database."""
    rows = session.execute(
        select(WaveQuestionnaire.questionnaire_id, WaveQuestionnaire.version_id).where(
            WaveQuestionnaire.wave_id == wave.id
        )
    ).all()
    return tuple(sorted((questionnaire_id, version_id) for questionnaire_id, version_id in rows))


def pinned_survey(session: Session, wave: Wave, pins: PinnedVersions | None = None) -> PinnedSurvey:
    """The questionnaire set pinned by ``wave`` (from the cache when it was built before).

    The wave's pins are read from the database unless ``pins`` (read together with the
    point by the resident pages) are given.
    """
    if pins is None:
        pins = wave_pins(session, wave)
    with _lock:
        cached = _cache.get(pins)
    if cached is not None:
        return cached
    versions = {
        version.questionnaire_id: version
        for version in session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.id.in_([version_id for _, version_id in pins]))
        )
    }
    if COMMON_ID not in versions:
        raise SurveyDefinitionError(
            f"wave {wave.code} pins no common questionnaire; recreate the wave after 'manyi init'"
        )
    questionnaires = build_questionnaire_set(versions)
    for item in questionnaires.common.items:
        if item.kind != "likert" and item.code not in COMMON_COLUMNS:
            raise SurveyDefinitionError(
                f"common item {item.code!r} ({item.kind}) has no column in the responses table; "
                "add a column and a migration before serving it to residents"
            )
    layouts = {
        questionnaire_id: VersionLayout(version.id, tuple(version.likert_codes))
        for questionnaire_id, version in versions.items()
    }
    pinned = PinnedSurvey(questionnaires, layouts)
    with _lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[pins] = pinned
    return pinned
