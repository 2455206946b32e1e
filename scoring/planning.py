"""Change between waves and sample-size planning for the next wave.

:func:`compare_waves` sets this wave's results beside an earlier wave's (two
``results.json`` in the estimate contract): for every index and satisfied rate, the
change with its standard error, a 95% confidence interval and a two-sided test.  The
two waves are independent samples, so ``SE² = SE₁² + SE₂²``; the degrees of freedom are
Welch–Satterthwaite's from each wave's design df.

:func:`plan_sample_sizes` turns a wanted precision into response targets: for a 95%
interval of half-width *h* index points on a domain whose respondent scores have
standard deviation σ under a design effect *deff*, ``n = deff × (z σ / h)²``
respondents must answer the domain.  From a previous wave's results the product
``deff × σ²`` is read directly as ``n × SE²`` (its effective variance per respondent),
which carries that wave's clustering and weighting into the plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

#: Assumed standard deviation of respondent domain scores (0–100) without a previous wave.
DEFAULT_SD = 20.0
#: Assumed design effect without a previous wave (clustering at collection points + weighting).
DEFAULT_DEFF = 1.5


def _domain_label(domain: str) -> str:
    from .questionnaire import DOMAIN_LABELS_ZH

    return DOMAIN_LABELS_ZH.get(domain, domain)


# ---------------------------------------------------------------------------
# Change between waves


@dataclass(frozen=True)
class Change:
    """The change in one statistic between two independent waves.

    Attributes
    ----------
    key : str
        ``"overall.index"``, ``"overall.satisfied_rate"``, ``"domains.<id>.index"`` or
        ``"domains.<id>.satisfied_rate"``.
    scope : str
        ``"overall"`` or the domain id.
    metric : str
        ``"index"`` (0–100 points) or ``"satisfied_rate"`` (a proportion).
    current, previous, difference, se : float
    df : float
        Welch–Satterthwaite degrees of freedom (``inf`` when a wave gives no df).
    ci_low, ci_high : float
        95% interval of the difference.
    p_value : float
        Two-sided test of no change.
    significant : bool
        True when the interval excludes 0 (p < 0.05).
    """

    key: str
    scope: str
    label: str
    metric: str
    current: float
    previous: float
    difference: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "metric": self.metric,
            "current": self.current,
            "previous": self.previous,
            "difference": self.difference,
            "se": self.se,
            "df": None if math.isinf(self.df) else self.df,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "significant": self.significant,
        }


@dataclass(frozen=True)
class WaveComparison:
    """Every change between two waves."""

    previous_label: str
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"previous": self.previous_label, "changes": {c.key: c.to_dict() for c in self.changes}}


def welch_df(se_a: float, df_a: float | None, se_b: float, df_b: float | None) -> float:
    """Welch–Satterthwaite df of a difference of two independent estimates.

    ``df = (s_a² + s_b²)² / (s_a⁴/df_a + s_b⁴/df_b)``; a missing df counts as infinite.
    """
    va, vb = se_a**2, se_b**2
    terms = 0.0
    for variance, df in ((va, df_a), (vb, df_b)):
        if df is not None and df > 0 and math.isfinite(df):
            terms += variance**2 / df
    if terms == 0.0:
        return math.inf
    return (va + vb) ** 2 / terms


def change(
    current: float,
    current_se: float,
    previous: float,
    previous_se: float,
    *,
    current_df: float | None = None,
    previous_df: float | None = None,
    confidence: float = 0.95,
) -> tuple[float, float, float, float, float, float]:
    """Difference of two independent estimates: (difference, se, df, ci_low, ci_high, p).

    Parameters
    ----------
    current, current_se, previous, previous_se : float
    current_df, previous_df : float, optional
        Design degrees of freedom of each estimate (``None`` = normal reference).
    confidence : float
        Level of the two-sided interval.
    """
    if not (0 < confidence < 1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if current_se < 0 or previous_se < 0:
        raise ValueError("standard errors must be non-negative")
    difference = current - previous
    se = math.hypot(current_se, previous_se)
    df = welch_df(current_se, current_df, previous_se, previous_df)
    reference = stats.norm if math.isinf(df) else stats.t(df)
    quantile = float(reference.ppf(0.5 + confidence / 2))
    if se > 0:
        p_value = float(2 * reference.sf(abs(difference) / se))
    else:
        p_value = 0.0 if difference != 0 else 1.0
    return difference, se, df, difference - quantile * se, difference + quantile * se, p_value


def _df_of(results: Mapping[str, Any]) -> float | None:
    overall = results.get("overall") or {}
    value = overall.get("df", (results.get("design") or {}).get("df"))
    return float(value) if value is not None else None


def compare_waves(
    current: Mapping[str, Any],
    previous: Mapping[str, Any],
    *,
    previous_label: str = "",
    confidence: float = 0.95,
) -> WaveComparison:
    """Changes in every index and satisfied rate between two results dicts.

    Parameters
    ----------
    current, previous : mapping
        Results in the estimate contract (``overall``, ``domains`` …).
    previous_label : str
        How the earlier wave is named in reports (e.g. ``"2024"``).
    confidence : float
        Level of the intervals.

    Returns
    -------
    WaveComparison
        The overall index and rate first, then each domain present in both waves.
    """
    df_current, df_previous = _df_of(current), _df_of(previous)
    changes: list[Change] = []

    def add(key: str, scope: str, label: str, metric: str, now: Mapping[str, Any], before: Mapping[str, Any]) -> None:
        estimate_key = "index" if metric == "index" else "estimate"
        values = (now.get(estimate_key), now.get("se"), before.get(estimate_key), before.get("se"))
        if any(value is None or not math.isfinite(float(value)) for value in values):
            return
        difference, se, df, low, high, p_value = change(
            float(values[0]),
            float(values[1]),
            float(values[2]),
            float(values[3]),
            current_df=df_current,
            previous_df=df_previous,
            confidence=confidence,
        )
        changes.append(
            Change(
                key,
                scope,
                label,
                metric,
                float(values[0]),
                float(values[2]),
                difference,
                se,
                df,
                low,
                high,
                p_value,
                bool(low > 0 or high < 0),
            )
        )

    now_overall, before_overall = current.get("overall") or {}, previous.get("overall") or {}
    add("overall.index", "overall", "总体", "index", now_overall, before_overall)
    add(
        "overall.satisfied_rate",
        "overall",
        "总体",
        "satisfied_rate",
        now_overall.get("satisfied_rate") or {},
        before_overall.get("satisfied_rate") or {},
    )
    now_domains, before_domains = current.get("domains") or {}, previous.get("domains") or {}
    for domain, now in now_domains.items():
        before = before_domains.get(domain)
        if before is None:
            continue
        label = _domain_label(domain)
        add(f"domains.{domain}.index", domain, label, "index", now, before)
        add(
            f"domains.{domain}.satisfied_rate",
            domain,
            label,
            "satisfied_rate",
            now.get("satisfied_rate") or {},
            before.get("satisfied_rate") or {},
        )
    return WaveComparison(previous_label, tuple(changes))


# ---------------------------------------------------------------------------
# Sample sizes


@dataclass(frozen=True)
class DomainPlan:
    """Respondents a domain needs, and the responses that yields them.

    Attributes
    ----------
    sd, deff : float
        Standard deviation of respondent domain scores and design effect used.
    answer_share : float
        Share of responses that answer the domain (residents who used the service).
    respondents : int
        Respondents answering the domain needed for the half-width.
    responses : int
        Total responses needed to get them: ``respondents / answer_share``.
    """

    domain: str
    label: str
    sd: float
    deff: float
    answer_share: float
    respondents: int
    responses: int


@dataclass(frozen=True)
class SamplePlan:
    """Responses needed for a 95% interval of a given half-width.

    Attributes
    ----------
    half_width : float
        Wanted half-width of the 95% interval, in index points.
    overall : int
        Responses needed for the overall index.
    domains : tuple of DomainPlan
    towns : dict
        Town code → responses needed in that town for its own overall index.
    total : int
        Responses needed for every district-level index: the largest of ``overall``
        and the domains' ``responses``.
    total_with_towns : int
        The larger of ``total`` and the sum over towns (every town's own index too).
    source : str
        ``"assumed"`` or the results file the SDs and deffs came from.
    """

    half_width: float
    confidence: float
    z: float
    overall: int
    domains: tuple[DomainPlan, ...]
    towns: Mapping[str, int]
    total: int
    total_with_towns: int
    source: str
    notes: tuple[str, ...] = field(default=())

    def to_targets(self, *, include_towns: bool = True) -> dict[str, Any]:
        """The wave targets the admin screens store: ``{"total", "domains", "towns"}``."""
        return {
            "total": self.total_with_towns if include_towns else self.total,
            "domains": {plan.domain: plan.respondents for plan in self.domains},
            "towns": dict(self.towns) if include_towns else {},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "half_width": self.half_width,
            "confidence": self.confidence,
            "overall": self.overall,
            "total": self.total,
            "total_with_towns": self.total_with_towns,
            "source": self.source,
            "domains": {
                plan.domain: {
                    "sd": plan.sd,
                    "deff": plan.deff,
                    "answer_share": plan.answer_share,
                    "respondents": plan.respondents,
                    "responses": plan.responses,
                }
                for plan in self.domains
            },
            "towns": dict(self.towns),
            "notes": list(self.notes),
        }


def _validate_positive(value: float | None, name: str) -> None:
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _needed(effective_variance: float, z: float, half_width: float) -> int:
    return max(2, math.ceil(effective_variance * (z / half_width) ** 2 - 1e-9))


def plan_sample_sizes(
    *,
    half_width: float,
    confidence: float = 0.95,
    deff: float | None = None,
    sd: float | None = None,
    results: Mapping[str, Any] | None = None,
    results_name: str = "results",
    domains: tuple[str, ...] | None = None,
    towns: tuple[str, ...] | None = None,
) -> SamplePlan:
    """Responses needed per domain, per town and in total for a wanted precision.

    Parameters
    ----------
    half_width : float
        Half-width of the 95% interval, in index points (e.g. 2 → "± 2 points").
    confidence : float
        Interval level (0.95).
    deff : float, optional
        Design effect; overrides the one measured in ``results``.
    sd : float, optional
        SD of respondent domain scores (0–100); overrides the one from ``results``.
    results : mapping, optional
        A previous wave's results (estimate contract).  Its domain ``n``, ``se`` and
        ``deff`` give each domain's SD, deff and answer share; its town subgroups give
        each town's effective variance.
    results_name : str
        Name of the results file, for the plan's ``source``.
    domains, towns : tuple of str, optional
        Domains and towns to plan for when there are no results (default: the 12
        domains; no towns).

    Returns
    -------
    SamplePlan

    Notes
    -----
    With ``n`` respondents and standard error ``SE`` in the previous wave, the effective
    variance per respondent is ``n SE² = deff σ²``; the plan needs
    ``n_new = deff σ² (z/h)²``.  Without results, σ = 20 and deff = 1.5 are assumed and
    every response is assumed to answer every domain.  Normal quantiles are used (the
    next wave's df is not known yet).
    """
    from .questionnaire import DOMAIN_IDS

    if not (isinstance(half_width, (int, float)) and math.isfinite(half_width) and half_width > 0):
        raise ValueError(f"half_width must be a positive number of index points, got {half_width!r}")
    if not (0 < confidence < 1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    _validate_positive(deff, "deff")
    _validate_positive(sd, "sd")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    notes: list[str] = []
    plans: list[DomainPlan] = []
    town_needs: dict[str, int] = {}
    if results is None:
        use_sd = DEFAULT_SD if sd is None else float(sd)
        use_deff = DEFAULT_DEFF if deff is None else float(deff)
        if sd is None or deff is None:
            notes.append(
                f"no previous results: assumed SD {use_sd:g} and deff {use_deff:g}; give --from-results for measured values"
            )
        notes.append("assumed that every response answers every domain")
        respondents = _needed(use_deff * use_sd**2, z, half_width)
        for domain in domains or DOMAIN_IDS:
            plans.append(DomainPlan(domain, _domain_label(domain), use_sd, use_deff, 1.0, respondents, respondents))
        overall = respondents
        for town in towns or ():
            town_needs[town] = respondents
        source = "assumed"
    else:
        overall_results = results.get("overall") or {}
        total_n = overall_results.get("n")
        if not total_n:
            raise ValueError(f"{results_name} has no overall.n; is it a results.json of 'python -m scoring estimate'?")
        default_deff = (results.get("weights") or {}).get("deff") or DEFAULT_DEFF
        for domain, values in (results.get("domains") or {}).items():
            if domains and domain not in domains:
                continue
            n_d, se_d = values.get("n"), values.get("se")
            if not n_d or se_d is None or not math.isfinite(se_d):
                notes.append(f"{domain}: no n or se in {results_name}; skipped")
                continue
            measured_deff = values.get("deff") or default_deff
            use_deff = float(deff) if deff is not None else float(measured_deff)
            measured_sd = math.sqrt(n_d * se_d**2 / float(measured_deff))
            use_sd = float(sd) if sd is not None else measured_sd
            share = min(1.0, float(n_d) / float(total_n))
            respondents = _needed(use_deff * use_sd**2, z, half_width)
            plans.append(
                DomainPlan(
                    domain,
                    _domain_label(domain),
                    use_sd,
                    use_deff,
                    share,
                    respondents,
                    math.ceil(respondents / share - 1e-9),
                )
            )
        se_o = overall_results.get("se")
        if se_o is None:
            raise ValueError(f"{results_name} has no overall.se")
        overall_variance = total_n * se_o**2
        if deff is not None or sd is not None:
            weights_deff = float(default_deff)
            use_deff = float(deff) if deff is not None else weights_deff
            use_sd = float(sd) if sd is not None else math.sqrt(overall_variance / weights_deff)
            overall_variance = use_deff * use_sd**2
        overall = _needed(overall_variance, z, half_width)
        town_groups = (results.get("subgroups") or {}).get("town") or {}
        for town, cells in town_groups.items():
            cell = (cells or {}).get("overall") or {}
            n_t, se_t = cell.get("n"), cell.get("se")
            if n_t and se_t is not None and math.isfinite(se_t) and not (deff is not None or sd is not None):
                town_needs[town] = _needed(n_t * se_t**2, z, half_width)
            else:
                town_needs[town] = overall
        source = results_name
    total = max([overall, *(plan.responses for plan in plans)])
    total_with_towns = max(total, sum(town_needs.values()))
    return SamplePlan(
        half_width=float(half_width),
        confidence=float(confidence),
        z=z,
        overall=overall,
        domains=tuple(plans),
        towns=town_needs,
        total=total,
        total_with_towns=total_with_towns,
        source=source,
        notes=tuple(notes),
    )


def format_plan(plan: SamplePlan) -> str:
    """A plain-text table of the plan for the terminal."""
    lines = [
        f"Responses needed for a {plan.confidence:.0%} interval of ± {plan.half_width:g} index points"
        f" (SD and deff: {plan.source})",
        "",
        f"{'domain':<22}{'SD':>7}{'deff':>7}{'answer share':>14}{'respondents':>13}{'responses':>11}",
    ]
    for item in plan.domains:
        lines.append(
            f"{item.domain:<22}{item.sd:>7.1f}{item.deff:>7.2f}{item.answer_share:>14.0%}"
            f"{item.respondents:>13,}{item.responses:>11,}"
        )
    lines.append(f"{'overall index':<22}{'':>7}{'':>7}{'':>14}{plan.overall:>13,}{plan.overall:>11,}")
    if plan.towns:
        lines += ["", f"{'town':<22}{'responses':>11}"]
        for town, needed in plan.towns.items():
            lines.append(f"{town:<22}{needed:>11,}")
    lines += [
        "",
        f"total for the district's indices: {plan.total:,}",
    ]
    if plan.towns:
        lines.append(f"total with every town's own index: {plan.total_with_towns:,}")
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines)
