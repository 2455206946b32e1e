"""Manyi scoring engine: pure statistics over numpy arrays and plain data.

No Flask, no SQLAlchemy, no database (house-style.md).  The public API reads like R's
``survey`` package::

    from scoring import collection_design, rake, survey_mean, jackknife_design

    design = collection_design(frame)      # PSU = point, strata = the point's town, phone/paper apart
    raked = rake(design, read_margins("margins.csv"))
    survey_mean(raked, "api00").se            # linearization with calibration residuals
    survey_mean(jackknife_design(raked), "api00").se   # JKn, every replicate re-raked

and the whole estimate step is :func:`run_estimate` (``python -m scoring estimate``), run
from a wave's :class:`AnalysisSettings` with ``EstimateOptions.from_settings``.

Names are imported lazily on first use, so ``import scoring.questionnaire`` (the web
app) does not load pandas or scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # design and weighting
    "SurveyDesign": "design",
    "collection_design": "design",
    "member_degrees_of_freedom": "design",
    "survey_design": "design",
    "Margin": "weighting",
    "Trimming": "weighting",
    "WeightDiagnostics": "weighting",
    "post_stratify": "weighting",
    "rake": "weighting",
    "weight_diagnostics": "weighting",
    # variance
    "ReplicateDesign": "variance",
    "bootstrap_design": "variance",
    "jackknife_design": "variance",
    "linearized_variance": "variance",
    "replicate_design": "variance",
    # estimators
    "SurveyEstimate": "estimation",
    "linear_combination": "estimation",
    "survey_mean": "estimation",
    "survey_ratio": "estimation",
    "survey_total": "estimation",
    "ProportionIntervals": "proportions",
    "proportion_intervals": "proportions",
    "TargetTest": "target",
    "target_test": "target",
    "verdict_of_interval": "target",
    "relative_weights": "importance",
    # inputs, screening, scores
    "Instrument": "data",
    "Responses": "data",
    "read_domain_weights": "data",
    "read_margins": "data",
    "read_responses": "data",
    "validate_responses": "data",
    "ScreeningResult": "screening",
    "ScreeningRules": "screening",
    "screen_responses": "screening",
    "AnalysisTable": "scores",
    "build_analysis_table": "scores",
    "cronbach_alpha": "scores",
    # satisfaction estimates and the estimate step
    "SatisfactionEstimates": "satisfaction",
    "Stability": "satisfaction",
    "Suppression": "satisfaction",
    "estimate_satisfaction": "satisfaction",
    "results_dict": "satisfaction",
    "EstimateOptions": "pipeline",
    "EstimateRun": "pipeline",
    "run_estimate": "pipeline",
    # a wave's settings, comparing waves, planning
    "AnalysisSettings": "settings",
    "compare_waves": "planning",
    "plan_sample_sizes": "planning",
    "respondents_for_power": "planning",
    "target_power": "planning",
    # errors
    "DesignError": "errors",
    "DomainWeightsError": "errors",
    "MarginsError": "errors",
    "RakingError": "errors",
    "ResponsesError": "errors",
    "ScoringInputError": "errors",
    "SettingsError": "errors",
    "WavesNotComparableError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
