"""Results by plan task and by lead unit: from a satisfaction index to the plan's accountability.

The district plan (:mod:`scoring.plan`) is 45 tasks, each led by one or more units (牵头单位),
and every aspect item of the questionnaires names the task it measures (``plan_task``).
:func:`plan_accountability` reads the scored responses through that map:

* **items** — every aspect item that measures a task: its index (the mean item score, a
  ratio over the residents who answered it, estimated on the full design like a domain
  index: R ``svymean(~s, subset(design, !is.na(s)))``), SE, ``t_df`` interval on its own
  df, n, PSUs, stability, and its priority from the key drivers when they were computed;
* **tasks** — the items that measure each task and a task index;
* **lead units** — the items of the tasks a unit leads and a **composite index** with its
  interval, the three items to fix first, the change against the previous wave, a rank
  among lead units with a 95% rank interval, and what the residents who answered its items
  said (shares of satisfied and dissatisfied answers);
* **indicators** — the plan's own numeric targets with the value the office recorded and
  its status, ``met``, ``not_yet`` or ``no_data`` (:meth:`scoring.plan.Indicator.status`),
  so that satisfaction (满意度) and completion (完成度) are read together.

Composite index
---------------
A task's or a unit's index is ``Σ_j c_j θ_j`` over its items with **equal weight per item**
(``c_j = 1/m`` over the m distinct items with a stable figure; an item measuring two of a
unit's tasks counts once).  Its variance is that of the linearized combination on the
design (R ``svycontrast``): the influence values are the same combination of the items'
influence values, so the covariances between items (the same residents answer several)
are included, exactly as for the overall index (statistics.md, "Overall index").  Its
degrees of freedom and its n are those of the residents who answered at least one of its
items (a subpopulation: R ``degf(subset(design, …))``).  As in the overall index, an
unstable item is left out and the weights of the others renormalised; with no stable item
the composite uses every item with respondents and is itself unstable.  A figure is
*unstable* below ``min_n`` respondents or ``min_psus`` PSUs or without df
(:class:`scoring.satisfaction.Stability`), and *suppressed* (withheld from the public) when
unstable, below ``suppress_min_n`` respondents or above ``suppress_max_cv``.  Unstable
figures get no verdict and no rank.

Ranks among lead units
----------------------
Lead units share items and respondents (区住建局 and 区生态环境分局 lead the same
environment tasks), so their composites are correlated.  The ranks are simulated from the
**joint normal distribution with the design covariance** of the composites (the covariance
matrix of the linearized combinations, or of the replicate estimates with a replicate
design): ``θ* ~ N(θ̂, Σ)``, 10,000 seeded draws, rank 1 the highest; each unit gets its
median rank and a 95% rank interval — never a bare rank (statistics.md, "Rankings").  Only
stable units are ranked.

It is pure: numpy and the engine's estimators, no Flask, no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .accountability_records import (
    _MIN_DRAWS,
    PRIORITY_RULE,
    RANKING_METHOD,
    WEIGHTING,
    IndexFigure,
    IndicatorProgress,
    IndicatorRecord,
    ItemPriority,
    ItemResult,
    LeadUnitResult,
    PlanAccountability,
    TaskResult,
    UnitChange,
    UnitRank,
)
from .errors import ScoringInputError
from .estimation import Design, SurveyEstimate, cell_totals, linear_combination, survey_mean
from .estimation import t_interval as _t_interval
from .planning import change as _change
from .planning import holm_adjust
from .satisfaction import Stability, Suppression
from .survey_estimate import full_sample_design
from .target import verdict_of_interval
from .vocabulary import DEFAULT_TARGET

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from .plan import Indicator, Plan
    from .questionnaire import Item, QuestionnaireSet

__all__ = [
    "DEFAULT_TARGET",
    "PRIORITY_RULE",
    "RANKING_METHOD",
    "WEIGHTING",
    "IndexFigure",
    "IndicatorProgress",
    "IndicatorRecord",
    "ItemPriority",
    "ItemResult",
    "LeadUnitResult",
    "PlanAccountability",
    "TaskResult",
    "UnitChange",
    "UnitRank",
    "indicator_progress",
    "plan_accountability",
    "withhold_suppressed",
]


# ---------------------------------------------------------------------------
# Results


# ---------------------------------------------------------------------------
# Indicators


def indicator_progress(
    plan: Plan, records: Sequence[IndicatorRecord], *, year: int | None
) -> tuple[IndicatorProgress, ...]:
    """Every task indicator of the plan with the value to read against its target.

    The value is the one recorded for ``year`` (the survey's year); without one, the latest
    recorded before it (``value_year`` says which year it is); with ``year`` None, the latest
    recorded.  The plan's overall goals are measured by the survey itself (its target test)
    and are not listed.

    Parameters
    ----------
    plan : Plan
    records : sequence of IndicatorRecord
        Recorded values; codes the plan does not know are ignored.
    year : int, optional

    Returns
    -------
    tuple of IndicatorProgress
        In the plan's order, with ``status`` ``met``, ``not_yet`` or ``no_data``.
    """
    by_code: dict[str, list[IndicatorRecord]] = {}
    for record in records:
        by_code.setdefault(record.code, []).append(record)
    progress = []
    for task in plan.tasks:
        for indicator in task.indicators:
            usable = [r for r in by_code.get(indicator.code, []) if year is None or r.year <= year]
            chosen = max(usable, key=lambda r: r.year) if usable else None
            progress.append(_progress(indicator, chosen))
    return tuple(progress)


def _progress(indicator: Indicator, record: IndicatorRecord | None) -> IndicatorProgress:
    value = None if record is None else float(record.value)
    return IndicatorProgress(
        code=indicator.code,
        task=indicator.task,
        name_zh=indicator.name.zh,
        name_en=indicator.name.en,
        target=indicator.target,
        unit_zh=indicator.unit.zh,
        unit_en=indicator.unit.en,
        direction=indicator.direction,
        target_year=indicator.year,
        measure=indicator.measure,
        value=value,
        value_year=None if record is None else record.year,
        source=None if record is None else record.source,
        note=(record.note or None) if record is not None else None,
        status=indicator.status(value),
    )


# ---------------------------------------------------------------------------
# Items


def _measuring_items(plan: Plan, questionnaires: QuestionnaireSet, columns: Sequence[str]) -> list[Item]:
    """The aspect items that name a task of the plan and were scored, in questionnaire order."""
    available = set(columns)
    numbers = set(plan.task_numbers)
    return [
        item
        for questionnaire in questionnaires.domains.values()
        for item in questionnaire.aspect_items
        if item.code in available and set(item.plan_tasks) & numbers
    ]


def _thresholds(length: int, mapping: str) -> tuple[float, float]:
    """Item scores of answer K−1 (satisfied from there up) and of answer 2 (dissatisfied from there down)."""
    if mapping == "monitoring":
        return (length - 1) / length * 100.0, 2 / length * 100.0
    return (length - 2) / (length - 1) * 100.0, 1 / (length - 1) * 100.0


def _stability(results: Mapping[str, Any]) -> tuple[Stability, Suppression]:
    analysis = ((results.get("settings") or {}).get("analysis")) or {}
    stability = Stability(
        min_n=int(analysis.get("min_n") or Stability.min_n),
        min_psus=int(analysis.get("min_psus") or Stability.min_psus),
    )
    suppression = Suppression(
        min_n=int(analysis.get("suppress_min_n", Suppression.min_n)),
        max_cv=float(analysis.get("suppress_max_cv") or Suppression.max_cv),
    )
    return stability, suppression


def _target(results: Mapping[str, Any]) -> float:
    """The target as people say it, tested on an index (the composites are indices)."""
    targets = results.get("targets") or {}
    for entry in (targets.get("index"), results.get("target")):
        if isinstance(entry, Mapping) and entry.get("target") is not None:
            value = float(entry["target"])
            return value * 100 if value <= 1 else value
    return DEFAULT_TARGET


def _figures(
    estimate: SurveyEstimate,
    members: np.ndarray,
    *,
    stability: Stability,
    suppression: Suppression,
    extra_reasons: Sequence[str | None] | None = None,
) -> list[IndexFigure]:
    """One figure per estimate; ``members`` (rows × K, bool) says who is in each figure's subpopulation."""
    base = full_sample_design(estimate.design)
    member_totals = cell_totals(estimate.design, members.astype(np.float64))
    psus, _, df = base.member_degrees_of_freedom(member_totals)
    counts = members.sum(axis=0)
    se = estimate.se
    low, high = _t_interval(estimate.estimate, se, np.asarray(df, dtype=np.float64))
    figures = []
    for k in range(len(estimate)):
        value = float(estimate.estimate[k])
        n, k_psus, k_df = int(counts[k]), int(psus[k]), int(df[k])
        reason = stability.reason(n, k_psus, float(k_df))
        extra = extra_reasons[k] if extra_reasons is not None else None
        if extra:
            reason = "; ".join(r for r in (reason, extra) if r)
        if not math.isfinite(value):
            reason = reason or "no respondents"
        unstable = reason is not None
        cv = float(se[k]) / abs(value) if math.isfinite(value) and value != 0 else math.nan
        if unstable:
            suppressed_reason: str | None = "unstable"
        elif suppression.suppressed(n, cv):
            suppressed_reason = (
                f"{n} respondents (fewer than {suppression.min_n})"
                if n < suppression.min_n
                else f"CV {cv:.2f} (above {suppression.max_cv:g})"
            )
        else:
            suppressed_reason = None
        figures.append(
            IndexFigure(
                index=value,
                se=float(se[k]),
                ci_low=float(low[k]),
                ci_high=float(high[k]),
                df=k_df,
                n=n,
                psus=k_psus,
                unstable=unstable,
                unstable_reason=reason,
                suppressed=suppressed_reason is not None,
                suppression_reason=suppressed_reason,
            )
        )
    return figures


def _driver_entries(results: Mapping[str, Any]) -> tuple[dict[str, Mapping[str, Any]], dict[str, int]]:
    drivers = results.get("drivers") or {}
    entries: dict[str, Mapping[str, Any]] = {}
    for domain in (drivers.get("domains") or {}).values():
        for entry in (domain or {}).get("items") or []:
            if isinstance(entry, Mapping) and entry.get("item"):
                entries[str(entry["item"])] = entry
    ranks = {
        str(p["item"]): int(p["rank"])
        for p in drivers.get("priorities") or []
        if isinstance(p, Mapping) and p.get("item") and p.get("rank") is not None
    }
    return entries, ranks


def _priority(
    code: str, figure: IndexFigure, target: float, drivers: Mapping[str, Mapping[str, Any]], ranks: Mapping[str, int]
) -> ItemPriority:
    entry = drivers.get(code)
    importance = entry.get("relative_importance") if entry is not None else None
    relative = float(importance) if isinstance(importance, (int, float)) and math.isfinite(importance) else None
    gap = max(target - figure.index, 0.0) if math.isfinite(figure.index) else math.nan
    weight = relative if relative is not None else 1.0
    return ItemPriority(
        relative_importance=relative,
        quadrant=str(entry["quadrant"]) if entry is not None and entry.get("quadrant") else None,
        gap=gap,
        score=weight * gap if math.isfinite(gap) else math.nan,
        district_rank=ranks.get(code),
    )


def _weighted_share(weights: np.ndarray, hits: np.ndarray, answered: np.ndarray) -> float:
    denominator = float(weights @ answered)
    return float(weights @ hits) / denominator if denominator > 0 else math.nan


# ---------------------------------------------------------------------------
# Composites


def _composite_columns(
    members: Sequence[Sequence[int]], figures: Sequence[IndexFigure], items: Sequence[str]
) -> tuple[np.ndarray, list[tuple[tuple[str, str], ...]], list[str | None]]:
    """Equal-weight coefficients (items × composites), the left-out items and extra unstable reasons."""
    matrix = np.zeros((len(items), len(members)))
    left_out: list[tuple[tuple[str, str], ...]] = []
    reasons: list[str | None] = []
    for q, positions in enumerate(members):
        stable = [j for j in positions if not figures[j].unstable]
        reason = None
        if not stable:
            stable = [j for j in positions if math.isfinite(figures[j].index)]
            reason = "no item of it is stable; computed over every item with respondents" if stable else None
        if stable:
            matrix[stable, q] = 1.0 / len(stable)
        left_out.append(
            tuple((items[j], figures[j].unstable_reason or "unstable") for j in positions if j not in stable)
        )
        reasons.append(reason)
    return matrix, left_out, reasons


def _rank_units(
    estimate: SurveyEstimate, coefficients: np.ndarray, ranked: Sequence[int], *, draws: int, seed: int
) -> dict[int, UnitRank]:
    """Median rank and 95% rank interval of the composites ``ranked`` from the joint normal.

    Units whose composites use the same items with the same weights (the six units that
    lead task 1 and nothing else) have one and the same composite: it is drawn once and
    they tie, sharing the better rank (1 + the number of units drawn strictly higher).
    """
    if len(ranked) < 2:
        return {}
    distinct, of_unit = np.unique(np.round(coefficients[:, list(ranked)].T, 12), axis=0, return_inverse=True)
    of_unit = np.asarray(of_unit).ravel()
    representative = [list(ranked)[int(np.flatnonzero(of_unit == d)[0])] for d in range(len(distinct))]
    multiplicity = np.bincount(of_unit, minlength=len(distinct)).astype(np.int64)
    theta = estimate.estimate[representative]
    covariance = estimate.covariance[np.ix_(representative, representative)]
    covariance = (covariance + covariance.T) / 2
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    root = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[None, :]
    rng = np.random.default_rng(seed)
    simulated = theta[None, :] + rng.standard_normal((draws, len(representative))) @ root.T
    # Rank 1 is the highest: 1 + the number of units (with their multiplicity) drawn strictly higher.
    higher = (simulated[:, None, :] > simulated[:, :, None]).astype(np.int64) @ multiplicity
    ranks = {}
    for position, q in enumerate(ranked):
        column = higher[:, of_unit[position]] + 1
        low, median, high = np.quantile(column, [0.025, 0.5, 0.975], method="inverted_cdf")
        ranks[q] = UnitRank(median_rank=int(median), rank_interval=(int(low), int(high)), n_ranked=len(ranked))
    return ranks


def _unit_changes(
    units: Sequence[LeadUnitResult], previous: Mapping[str, Any] | None, label: str | None
) -> list[UnitChange | None]:
    if previous is None:
        return [None] * len(units)
    before = previous.get("lead_units") or {}
    pending: list[tuple[int, tuple[float, ...], bool]] = []
    for position, unit in enumerate(units):
        old = before.get(unit.code)
        if not isinstance(old, Mapping) or unit.figure.unstable or old.get("unstable"):
            continue
        values = [old.get("index"), old.get("se")]
        if any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
            continue
        difference, se, df, low, high, p_value = _change(
            unit.figure.index,
            unit.figure.se,
            float(old["index"]),
            float(old["se"]),
            current_df=unit.figure.df,
            previous_df=float(old["df"]) if isinstance(old.get("df"), (int, float)) else None,
        )
        comparable = sorted(old.get("items") or []) == sorted(unit.items)
        pending.append((position, (float(old["index"]), difference, se, df, low, high, p_value), comparable))
    adjusted = holm_adjust([entry[1][6] for entry in pending])
    changes: list[UnitChange | None] = [None] * len(units)
    for (position, numbers, comparable), p_adjusted in zip(pending, adjusted):
        previous_index, difference, se, df, low, high, p_value = numbers
        changes[position] = UnitChange(
            previous=label or "",
            current=units[position].figure.index,
            previous_index=previous_index,
            difference=difference,
            se=se,
            df=df,
            ci_low=low,
            ci_high=high,
            p_value=p_value,
            p_adjusted=p_adjusted,
            significant=bool(math.isfinite(p_adjusted) and p_adjusted < 0.05),
            comparable=comparable,
        )
    return changes


# ---------------------------------------------------------------------------
# The whole


def _validate(item_scores: pd.DataFrame, design: Design, draws: int) -> None:
    rows = full_sample_design(design).n_rows
    if len(item_scores) != rows:
        raise ScoringInputError(
            f"item_scores has {len(item_scores)} rows but the design has {rows}; give the item scores of the "
            "analysed responses (EstimateRun.analysis_frame()) with their design"
        )
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < _MIN_DRAWS:
        raise ScoringInputError(f"draws must be at least {_MIN_DRAWS} (statistics.md, 'Rankings'), got {draws!r}")


def plan_accountability(
    plan: Plan,
    questionnaires: QuestionnaireSet,
    item_scores: pd.DataFrame,
    design: Design,
    *,
    results: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
    previous_label: str | None = None,
    indicators: Sequence[IndicatorRecord] = (),
    year: int | None = None,
    draws: int = _MIN_DRAWS,
    seed: int = 2025,
) -> PlanAccountability:
    """Results by plan task and by lead unit, with the plan's indicators.

    Parameters
    ----------
    plan : Plan
        The plan the wave uses (pinned with the wave).
    questionnaires : QuestionnaireSet
        The wave's questionnaires: which aspect item measures which task, labels, scales.
    item_scores : pandas.DataFrame
        Item scores 0–100 of the analysed responses (columns = item codes), row for row
        with ``design``.
    design : SurveyDesign or ReplicateDesign
        The design of the estimate step (raked or not; linearization or replicates).
    results : mapping
        The estimate step's results (settings, target, scale mapping) and, when computed,
        the key drivers (``drivers``) for the items' priorities.
    previous : mapping, optional
        The previous wave's results with their ``lead_units``: each unit's change.
    previous_label : str, optional
        The previous wave's code.
    indicators : sequence of IndicatorRecord
        The values the office recorded for the plan's indicators.
    year : int, optional
        The survey's year: the indicator values read against the targets are this year's
        (or the latest before it).
    draws, seed : int
        Rank simulation size (≥ 10,000) and seed.

    Returns
    -------
    PlanAccountability

    Raises
    ------
    ScoringInputError
        The item scores and the design do not match, or too few draws.

    Examples
    --------
    >>> run = run_estimate(options)                                               # doctest: +SKIP
    >>> frame = run.analysis_frame()                                              # doctest: +SKIP
    >>> result = plan_accountability(plan, questionnaires, frame, run.design, results=run.results)  # doctest: +SKIP
    >>> result.unit("health_bureau").figure.index                                 # doctest: +SKIP
    """
    _validate(item_scores, design, draws)
    stability, suppression = _stability(results)
    target = _target(results)
    mapping = str((results.get("scale") or {}).get("mapping") or "linear")
    items = _measuring_items(plan, questionnaires, list(item_scores.columns))
    codes = [item.code for item in items]
    position = {code: j for j, code in enumerate(codes)}
    scores = item_scores.loc[:, codes].to_numpy(dtype=np.float64, na_value=np.nan)
    answered = ~np.isnan(scores)
    weights = full_sample_design(design).weights

    item_estimate = survey_mean(design, scores, na_rm=True, names=codes)
    item_figures = _figures(item_estimate, answered, stability=stability, suppression=suppression)
    drivers, district_ranks = _driver_entries(results)
    item_results: dict[str, ItemResult] = {}
    satisfied_hits = np.zeros_like(answered)
    dissatisfied_hits = np.zeros_like(answered)
    for j, item in enumerate(items):
        length = questionnaires.scale_length(item.code)
        satisfied_from, dissatisfied_to = _thresholds(length, mapping)
        column = scores[:, j]
        with np.errstate(invalid="ignore"):
            satisfied_hits[:, j] = answered[:, j] & (column >= satisfied_from - 1e-9)
            dissatisfied_hits[:, j] = answered[:, j] & (column <= dissatisfied_to + 1e-9)
        item_results[item.code] = ItemResult(
            item=item.code,
            domain=item.questionnaire,
            label_zh=item.label.zh,
            label_en=item.label.en,
            tasks=tuple(number for number in item.plan_tasks if number in plan.task_numbers),
            figure=item_figures[j],
            satisfied_share=_weighted_share(weights, satisfied_hits[:, j], answered[:, j]),
            dissatisfied_share=_weighted_share(weights, dissatisfied_hits[:, j], answered[:, j]),
            priority=_priority(item.code, item_figures[j], target, drivers, district_ranks),
        )

    task_items = {
        task.number: [code for code in codes if task.number in item_results[code].tasks] for task in plan.tasks
    }
    units = plan.lead_units
    unit_tasks = {unit.code: plan.tasks_led_by(unit.code) for unit in units}
    unit_items = {
        unit.code: [code for code in codes if any(code in task_items[task.number] for task in unit_tasks[unit.code])]
        for unit in units
    }
    groups: list[list[int]] = [[position[c] for c in task_items[task.number]] for task in plan.tasks]
    groups += [[position[c] for c in unit_items[unit.code]] for unit in units]
    matrix, left_out, extra = _composite_columns(groups, item_figures, codes)
    names = [f"task{task.number}" for task in plan.tasks] + [f"unit:{unit.code}" for unit in units]
    composite = linear_combination(item_estimate, matrix, names=names)
    used = matrix > 0
    composite_members = (answered.astype(np.float64) @ used.astype(np.float64)) > 0
    composite_figures = _figures(
        composite, composite_members, stability=stability, suppression=suppression, extra_reasons=extra
    )

    tasks = []
    for q, task in enumerate(plan.tasks):
        tasks.append(
            TaskResult(
                number=task.number,
                domain=task.domain,
                title_zh=task.title.zh,
                title_en=task.title.en,
                lead_units=tuple(plan.unit(name).code for name in task.lead_units),
                items=tuple(task_items[task.number]),
                left_out_items=left_out[q],
                figure=composite_figures[q] if task_items[task.number] else None,
                indicators=tuple(indicator.code for indicator in task.indicators),
                measured_by_survey=task.measured_by_survey,
            )
        )

    offset = len(plan.tasks)
    unit_results = []
    for u, unit in enumerate(units):
        q = offset + u
        figure = composite_figures[q]
        verdict = None if figure.unstable else verdict_of_interval(figure.ci_low, figure.ci_high, target)
        unit_codes = unit_items[unit.code]
        fixable = [
            code
            for code in unit_codes
            if not item_results[code].figure.unstable and item_results[code].priority.score > 0
        ]
        fixable.sort(key=lambda code: (-item_results[code].priority.score, item_results[code].figure.index, code))
        columns = [position[code] for code in unit_codes]
        any_answer = answered[:, columns].any(axis=1) if columns else np.zeros(len(weights), dtype=bool)
        answer_weights = weights[:, None] * answered[:, columns]
        total = float(answer_weights.sum())
        unit_results.append(
            LeadUnitResult(
                code=unit.code,
                name_zh=unit.name.zh,
                name_en=unit.name.en,
                tasks=tuple(task.number for task in unit_tasks[unit.code]),
                items=tuple(unit_codes),
                left_out_items=left_out[q],
                figure=figure,
                verdict=verdict,
                priorities=tuple(fixable[:3]),
                respondents=int(any_answer.sum()),
                satisfied_share=float((weights[:, None] * satisfied_hits[:, columns]).sum()) / total
                if total > 0
                else math.nan,
                dissatisfied_share=float((weights[:, None] * dissatisfied_hits[:, columns]).sum()) / total
                if total > 0
                else math.nan,
            )
        )

    stable_units = [u for u, unit in enumerate(unit_results) if not unit.figure.unstable]
    ranks = _rank_units(composite, matrix, [offset + u for u in stable_units], draws=draws, seed=seed)
    changes = _unit_changes(unit_results, previous, previous_label)
    final_units = tuple(
        _with(unit, rank=ranks.get(offset + u), change=changes[u]) for u, unit in enumerate(unit_results)
    )
    notes = []
    if not drivers:
        notes.append("no key-driver analysis: the items to fix first are ranked by the points missing to the target")
    if previous is not None and not (previous.get("lead_units") or {}):
        notes.append(f"the previous wave ({previous_label}) has no lead-unit results; no change is computed")
    return PlanAccountability(
        plan_version=plan.version,
        plan_document=plan.document,
        plan_title_zh=plan.title.zh,
        year=year,
        target=target,
        items=item_results,
        tasks=tuple(tasks),
        units=final_units,
        indicators=indicator_progress(plan, indicators, year=year),
        draws=draws,
        seed=seed,
        previous=previous_label if previous is not None else None,
        notes=tuple(notes),
        unit_covariance=composite.covariance[offset:, offset:],
    )


def _with(unit: LeadUnitResult, *, rank: UnitRank | None, change: UnitChange | None) -> LeadUnitResult:
    from dataclasses import replace

    return replace(unit, rank=rank, change=change)


def withhold_suppressed(results: dict[str, Any]) -> dict[str, Any]:
    """Empty the figures of suppressed items, tasks and lead units (the public version).

    As the public JSON does for suppressed subgroup cells: ``n`` and the flags stay, the
    index, interval, shares, rank and change go.  Changes ``results`` in place and returns it.
    """
    figure_keys = ("index", "se", "ci_low", "ci_high", "cv", "satisfied_share", "dissatisfied_share")

    def blank(entry: dict[str, Any]) -> None:
        if entry.get("suppressed"):
            for key in figure_keys:
                if key in entry:
                    entry[key] = None
            if "verdict" in entry:
                entry["verdict"] = None

    for task in (results.get("tasks") or {}).values():
        for item in task.get("items") or []:
            blank(item)
        if isinstance(task.get("index"), dict):
            blank(task["index"])
    for unit in (results.get("lead_units") or {}).values():
        for item in unit.get("priorities") or []:
            blank(item)
        if unit.get("suppressed"):
            blank(unit)
            unit["rank"] = None
            unit["change"] = None
            unit["residents"] = {"n": (unit.get("residents") or {}).get("n")}
    return results
