"""Wave targets from the sample-size planner (:func:`scoring.planning.plan_sample_sizes`).

Without a previous wave the planner assumes an SD and a design effect; with a published
earlier wave it reads them from that wave's frozen ``results.json``, which carries the
clustering and weighting the district actually had.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.models import Publication, Town, Wave

if TYPE_CHECKING:  # the planner needs scipy: imported when a plan is made, not with the app
    from scoring.planning import SamplePlan


class PlanningError(ValueError):
    """The planner could not make a plan (the message says why)."""


@dataclass(frozen=True)
class TargetPlan:
    """A plan and the targets it suggests (shown for the admin to save or change)."""

    plan: SamplePlan
    targets: dict[str, Any]


def published_waves(session: Session, *, before: Wave | None = None) -> list[str]:
    """Codes of waves with a publication (other than ``before``), newest first."""
    query = select(Wave.code).join(Publication, Publication.wave_id == Wave.id).distinct()
    codes = sorted(set(session.scalars(query)), reverse=True)
    return [code for code in codes if before is None or code != before.code]


def latest_results(session: Session, wave_code: str) -> dict[str, Any]:
    """The results.json of the newest publication of ``wave_code``."""
    publication = session.scalar(
        select(Publication)
        .join(Wave, Publication.wave_id == Wave.id)
        .where(Wave.code == wave_code)
        .order_by(Publication.revision.desc())
        .limit(1)
    )
    if publication is None:
        raise PlanningError(f"wave {wave_code} has not been published; choose a published wave or none")
    return json.loads(publication.results_json)


def plan_targets(
    session: Session,
    wave: Wave,
    *,
    half_width: float,
    deff: float | None = None,
    sd: float | None = None,
    previous_wave: str | None = None,
) -> TargetPlan:
    """Targets for ``wave``: responses in total, respondents per domain, per town."""
    from scoring.planning import plan_sample_sizes

    results = latest_results(session, previous_wave) if previous_wave else None
    towns = tuple(session.scalars(select(Town.code).order_by(Town.sort_order, Town.code)))
    try:
        plan = plan_sample_sizes(
            half_width=half_width,
            deff=deff,
            sd=sd,
            results=results,
            results_name=f"published results of wave {previous_wave}" if previous_wave else "results",
            towns=towns,
        )
    except ValueError as error:
        raise PlanningError(str(error)) from None
    targets = plan.to_targets()
    targets["source"] = f"planner: ±{half_width:g} index points, SD and deff {plan.source}"
    return TargetPlan(plan, targets)
