"""The estimate step from inputs to results: read, screen, score, weight, estimate.

:func:`run_estimate` is what ``python -m scoring estimate`` runs, and what the web app's
adapter and the report commands call: it takes :class:`EstimateOptions` (or the parsed
command-line options) — with the responses as a file *or* an in-memory DataFrame in the
responses contract — and returns an :class:`EstimateRun` holding the results dict (the
JSON contract), the estimates, the calibrated design, the variance design and the
analysis table with scores and weights.

Nothing is written here; :mod:`scoring.cli` writes the files, atomically, after success.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import (
    IGNORED_COLUMNS,
    Instrument,
    file_sha256,
    read_domain_weights,
    read_margins,
    read_responses,
    validate_responses,
)
from .design import LONELY_PSU_OPTIONS, SurveyDesign, survey_design
from .errors import ScoringInputError
from .estimation import Design
from .proportions import INTERVAL_METHODS
from .questionnaire import QuestionnaireSet, load_questionnaires
from .satisfaction import SUBGROUP_VARIABLES, SatisfactionEstimates, Suppression, estimate_satisfaction, results_dict
from .scores import AnalysisTable, build_analysis_table
from .screening import ScreeningResult, ScreeningRules, screen_responses
from .target import TARGET_METRICS
from .variance import bootstrap_design, jackknife_design
from .weighting import Margin, Trimming, WeightDiagnostics, rake, weight_diagnostics

__all__ = ["ENGINE_VERSION", "VARIANCE_METHODS", "EstimateOptions", "EstimateRun", "run_estimate"]

VARIANCE_METHODS: tuple[str, ...] = ("linearization", "jackknife", "bootstrap")
DEFAULT_BOOTSTRAP_REPLICATES = 500


def _engine_version() -> str:
    try:
        return metadata.version("manyi")
    except metadata.PackageNotFoundError:
        return "0.1.0"


#: Version string written to every results file.
ENGINE_VERSION = f"manyi-scoring {_engine_version()}"

ResponsesSource = str | Path | pd.DataFrame


@dataclass(frozen=True)
class EstimateOptions:
    """Everything the estimate step can be told (the ``estimate`` command's options).

    Parameters
    ----------
    responses : path or DataFrame
        The responses table (CSV file or in-memory table in the contract).
    questionnaires : path or QuestionnaireSet, optional
        Item weights, scale lengths, codes; without it domains come from the prefixes.
    margins : path, DataFrame or sequence of Margin, optional
        Population margins; one variable → post-stratification, several → raking.
    strata, cluster : str, optional
        Design columns (e.g. ``town``, ``point``).
    variance : {"linearization", "jackknife", "bootstrap"}
    replicates : int, optional
        Bootstrap replicates (default 500; the jackknife has one per PSU).
    seed : int
        Bootstrap seed.
    domain_weights : path, mapping or "derived", optional
        Weights of the domains in the overall index (default equal).
    target : float or None
        Target as people say it (85).
    target_metric : {"index", "satisfied_rate"}
    screening : bool
        Quality screening (partial responses are always excluded).
    screening_rules : ScreeningRules, optional
        The rules (default :class:`~scoring.screening.ScreeningRules`); ``screening=False``
        turns them off.
    lonely_psu : {"fail", "adjust"}
    rate_interval : {"logit", "korn_graubard", "wilson"}
    trim : (lower, upper), optional
        Bounds on the calibration adjustment relative to its mean, with re-raking.
    suppress_min_n, suppress_max_cv
        Subgroup suppression rule.
    level : float
        Confidence level.
    mse : bool
        Replicate variances centred at the full-sample estimate (statistics.md's JKn
        formula) rather than the replicates' mean.
    """

    responses: ResponsesSource
    questionnaires: str | Path | QuestionnaireSet | None = None
    margins: str | Path | pd.DataFrame | Sequence[Margin] | None = None
    strata: str | None = None
    cluster: str | None = None
    variance: str = "linearization"
    replicates: int | None = None
    seed: int = 0
    domain_weights: str | Path | Mapping[str, float] | None = None
    target: float | None = 85.0
    target_metric: str = "index"
    screening: bool = True
    screening_rules: ScreeningRules | None = None
    lonely_psu: str = "fail"
    rate_interval: str = "logit"
    trim: tuple[float, float] | None = None
    suppress_min_n: int = 30
    suppress_max_cv: float = 0.3
    level: float = 0.95
    mse: bool = True

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace | Mapping[str, Any]) -> EstimateOptions:
        """Options from parsed command-line arguments (unknown attributes are ignored)."""
        values = vars(namespace) if isinstance(namespace, argparse.Namespace) else dict(namespace)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def validate(self) -> None:
        """Check the option values (not the files); raises ScoringInputError."""
        if self.variance not in VARIANCE_METHODS:
            raise ScoringInputError(f"--variance must be one of {', '.join(VARIANCE_METHODS)}, got {self.variance!r}")
        if self.target_metric not in TARGET_METRICS:
            raise ScoringInputError(
                f"--target-metric must be one of {', '.join(TARGET_METRICS)}, got {self.target_metric!r}"
            )
        if self.lonely_psu not in LONELY_PSU_OPTIONS:
            raise ScoringInputError(
                f"--lonely-psu must be one of {', '.join(LONELY_PSU_OPTIONS)}, got {self.lonely_psu!r}"
            )
        if self.rate_interval not in INTERVAL_METHODS:
            raise ScoringInputError(
                f"--rate-interval must be one of {', '.join(INTERVAL_METHODS)}, got {self.rate_interval!r}"
            )
        if self.replicates is not None and self.variance != "bootstrap":
            raise ScoringInputError(
                "--replicates applies to --variance bootstrap (the jackknife has one replicate per PSU)"
            )
        if self.replicates is not None and self.replicates < 2:
            raise ScoringInputError(f"--replicates must be at least 2 (500 or more recommended), got {self.replicates}")
        if not 0 < self.level < 1:
            raise ScoringInputError(f"the confidence level must be between 0 and 1, got {self.level}")
        if self.trim is not None:
            lower, upper = self.trim
            if not (0 < lower < 1 < upper and math.isfinite(upper)):
                raise ScoringInputError(f"--trim LOWER UPPER needs 0 < LOWER < 1 < UPPER, got {lower:g} {upper:g}")
            if self.margins is None:
                raise ScoringInputError("--trim needs --margins (trimming re-rakes to the margins)")


@dataclass(frozen=True, eq=False)
class EstimateRun:
    """The outcome of :func:`run_estimate`.

    Attributes
    ----------
    results : dict
        The results JSON (keys of the scoring issue's contract).
    estimates : SatisfactionEstimates
    design : SurveyDesign
        The full-sample design of the analysed responses, calibrated when margins were
        given; ``design.weights`` are the final weights.
    variance_design : SurveyDesign or ReplicateDesign
        What the variances came from (the design itself for linearization).
    table : AnalysisTable
        Scores of the analysed responses, row for row the rows of ``design``.
    screening : ScreeningResult
        Over all rows of the input.
    weight_summary : WeightDiagnostics
    options : EstimateOptions
    """

    results: dict[str, Any]
    estimates: SatisfactionEstimates = field(repr=False)
    design: SurveyDesign = field(repr=False)
    variance_design: Design = field(repr=False)
    table: AnalysisTable = field(repr=False)
    screening: ScreeningResult = field(repr=False)
    weight_summary: WeightDiagnostics
    options: EstimateOptions = field(repr=False)

    @property
    def weights(self) -> np.ndarray:
        """Final weights of the analysed responses (the rows of :attr:`table`)."""
        return self.design.weights

    def analysis_frame(self) -> pd.DataFrame:
        """Non-item columns, ``weight``, item scores (item codes) and domain scores (domain ids)."""
        return self.table.to_frame(self.weights)

    def weights_frame(self) -> pd.DataFrame:
        """``response_id, weight`` (what ``--weights-out`` writes)."""
        return pd.DataFrame(
            {"response_id": self.table.frame["response_id"].astype(str).to_numpy(), "weight": self.weights}
        )


def _questionnaires(source: str | Path | QuestionnaireSet | None) -> tuple[QuestionnaireSet | None, dict[str, str]]:
    if source is None:
        return None, {}
    if isinstance(source, QuestionnaireSet):
        return source, {}
    folder = Path(source)
    questionnaires = load_questionnaires(folder)
    return questionnaires, {str(path): file_sha256(path) for path in sorted(folder.glob("*.yaml"))}


def _margins(source: Any) -> tuple[tuple[Margin, ...] | None, dict[str, str]]:
    if source is None:
        return None, {}
    if isinstance(source, (str, Path)):
        return read_margins(source), {str(source): file_sha256(source)}
    if isinstance(source, pd.DataFrame):
        return read_margins(source), {}
    return tuple(source), {}


def _domain_weights(source: Any) -> tuple[Mapping[str, float] | str | None, dict[str, str]]:
    if source is None or source == "derived":
        return source, {}
    if isinstance(source, (str, Path)):
        return read_domain_weights(source), {str(source): file_sha256(source)}
    return read_domain_weights(source), {}


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
    ...                                    strata="town", cluster="point"))  # doctest: +SKIP
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
    if isinstance(options.responses, pd.DataFrame):
        frame = options.responses
    else:
        frame = read_responses(options.responses, columns=[c for c in needed if c in IGNORED_COLUMNS])
        inputs[str(options.responses)] = file_sha256(options.responses)
    instrument = Instrument.from_questionnaires(questionnaires) if questionnaires is not None else None
    responses = validate_responses(frame, instrument, required=needed)
    del frame
    if isinstance(options.responses, pd.DataFrame):
        inputs["responses"] = responses.digest()
    screening = screen_responses(responses, enabled=options.screening, rules=options.screening_rules)
    if screening.n_kept == 0:
        raise ScoringInputError(f"screening excluded every response ({dict(screening.excluded)}); nothing to estimate")
    table = build_analysis_table(responses.subset(screening.keep))
    del responses

    weights_column = "base_weight" if "base_weight" in table.frame.columns else None
    design = survey_design(
        table.frame,
        strata=options.strata,
        cluster=options.cluster,
        weights=weights_column,
        lonely_psu=options.lonely_psu,
    )
    if margins is not None:
        trimming = Trimming(*options.trim) if options.trim else None
        design = rake(design, margins, trimming=trimming)
    if options.variance == "jackknife":
        variance_design: Design = jackknife_design(design, mse=options.mse)
    elif options.variance == "bootstrap":
        variance_design = bootstrap_design(
            design, replicates=options.replicates or DEFAULT_BOOTSTRAP_REPLICATES, seed=options.seed, mse=options.mse
        )
    else:
        variance_design = design
    estimates = estimate_satisfaction(
        table,
        variance_design,
        domain_weights=domain_weights,
        target=options.target,
        target_metric=options.target_metric,
        subgroup_variables=SUBGROUP_VARIABLES,
        suppression=Suppression(options.suppress_min_n, options.suppress_max_cv),
        interval_method=options.rate_interval,
        level=options.level,
    )
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
        design={
            "strata": options.strata,
            "clusters": options.cluster,
            "df": design.degrees_of_freedom,
            "variance": options.variance,
        },
        excluded=screening.excluded,
        inputs=inputs,
        version=ENGINE_VERSION,
    )
    return EstimateRun(
        results=results,
        estimates=estimates,
        design=design,
        variance_design=variance_design,
        table=table,
        screening=screening,
        weight_summary=summary,
        options=options,
    )
