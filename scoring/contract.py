"""The results contract, typed: ``results.json`` as frozen dataclasses.

:class:`Results` is the whole file — the estimate step's keys (``overall``, ``domains``,
``target``, ``targets``, ``scale``, ``weights``, ``design``, ``excluded``, ``subgroups``,
``sensitivity``, ``settings``, ``inputs``, ``version``) and the report step's
(``rankings``, ``drivers``, ``change``, ``trend``, ``report``) — each a frozen dataclass
whose fields are the keys of ``docs/contracts.md`` (a test holds the two together).  The
report, the charts, the public page and the admin preview read these objects instead of
chains of ``.get(...) or {}``.

Reading and writing are exact: ``Results.from_dict(data).to_dict() == data``, key order
included.  A key the contract does not know (a section another part of Manyi adds, e.g.
``integrity`` or ``tasks``, or a newer key inside a section) is kept in the record's
``extra`` and written back where it was; a key the file does not have stays absent.
Numbers are kept as written (85 stays 85, 0.85 stays 0.85); undefined numbers are
``None`` (``null``).

:meth:`Results.check` validates the coded values (verdicts, metrics, mappings, sources,
levels, …) against :mod:`scoring.vocabulary`; :meth:`Record.from_dict` checks the shape
(an object where an object belongs, a number where a number belongs) and names the path
of anything wrong.

Examples
--------
>>> results = Results.from_dict(json.loads(text))                      # doctest: +SKIP
>>> [(metric, test.verdict) for metric, test in results.target_tests()]  # doctest: +SKIP
[('index', 'not_met'), ('satisfied_rate', 'met')]
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import vocabulary as vocab
from .contract_base import ContractError, Record, _key, _strip_optional, _values
from .contract_sections import Change, Drivers, Placement, Rankings, TrendPoint

__all__ = [
    "ContractError",
    "Design",
    "Domain",
    "Drivers",
    "Headline",
    "Overall",
    "Placement",
    "Rankings",
    "Rate",
    "Record",
    "ReportMeta",
    "Results",
    "Scale",
    "Sensitivity",
    "SubgroupCell",
    "TargetTest",
    "Targets",
    "TrendPoint",
    "Weights",
    "contract_keys",
    "contract_values",
]


# ---------------------------------------------------------------------------
# Estimates


@dataclass(frozen=True)
class Rate(Record):
    """A satisfied rate (a proportion) with its 95% interval and stability."""

    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    n: int | None = None
    psus: int | None = None
    unstable: bool | None = None
    unstable_reason: str | None = None


@dataclass(frozen=True)
class TargetTest(Record):
    """The target test of one estimate: its verdict agrees with the interval beside it."""

    metric: str | None = field(default=None, metadata=_values(*vocab.TARGET_METRICS))
    target: float | None = None
    value: float | None = None
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    statistic: float | None = None
    p_value: float | None = None
    verdict: str | None = field(default=None, metadata=_values(*vocab.VERDICTS))
    unstable: bool | None = None
    reason: str | None = None

    @property
    def shown_verdict(self) -> str:
        """``met``, ``not_met``, ``inconclusive`` — or ``unstable`` when there is no verdict."""
        return vocab.shown_verdict(self.verdict, unstable=bool(self.unstable))

    @property
    def said_target(self) -> float:
        """The target as people say it (85 for an index of 85 or a rate of 85%)."""
        if self.target is not None:
            return float(self.target)
        if self.value is not None:
            return 100 * float(self.value) if self.metric == "satisfied_rate" and self.value <= 1 else float(self.value)
        return vocab.DEFAULT_TARGET


@dataclass(frozen=True)
class Targets(Record):
    """Both target tests and which one is *the* plan's (``metric``)."""

    metric: str | None = field(default=None, metadata=_values(*vocab.TARGET_METRICS))
    index: TargetTest | None = None
    satisfied_rate: TargetTest | None = None

    def test(self, metric: str) -> TargetTest | None:
        return self.index if metric == "index" else self.satisfied_rate if metric == "satisfied_rate" else None

    def plan_first(self) -> list[tuple[str, TargetTest]]:
        """``(metric, test)`` pairs, the plan's metric first."""
        chosen = self.metric or "index"
        tests = [(m, t) for m in vocab.TARGET_METRICS if (t := self.test(m)) is not None]
        return sorted(tests, key=lambda pair: pair[0] != chosen)


@dataclass(frozen=True)
class LeftOutDomain(Record):
    domain: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Overall(Record):
    """The overall index (whole design) and the overall satisfied rate."""

    index: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    n: int | None = None
    psus: int | None = None
    unstable: bool | None = None
    unstable_reason: str | None = None
    domain_weights: dict[str, float] | None = None
    left_out_domains: tuple[LeftOutDomain, ...] | None = None
    unstable_domain_rule: str | None = None
    satisfied_rate: Rate | None = None


@dataclass(frozen=True)
class Domain(Record):
    """One domain's index, satisfied rate and both target tests."""

    index: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    n: int | None = None
    psus: int | None = None
    deff: float | None = None
    alpha: float | None = None
    unstable: bool | None = None
    unstable_reason: str | None = None
    weight: float | None = None
    satisfied_rate: Rate | None = None
    targets: Targets | None = None

    def target_test(self, metric: str, target: float = vocab.DEFAULT_TARGET) -> TargetTest:
        """The domain's test of ``metric`` against ``target`` (as said: 85).

        The engine's own test when the results carry ``targets``; for results written
        before domains were tested, one read from the domain's interval by the same rule
        (met ⇔ the interval lies above the target); no verdict for an unstable figure.
        """
        if self.targets is not None and (test := self.targets.test(metric)) is not None:
            return test
        if metric == "satisfied_rate":
            rate = self.satisfied_rate
            estimate, low, high = (rate.estimate, rate.ci_low, rate.ci_high) if rate else (None, None, None)
            unstable, value = (bool(rate.unstable) if rate else True), target / 100
        else:
            estimate, low, high = self.index, self.ci_low, self.ci_high
            unstable, value = bool(self.unstable), float(target)
        verdict: str | None = None
        if not unstable and None not in (estimate, low, high):
            verdict = "met" if low > value else "not_met" if high < value else "inconclusive"  # type: ignore[operator]
        return TargetTest(
            metric=metric,
            target=target,
            value=value,
            estimate=estimate,
            ci_low=low,
            ci_high=high,
            verdict=verdict,
            unstable=verdict is None,
        )


@dataclass(frozen=True)
class Scale(Record):
    """The scale mapping the indices are on."""

    mapping: str | None = field(default=None, metadata=_values(*vocab.MAPPINGS))
    description: str | None = None
    points: list[int] | None = None


@dataclass(frozen=True)
class Weights(Record):
    method: str | None = None
    effective_n: float | None = None
    deff: float | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class RowsWithoutCluster(Record):
    rule: str | None = None
    rows: int | None = None
    strata: list[str] | None = None
    description: str | None = None


@dataclass(frozen=True)
class Design(Record):
    """The design the variances used, in columns and in words."""

    strata: str | None = None
    clusters: str | None = None
    rows_without_cluster: RowsWithoutCluster | None = None
    clusters_split_by_strata: int | None = None
    lonely_psu: str | None = None
    lonely_strata: int | None = None
    n_psu: int | None = None
    n_strata: int | None = None
    df: float | None = None
    variance: str | None = field(default=None, metadata=_values(*vocab.VARIANCE_METHODS))
    replicates: int | None = None
    description: str | None = None
    assumption: str | None = None


@dataclass(frozen=True)
class SubgroupCell(Record):
    """One subgroup × domain (or overall) cell; its figures are withheld when ``suppressed``."""

    index: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    n: int | None = None
    psus: int | None = None
    cv: float | None = None
    unstable: bool | None = None
    suppressed: bool | None = None
    reason: str | None = None


# ---------------------------------------------------------------------------
# Sensitivity


@dataclass(frozen=True)
class HeadlineIndex(Record):
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    unstable: bool | None = None
    unstable_reason: str | None = None


@dataclass(frozen=True)
class Headline(Record):
    """The headline (overall index and satisfied rate) of one variant of the analysis."""

    index: HeadlineIndex | None = None
    satisfied_rate: Rate | None = None
    n: int | None = None


@dataclass(frozen=True)
class WeightingSensitivity(Record):
    method: str | None = None
    unweighted: Headline | None = None
    weighted: Headline | None = None


@dataclass(frozen=True)
class ScreeningSensitivity(Record):
    rules: str | None = None
    with_screening: Headline | None = field(default=None, metadata=_key("with"))
    without: Headline | None = None
    excluded: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Sensitivity(Record):
    """How much the headline moves: unweighted vs raked, screening, channel, point type."""

    headline: list[str] | None = None
    note: str | None = None
    weighting: WeightingSensitivity | None = None
    screening: ScreeningSensitivity | None = None
    channel: dict[str, Headline] | None = None
    point_type: dict[str, Headline] | None = None


@dataclass(frozen=True)
class SettingsReference(Record):
    """The settings the run used (``analysis`` is :meth:`AnalysisSettings.to_dict`)."""

    analysis: dict[str, Any] | None = None
    digest: str | None = None
    questionnaires: dict[str, str] | None = None


# ---------------------------------------------------------------------------
# Rankings


# ---------------------------------------------------------------------------
# Key drivers


# ---------------------------------------------------------------------------
# Change, trend, report


@dataclass(frozen=True)
class ReportMeta(Record):
    wave: str | None = None
    year: int | None = None
    district: str | None = None
    previous: list[str] | None = None
    illustrative: bool | None = None
    illustrative_data: bool | None = None
    generated: str | None = None
    time_zone: str | None = None
    format: str | None = None


# ---------------------------------------------------------------------------
# The whole file


@dataclass(frozen=True)
class Results(Record):
    """A whole results.json (estimate step and report step)."""

    overall: Overall | None = None
    domains: dict[str, Domain] | None = None
    target: TargetTest | None = None
    targets: Targets | None = None
    scale: Scale | None = None
    weights: Weights | None = None
    design: Design | None = None
    excluded: dict[str, int] | None = None
    subgroups: dict[str, dict[str, dict[str, SubgroupCell]]] | None = None
    sensitivity: Sensitivity | None = None
    settings: SettingsReference | None = None
    inputs: dict[str, str] | None = None
    version: str | None = None
    rankings: Rankings | None = None
    drivers: Drivers | None = None
    change: Change | None = None
    trend: tuple[TrendPoint, ...] | None = None
    report: ReportMeta | None = None

    @classmethod
    def coerce(cls, results: Results | Mapping[str, Any]) -> Results:
        """``results`` as a :class:`Results` (read when given as a dict)."""
        return results if isinstance(results, Results) else cls.from_dict(results)

    # -- the target ---------------------------------------------------------------------

    @property
    def plan_metric(self) -> str:
        """Which metric is *the* plan's target (``targets.metric``, else ``target.metric``)."""
        if self.targets is not None and self.targets.metric:
            return self.targets.metric
        if self.target is not None and self.target.metric:
            return self.target.metric
        return "index"

    def target_tests(self) -> list[tuple[str, TargetTest]]:
        """The overall target tests, the plan's metric first: both when the results carry
        ``targets``; else the one ``target`` (results written before both were tested)."""
        if self.targets is not None:
            tests = self.targets.plan_first()
            if tests:
                return tests
        return [(self.plan_metric, self.target)] if self.target is not None else []

    @property
    def said_target(self) -> float:
        """The target as people say it (85)."""
        tests = self.target_tests()
        return tests[0][1].said_target if tests else vocab.DEFAULT_TARGET

    # -- sections -----------------------------------------------------------------------

    def domain_items(self) -> list[tuple[str, Domain]]:
        """The domains in the fixed order of :data:`scoring.vocabulary.DOMAIN_IDS` (others after)."""
        domains = self.domains or {}
        order = [d for d in vocab.DOMAIN_IDS if d in domains] + [d for d in domains if d not in vocab.DOMAIN_IDS]
        return [(d, domains[d]) for d in order]

    def subgroup(self, variable: str) -> dict[str, dict[str, SubgroupCell]]:
        return dict((self.subgroups or {}).get(variable) or {})

    @property
    def illustrative(self) -> bool:
        return bool(self.report is not None and self.report.illustrative)

    def section(self, name: str) -> Any:
        """A section the contract does not type (e.g. ``integrity``), as read; ``None`` if absent."""
        return self.extra.get(name)

    # -- checking -----------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every coded value that is not in the vocabulary, with its path."""
        return list(self._check("results"))

    def check(self) -> Results:
        """Raise :class:`ContractError` listing the coded values not in the vocabulary."""
        problems = self.problems()
        if problems:
            raise ContractError("results do not follow the contract:\n" + "\n".join(problems))
        return self


# ---------------------------------------------------------------------------
# What the contract defines (docs/contracts.md lists the same)


def _walk(cls: type[Record], seen: set[type[Record]]) -> Iterator[type[Record]]:
    if cls in seen:
        return
    seen.add(cls)
    yield cls
    for _key_name, (_spec, hint) in cls._fields().items():
        for inner in _record_types(hint):
            yield from _walk(inner, seen)


def _record_types(hint: Any) -> Iterator[type[Record]]:
    hint = _strip_optional(hint)
    if isinstance(hint, type) and issubclass(hint, Record):
        yield hint
    for argument in typing.get_args(hint):
        yield from _record_types(argument)


def contract_keys() -> frozenset[str]:
    """Every JSON key the contract defines, in any section."""
    return frozenset(key for cls in _walk(Results, set()) for key in cls._fields())


def contract_values() -> frozenset[str]:
    """Every coded value a field of the contract may hold (verdicts, metrics, …)."""
    return frozenset(
        value
        for cls in _walk(Results, set())
        for _key_name, (spec, _hint) in cls._fields().items()
        for value in spec.metadata.get("values", ())
    )
