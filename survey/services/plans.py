"""The district plan in the database: stored versions, and the version each wave pins.

The plan (``questionnaires/plan.yaml``, :mod:`scoring.plan`) is loaded with the
questionnaires.  Like them it is stored by content hash (:class:`~survey.models.PlanVersion`,
never changed once stored) and pinned by each wave (:class:`~survey.models.WavePlan`):

* a wave created after a plan is loaded pins the newest plan version
  (:func:`pin_newest_plan`, called by :func:`survey.services.waves.create_wave`);
* loading a plan pins it to every wave that has none yet — the waves created before plans
  were stored (:func:`store_plan`, called by
  :func:`survey.services.questionnaires.load_into_database`);
* a later edit of ``plan.yaml`` is a new version: waves keep the one they pinned, so a
  wave scored again reads its results by the same tasks and lead units.

:func:`wave_plan` rebuilds a wave's pinned plan (cached per content hash: stored versions
never change); :func:`survey.services.questionnaires.wave_questionnaires` attaches it to
the wave's questionnaires, which is how ``manyi score`` and publishing give it to the report.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.models import PlanVersion, Wave, WavePlan

if TYPE_CHECKING:  # pragma: no cover - typing only
    from scoring.plan import Plan

_cache: dict[str, Plan] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class StoredPlan:
    """What :func:`store_plan` did: the version, whether it is new, and the waves it was pinned to."""

    version: PlanVersion
    new: bool
    pinned_waves: tuple[str, ...]


def newest_plan_version(session: Session) -> PlanVersion | None:
    """The most recently loaded plan version (None before any plan is loaded)."""
    return session.scalar(select(PlanVersion).order_by(PlanVersion.id.desc()).limit(1))


def store_plan(session: Session, plan: Plan) -> StoredPlan:
    """Store ``plan`` as a version unless that content is stored already, and pin the newest
    version to every wave that pins none.

    The caller validates the plan first (:func:`scoring.questionnaire.load_questionnaires`
    does) and commits.
    """
    version = session.scalar(select(PlanVersion).where(PlanVersion.content_hash == plan.version))
    new = version is None
    if version is None:
        version = PlanVersion(
            content_hash=plan.version,
            definition=dict(plan.definition),
            source_file=Path(plan.file).name if plan.file else "",
        )
        session.add(version)
        session.flush()
    newest = newest_plan_version(session) or version
    unpinned = session.scalars(select(Wave).where(~Wave.id.in_(select(WavePlan.wave_id))).order_by(Wave.code)).all()
    for wave in unpinned:
        session.add(WavePlan(wave_id=wave.id, plan_version_id=newest.id))
    session.flush()
    return StoredPlan(version=version, new=new, pinned_waves=tuple(wave.code for wave in unpinned))


def pin_newest_plan(session: Session, wave: Wave) -> PlanVersion | None:
    """Pin the newest stored plan version to a new ``wave`` (nothing when no plan is stored)."""
    version = newest_plan_version(session)
    if version is not None and session.get(WavePlan, wave.id) is None:
        session.add(WavePlan(wave_id=wave.id, plan_version_id=version.id))
        session.flush()
    return version


def wave_plan_version(session: Session, wave: Wave) -> PlanVersion | None:
    """The plan version ``wave`` pins (None for a wave created before any plan was stored)."""
    link = session.get(WavePlan, wave.id)
    return link.plan_version if link is not None else None


def plan_of_version(version: PlanVersion) -> Plan:
    """The plan object of a stored version (rebuilt once per content hash, then cached)."""
    from scoring.plan import plan_from_definition

    with _lock:
        cached = _cache.get(version.content_hash)
    if cached is not None:
        return cached
    plan = plan_from_definition(version.definition)
    with _lock:
        _cache[version.content_hash] = plan
    return plan


def wave_plan(session: Session, wave: Wave) -> Plan | None:
    """The plan ``wave`` pins, as a :class:`scoring.plan.Plan` (None when it pins none)."""
    version = wave_plan_version(session, wave)
    return plan_of_version(version) if version is not None else None


def newest_plan(session: Session) -> Plan | None:
    """The newest stored plan (what recorded indicator values are checked against)."""
    version = newest_plan_version(session)
    return plan_of_version(version) if version is not None else None
