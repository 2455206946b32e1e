"""A wave's analysis settings: every choice behind a published figure, in one object.

:class:`AnalysisSettings` holds what the statistician decides once per wave — the target
and which metric is *the* plan's target, the scale mapping, the design, the variance
method, the screening rules, the stability minimums, the subgroup suppression rule, the
rate interval, the domain weights, the population margins (their content, hashed), the
published benchmarks (their CSV text, hashed), the SE assumed for published scores, the
illustrative flag and the district's name.  It is pure data:

* :meth:`AnalysisSettings.to_dict` / :meth:`AnalysisSettings.from_dict` — JSON-safe and
  exact: ``from_dict(to_dict(s)) == s`` and ``to_dict(from_dict(d)) == d``; no file
  paths, so the web app can store it with the wave and a publication with its results;
* :meth:`AnalysisSettings.validate` — every problem named with how to fix it;
* :meth:`AnalysisSettings.digest` — SHA-256 of the canonical JSON: two runs with the same
  digest made the same choices;
* :meth:`AnalysisSettings.differences` — which settings differ between two objects (for
  "the report used settings other than the wave's" and for comparing waves);
* :meth:`scoring.pipeline.EstimateOptions.from_settings` runs the estimate step from it.

Every results file records the settings its run used under ``settings.analysis``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import SettingsError
from .screening import ScreeningRules
from .vocabulary import DEFAULT_TARGET

__all__ = [
    "DEFAULT_ASSUMED_SE",
    "SETTINGS_SCHEMA",
    "AnalysisSettings",
    "margins_rows_from_csv",
]

#: Version of the ``to_dict`` layout (stored with the object; bump on a breaking change).
SETTINGS_SCHEMA = 1
#: SE assumed for a published monitoring score that comes without one, in index points.
DEFAULT_ASSUMED_SE = 1.0
#: The benchmarks CSV header (docs/contracts.md).
BENCHMARK_COLUMNS: tuple[str, ...] = ("year", "level", "unit", "score", "rank", "se", "source")

MarginRow = tuple[str, str, float]


def _number_text(value: float) -> str:
    """Canonical text of a population count: ``52000`` for whole numbers, else ``repr``."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def _canonical_row(row: Sequence[Any]) -> tuple[Any, ...]:
    """A margins row with its population as an int when whole (52000.0 → 52000): one content, one form."""
    row = tuple(row)
    if len(row) == 3 and isinstance(row[2], (int, float)) and not isinstance(row[2], bool):
        population = row[2]
        if math.isfinite(population) and float(population).is_integer():
            return (row[0], row[1], int(population))
        return (row[0], row[1], float(population))
    return row


def _canonical_margins(rows: Sequence[MarginRow]) -> str:
    lines = ["variable,level,population"]
    lines += [f"{variable},{level},{_number_text(population)}" for variable, level, population in rows]
    return "\n".join(lines) + "\n"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def margins_rows_from_csv(text: str) -> tuple[MarginRow, ...]:
    """The rows of a margins CSV (``variable, level, population``) as settings content.

    Raises
    ------
    SettingsError
        Wrong header, a row with the wrong number of cells, or a population that is not a
        number — naming the row.  (The margins' own rules — every level once, counts ≥ 0 —
        are checked by :meth:`AnalysisSettings.validate`.)
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [cell.strip() for cell in next(reader, [])]
    if header != ["variable", "level", "population"]:
        raise SettingsError(
            f"the margins CSV must have the header variable,level,population; got {','.join(header) or 'nothing'}"
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise SettingsError(f"margins CSV, line {number}: expected 3 cells (variable,level,population), got {row}")
        variable, level, population = (cell.strip() for cell in row)
        try:
            value = float(population)
        except ValueError:
            raise SettingsError(f"margins CSV, line {number}: the population {population!r} is not a number") from None
        rows.append((variable, level, int(value) if value.is_integer() else value))
    return tuple(rows)


def _choice(value: Any, choices: Sequence[Any], name: str) -> None:
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")


def _whole(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SettingsError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")


def _positive(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name} must be a positive number, got {value!r}")


def _column_name(value: Any, name: str) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip() or value.strip() != value):
        raise SettingsError(f"{name} must be a column name (e.g. point_town) or none, got {value!r}")


@dataclass(frozen=True)
class AnalysisSettings:
    """The analysis settings of a wave (see the module notes).

    Parameters
    ----------
    target : float or None
        The target as people say it (85 = an index of 85 or a satisfied rate of 85%);
        None for no target test.
    target_metric : {"index", "satisfied_rate"}
        Which figure is *the* plan's target (both are always tested and shown).
    mapping : {"linear", "monitoring"}
        Item-score mapping (statistics.md, "Definitions").
    strata, cluster : str or None
        Design columns: the point's town and the collection point by default.
    unclustered : {"channel_strata", "fail"}
        Rows without a point: one stratum per channel, each respondent its own PSU.
    variance : {"linearization", "jackknife", "bootstrap"}
    replicates : int or None
        Bootstrap replicates (None: 500; only with the bootstrap).
    seed : int
        Seed of the bootstrap (and of the report's simulations).
    lonely_psu : {"fail", "adjust"}
    screening : ScreeningRules
    min_n, min_psus : int
        Stability: below them a figure is flagged unstable and gets no verdict.
    suppress_min_n, suppress_max_cv
        Subgroup cells are withheld below ``suppress_min_n`` respondents or above this CV.
    rate_interval : {"logit", "korn_graubard", "wilson"}
    domain_weights : mapping, "derived" or None
        Weights of the domains in the overall index (None: equal).
    margins : tuple of (variable, level, population) or None
        Population margins, the content itself (raking when several variables).
    trim : (lower, upper) or None
        Bounds on the raking adjustment relative to its mean, with re-raking.
    benchmarks : str or None
        Published monitoring scores, the CSV text itself (docs/contracts.md).
    assumed_se : float
        SE assumed for a published score without one, in index points (default 1.0:
        the SE of a city's published index of a few thousand respondents with a design
        effect of 2 is about 0.5–1 point; 1.0 errs on the wide side, never 0).
    illustrative : bool
        The data are synthetic or a demo: every output says so.
    district : str
        The district's name as the benchmarks and the report write it.
    """

    target: float | None = DEFAULT_TARGET
    target_metric: str = "index"
    mapping: str = "linear"
    strata: str | None = "point_town"
    cluster: str | None = "point"
    unclustered: str = "channel_strata"
    variance: str = "linearization"
    replicates: int | None = None
    seed: int = 0
    lonely_psu: str = "adjust"
    screening: ScreeningRules = field(default_factory=ScreeningRules)
    min_n: int = 30
    min_psus: int = 5
    suppress_min_n: int = 30
    suppress_max_cv: float = 0.3
    rate_interval: str = "logit"
    domain_weights: Mapping[str, float] | str | None = None
    margins: tuple[MarginRow, ...] | None = None
    trim: tuple[float, float] | None = None
    benchmarks: str | None = None
    assumed_se: float = DEFAULT_ASSUMED_SE
    illustrative: bool = False
    district: str = "荆州区"

    def __post_init__(self) -> None:
        if self.margins is not None:
            object.__setattr__(self, "margins", tuple(_canonical_row(row) for row in self.margins))
        if self.trim is not None:
            object.__setattr__(self, "trim", tuple(self.trim))
        if isinstance(self.domain_weights, Mapping):
            object.__setattr__(self, "domain_weights", dict(self.domain_weights))

    __hash__ = None  # type: ignore[assignment]  # domain weights are a mapping: compare, never hash

    # ------------------------------------------------------------------ content hashes

    @property
    def margins_sha256(self) -> str | None:
        """SHA-256 of the margins' canonical CSV text (``variable,level,population`` rows)."""
        return None if self.margins is None else _sha256(_canonical_margins(self.margins))

    @property
    def benchmarks_sha256(self) -> str | None:
        """SHA-256 of the benchmarks CSV text (UTF-8)."""
        return None if self.benchmarks is None else _sha256(self.benchmarks)

    def margins_csv(self) -> str | None:
        """The margins as CSV text (what :func:`scoring.data.read_margins` reads)."""
        return None if self.margins is None else _canonical_margins(self.margins)

    # ------------------------------------------------------------------ validation

    def validate(self) -> AnalysisSettings:
        """Check every setting; return ``self``.

        Raises
        ------
        SettingsError
            Naming the setting, the value and the allowed values.
        """
        from .design import LONELY_PSU_OPTIONS, UNCLUSTERED_RULES
        from .proportions import INTERVAL_METHODS
        from .scores import MAPPINGS
        from .target import TARGET_METRICS, target_value
        from .vocabulary import VARIANCE_METHODS

        _choice(self.target_metric, TARGET_METRICS, "target_metric")
        if self.target is not None:
            try:
                target_value(self.target, self.target_metric)
            except ValueError as error:
                raise SettingsError(f"target: {error}") from None
        _choice(self.mapping, MAPPINGS, "mapping")
        _column_name(self.strata, "strata")
        _column_name(self.cluster, "cluster")
        _choice(self.unclustered, UNCLUSTERED_RULES, "unclustered (rows without a collection point)")
        _choice(self.variance, VARIANCE_METHODS, "variance")
        if self.replicates is not None:
            _whole(self.replicates, "replicates", 2)
            if self.variance != "bootstrap":
                raise SettingsError("replicates apply to the bootstrap only (the jackknife has one per PSU)")
        _whole(self.seed, "seed", 0)
        _choice(self.lonely_psu, LONELY_PSU_OPTIONS, "lonely_psu")
        if not isinstance(self.screening, ScreeningRules):
            raise SettingsError(f"screening must be ScreeningRules, got {type(self.screening).__name__}")
        try:
            self.screening.validate()
        except ValueError as error:
            raise SettingsError(str(error)) from None
        _whole(self.min_n, "min_n (minimum respondents of a stable figure)", 1)
        _whole(self.min_psus, "min_psus (minimum PSUs of a stable figure)", 2)
        _whole(self.suppress_min_n, "suppress_min_n", 0)
        _positive(self.suppress_max_cv, "suppress_max_cv")
        _choice(self.rate_interval, INTERVAL_METHODS, "rate_interval")
        self._validate_domain_weights()
        self._validate_margins()
        if self.trim is not None:
            if len(self.trim) != 2 or not all(isinstance(x, (int, float)) for x in self.trim):
                raise SettingsError(f"trim must be two numbers (lower, upper), got {self.trim!r}")
            lower, upper = self.trim
            if not (0 < lower < 1 < upper and math.isfinite(upper)):
                raise SettingsError(f"trim needs 0 < lower < 1 < upper, got {lower:g}, {upper:g}")
            if self.margins is None:
                raise SettingsError("trim needs margins (trimming re-rakes to the margins)")
        self._validate_benchmarks()
        _positive(self.assumed_se, "assumed_se (SE of a published score without one, index points)")
        if not isinstance(self.illustrative, bool):
            raise SettingsError(f"illustrative must be true or false, got {self.illustrative!r}")
        if not isinstance(self.district, str) or not self.district.strip():
            raise SettingsError("district must be the district's name, e.g. 荆州区")
        return self

    def _validate_domain_weights(self) -> None:
        from .questionnaire import DOMAIN_IDS

        weights = self.domain_weights
        if weights is None or weights == "derived":
            return
        if not isinstance(weights, Mapping) or not weights:
            raise SettingsError(
                f"domain_weights must be none (equal), 'derived' or {{domain: weight}}, got {weights!r}"
            )
        for domain, weight in weights.items():
            if domain not in DOMAIN_IDS:
                raise SettingsError(f"domain_weights: {domain!r} is not a domain id ({', '.join(DOMAIN_IDS)})")
            _positive(weight, f"domain_weights[{domain!r}]")

    def _validate_margins(self) -> None:
        if self.margins is None:
            return
        import pandas as pd

        from .weighting import margins_from_frame

        for number, row in enumerate(self.margins, start=1):
            if len(row) != 3 or not isinstance(row[0], str) or not isinstance(row[1], str):
                raise SettingsError(f"margins row {number}: expected (variable, level, population), got {row!r}")
            if isinstance(row[2], bool) or not isinstance(row[2], (int, float)):
                raise SettingsError(f"margins row {number}: the population {row[2]!r} is not a number")
        frame = pd.DataFrame(list(self.margins), columns=["variable", "level", "population"]).astype(str)
        try:
            margins_from_frame(frame, name="margins (settings)")
        except ValueError as error:
            raise SettingsError(str(error)) from None

    def _validate_benchmarks(self) -> None:
        if self.benchmarks is None:
            return
        if not isinstance(self.benchmarks, str) or not self.benchmarks.strip():
            raise SettingsError("benchmarks must be the CSV text (year,level,unit,score,rank,se,source) or none")
        header = next(csv.reader(io.StringIO(self.benchmarks.lstrip("\ufeff"))), [])
        if tuple(cell.strip() for cell in header) != BENCHMARK_COLUMNS:
            raise SettingsError(
                f"the benchmarks CSV must have the header {','.join(BENCHMARK_COLUMNS)}; got {','.join(header)}"
            )

    # ------------------------------------------------------------------ data

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, exact: :meth:`from_dict` gives back an equal object."""
        weights = self.domain_weights
        return {
            "schema": SETTINGS_SCHEMA,
            "target": self.target,
            "target_metric": self.target_metric,
            "mapping": self.mapping,
            "strata": self.strata,
            "cluster": self.cluster,
            "unclustered": self.unclustered,
            "variance": self.variance,
            "replicates": self.replicates,
            "seed": self.seed,
            "lonely_psu": self.lonely_psu,
            "screening": self.screening.to_dict(),
            "min_n": self.min_n,
            "min_psus": self.min_psus,
            "suppress_min_n": self.suppress_min_n,
            "suppress_max_cv": self.suppress_max_cv,
            "rate_interval": self.rate_interval,
            "domain_weights": dict(weights) if isinstance(weights, Mapping) else weights,
            "margins": None
            if self.margins is None
            else {"rows": [list(row) for row in self.margins], "sha256": self.margins_sha256},
            "trim": None if self.trim is None else list(self.trim),
            "benchmarks": None
            if self.benchmarks is None
            else {"csv": self.benchmarks, "sha256": self.benchmarks_sha256},
            "assumed_se": self.assumed_se,
            "illustrative": self.illustrative,
            "district": self.district,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AnalysisSettings:
        """The settings stored by :meth:`to_dict` (validated).

        Raises
        ------
        SettingsError
            An unknown key or schema, a content hash that does not match its content, or
            any invalid setting.
        """
        if not isinstance(values, Mapping):
            raise SettingsError(f"settings must be a mapping (the JSON object to_dict writes), got {type(values)}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names - {"schema"})
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}; the settings are {', '.join(sorted(names))}")
        schema = values.get("schema", SETTINGS_SCHEMA)
        if schema != SETTINGS_SCHEMA:
            raise SettingsError(f"settings schema {schema!r} is not supported (this engine reads {SETTINGS_SCHEMA})")
        kwargs = {k: v for k, v in values.items() if k != "schema"}
        if "screening" in kwargs:
            screening = kwargs["screening"]
            if not isinstance(screening, Mapping):
                raise SettingsError(f"screening must be a mapping of rules, got {screening!r}")
            try:
                kwargs["screening"] = ScreeningRules.from_dict(screening)
            except ValueError as error:
                raise SettingsError(str(error)) from None
        if kwargs.get("margins") is not None:
            margins = kwargs["margins"]
            if not isinstance(margins, Mapping) or "rows" not in margins:
                raise SettingsError("margins must be {rows: [[variable, level, population], …], sha256}")
            kwargs["margins"] = tuple(tuple(row) for row in margins["rows"])
        if kwargs.get("benchmarks") is not None:
            benchmarks = kwargs["benchmarks"]
            if not isinstance(benchmarks, Mapping) or "csv" not in benchmarks:
                raise SettingsError("benchmarks must be {csv: text, sha256}")
            kwargs["benchmarks"] = benchmarks["csv"]
        if kwargs.get("trim") is not None:
            kwargs["trim"] = tuple(kwargs["trim"])
        settings = cls(**kwargs).validate()
        for key, digest in (("margins", settings.margins_sha256), ("benchmarks", settings.benchmarks_sha256)):
            stored = values.get(key)
            if isinstance(stored, Mapping) and stored.get("sha256") not in (None, digest):
                raise SettingsError(
                    f"the {key} content does not match its sha256 ({stored.get('sha256')}); "
                    "the stored settings were altered — store them again"
                )
        return settings

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, UTF-8 characters kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def digest(self) -> str:
        """SHA-256 of :meth:`to_json`: equal digests, equal settings."""
        return _sha256(self.to_json())

    def replace(self, **changes: Any) -> AnalysisSettings:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes).validate()

    def differences(self, other: AnalysisSettings) -> dict[str, tuple[Any, Any]]:
        """``{setting: (self's value, other's value)}`` for every setting that differs.

        Content settings (margins, benchmarks) are compared by their sha256.
        """
        mine, theirs = self.to_dict(), other.to_dict()
        result = {}
        for key in mine:
            a, b = mine[key], theirs.get(key)
            if key in ("margins", "benchmarks"):
                a = None if a is None else a["sha256"]
                b = None if b is None else b["sha256"]
            if a != b:
                result[key] = (a, b)
        return result
