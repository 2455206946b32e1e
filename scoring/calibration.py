"""The records of a calibration: population margins (one variable, or a cross-classification,
with or without refusals), trimming bounds, and how a design was calibrated.
:mod:`scoring.design` keeps a :class:`Calibration` on a design; :mod:`scoring.weighting`
computes them and re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MarginsError
from .questionnaire import REFUSED

#: A cross-classified margin names its variables joined by this (``sex:age_group``).
CROSS = ":"


@dataclass(frozen=True)
class Margin:
    """Population counts for the levels of one variable (a row group of a margins file).

    ``variable`` is a column of the responses, or several joined by ``:`` for a
    cross-classification (``sex:age_group`` with levels such as ``female:60+``).
    """

    variable: str
    levels: tuple[str, ...]
    population: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.levels) != len(self.population):
            raise MarginsError(f"margin {self.variable!r}: {len(self.levels)} levels but {len(self.population)} counts")
        if len(set(self.levels)) != len(self.levels):
            raise MarginsError(f"margin {self.variable!r} lists a level twice")
        for level, count in zip(self.levels, self.population):
            if not np.isfinite(count) or count < 0:
                raise MarginsError(f"margin {self.variable!r} level {level!r}: population must be ≥ 0, got {count!r}")

    @property
    def total(self) -> float:
        return float(sum(self.population))

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.variable.split(CROSS))


@dataclass(frozen=True)
class RefusalMargin(Margin):
    """A margin that some residents declined to answer (their value is :data:`REFUSED`).

    ``levels`` end with :data:`REFUSED`, whose ``population`` is 0: the population counts
    say nothing about who declines.  Raking meets the population *shares* of the other
    levels among the residents who answered, and the population total; the refusers get
    the margin's mean adjustment (:func:`rake`, Notes).  Made by
    :func:`margins_with_refusals`.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.levels or self.levels[-1] != REFUSED or self.population[-1] != 0:
            raise MarginsError(
                f"margin {self.variable!r}: a refusal margin ends with the level {REFUSED!r}, population 0"
            )

    @property
    def shares(self) -> np.ndarray:
        """Population shares ``q_l`` of the answered levels (they sum to 1)."""
        counts = np.asarray(self.population[:-1], dtype=np.float64)
        return np.asarray(counts / counts.sum())


@dataclass(frozen=True)
class Trimming:
    """Bounds on the calibration adjustment relative to its mean.

    The adjustment of response *k* is ``(w_k / d_k) / (N / Σ d)``; trimming keeps it in
    ``[lower, upper]`` (e.g. 0.3 and 3), re-raking after every trim.
    """

    lower: float
    upper: float
    max_rounds: int = 500

    def __post_init__(self) -> None:
        if not (0 < self.lower < 1 < self.upper) or not np.isfinite(self.upper):
            raise ValueError(f"trimming bounds must satisfy 0 < lower < 1 < upper, got ({self.lower}, {self.upper})")


@dataclass(frozen=True, eq=False)
class Calibration:
    """How a design was calibrated: method, margins (levels as used), trimming, iterations."""

    method: str
    margins: tuple[Margin, ...]
    trimming: Trimming | None
    tolerance: float
    max_iterations: int
    iterations: int

    @property
    def level_sizes(self) -> tuple[int, ...]:
        return tuple(len(m.levels) for m in self.margins)
