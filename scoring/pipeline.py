"""The estimate step from inputs to results: read, screen, score, weight, estimate.

:func:`run_estimate` is what ``python -m scoring estimate`` runs, and what the web app's
adapter and the report commands call: it takes :class:`EstimateOptions` (or the parsed
command-line options, or a wave's :class:`~scoring.settings.AnalysisSettings` through
:meth:`EstimateOptions.from_settings`) — with the responses as a file *or* an in-memory
DataFrame in the responses contract — and returns an :class:`EstimateRun` holding the
results dict (the JSON contract), the estimates, the calibrated design, the variance
design and the analysis table with scores and weights.

The design of what Manyi collects (statistics.md) is ``strata="point_town",
cluster="point"``: the PSU is the collection point, the strata the point's town, and rows
without a point (phone, paper) one stratum per channel with each respondent its own PSU
(:func:`scoring.design.collection_design`).  Whenever a cluster column is given, rows
without a value in it are treated that way (``unclustered="channel_strata"``).

Besides the estimates, the results carry a **sensitivity** section (statistics.md, "What
the sample is"): the headline — overall index and satisfied rate — unweighted vs
weighted, with and without screening, by channel and by point type, so that a reader sees
how much it moves; and the **settings** the run used, so that two waves can be checked
for comparability.

Nothing is written here; :mod:`scoring.cli` writes the files, atomically, after success.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .data import (
    Instrument,
    Responses,
    file_sha256,
    read_domain_weights,
    read_margins,
    read_responses,
    validate_responses,
)
from .design import SurveyDesign, codes_without_blanks, collection_design, survey_design
from .errors import ScoringInputError
from .estimation import Design
from .integrity import IntegrityRules, review_integrity
from .integrity.section import integrity_results
from .pipeline_options import (
    DEFAULT_BOOTSTRAP_REPLICATES,
    ENGINE_VERSION,
    QUASI_RANDOMISATION,
    EstimateOptions,
    EstimateRun,
)
from .questionnaire import QuestionnaireSet, load_questionnaires
from .satisfaction import (
    SUBGROUP_VARIABLES,
    SatisfactionEstimates,
    Stability,
    Suppression,
    estimate_satisfaction,
    headline_dict,
    headline_of,
    results_dict,
)
from .scores import AnalysisTable, build_analysis_table, scale_description
from .screening import ScreeningResult, screen_responses
from .variance import ReplicateDesign, bootstrap_design, jackknife_design
from .vocabulary import VARIANCE_METHODS
from .weighting import Margin, Trimming, rake, weight_diagnostics

if TYPE_CHECKING:
    from .settings import AnalysisSettings

__all__ = [
    "ENGINE_VERSION",
    "QUASI_RANDOMISATION",
    "VARIANCE_METHODS",
    "EstimateOptions",
    "EstimateRun",
    "point_types",
    "run_estimate",
]

#: Levels of the derived point type: a point without a focus domain, and rows without a point.
GENERAL_POINT, NO_POINT = "general", "no_point"


def _questionnaires(source: str | Path | QuestionnaireSet | None) -> tuple[QuestionnaireSet | None, dict[str, str]]:
    if source is None:
        return None, {}
    if isinstance(source, QuestionnaireSet):
        return source, {}
    folder = Path(source)
    questionnaires = load_questionnaires(folder)
    return questionnaires, {f"questionnaires/{path.name}": file_sha256(path) for path in sorted(folder.glob("*.yaml"))}


def _margins(source: Any) -> tuple[tuple[Margin, ...] | None, dict[str, str]]:
    if source is None:
        return None, {}
    if isinstance(source, (str, Path)):
        return read_margins(source), {f"margins/{Path(source).name}": file_sha256(source)}
    if isinstance(source, pd.DataFrame):
        return read_margins(source), {}
    return tuple(source), {}


def _domain_weights(source: Any) -> tuple[Mapping[str, float] | str | None, dict[str, str]]:
    if source is None or source == "derived":
        return source, {}
    if isinstance(source, (str, Path)):
        return read_domain_weights(source), {f"domain_weights/{Path(source).name}": file_sha256(source)}
    return read_domain_weights(source), {}


def point_types(frame: pd.DataFrame, *, cluster: str = "point") -> pd.Series | None:
    """Each row's point type: the point's focus domain, ``general`` or ``no_point``.

    None when the table has no ``point_type`` column (or no cluster column).
    """
    if "point_type" not in frame.columns or cluster not in frame.columns:
        return None
    point_codes, _ = codes_without_blanks(frame[cluster])
    type_codes, type_names = codes_without_blanks(frame["point_type"])
    categories = [*type_names, GENERAL_POINT, NO_POINT]
    codes = np.where(point_codes < 0, len(categories) - 1, np.where(type_codes < 0, len(categories) - 2, type_codes))
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories))


def _designs(
    table: AnalysisTable, options: EstimateOptions, margins: tuple[Margin, ...] | None
) -> tuple[SurveyDesign, SurveyDesign]:
    """The design before calibration and the analysis design (raked when margins are given)."""
    weights_column = "base_weight" if "base_weight" in table.frame.columns else None
    if options.cluster is not None:
        design = collection_design(
            table.frame,
            strata=options.strata,
            cluster=options.cluster,
            weights=weights_column,
            lonely_psu=options.lonely_psu,
            unclustered=options.unclustered,
        )
    else:
        design = survey_design(
            table.frame, strata=options.strata, weights=weights_column, lonely_psu=options.lonely_psu
        )
    if margins is None:
        return design, design
    trimming = Trimming(*options.trim) if options.trim else None
    return design, rake(design, margins, trimming=trimming)


def _headline_run(
    responses: Responses,
    keep: np.ndarray,
    options: EstimateOptions,
    margins: tuple[Margin, ...] | None,
    domain_weights: Mapping[str, float],
    stability: Stability,
) -> dict[str, Any]:
    """The headline of another selection of rows (the other screening), raked alike."""
    table = build_analysis_table(responses.subset(keep), mapping=options.mapping)
    _, design = _designs(table, options, margins)
    estimates = estimate_satisfaction(
        table,
        design,
        domain_weights=dict(domain_weights),
        target=None,
        subgroup_variables=(),
        stability=stability,
        interval_method=options.rate_interval,
        level=options.level,
        headline_only=True,
    )
    return headline_dict(headline_of(estimates))


def _sensitivity(
    responses: Responses,
    screening: ScreeningResult,
    table: AnalysisTable,
    unraked: SurveyDesign,
    design: SurveyDesign,
    estimates: SatisfactionEstimates,
    options: EstimateOptions,
    margins: tuple[Margin, ...] | None,
    stability: Stability,
) -> dict[str, Any]:
    """How much the headline moves: weighting, screening, channel, point type."""
    weights = {d: w for d, w in estimates.overall.domain_weights.items() if w > 0}
    main = headline_dict(headline_of(estimates))
    if design.is_calibrated:
        unweighted = estimate_satisfaction(
            table,
            unraked,
            domain_weights=weights,
            target=None,
            subgroup_variables=(),
            stability=stability,
            interval_method=options.rate_interval,
            level=options.level,
            headline_only=True,
        )
        method = design.calibration.method if design.calibration is not None else "none"
        weighting = {"method": method, "unweighted": headline_dict(headline_of(unweighted))}
    else:
        weighting = {"method": "none", "unweighted": main}
    weighting["weighted"] = main

    if screening.enabled:
        other_keep = ~screening.always_excluded
    else:
        other_keep = screening_with_rules(responses, options).keep
    alternative: dict[str, Any] | None = main
    problem = None
    if not np.array_equal(other_keep, screening.keep):
        try:
            alternative = _headline_run(responses, other_keep, options, margins, weights, stability)
        except ScoringInputError as error:  # e.g. raking fails on the other selection of rows
            alternative, problem = None, str(error)
    screened_out = ~screening.keep if screening.enabled else ~other_keep
    screening_section = {
        "rules": screening.rules.describe(),
        "with": main if screening.enabled else alternative,
        "without": alternative if screening.enabled else main,
        "excluded": int((screened_out & ~screening.always_excluded).sum()),
        "problem": problem,
    }

    def grouped(name: str) -> dict[str, Any] | None:
        levels = estimates.headlines.get(name)
        if levels is None:
            return None
        return {level: headline_dict(headline) for level, headline in levels.items()}

    return {
        "headline": ["index", "satisfied_rate"],
        "note": QUASI_RANDOMISATION,
        "weighting": weighting,
        "screening": screening_section,
        "channel": grouped("channel"),
        "point_type": grouped("point_type"),
    }


def screening_with_rules(responses: Responses, options: EstimateOptions) -> ScreeningResult:
    """Screening of ``responses`` with the options' rules switched on."""
    rules = options.effective_screening_rules()
    return screen_responses(responses, rules=replace(rules, enabled=True))


def _settings(
    options: EstimateOptions, margins: tuple[Margin, ...] | None, domain_weights: Mapping[str, float] | str | None
) -> AnalysisSettings | None:
    """The settings this run used: the given object when the options still say what it says."""
    from .settings import AnalysisSettings

    given = options.settings
    if given is not None:
        rebuilt = EstimateOptions.from_settings(options.responses, options.questionnaires, given)
        same = all(
            getattr(rebuilt, f.name) == getattr(options, f.name)
            for f in fields(EstimateOptions)
            if f.name
            not in (
                "responses",
                "questionnaires",
                "margins",
                "settings",
                "level",
                "mse",
                "sensitivity",
                "integrity_rules",
                "exclusions",
            )
        ) and (options.margins is rebuilt.margins or _same_margins(options.margins, given))
        if same:
            return given
    rows = None
    if margins is not None:
        rows = tuple(
            (m.variable, level, population) for m in margins for level, population in zip(m.levels, m.population)
        )
    try:
        settings = AnalysisSettings(
            target=options.target,
            target_metric=options.target_metric,
            mapping=options.mapping,
            strata=options.strata,
            cluster=options.cluster,
            unclustered=options.unclustered,
            variance=options.variance,
            replicates=options.replicates,
            seed=options.seed,
            lonely_psu=options.lonely_psu,
            screening=options.effective_screening_rules(),
            min_n=options.min_n,
            min_psus=options.min_psus,
            suppress_min_n=options.suppress_min_n,
            suppress_max_cv=options.suppress_max_cv,
            rate_interval=options.rate_interval,
            domain_weights=dict(domain_weights) if isinstance(domain_weights, Mapping) else domain_weights,
            margins=rows,
            trim=options.trim,
        )
        if given is not None:
            # What the estimate step does not use comes from the wave's settings.
            settings = replace(
                settings,
                benchmarks=given.benchmarks,
                assumed_se=given.assumed_se,
                illustrative=given.illustrative,
                district=given.district,
            )
        return settings.validate()
    except ValueError as error:
        raise ScoringInputError(f"the options do not make valid analysis settings: {error}") from None


def _same_margins(source: Any, settings: AnalysisSettings) -> bool:
    if settings.margins is None or source is None:
        return settings.margins is None and source is None
    try:
        margins, _ = _margins(source)
    except ScoringInputError:
        return False
    rows = tuple(
        (m.variable, level, population) for m in margins or () for level, population in zip(m.levels, m.population)
    )
    return type(settings)(margins=rows).margins == settings.margins


def _design_section(design: SurveyDesign, variance_design: Design, options: EstimateOptions) -> dict[str, Any]:
    summary = design.summary()
    strata = summary["strata"]
    description = (f"PSU = {summary['clusters']}" if summary["clusters"] else "PSU = each response (no clusters)") + (
        f", strata = {strata}" if strata else ", no strata"
    )
    if summary["rows_without_cluster"]:
        description += "; rows without a collection point: one stratum per channel, each respondent its own PSU"
    description += f"; lonely PSU: {design.lonely_psu}; {options.variance}"
    return {
        **summary,
        "variance": options.variance,
        "replicates": variance_design.n_replicates if isinstance(variance_design, ReplicateDesign) else None,
        "description": description,
        "assumption": QUASI_RANDOMISATION,
    }


def _insert_after(results: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    """A copy of ``results`` with ``key`` placed right after ``after``."""
    out: dict[str, Any] = {}
    for name, section in results.items():
        out[name] = section
        if name == after:
            out[key] = value
    return out


def run_estimate(options: EstimateOptions | argparse.Namespace | Mapping[str, Any]) -> EstimateRun:
    """Run the whole estimate step and return the results and the objects behind them.

    Parameters
    ----------
    options : EstimateOptions, argparse.Namespace or mapping
        See :class:`EstimateOptions`; a namespace from :func:`scoring.cli.add_estimate_options`
        works as is.

    Returns
    -------
    EstimateRun

    Raises
    ------
    ScoringInputError, QuestionnaireError
        Bad input, with a message naming the file, column, level or row.

    Examples
    --------
    >>> run = run_estimate(EstimateOptions(responses=frame, margins="margins.csv",
    ...                                    strata="point_town", cluster="point", lonely_psu="adjust"))  # doctest: +SKIP
    >>> run.results["overall"]["index"]                                     # doctest: +SKIP
    """
    if not isinstance(options, EstimateOptions):
        options = EstimateOptions.from_namespace(options)
    options.validate()
    inputs: dict[str, str] = {}
    questionnaires, hashes = _questionnaires(options.questionnaires)
    inputs.update(hashes)
    margins, hashes = _margins(options.margins)
    inputs.update(hashes)
    domain_weights, hashes = _domain_weights(options.domain_weights)
    inputs.update(hashes)

    needed = [c for c in (options.strata, options.cluster) if c]
    needed += [v for m in (margins or ()) for v in m.variables]
    integrity_rules = options.integrity_rules or IntegrityRules()
    timing = ["submitted_at"] if integrity_rules.enabled else []  # read for the integrity checks only
    if isinstance(options.responses, pd.DataFrame):
        frame = options.responses
    else:
        frame = read_responses(options.responses, columns=needed + timing)
        inputs["responses"] = file_sha256(options.responses)  # names, never server paths
    instrument = Instrument.from_questionnaires(questionnaires) if questionnaires is not None else None
    responses = validate_responses(frame, instrument, required=needed + [c for c in timing if c in frame.columns])
    del frame
    if isinstance(options.responses, pd.DataFrame):
        inputs["responses"] = responses.digest()
    screening = screen_responses(responses, rules=options.effective_screening_rules())
    review, all_responses = None, responses
    if integrity_rules.enabled:
        review = review_integrity(responses, screening, rules=integrity_rules, exclusions=options.exclusions)
        if review.excluded_rows.all():
            raise ScoringInputError("the office's exclusions leave no response to estimate from; revise them")
        if review.excluded_rows.any():  # the office's exclusions: estimate without those rows
            responses = responses.subset(~review.excluded_rows)
            screening = screen_responses(responses, rules=options.effective_screening_rules())
    if screening.n_kept == 0:
        raise ScoringInputError(f"screening excluded every response ({dict(screening.excluded)}); nothing to estimate")
    table = build_analysis_table(responses.subset(screening.keep), mapping=options.mapping)

    unraked, design = _designs(table, options, margins)
    if options.variance == "jackknife":
        variance_design: Design = jackknife_design(design, mse=options.mse)
    elif options.variance == "bootstrap":
        variance_design = bootstrap_design(
            design, replicates=options.replicates or DEFAULT_BOOTSTRAP_REPLICATES, seed=options.seed, mse=options.mse
        )
    else:
        variance_design = design
    stability = Stability(options.min_n, options.min_psus)
    headline_groups: dict[str, pd.Series] = {}
    if "channel" in table.frame.columns:
        headline_groups["channel"] = table.frame["channel"]
    kinds = point_types(table.frame, cluster=options.cluster or "point")
    if kinds is not None:
        headline_groups["point_type"] = kinds
    estimates = estimate_satisfaction(
        table,
        variance_design,
        domain_weights=domain_weights,
        target=options.target,
        target_metric=options.target_metric,
        subgroup_variables=SUBGROUP_VARIABLES,
        suppression=Suppression(options.suppress_min_n, options.suppress_max_cv),
        stability=stability,
        interval_method=options.rate_interval,
        level=options.level,
        headline_groups=headline_groups,
    )
    sensitivity = (
        _sensitivity(responses, screening, table, unraked, design, estimates, options, margins, stability)
        if options.sensitivity
        else None
    )
    del responses
    integrity = None
    if review is not None:
        used = {d: w for d, w in estimates.overall.domain_weights.items() if w > 0}
        integrity = integrity_results(
            review,
            estimate_headline=headline_dict(headline_of(estimates)),
            headline=lambda keep: _headline_run(all_responses, keep, options, margins, used, stability),
        )
    settings = _settings(options, margins, domain_weights)
    scale_lengths = sorted(set(table.instrument.scale_lengths.values())) or [5]
    summary = weight_diagnostics(design)
    results = results_dict(
        estimates,
        weights={
            "method": summary.method,
            "effective_n": summary.effective_n,
            "deff": summary.deff,
            "min": summary.min,
            "max": summary.max,
        },
        design=_design_section(design, variance_design, options),
        excluded=screening.excluded,
        inputs=inputs,
        version=ENGINE_VERSION,
        scale={
            "mapping": options.mapping,
            "description": scale_description(options.mapping, scale_lengths[0]),
            "points": scale_lengths,
        },
        sensitivity=sensitivity,
        settings={
            "analysis": None if settings is None else settings.to_dict(),
            "digest": None if settings is None else settings.digest(),
            "questionnaires": None
            if questionnaires is None
            else {questionnaire.id: questionnaire.version for questionnaire in questionnaires},
        },
    )
    results = _insert_after(results, "sensitivity", "integrity", integrity)  # the order of docs/contracts.md
    return EstimateRun(
        results=results,
        estimates=estimates,
        design=design,
        variance_design=variance_design,
        table=table,
        screening=screening,
        weight_summary=summary,
        options=options,
        settings=settings,
        integrity=review,
    )
