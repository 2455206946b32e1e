"""Questionnaires in the database: load new versions, find the ones a wave serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questionnaire import (
    COMMON_ID,
    OUTSIDE_DISTRICT,
    Questionnaire,
    QuestionnaireSet,
    load_questionnaires,
    questionnaire_from_definition,
    scales_from_definition,
)
from survey.models import QuestionnaireVersion, Town, Wave


class QuestionnairesNotFound(LookupError):
    """No questionnaire folder is configured (the message says how to configure one)."""


def questionnaires_dir(config: Mapping[str, Any]) -> Path:
    """The folder of questionnaire files (with ``margins/`` and ``benchmarks/``) that the
    app is configured with (``QUESTIONNAIRES_DIR``, ``$MANYI_QUESTIONNAIRES_DIR``).

    Raises
    ------
    QuestionnairesNotFound
        None is configured, or it holds no ``common.yaml``.
    """
    configured = config.get("QUESTIONNAIRES_DIR")
    if not configured:
        raise QuestionnairesNotFound(
            "no questionnaire folder is configured; set MANYI_QUESTIONNAIRES_DIR (or QUESTIONNAIRES_DIR in "
            "instance/config.py) to the folder that holds common.yaml — a source checkout has it in questionnaires/"
        )
    folder = Path(configured)
    if not (folder / "common.yaml").is_file():
        raise QuestionnairesNotFound(
            f"the questionnaire folder {folder} has no common.yaml; point MANYI_QUESTIONNAIRES_DIR "
            "(or QUESTIONNAIRES_DIR in instance/config.py) at the folder with the questionnaire files"
        )
    return folder


@dataclass(frozen=True)
class LoadReport:
    new_versions: tuple[str, ...]  # "education@<hash>"
    unchanged: tuple[str, ...]
    #: The district plan loaded with the questionnaires (``plan@<hash>``; None without plan.yaml)
    #: and whether that version is new (:func:`survey.services.plans.store_plan`).
    plan: str | None = None
    plan_new: bool = False


def likert_codes(questionnaire: Questionnaire) -> list[str]:
    return [item.code for item in questionnaire.items if item.kind == "likert"]


def load_into_database(session: Session, directory: str | Path) -> LoadReport:
    """Validate ``directory`` and store every questionnaire whose content is new.

    Nothing is written unless every file is valid (``QuestionnaireError`` otherwise).
    Existing versions are never modified, so old responses keep pointing at exactly what
    they answered.  Towns are synchronised from the ``town`` item of common.yaml (added or
    renamed, never deleted: old responses refer to them).
    """
    questionnaires = load_questionnaires(directory)
    new: list[str] = []
    unchanged: list[str] = []
    for questionnaire in questionnaires:
        existing = session.scalar(
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.questionnaire_id == questionnaire.id,
                QuestionnaireVersion.content_hash == questionnaire.version,
            )
        )
        label = f"{questionnaire.id}@{questionnaire.version}"
        if existing:
            unchanged.append(label)
            continue
        session.add(
            QuestionnaireVersion(
                questionnaire_id=questionnaire.id,
                content_hash=questionnaire.version,
                definition=dict(questionnaire.definition),
                likert_codes=likert_codes(questionnaire),
                source_file=Path(questionnaire.source).name,
            )
        )
        new.append(label)
    _sync_towns(session, questionnaires)
    plan_label, plan_new = None, False
    if questionnaires.plan is not None:
        from survey.services.plans import store_plan

        plan_new = store_plan(session, questionnaires.plan).new
        plan_label = f"plan@{questionnaires.plan.version}"
    session.flush()
    return LoadReport(tuple(new), tuple(unchanged), plan=plan_label, plan_new=plan_new)


def _sync_towns(session: Session, questionnaires: QuestionnaireSet) -> None:
    town_item = questionnaires.common.item("town")
    for order, choice in enumerate(town_item.choices):
        if choice.value == OUTSIDE_DISTRICT:  # a residence answer, never the town of a point
            continue
        town = session.get(Town, choice.value)
        if town is None:
            session.add(Town(code=choice.value, name_zh=choice.label.zh, name_en=choice.label.en, sort_order=order))
        elif (town.name_zh, town.name_en, town.sort_order) != (choice.label.zh, choice.label.en, order):
            town.name_zh, town.name_en, town.sort_order = choice.label.zh, choice.label.en, order


def latest_versions(session: Session) -> dict[str, QuestionnaireVersion]:
    """The most recently loaded version of each questionnaire."""
    rows = session.scalars(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id)).all()
    latest: dict[str, QuestionnaireVersion] = {}
    for row in rows:
        latest[row.questionnaire_id] = row
    return latest


def build_questionnaire_set(versions: dict[str, QuestionnaireVersion]) -> QuestionnaireSet:
    """Rebuild the questionnaire objects from stored versions (e.g. those a wave pins)."""
    common_definition = versions[COMMON_ID].definition
    scales = scales_from_definition(common_definition)
    common = questionnaire_from_definition(common_definition, scales)
    domains = {
        questionnaire_id: questionnaire_from_definition(version.definition, scales)
        for questionnaire_id, version in versions.items()
        if questionnaire_id != COMMON_ID
    }
    from scoring.questionnaire import DOMAIN_IDS

    ordered = {domain: domains[domain] for domain in DOMAIN_IDS if domain in domains}
    return QuestionnaireSet(common=common, domains=ordered, scales=scales)


def wave_questionnaires(wave: Wave) -> QuestionnaireSet:
    """The questionnaires a wave serves: the versions pinned when it was created, with the
    district plan the wave pins (``plan``; None for a wave that pins none)."""
    from dataclasses import replace

    from sqlalchemy.orm import object_session

    from survey.services.plans import wave_plan

    versions = {link.questionnaire_id: link.version for link in wave.questionnaires}
    if COMMON_ID not in versions:
        raise ValueError(f"wave {wave.code} has no questionnaires pinned; create waves with 'manyi wave create'")
    questionnaires = build_questionnaire_set(versions)
    session = object_session(wave)
    plan = wave_plan(session, wave) if session is not None else None
    return replace(questionnaires, plan=plan) if plan is not None else questionnaires
