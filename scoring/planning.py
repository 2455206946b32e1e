"""Change between waves and sample-size planning for the next wave.

This module compares waves; the sample sizes live in :mod:`scoring.sample_sizes` and the
power of the target test in :mod:`scoring.target_power`, both re-exported here.

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
from dataclasses import dataclass, replace
from typing import Any

from scipy import stats

from .errors import WavesNotComparableError
from .sample_sizes import (
    DEFAULT_DEFF,
    DEFAULT_SD,
    DomainPlan,
    SamplePlan,
    _domain_label,
    format_plan,
    plan_sample_sizes,
)
from .target_power import TargetPower, respondents_for_power, target_power

__all__ = [
    "COMPARED_SETTINGS",
    "DEFAULT_DEFF",
    "DEFAULT_SD",
    "Change",
    "DomainPlan",
    "SamplePlan",
    "SettingDifference",
    "TargetPower",
    "WaveComparison",
    "change",
    "compare_waves",
    "format_plan",
    "holm_adjust",
    "plan_sample_sizes",
    "respondents_for_power",
    "settings_differences",
    "target_power",
    "welch_df",
]

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


# ---------------------------------------------------------------------------
# Power of the target test
