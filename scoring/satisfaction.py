"""Satisfaction estimates: domain and overall indices, satisfied rates, subgroups, alpha.

Given the analysis table (:mod:`scoring.scores`) and a design — calibrated or not,
linearization or replicates — :func:`estimate_satisfaction` computes, as defined in
statistics.md:

* the **domain index** θ_d, a ratio over the domain's subpopulation estimated on the full
  design (R: ``svyratio(~num, ~den, design)``), with its SE, design effect, Cronbach's
  alpha, its own **degrees of freedom** (the PSUs and strata holding at least one of its
  respondents, R: ``degf(subset(design, …))``) and a ``t_df`` interval;
* the **satisfied rate** of each ``<domain>.overall`` and of the global ``overall``,
  with logit (default), Korn–Graubard or Wilson intervals on the rate's own df;
* **stability**: a domain, rate or subgroup cell with fewer than ``min_n`` respondents
  or ``min_psus`` PSUs (or no degrees of freedom) is flagged *unstable* and gets no
  verdict (:class:`Stability`);
* the **overall index** ``Σ_d a_d θ_d`` with the variance of the linearized combination
  (covariances between domains included); ``a_d`` equal, from a file, or derived.  An
  unstable domain is left out and the weights of the others renormalised to sum 1 (the
  left-out domains are listed); when no domain is stable, every domain with respondents
  is used and the overall index is itself flagged unstable;
* **subgroup tables** by town, sex and age group: every domain index and the overall
  index with n, df, interval, CV, stability and a suppression flag; a subgroup's overall
  cell is suppressed when one of its components is unstable (a composite is no better
  than its weakest part; renormalising within one town would make towns incomparable);
* **headlines by group** (channel, point type …, for the sensitivity table): the
  overall index and satisfied rate within each level;
* the **target test** of both the index and the satisfied rate, overall and per domain,
  with verdicts that agree with the 95% interval (:mod:`scoring.target`).

Everything is computed from the design cells' weighted totals in a few matrix products,
so a million responses take about a second (benchmarks/bench_scoring.py).
:func:`results_dict` turns the result into the JSON contract (docs/contracts.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import DomainWeightsError, ScoringInputError
from .estimation import Design, cell_groups, linear_combination, ratio_from_totals
from .importance import pairwise_weighted_correlation, relative_weights
from .proportions import INTERVAL_METHODS, proportion_intervals
from .satisfaction_groups import OVERALL, _group_factor, _headlines, _index_results, _rate_results, _subgroup_results
from .satisfaction_results import (
    SUBGROUP_VARIABLES,
    UNSTABLE_DOMAIN_RULE,
    DomainResult,
    Headline,
    IndexResult,
    OverallResult,
    RateResult,
    SatisfactionEstimates,
    Stability,
    SubgroupResult,
    Suppression,
    headline_dict,
    headline_of,
    results_dict,
)
from .scores import AnalysisTable
from .survey_estimate import full_sample_design
from .target import TARGET_METRICS, TargetTest, target_test
from .vocabulary import DEFAULT_TARGET

__all__ = [
    "SUBGROUP_VARIABLES",
    "UNSTABLE_DOMAIN_RULE",
    "DomainResult",
    "Headline",
    "IndexResult",
    "OverallResult",
    "RateResult",
    "SatisfactionEstimates",
    "Stability",
    "SubgroupResult",
    "Suppression",
    "derived_domain_weights",
    "estimate_satisfaction",
    "headline_dict",
    "headline_of",
    "resolve_domain_weights",
    "results_dict",
]


# ---------------------------------------------------------------------------- domain weights


def derived_domain_weights(table: AnalysisTable, weights: np.ndarray, domains: Sequence[str]) -> dict[str, float]:
    """Relative importance of the domain scores for the global ``overall`` item.

    Johnson's relative weights from the respondent-weighted pairwise correlations of the
    domain scores and the ``overall`` item score, normalised to sum 1.
    """
    instrument = table.instrument
    if instrument.overall is None:
        raise DomainWeightsError("--domain-weights derived needs the global 'overall' item column")
    columns = [table.domain_score(d) for d in domains] + [table.item_score(instrument.overall)]
    correlation = pairwise_weighted_correlation(np.column_stack(columns), weights)
    if not np.isfinite(correlation).all():
        raise DomainWeightsError(
            "--domain-weights derived: some domain has too few respondents (or no variation) to correlate with "
            "'overall'; give a domain-weights file instead"
        )
    result = relative_weights(correlation[:-1, :-1], correlation[:-1, -1])
    shares = result.shares
    return dict(zip(domains, (float(s) for s in shares)))


def resolve_domain_weights(
    domain_weights: Mapping[str, float] | str | None,
    table: AnalysisTable,
    weights: np.ndarray,
) -> dict[str, float]:
    """Equal weights (None), a mapping (normalised), or ``"derived"``."""
    domains = table.instrument.domain_ids
    if domain_weights is None:
        return {d: 1.0 / len(domains) for d in domains}
    if isinstance(domain_weights, str):
        if domain_weights != "derived":
            raise DomainWeightsError(f"domain weights must be a mapping, a file or 'derived', got {domain_weights!r}")
        return derived_domain_weights(table, weights, domains)
    unknown = [d for d in domain_weights if d not in domains]
    if unknown:
        raise DomainWeightsError(f"the domain weights name {unknown[0]!r}, which has no items in the responses")
    values = {d: float(v) for d, v in domain_weights.items()}
    if any(not (math.isfinite(v) and v > 0) for v in values.values()):
        raise DomainWeightsError("domain weights must be positive numbers")
    total = sum(values.values())
    return {d: values[d] / total for d in domains if d in values}


# ---------------------------------------------------------------------------- estimation


def _overall_weights(
    requested: np.ndarray, domains: Sequence[str], results: Sequence[IndexResult]
) -> tuple[np.ndarray, tuple[tuple[str, str], ...], str | None]:
    """Weights of the overall index over the stable domains, the left-out domains, and why the
    overall index is itself unstable (no stable domain), if it is."""
    weighted = requested > 0
    stable = np.array([not r.unstable for r in results])
    answered = np.array([r.n > 0 and math.isfinite(r.index) for r in results])
    keep, reason = weighted & stable, None
    if not keep.any():
        keep = weighted & answered
        reason = "no domain of the overall index is stable; it is computed over every domain with respondents"
    used = np.where(keep, requested, 0.0)
    total = used.sum()
    used = used / total if total > 0 else used
    left_out = tuple(
        (domains[int(d)], results[int(d)].reason or "no respondents") for d in np.flatnonzero(weighted & ~keep)
    )
    return used, left_out, reason


def _targets(
    target: float,
    index: IndexResult,
    rate: RateResult | None,
    level: float,
) -> dict[str, TargetTest | None]:
    tests: dict[str, TargetTest | None] = {
        "index": target_test(
            index.index,
            index.se,
            index.df,
            target=target,
            metric="index",
            level=level,
            interval=(index.ci_low, index.ci_high),
            unstable_reason=index.reason,
        ),
        "satisfied_rate": None,
    }
    if rate is not None:
        tests["satisfied_rate"] = target_test(
            rate.estimate,
            rate.se,
            rate.df,
            target=target,
            metric="satisfied_rate",
            level=level,
            interval=(rate.ci_low, rate.ci_high),
            unstable_reason=rate.reason,
        )
    return tests


def estimate_satisfaction(
    table: AnalysisTable,
    design: Design,
    *,
    domain_weights: Mapping[str, float] | str | None = None,
    target: float | None = DEFAULT_TARGET,
    target_metric: str = "index",
    subgroup_variables: Sequence[str] = SUBGROUP_VARIABLES,
    suppression: Suppression = Suppression(),
    stability: Stability = Stability(),
    interval_method: str = "logit",
    level: float = 0.95,
    headline_groups: Mapping[str, pd.Series | np.ndarray] | None = None,
    headline_only: bool = False,
) -> SatisfactionEstimates:
    """Domain and overall indices, satisfied rates, subgroups and the target tests.

    Parameters
    ----------
    table : AnalysisTable
        Scores of the analysed responses, row for row the rows of ``design``.
    design : SurveyDesign or ReplicateDesign
        Calibrated or not; linearization or replicate variance.
    domain_weights : mapping, "derived" or None
        ``a_d`` of the overall index: equal (None), given (normalised to sum 1; domains
        left out get 0), or derived from the data (:func:`derived_domain_weights`).
        Unstable domains are then left out and the rest renormalised.
    target : float or None
        The target as people say it (85); None skips the tests.
    target_metric : {"index", "satisfied_rate"}
        Which overall figure is *the* plan's target (both are tested).
    subgroup_variables : sequence of str
        Columns for the subgroup tables (those absent from the data are skipped).
    suppression : Suppression
        When a subgroup cell is withheld (besides being unstable).
    stability : Stability
        Minimum respondents and PSUs of a figure with a verdict.
    interval_method : {"logit", "korn_graubard", "wilson"}
        Interval for the satisfied rates.
    level : float
        Confidence level.
    headline_groups : mapping, optional
        ``{name: row values}``: the overall index and satisfied rate within each level
        (the sensitivity table's channel and point-type rows).
    headline_only : bool
        Compute only what the headline needs — the domain indices, the overall index and
        the global satisfied rate — for the sensitivity runs: no alpha, no design
        effects, no domain satisfied rates, no subgroup tables.

    Returns
    -------
    SatisfactionEstimates

    Raises
    ------
    ScoringInputError
        When the design and table disagree, an option is invalid, or the satisfied-rate
        target lacks the ``overall`` item.
    """
    if interval_method not in INTERVAL_METHODS:
        raise ScoringInputError(
            f"interval method must be one of {', '.join(INTERVAL_METHODS)}, got {interval_method!r}"
        )
    if target_metric not in TARGET_METRICS:
        raise ScoringInputError(f"target metric must be one of {', '.join(TARGET_METRICS)}, got {target_metric!r}")
    base = full_sample_design(design)
    if base.n_rows != table.n:
        raise ScoringInputError(f"the design has {base.n_rows} rows but the analysis table {table.n}")
    instrument = table.instrument
    if target is not None and target_metric == "satisfied_rate" and instrument.overall is None:
        raise ScoringInputError("the satisfied-rate target needs the global 'overall' item column")
    domains = instrument.domain_ids
    n_domains = len(domains)
    requested_weights = resolve_domain_weights(domain_weights, table, base.weights)
    requested = np.array([requested_weights.get(d, 0.0) for d in domains])

    scores = table.domain_scores
    has_score = ~np.isnan(scores)
    rate_codes = [] if headline_only else [d.overall for d in instrument.domains if d.overall]
    rate_codes += [instrument.overall] if instrument.overall else []
    if headline_only:
        subgroup_variables = ()

    # One pass over the rows per value column, on cells refined by the grouping variables.
    groups = {v: _group_factor(table.frame[v]) for v in subgroup_variables if v in table.frame.columns}
    headline_names = []
    for name, values in (headline_groups or {}).items():
        key = f"\x00headline:{name}"
        groups[key] = _group_factor(values if isinstance(values, pd.Series) else pd.Series(values))
        headline_names.append((name, key))
    grouping = cell_groups(design, groups)
    refined_numerator = np.empty((grouping.n_refined, n_domains))
    refined_denominator = np.empty_like(refined_numerator)
    refined_squares = np.empty_like(refined_numerator)
    refined_counts = np.empty_like(refined_numerator)
    for d in range(n_domains):
        present = has_score[:, d]
        value = np.where(present, scores[:, d], 0.0)
        refined_numerator[:, d] = grouping.totals(value)
        refined_denominator[:, d] = grouping.totals(present)
        if not headline_only:
            refined_squares[:, d] = grouping.totals(value * value)
        if groups:
            refined_counts[:, d] = grouping.counts(present)
    rate_satisfied = np.empty((grouping.n_refined, len(rate_codes)))
    rate_answered = np.empty_like(rate_satisfied)
    rate_counts = np.empty(len(rate_codes), dtype=np.int64)
    overall_rate_totals = None
    for j, code in enumerate(rate_codes):
        satisfied = table.satisfied(code)
        answered = ~np.isnan(satisfied)
        rate_satisfied[:, j] = grouping.totals(np.where(answered, satisfied, 0.0))
        rate_answered[:, j] = grouping.totals(answered)
        rate_counts[j] = answered.sum()
        if code == instrument.overall and headline_names:
            overall_rate_totals = (rate_satisfied[:, j], rate_answered[:, j], grouping.counts(answered))
    refined_rows = grouping.counts(np.ones(table.n))
    numerator = grouping.cell_totals(refined_numerator)
    denominator = grouping.cell_totals(refined_denominator)
    squares = None if headline_only else grouping.cell_totals(refined_squares)
    counts = has_score.sum(axis=0)

    domain_index = ratio_from_totals(
        design, numerator, denominator, names=domains, statistic="mean", counts=counts, squares=squares
    )
    domain_psus, _, domain_df = base.member_degrees_of_freedom(denominator)
    index_results = _index_results(domain_index, domain_df, domain_psus, counts, stability, level)

    answered_cells = grouping.cell_totals(rate_answered)
    rate_psus, _, rate_df = base.member_degrees_of_freedom(answered_cells)
    rates = proportion_intervals(
        ratio_from_totals(
            design,
            grouping.cell_totals(rate_satisfied),
            answered_cells,
            names=tuple(rate_codes),
            statistic="mean",
            counts=rate_counts,
        ),
        method=interval_method,
        level=level,
        df=rate_df,
    )
    rate_results = dict(zip(rate_codes, _rate_results(rates, rate_df, rate_psus, stability)))

    used, left_out, overall_reason = _overall_weights(requested, domains, index_results)
    overall_estimate = linear_combination(domain_index, used, names=(OVERALL,))
    whole_df = np.array([float(base.degrees_of_freedom)])
    overall_index = _index_results(
        overall_estimate, whole_df, np.array([base.n_psu]), np.array([table.n]), stability, level
    )[0]
    if overall_reason is not None:
        reason = "; ".join(r for r in (overall_index.reason, overall_reason) if r)
        overall_index = IndexResult(**{**vars(overall_index), "unstable": True, "reason": reason})
    overall_rate = rate_results.get(instrument.overall) if instrument.overall else None

    overall_targets = None if target is None else _targets(target, overall_index, overall_rate, level)
    domain_results = {}
    for d, domain in enumerate(instrument.domains):
        rate = rate_results.get(domain.overall) if domain.overall else None
        domain_results[domain.domain] = DomainResult(
            domain=domain.domain,
            index=index_results[d],
            alpha=math.nan if headline_only else table.alpha(domain.domain),
            satisfied_rate=rate,
            weight=float(used[d]),
            targets=None if target is None or headline_only else _targets(target, index_results[d], rate, level),
        )
    overall = OverallResult(
        index=overall_index,
        df=base.degrees_of_freedom,
        satisfied_rate=overall_rate,
        domain_weights={d: float(used[k]) for k, d in enumerate(domains) if requested[k] > 0},
        left_out=left_out,
        targets=overall_targets,
    )

    subgroups = _subgroup_results(
        design,
        grouping,
        [v for v in subgroup_variables if v in groups],
        np.concatenate([refined_numerator, refined_denominator], axis=1),
        refined_counts,
        refined_rows,
        domains,
        used,
        suppression,
        stability,
        level,
    )
    headlines = _headlines(
        design,
        grouping,
        headline_names,
        np.concatenate([refined_numerator, refined_denominator], axis=1),
        refined_rows,
        overall_rate_totals,
        used,
        stability,
        interval_method,
        level,
    )
    return SatisfactionEstimates(
        domains=domain_results,
        overall=overall,
        subgroups=subgroups,
        target=None if overall_targets is None else overall_targets[target_metric],
        df=base.degrees_of_freedom,
        level=level,
        interval_method=interval_method,
        domain_index=domain_index,
        rates=rates,
        targets=overall_targets,
        target_metric=target_metric,
        stability=stability,
        headlines=headlines,
    )


# ---------------------------------------------------------------------------- results dict
