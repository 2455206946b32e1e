"""The options of an estimate run (EstimateOptions: from the settings object or the command line)
and its result (EstimateRun), with the engine's version.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from .design import (
    LONELY_PSU_OPTIONS,
    UNCLUSTERED_RULES,
    SurveyDesign,
)
from .errors import ScoringInputError
from .estimation import Design
from .integrity import Exclusion, IntegrityReview, IntegrityRules
from .proportions import INTERVAL_METHODS
from .questionnaire import QuestionnaireSet
from .satisfaction import (
    SatisfactionEstimates,
    Stability,
)
from .scores import AnalysisTable, validate_mapping
from .screening import ScreeningResult, ScreeningRules
from .target import TARGET_METRICS
from .vocabulary import DEFAULT_TARGET, VARIANCE_METHODS
from .weighting import Margin, WeightDiagnostics

if TYPE_CHECKING:
    from .settings import AnalysisSettings


DEFAULT_BOOTSTRAP_REPLICATES = 500


#: The assumption every interval rests on (statistics.md, "What the sample is").
QUASI_RANDOMISATION = (
    "Residents who scan a QR code choose themselves. The intervals assume that, after raking, who answered "
    "is as good as random within the raking cells (quasi-randomisation); they measure sampling error under "
    "that assumption, not the error of self-selection. The sensitivity section shows how much the headline "
    "moves unweighted vs weighted, by channel, by point type and with and without screening."
)


def _engine_version() -> str:
    try:
        return metadata.version("manyi")
    except metadata.PackageNotFoundError:
        return "0.1.0"


#: Version string written to every results file.
ENGINE_VERSION = f"manyi-scoring {_engine_version()}"


ResponsesSource: TypeAlias = str | Path | pd.DataFrame


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
        Design columns.  Manyi's design is ``strata="point_town", cluster="point"``
        (statistics.md); with a cluster, rows without one follow ``unclustered``.
    unclustered : {"channel_strata", "fail"}
        Rows without a cluster value (phone, paper): one stratum per channel, each
        respondent its own PSU; or an error.
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
        Which overall figure is *the* plan's target; both are always tested.
    mapping : {"linear", "monitoring"}
        Item-score mapping (statistics.md, "Definitions").
    screening : bool
        Quality screening (partial responses are always excluded).
    screening_rules : ScreeningRules, optional
        The rules (default :class:`~scoring.screening.ScreeningRules`); ``screening=False``
        turns them off.
    lonely_psu : {"fail", "adjust"}
    rate_interval : {"logit", "korn_graubard", "wilson"}
    trim : (lower, upper), optional
        Bounds on the calibration adjustment relative to its mean, with re-raking.
    min_n, min_psus : int
        Stability: a figure on fewer respondents or PSUs is flagged unstable, no verdict.
    suppress_min_n, suppress_max_cv
        Subgroup suppression rule.
    level : float
        Confidence level.
    mse : bool
        Replicate variances centred at the full-sample estimate (statistics.md's JKn
        formula) rather than the replicates' mean.
    sensitivity : bool
        Compute the sensitivity section (two extra passes: unweighted, other screening).
    settings : AnalysisSettings, optional
        The wave's settings these options came from (:meth:`from_settings`); recorded in
        the results with what the estimate step does not use (benchmarks, assumed SE …).
    integrity_rules : IntegrityRules, optional
        The integrity review (:mod:`scoring.integrity`; on by default):
        ``results["integrity"]``.
    exclusions : sequence of Exclusion
        The office's decisions to leave points (or addresses) out: the estimate is made
        without their rows, and ``results["integrity"]`` says so, with the reasons.
    """

    responses: ResponsesSource
    questionnaires: str | Path | QuestionnaireSet | None = None
    margins: str | Path | pd.DataFrame | Sequence[Margin] | None = None
    strata: str | None = None
    cluster: str | None = None
    unclustered: str = "channel_strata"
    variance: str = "linearization"
    replicates: int | None = None
    seed: int = 0
    domain_weights: str | Path | Mapping[str, float] | None = None
    target: float | None = DEFAULT_TARGET
    target_metric: str = "index"
    mapping: str = "linear"
    screening: bool = True
    screening_rules: ScreeningRules | None = None
    lonely_psu: str = "fail"
    rate_interval: str = "logit"
    trim: tuple[float, float] | None = None
    min_n: int = 30
    min_psus: int = 5
    suppress_min_n: int = 30
    suppress_max_cv: float = 0.3
    level: float = 0.95
    mse: bool = True
    sensitivity: bool = True
    settings: AnalysisSettings | None = field(default=None, repr=False)
    integrity_rules: IntegrityRules | None = None
    exclusions: Sequence[Exclusion] = ()

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace | Mapping[str, Any]) -> EstimateOptions:
        """Options from parsed command-line arguments (unknown attributes are ignored; an
        attribute that is None was not given, and the option's default applies).

        A ``straight_line_fast_fraction`` attribute (a number, or ``"none"`` for the rule
        before issue 10) sets the screening rules' straight-lining rule.
        """
        values = vars(namespace) if isinstance(namespace, argparse.Namespace) else dict(namespace)
        names = {f.name for f in fields(cls)}
        options = {k: v for k, v in values.items() if k in names and v is not None}
        fraction = values.get("straight_line_fast_fraction")
        if fraction is not None and "screening_rules" not in options:
            options["screening_rules"] = ScreeningRules(
                straight_line_fast_fraction=None if fraction == "none" else float(fraction)
            )
        return cls(**options)

    @classmethod
    def from_settings(
        cls,
        responses: ResponsesSource,
        questionnaires: str | Path | QuestionnaireSet | None,
        settings: AnalysisSettings,
        **overrides: Any,
    ) -> EstimateOptions:
        """The options of a wave's :class:`~scoring.settings.AnalysisSettings` (``overrides`` win).

        Examples
        --------
        >>> options = EstimateOptions.from_settings(frame, questionnaires, wave_settings)  # doctest: +SKIP
        >>> run_estimate(options).results["settings"]["analysis"] == wave_settings.to_dict()  # doctest: +SKIP
        True
        """
        settings.validate()
        margins = None
        if settings.margins is not None:
            margins = pd.DataFrame(list(settings.margins), columns=["variable", "level", "population"]).astype(str)
        values: dict[str, Any] = {
            "responses": responses,
            "questionnaires": questionnaires,
            "margins": margins,
            "strata": settings.strata,
            "cluster": settings.cluster,
            "unclustered": settings.unclustered,
            "variance": settings.variance,
            "replicates": settings.replicates,
            "seed": settings.seed,
            "domain_weights": settings.domain_weights,
            "target": settings.target,
            "target_metric": settings.target_metric,
            "mapping": settings.mapping,
            "screening": settings.screening.enabled,
            "screening_rules": settings.screening,
            "lonely_psu": settings.lonely_psu,
            "rate_interval": settings.rate_interval,
            "trim": settings.trim,
            "min_n": settings.min_n,
            "min_psus": settings.min_psus,
            "suppress_min_n": settings.suppress_min_n,
            "suppress_max_cv": settings.suppress_max_cv,
            "settings": settings,
        }
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise ScoringInputError(f"unknown estimate option {unknown[0]!r}")
        return cls(**{**values, **overrides})

    def validate(self) -> None:
        """Check the option values (not the files); raises ScoringInputError."""
        if self.variance not in VARIANCE_METHODS:
            raise ScoringInputError(f"--variance must be one of {', '.join(VARIANCE_METHODS)}, got {self.variance!r}")
        if self.target_metric not in TARGET_METRICS:
            raise ScoringInputError(
                f"--target-metric must be one of {', '.join(TARGET_METRICS)}, got {self.target_metric!r}"
            )
        validate_mapping(self.mapping)
        if self.lonely_psu not in LONELY_PSU_OPTIONS:
            raise ScoringInputError(
                f"--lonely-psu must be one of {', '.join(LONELY_PSU_OPTIONS)}, got {self.lonely_psu!r}"
            )
        if self.unclustered not in UNCLUSTERED_RULES:
            raise ScoringInputError(
                f"rows without a collection point: the rule must be one of {', '.join(UNCLUSTERED_RULES)}, "
                f"got {self.unclustered!r}"
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
        Stability(self.min_n, self.min_psus)

    def effective_screening_rules(self) -> ScreeningRules:
        """The screening rules this run applies."""
        rules = self.screening_rules or ScreeningRules()
        return (
            rules if rules.enabled == self.screening else ScreeningRules(**{**vars(rules), "enabled": self.screening})
        )


@dataclass(frozen=True, eq=False)
class EstimateRun:
    """The outcome of :func:`run_estimate`.

    Attributes
    ----------
    results : dict
        The results JSON (docs/contracts.md).
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
    settings : AnalysisSettings
        The settings the run used (recorded in ``results["settings"]``).
    integrity : IntegrityReview or None
        The integrity review over every input row (before the office's exclusions;
        ``screening`` and ``table`` are over the rows left after them).
    """

    results: dict[str, Any]
    estimates: SatisfactionEstimates = field(repr=False)
    design: SurveyDesign = field(repr=False)
    variance_design: Design = field(repr=False)
    table: AnalysisTable = field(repr=False)
    screening: ScreeningResult = field(repr=False)
    weight_summary: WeightDiagnostics
    options: EstimateOptions = field(repr=False)
    settings: AnalysisSettings | None = field(default=None, repr=False)
    integrity: IntegrityReview | None = field(default=None, repr=False)

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
