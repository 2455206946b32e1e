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
    t_interval,
)
from .importance import pairwise_weighted_correlation, relative_weights
from .proportions import INTERVAL_METHODS, ProportionIntervals, proportion_intervals
from .scores import AnalysisTable
from .target import TARGET_METRICS, TargetTest, target_test

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

SUBGROUP_VARIABLES: tuple[str, ...] = ("town", "sex", "age_group")
OVERALL = "overall"
_MISSING_LEVEL = "\x00missing"
#: How the overall index treats an unstable domain (written into results).
UNSTABLE_DOMAIN_RULE = (
    "unstable domains are left out of the overall index and the weights of the other domains renormalised "
    "to sum 1; if no domain is stable, every domain with respondents is used and the overall index is "
    "flagged unstable; a subgroup's overall cell is suppressed when one of its domains is unstable"
)


def _validate_count(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ScoringInputError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")


@dataclass(frozen=True)
class Suppression:
    """Subgroup cells are suppressed when ``n < min_n`` or ``CV > max_cv`` (or unstable)."""

    min_n: int = 30
    max_cv: float = 0.3

    def __post_init__(self) -> None:
        if self.min_n < 0 or not self.max_cv > 0:
            raise ValueError(f"suppression needs min_n ≥ 0 and max_cv > 0, got {self.min_n}, {self.max_cv}")

    def suppressed(self, n: int, cv: float) -> bool:
        return n < self.min_n or not math.isfinite(cv) or cv > self.max_cv


@dataclass(frozen=True)
class Stability:
    """When a figure is too thin to carry a verdict (statistics.md, "Degrees of freedom").

    A domain, satisfied rate or subgroup cell is **unstable** when it rests on fewer than
    ``min_n`` respondents or fewer than ``min_psus`` PSUs (collection points; a phone or
    paper respondent is a PSU of her own), or has no degrees of freedom.  Defaults and why
    (docs/statistics.md, "Stability"):

    * ``min_n = 30`` — below it a ratio's sampling distribution is visibly skewed and
      its linearized SE biased (the customary floor, also NCHS's for proportions);
    * ``min_psus = 5`` — the variance of a figure is estimated from its PSU totals: with
      five PSUs in one stratum (df 4) the SE itself is uncertain by about
      ``1/√(2 df) ≈ 35%`` and ``t_{4, 0.975} = 2.78``; with fewer the interval mostly
      reflects the t multiplier and a verdict would rest on two or three point totals.
    """

    min_n: int = 30
    min_psus: int = 5

    def __post_init__(self) -> None:
        _validate_count(self.min_n, "min_n (minimum respondents for a stable figure)", 1)
        _validate_count(self.min_psus, "min_psus (minimum PSUs for a stable figure)", 2)

    def reason(self, n: int, psus: int, df: float) -> str | None:
        """Why a figure with ``n`` respondents in ``psus`` PSUs and ``df`` is unstable (None if stable)."""
        reasons = []
        if n < self.min_n:
            reasons.append(f"{n} respondents (fewer than {self.min_n})")
        if psus < self.min_psus:
            reasons.append(f"{psus} PSUs (fewer than {self.min_psus})")
        if not (math.isfinite(df) and df >= 1):
            reasons.append(f"{_integer_text(df)} degrees of freedom (an interval needs at least 1)")
        return "; ".join(reasons) or None


def _integer_text(value: float) -> str:
    return str(int(value)) if math.isfinite(value) and value == int(value) else f"{value:g}"


@dataclass(frozen=True)
class RateResult:
    """A satisfied rate (proportion 0–1) with SE, interval, respondents, df and stability."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    df: float = math.nan
    psus: int = 0
    unstable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class IndexResult:
    """An index (0–100) with SE, t interval, respondents, design effect, df and stability."""

    index: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    deff: float = math.nan
    df: float = math.nan
    psus: int = 0
    unstable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class DomainResult:
    """One domain: its index, Cronbach's alpha, the satisfied rate of ``<domain>.overall``,
    its weight in the overall index (0 when left out) and its target tests."""

    domain: str
    index: IndexResult
    alpha: float
    satisfied_rate: RateResult | None
    weight: float = 0.0
    targets: Mapping[str, TargetTest | None] | None = None


@dataclass(frozen=True)
class OverallResult:
    """The overall index ``Σ a_d θ_d`` and the satisfied rate of the global ``overall`` item.

    ``domain_weights`` are the weights used (renormalised over the stable domains);
    ``left_out`` lists ``(domain, reason)`` of the domains that had a weight but were
    left out.
    """

    index: IndexResult
    df: int
    satisfied_rate: RateResult | None
    domain_weights: Mapping[str, float]
    left_out: tuple[tuple[str, str], ...] = ()
    targets: Mapping[str, TargetTest | None] | None = None


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
    ci_low: float = math.nan
    ci_high: float = math.nan
    df: float = math.nan
    psus: int = 0
    unstable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Headline:
    """The overall index and satisfied rate within one level of a grouping (channel, point type)."""

    variable: str
    level: str
    index: IndexResult
    satisfied_rate: RateResult | None
    n: int


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
        The test of the wave's chosen metric (``targets[target_metric]``).
    targets : mapping or None
        ``{"index": TargetTest, "satisfied_rate": TargetTest or None}`` of the overall
        figures (None when no target was given).
    target_metric : str
    df : int
        The whole design's degrees of freedom.
    level : float
    interval_method : str
    stability : Stability
    headlines : mapping
        ``{variable: {level: Headline}}`` for the headline groups.
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
    targets: Mapping[str, TargetTest | None] | None = None
    target_metric: str = "index"
    stability: Stability = field(default_factory=Stability)
    headlines: Mapping[str, Mapping[str, Headline]] = field(default_factory=dict)

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


def _group_factor(values: pd.Series | np.ndarray) -> Factor:
    """Levels of a grouping variable; rows without a value go to a hidden last level."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    levels = tuple(str(u) for u in uniques)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(levels), codes)
        levels = levels + (_MISSING_LEVEL,)
    return Factor(codes, levels)


def _index_results(
    estimate: SurveyEstimate,
    df: np.ndarray,
    psus: np.ndarray,
    counts: np.ndarray,
    stability: Stability,
    level: float,
) -> list[IndexResult]:
    low, high = t_interval(estimate.estimate, estimate.se, df, level)
    deff = estimate.deff
    results = []
    for k in range(len(estimate)):
        reason = stability.reason(int(counts[k]), int(psus[k]), float(df[k]))
        results.append(
            IndexResult(
                index=float(estimate.estimate[k]),
                se=float(estimate.se[k]),
                ci_low=float(low[k]),
                ci_high=float(high[k]),
                n=int(counts[k]),
                deff=float(deff[k]),
                df=float(df[k]),
                psus=int(psus[k]),
                unstable=reason is not None,
                reason=reason,
            )
        )
    return results


def _rate_results(
    rates: ProportionIntervals, df: np.ndarray, psus: np.ndarray, stability: Stability
) -> list[RateResult]:
    counts = rates.counts if rates.counts is not None else np.zeros(len(rates.names), dtype=np.int64)
    results = []
    for j in range(len(rates.names)):
        reason = stability.reason(int(counts[j]), int(psus[j]), float(df[j]))
        results.append(
            RateResult(
                estimate=float(rates.estimate[j]),
                se=float(rates.se[j]),
                ci_low=float(rates.ci_low[j]),
                ci_high=float(rates.ci_high[j]),
                n=int(counts[j]),
                df=float(df[j]),
                psus=int(psus[j]),
                unstable=reason is not None,
                reason=reason,
            )
        )
    return results


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
    target: float | None = 85.0,
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


def _level_df(design: Design, grouping: CellGroups, refined: np.ndarray, variable: str) -> tuple[np.ndarray, ...]:
    """PSUs and df of every (level, column) of ``refined`` (R × K) totals: arrays of shape (G·K,)."""
    base = full_sample_design(design)
    (members,) = grouping.sparse_group_totals([refined], variable)
    psus, _, df = base.member_degrees_of_freedom(members)
    return psus, df


def _subgroup_results(
    design: Design,
    grouping: CellGroups,
    variables: Sequence[str],
    refined_totals: np.ndarray,
    refined_counts: np.ndarray,
    refined_rows: np.ndarray,
    domains: Sequence[str],
    coefficients: np.ndarray,
    suppression: Suppression,
    stability: Stability,
    level: float,
) -> tuple[SubgroupResult, ...]:
    """Every domain index and the overall index within each level of each group variable.

    ``refined_totals`` holds the numerators then the denominators of the domain indices
    per refined cell; a group's estimates are domain estimates on the full design, with
    the df of the PSUs and strata holding the group's respondents.  The totals are sparse
    (a design cell holds one level), so a town table costs its non-zeros.
    """
    n_domains = len(domains)
    components = coefficients > 0
    results = []
    for variable in variables:
        factor = grouping.groups[variable]
        numerator, denominator = grouping.sparse_group_totals(
            [refined_totals[:, :n_domains], refined_totals[:, n_domains:]], variable
        )
        counts = np.rint(grouping.level_totals(refined_counts, variable)).astype(np.int64)
        estimate = ratio_from_totals(
            design,
            numerator,
            denominator,
            names=tuple(f"{level}:{d}" for level in factor.levels for d in domains),
            counts=counts.ravel(),
        )
        cell_psus, cell_df = _level_df(design, grouping, refined_counts, variable)
        low, high = t_interval(estimate.estimate, estimate.se, cell_df, level)
        # Undefined when a domain with a weight has no respondent in the level.
        overall = linear_combination(
            estimate, np.kron(np.eye(factor.n_levels), coefficients[:, None]), names=factor.levels
        )
        level_psus, level_df = _level_df(design, grouping, refined_rows[:, None], variable)
        overall_low, overall_high = t_interval(overall.estimate, overall.se, level_df, level)
        level_sizes = np.bincount(factor.codes, minlength=factor.n_levels)
        for g, level_name in enumerate(factor.levels):
            if level_name == _MISSING_LEVEL:
                continue
            weak = []
            for d, domain in enumerate(domains):
                j = g * n_domains + d
                cell = _subgroup(
                    variable,
                    level_name,
                    domain,
                    estimate.estimate[j],
                    estimate.se[j],
                    (low[j], high[j]),
                    int(counts[g, d]),
                    int(cell_psus[j]),
                    float(cell_df[j]),
                    suppression,
                    stability,
                )
                if components[d] and cell.unstable:
                    weak.append(domain)
                results.append(cell)
            results.append(
                _subgroup(
                    variable,
                    level_name,
                    OVERALL,
                    overall.estimate[g],
                    overall.se[g],
                    (overall_low[g], overall_high[g]),
                    int(level_sizes[g]),
                    int(level_psus[g]),
                    float(level_df[g]),
                    suppression,
                    stability,
                    weak_components=weak,
                )
            )
    return tuple(results)


def _subgroup(
    variable: str,
    level: str,
    domain: str,
    index: float,
    se: float,
    interval: tuple[float, float],
    n: int,
    psus: int,
    df: float,
    suppression: Suppression,
    stability: Stability,
    *,
    weak_components: Sequence[str] = (),
) -> SubgroupResult:
    index, se = float(index), float(se)
    if not math.isfinite(index):
        se = math.nan
    cv = se / abs(index) if math.isfinite(index) and index != 0 and math.isfinite(se) else math.nan
    reason = stability.reason(n, psus, df)
    unstable = reason is not None
    reasons = [reason] if reason else []
    if weak_components:
        reasons.append(f"unstable component: {', '.join(weak_components)}")
    if suppression.suppressed(n, cv) and not unstable:
        reasons.append(
            f"{n} respondents (fewer than {suppression.min_n})"
            if n < suppression.min_n
            else f"CV {_integer_text(round(cv, 3)) if math.isfinite(cv) else 'undefined'} (above {suppression.max_cv:g})"
        )
    suppressed = bool(reasons)
    return SubgroupResult(
        variable=variable,
        level=level,
        domain=domain,
        index=index,
        se=se,
        n=n,
        cv=cv,
        suppressed=suppressed,
        ci_low=float(interval[0]) if math.isfinite(index) else math.nan,
        ci_high=float(interval[1]) if math.isfinite(index) else math.nan,
        df=df,
        psus=psus,
        unstable=unstable,
        reason="; ".join(reasons) or None,
    )


def _headlines(
    design: Design,
    grouping: CellGroups,
    names: Sequence[tuple[str, str]],
    refined_totals: np.ndarray,
    refined_rows: np.ndarray,
    rate: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    coefficients: np.ndarray,
    stability: Stability,
    interval_method: str,
    level: float,
) -> dict[str, dict[str, Headline]]:
    """The overall index (the district's domain weights) and satisfied rate within each level."""
    base = full_sample_design(design)
    n_domains = coefficients.size
    result: dict[str, dict[str, Headline]] = {}
    for name, key in names:
        factor = grouping.groups[key]
        numerator, denominator = grouping.sparse_group_totals(
            [refined_totals[:, :n_domains], refined_totals[:, n_domains:]], key
        )
        estimate = ratio_from_totals(
            design,
            numerator,
            denominator,
            names=tuple(f"{level}:{d}" for level in factor.levels for d in range(n_domains)),
        )
        overall = linear_combination(
            estimate, np.kron(np.eye(factor.n_levels), coefficients[:, None]), names=factor.levels
        )
        sizes = np.bincount(factor.codes, minlength=factor.n_levels)
        psus, df = _level_df(design, grouping, refined_rows[:, None], key)
        indices = _index_results(overall, df.astype(float), psus, sizes, stability, level)
        rates: list[RateResult | None] = [None] * factor.n_levels
        if rate is not None:
            satisfied, answered, answered_rows = (column[:, None] for column in rate)
            satisfied_totals, answered_totals = grouping.sparse_group_totals([satisfied, answered], key)
            rate_psus, _, rate_df = base.member_degrees_of_freedom(answered_totals)
            answered_counts = np.rint(grouping.level_totals(answered_rows, key)[:, 0]).astype(np.int64)
            intervals = proportion_intervals(
                ratio_from_totals(
                    design,
                    satisfied_totals,
                    answered_totals,
                    names=factor.levels,
                    statistic="mean",
                    counts=answered_counts,
                ),
                method=interval_method,
                level=level,
                df=rate_df,
            )
            rates = list(_rate_results(intervals, rate_df, rate_psus, stability))
        result[name] = {
            level_name: Headline(name, level_name, indices[g], rates[g], int(sizes[g]))
            for g, level_name in enumerate(factor.levels)
            if level_name != _MISSING_LEVEL
        }
    return result


# ---------------------------------------------------------------------------- results dict


def _number(value: float | int | None) -> float | int | None:
    """JSON-safe: NaN and infinities become null."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _df(value: float) -> int | None:
    """Degrees of freedom are whole numbers here (PSUs − strata); null when undefined."""
    return int(value) if math.isfinite(value) else None


def _rate_dict(rate: RateResult | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    return {
        "estimate": _number(rate.estimate),
        "se": _number(rate.se),
        "ci_low": _number(rate.ci_low),
        "ci_high": _number(rate.ci_high),
        "df": _df(rate.df),
        "n": int(rate.n),
        "psus": int(rate.psus),
        "unstable": bool(rate.unstable),
        "unstable_reason": rate.reason,
    }


def _index_dict(index: IndexResult) -> dict[str, Any]:
    return {
        "index": _number(index.index),
        "se": _number(index.se),
        "ci_low": _number(index.ci_low),
        "ci_high": _number(index.ci_high),
        "df": _df(index.df),
        "n": int(index.n),
        "psus": int(index.psus),
    }


def _targets_dict(targets: Mapping[str, TargetTest | None] | None) -> dict[str, Any] | None:
    if targets is None:
        return None
    return {metric: (None if test is None else test.to_dict()) for metric, test in targets.items()}


def headline_dict(headline: Headline) -> dict[str, Any]:
    """One row of the sensitivity table: ``{index{…}, satisfied_rate{…}, n}``."""
    index = headline.index
    return {
        "index": {
            "estimate": _number(index.index),
            "se": _number(index.se),
            "ci_low": _number(index.ci_low),
            "ci_high": _number(index.ci_high),
            "df": _df(index.df),
            "unstable": bool(index.unstable),
            "unstable_reason": index.reason,
        },
        "satisfied_rate": _rate_dict(headline.satisfied_rate),
        "n": int(headline.n),
    }


def headline_of(estimates: SatisfactionEstimates) -> Headline:
    """The whole sample's headline (overall index and satisfied rate) as a :class:`Headline`."""
    overall = estimates.overall
    return Headline("all", "all", overall.index, overall.satisfied_rate, int(overall.index.n))


def results_dict(
    estimates: SatisfactionEstimates,
    *,
    weights: Mapping[str, Any],
    design: Mapping[str, Any],
    excluded: Mapping[str, int],
    inputs: Mapping[str, str],
    version: str,
    scale: Mapping[str, Any] | None = None,
    sensitivity: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results JSON (docs/contracts.md lists every key).

    ``overall``, ``domains``, ``target``, ``targets``, ``scale``, ``weights``, ``design``,
    ``excluded``, ``subgroups``, ``sensitivity``, ``settings``, ``inputs``, ``version``.
    Indices are 0–100, rates proportions; undefined numbers are ``null``; ``target`` and
    ``targets`` are ``null`` when no target was tested.
    """
    overall = estimates.overall
    result: dict[str, Any] = {
        "overall": {
            **_index_dict(overall.index),
            "df": int(overall.df),
            "unstable": bool(overall.index.unstable),
            "unstable_reason": overall.index.reason,
            "domain_weights": {domain: _number(weight) for domain, weight in overall.domain_weights.items()},
            "left_out_domains": [{"domain": domain, "reason": reason} for domain, reason in overall.left_out],
            "unstable_domain_rule": UNSTABLE_DOMAIN_RULE,
            "satisfied_rate": _rate_dict(overall.satisfied_rate),
        },
        "domains": {
            domain: {
                **_index_dict(r.index),
                "deff": _number(r.index.deff),
                "alpha": _number(r.alpha),
                "unstable": bool(r.index.unstable),
                "unstable_reason": r.index.reason,
                "weight": _number(r.weight),
                "satisfied_rate": _rate_dict(r.satisfied_rate),
                "targets": _targets_dict(r.targets),
            }
            for domain, r in estimates.domains.items()
        },
        "target": None if estimates.target is None else estimates.target.to_dict(),
        "targets": None
        if estimates.targets is None
        else {"metric": estimates.target_metric, **(_targets_dict(estimates.targets) or {})},
        "scale": dict(scale) if scale is not None else None,
        "weights": {key: _number(value) if not isinstance(value, str) else value for key, value in weights.items()},
        "design": dict(design),
        "excluded": {reason: int(count) for reason, count in excluded.items()},
        "subgroups": {},
        "sensitivity": dict(sensitivity) if sensitivity is not None else None,
        "settings": dict(settings) if settings is not None else None,
        "inputs": dict(inputs),
        "version": version,
    }
    subgroups: dict[str, dict[str, dict[str, Any]]] = {v: {} for v in SUBGROUP_VARIABLES}
    for s in estimates.subgroups:
        subgroups.setdefault(s.variable, {}).setdefault(s.level, {})[s.domain] = {
            "index": _number(s.index),
            "se": _number(s.se),
            "ci_low": _number(s.ci_low),
            "ci_high": _number(s.ci_high),
            "df": _df(s.df),
            "n": int(s.n),
            "psus": int(s.psus),
            "cv": _number(s.cv),
            "unstable": bool(s.unstable),
            "suppressed": bool(s.suppressed),
            "reason": s.reason,
        }
    result["subgroups"] = subgroups
    return result
