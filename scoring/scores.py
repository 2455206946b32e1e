"""Scores: item scores, respondent domain scores and satisfied indicators.

Definitions (statistics.md):

* item score ``s = (x − 1)/(K − 1) × 100`` for a K-point item (mapping ``linear``:
  1 → 0, 5 → 100) or ``s = x/K × 100`` (mapping ``monitoring``, the national monitoring's
  reading: 1 → 20, 5 → 100); missing stays missing.  On five-point items
  ``monitoring = 20 + 0.8 × linear``, so the mapping decides whether 85 is met: it is a
  setting of the wave, written on every output (:func:`scale_description`);
* respondent domain score: the weighted mean (questionnaire item weights) of the
  respondent's answered *aspect* items of the domain — ``<domain>.overall`` is not an
  aspect — missing when none is answered;
* satisfied: answering one of the top two categories (4 or 5 of 5) on ``<domain>.overall``
  or the global ``overall``; missing when not answered.

:class:`AnalysisTable` holds the answers of the responses that passed screening (as
compact codes), their domain scores, and the design and demographic columns; item scores
and satisfied indicators are computed from the codes when asked for.  Once weighted,
:meth:`AnalysisTable.to_frame` gives one analysis table for other modules (reports, key
drivers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import Instrument, Responses
from .errors import ScoringInputError

__all__ = [
    "MAPPINGS",
    "AnalysisTable",
    "build_analysis_table",
    "cronbach_alpha",
    "domain_scores",
    "item_score",
    "scale_description",
    "validate_mapping",
]

#: Item-score mappings (statistics.md, "Definitions").
MAPPINGS: tuple[str, ...] = ("linear", "monitoring")


def validate_mapping(mapping: str) -> str:
    """Return ``mapping`` if it is one of :data:`MAPPINGS`, else raise naming the choices."""
    if mapping not in MAPPINGS:
        raise ScoringInputError(
            f"the scale mapping must be one of {', '.join(MAPPINGS)} (statistics.md, 'Definitions'), got {mapping!r}"
        )
    return mapping


def _score_coefficients(scale_length: int, mapping: str) -> tuple[float, float]:
    """``(offset, step)`` with ``score = (x − offset) × step``."""
    if mapping == "monitoring":
        return 0.0, 100.0 / scale_length
    return 1.0, 100.0 / (scale_length - 1)


def scale_description(mapping: str, scale_length: int = 5) -> str:
    """What the mapping does, in words (written into results as ``scale.description``)."""
    validate_mapping(mapping)
    offset, step = _score_coefficients(scale_length, mapping)
    lowest, highest = (1 - offset) * step, (scale_length - offset) * step
    formula = "(x − 1)/(K − 1) × 100" if mapping == "linear" else "x/K × 100"
    text = f"item score {formula}: on a {scale_length}-point item 1 → {lowest:g}, {scale_length} → {highest:g}"
    if mapping == "monitoring":
        text += (
            " (the national public-service quality monitoring's reading, where 80+ is the 满意 band); "
            "on five-point items monitoring = 20 + 0.8 × linear"
        )
    else:
        text += " (very dissatisfied → 0, very satisfied → 100)"
    return text


def item_score(codes: np.ndarray, scale_length: int, mapping: str = "linear") -> np.ndarray:
    """Item scores 0–100 of Likert codes (0 = missing → NaN) under ``mapping``."""
    codes = np.asarray(codes)
    offset, step = _score_coefficients(scale_length, mapping)
    return np.where(codes > 0, (codes.astype(np.float64) - offset) * step, np.nan)


def domain_scores(answers: np.ndarray, instrument: Instrument, mapping: str = "linear") -> np.ndarray:
    """Respondent domain scores (n × D): weighted mean of the answered aspect items."""
    codes = instrument.item_codes
    n = answers.shape[0]
    result = np.full((n, len(instrument.domains)), np.nan)
    for d, domain in enumerate(instrument.domains):
        columns = [answers[:, codes.index(code)] for code in domain.aspects]
        lengths = {instrument.scale_lengths[code] for code in domain.aspects}
        if len(lengths) == 1 and len(set(domain.aspect_weights)) == 1:
            # Equal weights, one scale: the mean code of the answered items, in integers.
            offset, step = _score_coefficients(lengths.pop(), mapping)
            total: np.ndarray = np.zeros(n, dtype=np.int32)
            answered = np.zeros(n, dtype=np.int32)
            for column in columns:
                total += column
                answered += column > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                result[:, d] = (total / answered - offset) * step
            continue
        total = np.zeros(n)
        weight = np.zeros(n)
        for code, item_weight, column in zip(domain.aspects, domain.aspect_weights, columns):
            k = instrument.scale_lengths[code]
            offset, step = _score_coefficients(k, mapping)
            # Lookup tables indexed by the code (0 = missing): weighted score and weight.
            total += np.concatenate([[0.0], (np.arange(1, k + 1) - offset) * step * item_weight])[column]
            weight += np.concatenate([[0.0], np.full(k, float(item_weight))])[column]
        with np.errstate(invalid="ignore", divide="ignore"):
            result[:, d] = np.where(weight > 0, total / weight, np.nan)
    return result


def _alpha_of_columns(columns: list[np.ndarray]) -> float:
    k = len(columns)
    if k < 2 or columns[0].size < 3:
        return float("nan")
    item_variance = sum(float(column.var(ddof=1)) for column in columns)
    total = columns[0].copy()
    for column in columns[1:]:
        total += column
    total_variance = float(total.var(ddof=1))
    if total_variance <= 0:
        return float("nan")
    return k / (k - 1) * (1 - item_variance / total_variance)


def cronbach_alpha(items: np.ndarray) -> float:
    """Cronbach's alpha of the columns of ``items`` over the rows answering all of them.

    ``α = k/(k − 1) (1 − Σ var(item) / var(sum))``, unweighted, on complete rows (the
    usual reliability coefficient of a scale, e.g. R's ``psych::alpha`` on complete data).
    NaN with fewer than two items or three complete rows, or no variance.
    """
    items = np.asarray(items, dtype=np.float64)
    if items.ndim != 2:
        return float("nan")
    complete = items[~np.isnan(items).any(axis=1)]
    return _alpha_of_columns([complete[:, j].copy() for j in range(complete.shape[1])])


@dataclass(frozen=True, eq=False)
class AnalysisTable:
    """The responses kept for analysis, with their scores.

    Attributes
    ----------
    frame : DataFrame
        ``response_id`` and the other non-item columns, one row per response.
    instrument : Instrument
    answers : ndarray of int8, shape (n, m)
        Likert codes (0 = missing), columns in ``instrument.item_codes`` order.
    domain_scores : ndarray, shape (n, D)
        Respondent domain scores, columns in ``instrument.domain_ids`` order.
    mapping : str
        The item-score mapping (:data:`MAPPINGS`).
    """

    frame: pd.DataFrame = field(repr=False)
    instrument: Instrument
    answers: np.ndarray = field(repr=False)
    domain_scores: np.ndarray = field(repr=False)
    mapping: str = "linear"

    @property
    def n(self) -> int:
        return len(self.frame)

    def item_score(self, code: str) -> np.ndarray:
        """Item scores 0–100 of one item (NaN missing)."""
        return item_score(
            self.answers[:, self.instrument.item_codes.index(code)], self.instrument.scale_lengths[code], self.mapping
        )

    def item_scores(self, codes: tuple[str, ...] | None = None) -> np.ndarray:
        """Item scores of several items (default all), n × len(codes)."""
        codes = self.instrument.item_codes if codes is None else codes
        return np.column_stack([self.item_score(code) for code in codes]) if codes else np.zeros((self.n, 0))

    def alpha(self, domain: str) -> float:
        """Cronbach's alpha of the domain's aspect items (item scores, complete rows)."""
        aspects = self.instrument.domain(domain).aspects
        columns = [self.answers[:, self.instrument.item_codes.index(code)] for code in aspects]
        complete = np.ones(self.n, dtype=bool)
        for column in columns:
            complete &= column > 0
        lengths = {self.instrument.scale_lengths[code] for code in aspects}
        if len(lengths) > 1:
            # Scores are codes times a step plus a constant, which leaves alpha alone.
            return _alpha_of_columns(
                [
                    column[complete] * _score_coefficients(self.instrument.scale_lengths[code], self.mapping)[1]
                    for code, column in zip(aspects, columns)
                ]
            )
        # One scale: alpha of the codes, from their counts among the complete rows.
        n = int(complete.sum())
        if len(columns) < 2 or n < 3:
            return float("nan")
        total = np.zeros(self.n, dtype=np.int16)

        def variance(values: np.ndarray) -> float:
            # Incomplete rows become 0, a value no complete row has: drop that bin.
            counts = np.bincount(values * complete)[1:].astype(np.float64)
            points = np.arange(1, counts.size + 1, dtype=np.float64)
            mean = counts @ points / n
            return float(counts @ (points - mean) ** 2 / (n - 1))

        item_variance = 0.0
        for column in columns:
            item_variance += variance(column)
            total += column
        total_variance = variance(total)
        if total_variance <= 0:
            return float("nan")
        k = len(columns)
        return k / (k - 1) * (1 - item_variance / total_variance)

    def domain_score(self, domain: str) -> np.ndarray:
        return self.domain_scores[:, self.instrument.domain_ids.index(domain)]

    def satisfied(self, code: str) -> np.ndarray:
        """1.0 for the top two categories (4 or 5 of 5), 0.0 below, NaN when not answered."""
        column = self.answers[:, self.instrument.item_codes.index(code)]
        top_two = self.instrument.scale_lengths[code] - 1
        return np.where(column > 0, (column >= top_two).astype(np.float64), np.nan)

    def to_frame(self, weights: np.ndarray | None = None) -> pd.DataFrame:
        """One table: the non-item columns, ``weight`` (if given), item scores under the
        item codes and domain scores under the domain ids (ids have no ``.``, so they
        never clash with item codes)."""
        parts = [self.frame.reset_index(drop=True)]
        if weights is not None:
            parts.append(pd.DataFrame({"weight": np.asarray(weights, dtype=np.float64)}))
        parts.append(pd.DataFrame(self.item_scores(), columns=list(self.instrument.item_codes), copy=False))
        parts.append(pd.DataFrame(self.domain_scores, columns=list(self.instrument.domain_ids), copy=False))
        return pd.concat(parts, axis=1)


def build_analysis_table(responses: Responses, *, mapping: str = "linear") -> AnalysisTable:
    """Domain scores of validated responses under ``mapping``, with their codes and other columns."""
    validate_mapping(mapping)
    return AnalysisTable(
        frame=responses.frame,
        instrument=responses.instrument,
        answers=responses.answers,
        domain_scores=domain_scores(responses.answers, responses.instrument, mapping),
        mapping=mapping,
    )
