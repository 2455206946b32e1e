"""Change between waves and sample-size planning for the next wave.

:func:`compare_waves` sets this wave's results beside an earlier wave's (two
``results.json`` in the estimate contract): for every index and satisfied rate, the
change with its standard error, a 95% confidence interval and a two-sided test.  The
two waves are independent samples, so ``SE² = SE₁² + SE₂²``; the degrees of freedom are
Welch–Satterthwaite's from each figure's df.

A change is only a change when both waves measured the same way.  Every results file
records its settings (``settings.analysis`` and the questionnaire versions), and
:func:`compare_waves` checks them: a different target metric, scale mapping, margins
(content hash), screening rules, design or questionnaire version makes it **refuse**
(:class:`~scoring.errors.WavesNotComparableError`, naming each difference) unless told
``allow_differences=True``, in which case every change is flagged ``comparable: false``
with the differences listed.  Results that do not record their settings (made before
this check) cannot be checked: the comparison says so (``comparable: null``).

The comparison makes many tests at once (an index and a rate for the overall figure and
every domain): their p-values are adjusted by **Holm's** step-down method, which keeps
the chance of calling *any* unchanged figure "significant" at 5%; ``significant`` reads
the adjusted p-value and the unadjusted one is kept beside it.

:func:`plan_sample_sizes` turns a wanted precision into response targets: for a 95%
interval of half-width *h* index points on a domain whose respondent scores have
standard deviation σ under a design effect *deff*, ``n = deff × (z σ / h)²``
respondents must answer the domain.  From a previous wave's results the product
``deff × σ²`` is read directly as ``n × SE²`` (its effective variance per respondent),
which carries that wave's clustering and weighting into the plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

from .errors import WavesNotComparableError

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
        Two-sided test of no change (unadjusted).
    significant : bool
        True when the Holm-adjusted p-value is below ``1 − confidence``.
    p_adjusted : float
        Holm-adjusted p-value over every change of the comparison.
    comparable : bool or None
        False when the waves' settings differ (the change is shown flagged), None when
        they could not be checked.
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
    p_adjusted: float = math.nan
    comparable: bool | None = True

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
            "p_adjusted": self.p_adjusted,
            "significant": self.significant,
            "comparable": self.comparable,
        }


@dataclass(frozen=True)
class SettingDifference:
    """One setting that differs between two waves' results."""

    setting: str
    current: Any
    previous: Any

    def to_dict(self) -> dict[str, Any]:
        return {"setting": self.setting, "current": self.current, "previous": self.previous}

    def __str__(self) -> str:
        return f"{self.setting}: {self.previous!r} → {self.current!r}"


@dataclass(frozen=True)
class WaveComparison:
    """Every change between two waves, the settings check and the multiple-test adjustment.

    Attributes
    ----------
    previous_label : str
    changes : tuple of Change
    comparable : bool or None
        True when the settings agree, False when they differ (``allow_differences``),
        None when a results file does not record its settings.
    differences : tuple of SettingDifference
    adjustment : str
        ``"holm"``.
    notes : tuple of str
    """

    previous_label: str
    changes: tuple[Change, ...]
    comparable: bool | None = True
    differences: tuple[SettingDifference, ...] = ()
    adjustment: str = "holm"
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "previous": self.previous_label,
            "comparable": self.comparable,
            "differences": [d.to_dict() for d in self.differences],
            "adjustment": self.adjustment,
            "notes": list(self.notes),
            "changes": {c.key: c.to_dict() for c in self.changes},
        }


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


#: Settings that must agree for a change to be a change (``settings.analysis`` keys).
COMPARED_SETTINGS: tuple[str, ...] = (
    "target_metric",
    "mapping",
    "margins",
    "screening",
    "strata",
    "cluster",
    "unclustered",
    "lonely_psu",
)


def _comparable_value(analysis: Mapping[str, Any], key: str) -> Any:
    value = analysis.get(key)
    if key == "margins" and isinstance(value, Mapping):
        return value.get("sha256")
    return value


def settings_differences(
    current: Mapping[str, Any], previous: Mapping[str, Any]
) -> tuple[SettingDifference, ...] | None:
    """The settings two results differ in (:data:`COMPARED_SETTINGS` and questionnaire
    versions), or None when either does not record its settings."""
    now, before = current.get("settings") or {}, previous.get("settings") or {}
    now_analysis, before_analysis = now.get("analysis"), before.get("analysis")
    if not now_analysis or not before_analysis:
        return None
    differences = [
        SettingDifference(key, _comparable_value(now_analysis, key), _comparable_value(before_analysis, key))
        for key in COMPARED_SETTINGS
        if _comparable_value(now_analysis, key) != _comparable_value(before_analysis, key)
    ]
    now_versions, before_versions = now.get("questionnaires") or {}, before.get("questionnaires") or {}
    for questionnaire in sorted(set(now_versions) | set(before_versions)):
        if now_versions.get(questionnaire) != before_versions.get(questionnaire):
            differences.append(
                SettingDifference(
                    f"questionnaire {questionnaire}",
                    now_versions.get(questionnaire),
                    before_versions.get(questionnaire),
                )
            )
    return tuple(differences)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (R: ``p.adjust(p, "holm")``); NaN stays NaN."""
    values = [float(p) for p in p_values]
    order = sorted((p, k) for k, p in enumerate(values) if math.isfinite(p))
    m = len(order)
    adjusted = [math.nan] * len(values)
    running = 0.0
    for rank, (p, k) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[k] = running
    return adjusted


def compare_waves(
    current: Mapping[str, Any],
    previous: Mapping[str, Any],
    *,
    previous_label: str = "",
    confidence: float = 0.95,
    allow_differences: bool = False,
) -> WaveComparison:
    """Changes in every index and satisfied rate between two results dicts.

    Parameters
    ----------
    current, previous : mapping
        Results in the estimate contract (``overall``, ``domains``, ``settings`` …).
    previous_label : str
        How the earlier wave is named in reports (e.g. ``"2024"``).
    confidence : float
        Level of the intervals; a change is significant when its Holm-adjusted p-value is
        below ``1 − confidence``.
    allow_differences : bool
        Compare even when the settings differ, flagging every change ``comparable: false``.

    Returns
    -------
    WaveComparison
        The overall index and rate first, then each domain present in both waves.

    Raises
    ------
    WavesNotComparableError
        The two results used different settings (each named) and ``allow_differences``
        is false.
    """
    differences = settings_differences(current, previous)
    notes: list[str] = []
    if differences is None:
        comparable: bool | None = None
        notes.append(
            "one of the results does not record its analysis settings, so it could not be checked that both "
            "waves were scored the same way"
        )
    elif differences:
        if not allow_differences:
            listed = "; ".join(str(d) for d in differences)
            raise WavesNotComparableError(
                f"the results of {previous_label or 'the earlier wave'} were made with other settings ({listed}): "
                "a difference between them would mix a real change with a change of method. Score both waves "
                "with the same settings, or compare with allow_differences to show the change flagged as not "
                "comparable"
            )
        comparable = False
        notes.append("the waves were scored with different settings; the changes are not comparable")
    else:
        comparable = True
    df_current, df_previous = _df_of(current), _df_of(previous)
    pending: list[Change] = []

    def add(key: str, scope: str, label: str, metric: str, now: Mapping[str, Any], before: Mapping[str, Any]) -> None:
        estimate_key = "index" if metric == "index" else "estimate"
        given = (now.get(estimate_key), now.get("se"), before.get(estimate_key), before.get("se"))
        values = [float(value) for value in given if value is not None]
        if len(values) < len(given) or not all(math.isfinite(value) for value in values):
            return
        difference, se, df, low, high, p_value = change(
            values[0],
            values[1],
            values[2],
            values[3],
            current_df=now.get("df", df_current),
            previous_df=before.get("df", df_previous),
            confidence=confidence,
        )
        pending.append(
            Change(
                key=key,
                scope=scope,
                label=label,
                metric=metric,
                current=values[0],
                previous=values[2],
                difference=difference,
                se=se,
                df=df,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                significant=False,
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
    adjusted = holm_adjust([row.p_value for row in pending])
    changes = tuple(
        replace(row, significant=bool(p < 1 - confidence), p_adjusted=p, comparable=comparable)
        for row, p in zip(pending, adjusted)
    )
    return WaveComparison(
        previous_label,
        changes,
        comparable=comparable,
        differences=differences or (),
        adjustment="holm",
        notes=tuple(notes),
    )


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


def _floor_deff(value: float, what: str, notes: list[str]) -> float:
    """A design effect below 1 (a thin domain, luck) is not planned on: floored at 1."""
    if value < 1.0:
        notes.append(
            f"{what}: design effect {value:.2f} below 1 floored at 1 (clustered, weighted samples rarely beat SRS)"
        )
        return 1.0
    return value


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
        use_deff = DEFAULT_DEFF if deff is None else _floor_deff(float(deff), "the given deff", notes)
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
            if values.get("unstable"):
                notes.append(
                    f"{domain}: unstable in {results_name} ({n_d} respondents): its SD and deff are rough; "
                    "consider --deff and --sd"
                )
            use_deff = _floor_deff(float(deff) if deff is not None else float(measured_deff), domain, notes)
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
            use_deff = _floor_deff(float(deff) if deff is not None else weights_deff, "overall", notes)
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


# ---------------------------------------------------------------------------
# Power of the target test


@dataclass(frozen=True)
class TargetPower:
    """How likely a planned wave is to call the target ``met``.

    Attributes
    ----------
    n : int
        Respondents of the figure tested (all responses for the overall figures).
    metric : str
        ``index`` or ``satisfied_rate``.
    target, expected : float
        As people say them (85, 88).
    value, true_value : float
        The same on the result's scale (85 or 0.85; 88 or 0.88).
    se : float
        The standard error expected: ``√(deff σ² / n)``.
    df : float
        Degrees of freedom assumed (``inf``: normal).
    power : float
        Probability that the 95% interval lies above the target (verdict ``met``).
    probability_not_met : float
        Probability that it lies below (verdict ``not_met``).
    deff, sd : float
    """

    n: int
    metric: str
    target: float
    expected: float
    value: float
    true_value: float
    se: float
    df: float
    power: float
    probability_not_met: float
    deff: float
    sd: float

    @property
    def probability_inconclusive(self) -> float:
        return max(0.0, 1.0 - self.power - self.probability_not_met)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "metric": self.metric,
            "target": self.target,
            "expected": self.expected,
            "se": self.se,
            "df": None if math.isinf(self.df) else self.df,
            "power": self.power,
            "probability_not_met": self.probability_not_met,
            "probability_inconclusive": self.probability_inconclusive,
            "deff": self.deff,
            "sd": self.sd,
        }


def _on_scale(value: float, metric: str, name: str) -> float:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
        raise ValueError(f"{name} must be a number as people say it (e.g. 85), got {value!r}")
    if not 0 < value < 100:
        raise ValueError(f"{name} is written as people say it, between 0 and 100 (e.g. 85), got {value!r}")
    if metric == "satisfied_rate" and value <= 1:
        raise ValueError(f"{name} {value:g} with the satisfied rate: write it as a percentage (88 for 88%)")
    return value / 100.0 if metric == "satisfied_rate" else float(value)


def _power_inputs(
    metric: str, target: float, expected: float, sd: float | None, deff: float, df: float | None, level: float
) -> tuple[float, float, float, float, float]:
    if metric not in ("index", "satisfied_rate"):
        raise ValueError(f"metric must be index or satisfied_rate, got {metric!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    value, true_value = _on_scale(target, metric, "target"), _on_scale(expected, metric, "expected")
    _validate_positive(deff, "deff")
    _validate_positive(sd, "sd")
    if df is not None and not (isinstance(df, (int, float)) and df > 0):
        raise ValueError(f"df must be a positive number (PSUs − strata of the planned wave), got {df!r}")
    if sd is None:
        sd = math.sqrt(true_value * (1 - true_value)) if metric == "satisfied_rate" else DEFAULT_SD
    return value, true_value, float(sd), max(1.0, float(deff)), math.inf if df is None else float(df)


def _power_at(
    n: float, value: float, true_value: float, sd: float, deff: float, df: float, level: float
) -> tuple[float, float, float]:
    """SE, P(interval above the target) and P(interval below it) with ``n`` respondents."""
    se = math.sqrt(deff * sd**2 / n)
    shift = (true_value - value) / se
    if math.isinf(df):
        critical = float(stats.norm.ppf((1 + level) / 2))
        return se, float(stats.norm.sf(critical - shift)), float(stats.norm.cdf(-critical - shift))
    critical = float(stats.t.ppf((1 + level) / 2, df))
    return se, float(stats.nct.sf(critical, df, shift)), float(stats.nct.cdf(-critical, df, shift))


def target_power(
    *,
    n: int,
    expected: float,
    target: float = 85.0,
    metric: str = "index",
    sd: float | None = None,
    deff: float = DEFAULT_DEFF,
    df: float | None = None,
    level: float = 0.95,
) -> TargetPower:
    """The power of the target test for a planned number of respondents.

    The verdict is ``met`` when the 95% interval lies above the target (statistics.md,
    "Target test"): with ``T = (θ̂ − target)/SE`` that is ``T > t_{df, 0.975}``, and ``T``
    follows a noncentral t with noncentrality ``(θ − target)/SE`` (normal when ``df`` is
    None).

    Parameters
    ----------
    n : int
        Respondents (for the overall figures: all responses).
    expected : float
        The true value the wave is planned for, as people say it (88 → index 88 or 88%).
    target : float
        As people say it (85).
    metric : {"index", "satisfied_rate"}
    sd : float, optional
        SD of respondent scores (index; default 20) — for a rate ``√(p(1 − p))``.
    deff : float
        Design effect (floored at 1).
    df : float, optional
        Degrees of freedom of the planned design (PSUs − strata); None: normal.
    level : float

    Returns
    -------
    TargetPower

    Notes
    -----
    A satisfied rate's verdict reads its logit interval; the power uses the Wald form,
    close to it away from 0 and 1.

    Examples
    --------
    >>> round(target_power(n=1000, expected=87, sd=20, deff=1.5).power, 2)
    0.73
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be a whole number of respondents ≥ 2, got {n!r}")
    value, true_value, use_sd, use_deff, use_df = _power_inputs(metric, target, expected, sd, deff, df, level)
    se, power, below = _power_at(int(n), value, true_value, use_sd, use_deff, use_df, level)
    return TargetPower(
        n=int(n),
        metric=metric,
        target=float(target),
        expected=float(expected),
        value=value,
        true_value=true_value,
        se=se,
        df=use_df,
        power=power,
        probability_not_met=below,
        deff=use_deff,
        sd=use_sd,
    )


def respondents_for_power(
    *,
    power: float = 0.8,
    expected: float,
    target: float = 85.0,
    metric: str = "index",
    sd: float | None = None,
    deff: float = DEFAULT_DEFF,
    df: float | None = None,
    level: float = 0.95,
) -> int:
    """The fewest respondents for which :func:`target_power` reaches ``power``.

    Raises
    ------
    ValueError
        When ``expected`` is not above ``target`` (no sample makes the verdict likely
        ``met``), or an input is out of range.
    """
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, got {power!r}")
    value, true_value, use_sd, use_deff, use_df = _power_inputs(metric, target, expected, sd, deff, df, level)
    if true_value <= value:
        raise ValueError(
            f"expected {expected:g} is not above the target {target:g}: no sample size makes 'met' likely; "
            "plan for the precision instead (plan_sample_sizes)"
        )
    z = float(stats.norm.ppf((1 + level) / 2)) + float(stats.norm.ppf(power))
    low, high = 2, max(3, math.ceil(use_deff * use_sd**2 * (z / (true_value - value)) ** 2))
    while _power_at(high, value, true_value, use_sd, use_deff, use_df, level)[1] < power:
        low, high = high, high * 2
        if high > 10**9:
            raise ValueError("the power cannot be reached with these degrees of freedom; plan more PSUs")
    while high - low > 1:
        middle = (low + high) // 2
        if _power_at(middle, value, true_value, use_sd, use_deff, use_df, level)[1] >= power:
            high = middle
        else:
            low = middle
    return high if _power_at(low, value, true_value, use_sd, use_deff, use_df, level)[1] < power else low
