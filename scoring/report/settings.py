"""The report's settings (one value object) and its input checks.

:class:`ReportSettings` holds every choice of a report that is not data: the wave's code
and year, the district, the title, whether the figures are illustrative, the rank
simulation (draws, seed, the SE assumed for published scores without one, whether other
years may be compared) and whether to render the PDF.  :func:`validate_previous` checks
earlier waves' results given as values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ScoringInputError
from ..rankings import DEFAULT_ASSUMED_SE, DISTRICT, MIN_DRAWS

__all__ = ["PreviousWave", "ReportInputError", "ReportSettings", "validate_previous"]


class ReportInputError(ScoringInputError):
    """An input of the report (earlier results, a setting) is unusable; nothing is written."""


@dataclass(frozen=True)
class ReportSettings:
    """Everything a report is told besides the data.

    Attributes
    ----------
    wave : str
        This wave's code (e.g. ``"2025"``), printed on the report and recorded in
        ``results.json`` (``report.wave``).
    year : int, optional
        The year this wave's figures stand for: the rankings compare them with published
        figures of that year, and the trend orders waves by it.  Required with benchmarks.
    district : str
        The district's name as in the benchmarks' ``unit`` column.
    title : str, optional
        Report title (default ``"<district><year>年公共服务满意度调查报告"``).
    illustrative : bool
        Mark every page and chart as illustrative (demo or synthetic data).
    draws, seed : int
        Rank simulation size (≥ 10,000) and seed (also seeds a bootstrap of the drivers).
    assumed_se : float
        SE (index points, ≥ 0) given to published scores without one; stated beside every
        ranking.
    compare_other_years : bool
        Also compare with published figures of earlier years when the survey's year has
        none (each such placement says so); default: the same year only.
    allow_differences : bool
        Compare with the previous wave even when the two were scored with different
        settings, every change flagged ``comparable: false`` with the differences named
        (:func:`scoring.planning.compare_waves`); default: refuse.
    pdf : bool
        Render report.pdf.
    chart_workers : int, optional
        Processes drawing the charts (default: the number of CPU cores, at most 4).
    """

    wave: str
    year: int | None = None
    district: str = DISTRICT
    title: str | None = None
    illustrative: bool = False
    draws: int = MIN_DRAWS
    seed: int = 2025
    assumed_se: float = DEFAULT_ASSUMED_SE
    compare_other_years: bool = False
    allow_differences: bool = False
    pdf: bool = True
    chart_workers: int | None = None

    def validate(self, *, benchmarks: bool = False) -> None:
        """Raise :class:`ReportInputError` naming the setting and how to fix it."""
        if not isinstance(self.wave, str) or not self.wave.strip():
            raise ReportInputError(f"the wave code must be a non-empty text such as '2025', got {self.wave!r}")
        if self.year is not None and (
            isinstance(self.year, bool) or not isinstance(self.year, int) or not 1900 <= self.year <= 2200
        ):
            raise ReportInputError(f"the survey year must be a whole year such as 2025 (--year), got {self.year!r}")
        if benchmarks and self.year is None:
            raise ReportInputError(
                f"wave {self.wave!r}: the report needs the survey's year to compare it with published figures of the "
                "same year; give it (--year YYYY, or ReportSettings(year=…)), or a submitted_at column to take it from"
            )
        if isinstance(self.draws, bool) or not isinstance(self.draws, int) or self.draws < MIN_DRAWS:
            raise ReportInputError(f"--draws must be at least {MIN_DRAWS} (statistics.md), got {self.draws!r}")
        if (
            isinstance(self.assumed_se, bool)
            or not isinstance(self.assumed_se, (int, float))
            or not math.isfinite(self.assumed_se)
            or self.assumed_se < 0
        ):
            raise ReportInputError(
                f"--assumed-se must be a number of index points ≥ 0 (e.g. 1; 0 treats published scores as exact), "
                f"got {self.assumed_se!r}"
            )
        if self.chart_workers is not None and (not isinstance(self.chart_workers, int) or self.chart_workers < 1):
            raise ReportInputError(f"chart_workers must be a whole number ≥ 1, got {self.chart_workers!r}")


@dataclass(frozen=True)
class PreviousWave:
    """An earlier wave's results, with the wave code and year they carry."""

    wave: str
    year: int
    results: Mapping[str, Any]


def validate_previous(previous: Sequence[Mapping[str, Any]], *, current_wave: str) -> list[PreviousWave]:
    """Check earlier waves' results (values, e.g. parsed results.json) and order them by year.

    Every one must be a results dict of the estimate contract (``overall``, ``domains``)
    carrying its own wave code and year in ``report`` (``{"wave": "2024", "year": 2024}``,
    as the report and every publication write them).

    Raises
    ------
    ReportInputError
        Naming the position (and wave) of the first unusable one and how to fix it.
    """
    waves: list[PreviousWave] = []
    for position, data in enumerate(previous, start=1):
        where = f"previous results #{position}"
        if not isinstance(data, Mapping) or "overall" not in data or "domains" not in data:
            raise ReportInputError(
                f"{where} has no 'overall' and 'domains': it is not a results.json of 'python -m scoring report' "
                "or a publication"
            )
        meta = data.get("report")
        wave = meta.get("wave") if isinstance(meta, Mapping) else None
        year = meta.get("year") if isinstance(meta, Mapping) else None
        if not isinstance(wave, str) or not wave or isinstance(year, bool) or not isinstance(year, int):
            raise ReportInputError(
                f"{where} does not say which wave and year it is ('report': {{'wave': …, 'year': …}}); give the "
                "results.json that 'python -m scoring report' or a publication wrote, or add "
                '"report": {"wave": "2024", "year": 2024} to it'
            )
        if wave == current_wave:
            raise ReportInputError(f"{where} is of wave {wave!r}, the wave being reported; give earlier waves only")
        waves.append(PreviousWave(wave, year, data))
    seen: set[str] = set()
    for entry in waves:
        if entry.wave in seen:
            raise ReportInputError(f"wave {entry.wave!r} is given twice among the previous results")
        seen.add(entry.wave)
    return sorted(waves, key=lambda entry: (entry.year, entry.wave))
