"""Satisfaction estimates: domain and overall indices, satisfied rates, subgroups, alpha.

Given the analysis table (:mod:`scoring.scores`) and a design — calibrated or not,
linearization or replicates — :func:`estimate_satisfaction` computes, as defined in
statistics.md:

* the **domain index** θ_d, a ratio over the domain's subpopulation estimated on the full
  design (R: ``svyratio(~num, ~den, design)``), with its SE, t interval, design effect
  and Cronbach's alpha;
* the **satisfied rate** of each ``<domain>.overall`` and of the global ``overall``,
  with logit (default), Korn–Graubard or Wilson intervals;
* the **overall index** ``Σ_d a_d θ_d`` with the variance of the linearized combination
  (covariances between domains included); ``a_d`` equal, from a file, or derived;
* **subgroup tables** by town, sex and age group: every domain index and the overall
  index with n, CV and a suppression flag;
* the one-sided **target test** (:mod:`scoring.target`).

Everything is computed from the design cells' weighted totals in a few matrix products,
so a million responses take about a second (benchmarks/bench_scoring.py).
:func:`results_dict` turns the result into the JSON contract of the scoring issue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .design import Factor
from .errors import DomainWeightsError, ScoringInputError
from .estimation import (
    CellGroups,
    Design,
    SurveyEstimate,
    cell_groups,
    full_sample_design,
    linear_combination,
    ratio_from_totals,
)
from .importance import pairwise_weighted_correlation, relative_weights
from .proportions import INTERVAL_METHODS, ProportionIntervals, proportion_intervals
from .scores import AnalysisTable
from .target import TargetTest, target_test

__all__ = [
    "SUBGROUP_VARIABLES",
    "DomainResult",
    "IndexResult",
    "OverallResult",
    "RateResult",
    "SatisfactionEstimates",
    "SubgroupResult",
    "Suppression",
    "derived_domain_weights",
    "estimate_satisfaction",
    "resolve_domain_weights",
]

SUBGROUP_VARIABLES: tuple[str, ...] = ("town", "sex", "age_group")
OVERALL = "overall"
_MISSING_LEVEL = "\x00missing"


@dataclass(frozen=True)
class Suppression:
    """Subgroup cells are suppressed when ``n < min_n`` or ``CV > max_cv``."""

    min_n: int = 30
    max_cv: float = 0.3

    def __post_init__(self) -> None:
        if self.min_n < 0 or not self.max_cv > 0:
            raise ValueError(f"suppression needs min_n ≥ 0 and max_cv > 0, got {self.min_n}, {self.max_cv}")

    def suppressed(self, n: int, cv: float) -> bool:
        return n < self.min_n or not math.isfinite(cv) or cv > self.max_cv


@dataclass(frozen=True)
class RateResult:
    """A satisfied rate (proportion 0–1) with SE, interval and respondents."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class IndexResult:
    """An index (0–100) with SE, t interval, respondents and design effect."""

    index: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    deff: float = math.nan


@dataclass(frozen=True)
class DomainResult:
    """One domain: its index, Cronbach's alpha and the satisfied rate of ``<domain>.overall``."""

    domain: str
    index: IndexResult
    alpha: float
    satisfied_rate: RateResult | None


@dataclass(frozen=True)
class OverallResult:
    """The overall index ``Σ a_d θ_d`` and the satisfied rate of the global ``overall`` item."""

    index: IndexResult
    df: int
    satisfied_rate: RateResult | None
    domain_weights: Mapping[str, float]


@dataclass(frozen=True)
class SubgroupResult:
    """One cell of a subgroup table (a domain or ``overall`` within one level)."""

    variable: str
    level: str
    domain: str
    index: float
    se: float
    n: int
    cv: float
    suppressed: bool


@dataclass(frozen=True, eq=False)
class SatisfactionEstimates:
    """Everything :func:`estimate_satisfaction` computes.

    Attributes
    ----------
    domains : mapping
        ``{domain_id: DomainResult}`` in domain order.
    overall : OverallResult
    subgroups : tuple of SubgroupResult
    target : TargetTest or None
    df : int
    level : float
    interval_method : str
    domain_index : SurveyEstimate
        The domain indices with their full covariance (for rankings, reports).
    rates : ProportionIntervals
    """

    domains: Mapping[str, DomainResult]
    overall: OverallResult
    subgroups: tuple[SubgroupResult, ...]
    target: TargetTest | None
    df: int
    level: float
    interval_method: str
    domain_index: SurveyEstimate = field(repr=False)
    rates: ProportionIntervals = field(repr=False)

    def subgroup_table(self) -> pd.DataFrame:
        """The subgroup results as a tidy table."""
        return pd.DataFrame([vars(s) for s in self.subgroups])


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


def _group_factor(frame: pd.DataFrame, variable: str) -> Factor:
    """Levels of a subgroup variable; rows without a value go to a hidden last level."""
    codes, uniques = pd.factorize(frame[variable], sort=True, use_na_sentinel=True)
    levels = tuple(str(u) for u in uniques)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(levels), codes)
        levels = levels + (_MISSING_LEVEL,)
    return Factor(codes, levels)


def _index_result(estimate: SurveyEstimate, k: int, low: np.ndarray, high: np.ndarray, n: int) -> IndexResult:
    return IndexResult(
        index=float(estimate.estimate[k]),
        se=float(estimate.se[k]),
        ci_low=float(low[k]),
        ci_high=float(high[k]),
        n=int(n),
        deff=float(estimate.deff[k]),
    )


def estimate_satisfaction(
    table: AnalysisTable,
    design: Design,
    *,
    domain_weights: Mapping[str, float] | str | None = None,
    target: float | None = 85.0,
    target_metric: str = "index",
    subgroup_variables: Sequence[str] = SUBGROUP_VARIABLES,
    suppression: Suppression = Suppression(),
    interval_method: str = "logit",
    level: float = 0.95,
) -> SatisfactionEstimates:
    """Domain and overall indices, satisfied rates, subgroups and the target test.

    Parameters
    ----------
    table : AnalysisTable
        Scores of the analysed responses, row for row the rows of ``design``.
    design : SurveyDesign or ReplicateDesign
        Calibrated or not; linearization or replicate variance.
    domain_weights : mapping, "derived" or None
        ``a_d`` of the overall index: equal (None), given (normalised to sum 1; domains
        left out get 0), or derived from the data (:func:`derived_domain_weights`).
    target : float or None
        The target as people say it (85); None skips the test.
    target_metric : {"index", "satisfied_rate"}
    subgroup_variables : sequence of str
        Columns for the subgroup tables (those absent from the data are skipped).
    suppression : Suppression
    interval_method : {"logit", "korn_graubard", "wilson"}
        Interval for the satisfied rates.
    level : float
        Confidence level.

    Returns
    -------
    SatisfactionEstimates

    Raises
    ------
    ScoringInputError
        When a domain with a weight has no respondent, or the satisfied-rate target lacks
        the ``overall`` item.
    """
    if interval_method not in INTERVAL_METHODS:
        raise ScoringInputError(
            f"interval method must be one of {', '.join(INTERVAL_METHODS)}, got {interval_method!r}"
        )
    base = full_sample_design(design)
    if base.n_rows != table.n:
        raise ScoringInputError(f"the design has {base.n_rows} rows but the analysis table {table.n}")
    instrument = table.instrument
    domains = instrument.domain_ids
    n_domains = len(domains)
    a = resolve_domain_weights(domain_weights, table, base.weights)
    coefficients = np.array([a.get(d, 0.0) for d in domains])

    scores = table.domain_scores
    has_score = ~np.isnan(scores)
    rate_codes = [d.overall for d in instrument.domains if d.overall] + (
        [instrument.overall] if instrument.overall else []
    )

    # One pass over the rows per value column, on cells refined by the subgroup variables.
    groups = {v: _group_factor(table.frame, v) for v in subgroup_variables if v in table.frame.columns}
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
        refined_squares[:, d] = grouping.totals(value * value)
        refined_counts[:, d] = grouping.counts(present)
    rate_satisfied = np.empty((grouping.n_refined, len(rate_codes)))
    rate_answered = np.empty_like(rate_satisfied)
    rate_counts = np.empty(len(rate_codes), dtype=np.int64)
    for j, code in enumerate(rate_codes):
        satisfied = table.satisfied(code)
        answered = ~np.isnan(satisfied)
        rate_satisfied[:, j] = grouping.totals(np.where(answered, satisfied, 0.0))
        rate_answered[:, j] = grouping.totals(answered)
        rate_counts[j] = answered.sum()
    numerator = grouping.cell_totals(refined_numerator)
    denominator = grouping.cell_totals(refined_denominator)
    squares = grouping.cell_totals(refined_squares)
    counts = has_score.sum(axis=0)
    empty = [domains[d] for d in range(n_domains) if counts[d] == 0 and coefficients[d] > 0]
    if empty:
        raise ScoringInputError(
            f"domain {empty[0]!r} has no respondent with a domain score, so the overall index is undefined; "
            "give --domain-weights without it"
        )
    domain_index = ratio_from_totals(
        design, numerator, denominator, names=domains, statistic="mean", counts=counts, squares=squares
    )
    low, high = domain_index.confint(level)

    rates = proportion_intervals(
        ratio_from_totals(
            design,
            grouping.cell_totals(rate_satisfied),
            grouping.cell_totals(rate_answered),
            names=tuple(rate_codes),
            statistic="mean",
            counts=rate_counts,
        ),
        method=interval_method,
        level=level,
    )

    def rate(code: str | None) -> RateResult | None:
        if code is None or code not in rate_codes:
            return None
        j = rate_codes.index(code)
        return RateResult(
            float(rates.estimate[j]),
            float(rates.se[j]),
            float(rates.ci_low[j]),
            float(rates.ci_high[j]),
            int(rates.counts[j]),
        )

    domain_results = {}
    for d, domain in enumerate(instrument.domains):
        domain_results[domain.domain] = DomainResult(
            domain=domain.domain,
            index=_index_result(domain_index, d, low, high, counts[d]),
            alpha=table.alpha(domain.domain),
            satisfied_rate=rate(domain.overall),
        )

    overall_estimate = linear_combination(domain_index, coefficients, names=(OVERALL,))
    overall_low, overall_high = overall_estimate.confint(level)
    overall = OverallResult(
        index=_index_result(overall_estimate, 0, overall_low, overall_high, table.n),
        df=base.degrees_of_freedom,
        satisfied_rate=rate(instrument.overall),
        domain_weights=a,
    )

    subgroups = _subgroup_results(
        design,
        grouping,
        np.concatenate([refined_numerator, refined_denominator], axis=1),
        refined_counts,
        domains,
        coefficients,
        suppression,
    )

    target_result = None
    if target is not None:
        if target_metric == "index":
            target_result = target_test(
                overall.index.index, overall.index.se, overall.df, target=target, metric="index"
            )
        else:
            if overall.satisfied_rate is None:
                raise ScoringInputError("the satisfied-rate target needs the global 'overall' item column")
            target_result = target_test(
                overall.satisfied_rate.estimate,
                overall.satisfied_rate.se,
                overall.df,
                target=target,
                metric=target_metric,
            )
    return SatisfactionEstimates(
        domains=domain_results,
        overall=overall,
        subgroups=subgroups,
        target=target_result,
        df=base.degrees_of_freedom,
        level=level,
        interval_method=interval_method,
        domain_index=domain_index,
        rates=rates,
    )


def _subgroup_results(
    design: Design,
    grouping: CellGroups,
    refined_totals: np.ndarray,
    refined_counts: np.ndarray,
    domains: Sequence[str],
    coefficients: np.ndarray,
    suppression: Suppression,
) -> tuple[SubgroupResult, ...]:
    """Every domain index and the overall index within each level of each group variable.

    ``refined_totals`` holds the numerators then the denominators of the domain indices
    per refined cell; a group's estimates are domain estimates on the full design.
    """
    n_domains = len(domains)
    n_cells = full_sample_design(design).cells.n_cells
    results = []
    for variable, factor in grouping.groups.items():
        totals = grouping.group_totals(refined_totals, variable)
        shape = (n_cells, factor.n_levels * n_domains)
        counts = np.rint(grouping.group_totals(refined_counts, variable).sum(axis=0)).astype(np.int64)
        estimate = ratio_from_totals(
            design,
            totals[:, :, :n_domains].reshape(shape),
            totals[:, :, n_domains:].reshape(shape),
            names=tuple(f"{level}:{d}" for level in factor.levels for d in domains),
            counts=counts.ravel(),
        )
        # Undefined when a domain with a weight has no respondent in the level.
        overall = linear_combination(
            estimate, np.kron(np.eye(factor.n_levels), coefficients[:, None]), names=factor.levels
        )
        level_sizes = np.bincount(factor.codes, minlength=factor.n_levels)
        for g, level in enumerate(factor.levels):
            if level == _MISSING_LEVEL:
                continue
            for d, domain in enumerate(domains):
                j = g * n_domains + d
                results.append(
                    _subgroup(
                        variable, level, domain, estimate.estimate[j], estimate.se[j], int(counts[g, d]), suppression
                    )
                )
            results.append(
                _subgroup(
                    variable, level, OVERALL, overall.estimate[g], overall.se[g], int(level_sizes[g]), suppression
                )
            )
    return tuple(results)


def _subgroup(
    variable: str, level: str, domain: str, index: float, se: float, n: int, suppression: Suppression
) -> SubgroupResult:
    index, se = float(index), float(se)
    if not math.isfinite(index):
        se = math.nan
    cv = se / abs(index) if math.isfinite(index) and index != 0 and math.isfinite(se) else math.nan
    return SubgroupResult(variable, level, domain, index, se, n, cv, suppression.suppressed(n, cv))


# ---------------------------------------------------------------------------- results dict


def _number(value: float | int | None) -> float | int | None:
    """JSON-safe: NaN and infinities become null."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _rate_dict(rate: RateResult | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    return {
        "estimate": _number(rate.estimate),
        "se": _number(rate.se),
        "ci_low": _number(rate.ci_low),
        "ci_high": _number(rate.ci_high),
    }


def results_dict(
    estimates: SatisfactionEstimates,
    *,
    weights: Mapping[str, Any],
    design: Mapping[str, Any],
    excluded: Mapping[str, int],
    inputs: Mapping[str, str],
    version: str,
) -> dict[str, Any]:
    """The results JSON of the scoring issue, with exactly its keys.

    ``overall``, ``domains``, ``target``, ``weights``, ``design``, ``excluded``,
    ``subgroups``, ``inputs``, ``version``.  Indices are 0–100, rates proportions;
    undefined numbers are ``null``; ``target`` is ``null`` when no target was tested.
    """
    overall = estimates.overall
    result: dict[str, Any] = {
        "overall": {
            "index": _number(overall.index.index),
            "se": _number(overall.index.se),
            "ci_low": _number(overall.index.ci_low),
            "ci_high": _number(overall.index.ci_high),
            "df": int(overall.df),
            "n": int(overall.index.n),
            "satisfied_rate": _rate_dict(overall.satisfied_rate),
        },
        "domains": {
            domain: {
                "index": _number(r.index.index),
                "se": _number(r.index.se),
                "ci_low": _number(r.index.ci_low),
                "ci_high": _number(r.index.ci_high),
                "n": int(r.index.n),
                "deff": _number(r.index.deff),
                "alpha": _number(r.alpha),
                "satisfied_rate": _rate_dict(r.satisfied_rate),
            }
            for domain, r in estimates.domains.items()
        },
        "target": None,
        "weights": {key: _number(value) if not isinstance(value, str) else value for key, value in weights.items()},
        "design": dict(design),
        "excluded": {reason: int(count) for reason, count in excluded.items()},
        "subgroups": {},
        "inputs": dict(inputs),
        "version": version,
    }
    if estimates.target is not None:
        t = estimates.target
        result["target"] = {
            "metric": t.metric,
            "value": _number(t.value),
            "estimate": _number(t.estimate),
            "statistic": _number(t.statistic),
            "p_value": _number(t.p_value),
            "verdict": t.verdict,
        }
    subgroups: dict[str, dict[str, dict[str, Any]]] = {v: {} for v in SUBGROUP_VARIABLES}
    for s in estimates.subgroups:
        subgroups.setdefault(s.variable, {}).setdefault(s.level, {})[s.domain] = {
            "index": _number(s.index),
            "se": _number(s.se),
            "n": int(s.n),
            "cv": _number(s.cv),
            "suppressed": bool(s.suppressed),
        }
    result["subgroups"] = subgroups
    return result
