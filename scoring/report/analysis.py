"""The report's analyses: rankings, key drivers, change and trend, added to the results.

:func:`analyse` takes the estimate step's results and adds the keys of the report step
(``docs/contracts.md``): ``rankings`` (:mod:`scoring.rankings`), ``drivers``
(:mod:`scoring.drivers`), ``change`` and ``trend`` (:mod:`scoring.planning`) and
``report``.  Nothing here formats text or touches files.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..contract import Results
from ..rankings import DistrictScore, rank_district
from ..vocabulary import BEIJING, TIME_ZONE_TEXT, json_safe
from .settings import PreviousWave, ReportSettings
from .text import number

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..benchmarks import BenchmarkTable
    from ..drivers import Design, DriverAnalysis
    from ..planning import WaveComparison
    from ..questionnaire import QuestionnaireSet
    from ..rankings import Rankings

__all__ = ["REPORT_FORMAT", "ReportAnalysis", "analyse", "collection_year", "json_safe"]

#: Version of the report step's keys in results.json (``report.format``).
REPORT_FORMAT = "2"


def collection_year(submitted_at: Iterable[Any]) -> int | None:
    """The calendar year (Beijing time) in which most responses were submitted.

    ``submitted_at`` holds ISO timestamps (with a time zone, or UTC when without one, as
    the responses contract writes them); missing values are ignored.  ``None`` when none
    is usable.
    """
    import pandas as pd

    values = pd.Series(list(submitted_at), dtype="object").replace("", None)
    moments = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601").dropna()
    if moments.empty:
        return None
    years = moments.dt.tz_convert(BEIJING).dt.year
    return int(years.mode().min())


@dataclass(frozen=True)
class ReportAnalysis:
    """The analyses of a report and the full results dict (JSON-ready).

    Attributes
    ----------
    results : dict
        The estimate contract plus ``rankings``, ``drivers``, ``change`` (with previous
        waves), ``trend`` and ``report``; NaN as ``None``.
    typed : Results
        The same, read as the typed contract (what the tables, charts and text read).
    rankings, drivers, comparison
        The objects behind those keys (``None`` when not computed).
    trend : list of dict
        The overall index across waves, oldest first.
    generated : datetime
        When the report was made (aware).
    """

    results: dict[str, Any] = field(repr=False)
    typed: Results = field(repr=False)
    rankings: Rankings | None
    drivers: DriverAnalysis | None
    comparison: WaveComparison | None
    trend: list[dict[str, Any]]
    generated: _dt.datetime


def _trend_point(wave: str, year: int | None, results: Mapping[str, Any]) -> dict[str, Any]:
    overall = results.get("overall") or {}
    return {
        "wave": wave,
        "year": year,
        "index": overall.get("index"),
        "ci_low": overall.get("ci_low"),
        "ci_high": overall.get("ci_high"),
        "se": overall.get("se"),
        "satisfied_rate": (overall.get("satisfied_rate") or {}).get("estimate"),
    }


def trend(
    results: Mapping[str, Any], *, wave: str, year: int | None, previous: Sequence[PreviousWave]
) -> list[dict[str, Any]]:
    """The overall index of every wave, oldest first: the trends the earlier waves carried,
    the earlier waves themselves (by year), then this wave."""
    points: dict[str, dict[str, Any]] = {}
    for entry in previous:
        for earlier in entry.results.get("trend") or []:
            code = earlier.get("wave")
            if code is not None and str(code) not in points and str(code) != wave:
                points[str(code)] = {**earlier, "wave": str(code), "year": earlier.get("year")}
        points[entry.wave] = _trend_point(entry.wave, entry.year, entry.results)
    points[wave] = _trend_point(wave, year, results)
    return list(points.values())


def _district_scores(
    results: Mapping[str, Any], settings: ReportSettings, previous: Sequence[PreviousWave]
) -> list[DistrictScore]:
    scores = []
    if settings.year is not None:
        overall = results.get("overall") or {}
        estimate, se = number(overall.get("index")), number(overall.get("se"))
        if not (math.isnan(estimate) or math.isnan(se)):
            scores.append(DistrictScore(settings.year, estimate, se, "survey", wave=settings.wave))
    for entry in previous:
        overall = entry.results.get("overall") or {}
        estimate, se = number(overall.get("index")), number(overall.get("se"))
        if entry.year != settings.year and not (math.isnan(estimate) or math.isnan(se)):
            scores.append(DistrictScore(entry.year, estimate, se, "previous", wave=entry.wave))
    return scores


class _NoProgress:
    """A progress reporter that reports nothing."""

    def step(self, label: str, total: int = 0) -> AbstractContextManager[Callable[..., None]]:
        from contextlib import contextmanager

        @contextmanager
        def silent() -> Iterator[Callable[..., None]]:
            yield lambda *args: None

        return silent()


def analyse(
    results: Mapping[str, Any],
    *,
    settings: ReportSettings,
    previous: Sequence[PreviousWave] = (),
    benchmarks: BenchmarkTable | None = None,
    item_scores: pd.DataFrame | None = None,
    design: Design | None = None,
    questionnaires: QuestionnaireSet | None = None,
    inputs: Mapping[str, str] | None = None,
    generated: _dt.datetime | None = None,
    progress: Any = None,
) -> ReportAnalysis:
    """Rankings, key drivers, change and trend, and the full results dict.

    Parameters
    ----------
    results : mapping
        The estimate contract.
    settings : ReportSettings
    previous : sequence of PreviousWave
        Earlier waves, oldest first (:func:`scoring.report.settings.validate_previous`).
    benchmarks : BenchmarkTable, optional
        Published monitoring figures; without them there are no rankings.
    item_scores, design : optional
        Item scores 0–100 of the analysed responses and their design (both or neither);
        without them there are no key drivers.
    questionnaires : QuestionnaireSet, optional
        Labels of domains and items.
    inputs : mapping, optional
        More input hashes (name → sha256) for ``results["inputs"]``.
    generated : datetime, optional
        When the report is made (default: now).
    progress : Progress, optional
        Reports the long steps.

    Returns
    -------
    ReportAnalysis
    """
    from ..drivers import key_drivers
    from ..planning import compare_waves

    progress = progress if progress is not None else _NoProgress()
    generated = generated or _dt.datetime.now(_dt.UTC)
    comparison = None
    if previous:
        latest = previous[-1]
        comparison = compare_waves(
            results, latest.results, previous_label=latest.wave, allow_differences=settings.allow_differences
        )
    waves = trend(results, wave=settings.wave, year=settings.year, previous=previous)

    rankings = None
    if benchmarks is not None:
        with progress.step("排名模拟", total=1) as advance:
            rankings = rank_district(
                _district_scores(results, settings, previous),
                benchmarks,
                district=settings.district,
                assumed_se=settings.assumed_se,
                other_years=settings.compare_other_years,
                draws=settings.draws,
                seed=settings.seed,
            )
            advance(1)

    drivers = None
    if item_scores is not None and design is not None:
        # The target as people say it (85): the drivers' gap is in index points.
        target = Results.coerce(results).said_target
        with progress.step("关键驱动因素", total=1) as advance:
            drivers = key_drivers(
                item_scores,
                design,
                questionnaires=questionnaires,
                target=target,
                seed=settings.seed,
                progress=advance,
            )

    full: dict[str, Any] = dict(results)
    if inputs:
        full["inputs"] = {**dict(results.get("inputs") or {}), **dict(inputs)}
    full["rankings"] = rankings.to_dict() if rankings is not None else None
    full["drivers"] = drivers.to_dict() if drivers is not None else None
    if comparison is not None:
        full["change"] = comparison.to_dict()
    full["trend"] = waves
    full["report"] = {
        "wave": settings.wave,
        "year": settings.year,
        "district": settings.district,
        "previous": [entry.wave for entry in previous],
        "illustrative": bool(settings.illustrative or (benchmarks is not None and benchmarks.illustrative)),
        "illustrative_data": bool(settings.illustrative),
        "generated": generated.astimezone(BEIJING).replace(microsecond=0).isoformat(),
        "time_zone": TIME_ZONE_TEXT,
        "format": REPORT_FORMAT,
    }
    safe = json_safe(full)
    return ReportAnalysis(
        results=safe,
        typed=Results.from_dict(safe),
        rankings=rankings,
        drivers=drivers,
        comparison=comparison,
        trend=waves,
        generated=generated,
    )
