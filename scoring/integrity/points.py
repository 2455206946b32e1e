"""Point-level checks: is a collection point's answering unlike its town's other points?

Each check gives every tested point a statistic in plain units, the value comparable
points give (the reference), and a one-sided p-value; :mod:`scoring.integrity.review`
combines them per point (Bonferroni over the checks) and controls the false-discovery
rate across points (Benjamini–Hochberg).

Answers (the rows the estimate keeps)
    ``top_answers``
        Share of the point's answers that are 满意 or 非常满意 (the top two of the scale),
        against what the town's other points give **for the same items** — a point whose
        residents answer other domains is compared on those domains.
    ``all_positive``
        Share of the point's respondents who answered *every* item 满意 or 非常满意,
        against the town's other points' respondents who answered as many items, scaled
        by the point's own level among its *other* respondents (coaching only adds
        all-satisfied respondents, so that level is untouched by it;
        :func:`_level_adjustment`).
    ``mean_score``
        Mean item score (0–100) against the same items at the town's other points.
    ``score_spread``
        Spread (SD) of the respondents' scores around that expectation — unusually
        **uniform** answers (lower tail).

    Each is a respondent-level deviation from the reference, averaged over the point;
    the reference for an item is its value at the *other* points of the point's town,
    shrunk towards the district's other points (20 answers' worth) where the town has
    few.  The points' averages go through :func:`~scoring.integrity.stats.outlier_test`:
    a point effect is expected (τ², estimated robustly), only a deviation beyond it and
    beyond sampling error is unusual.

Timing (every submitted row)
    ``burst``
        The most completions within one hour, against days redrawn at random for the
        point's own times of day (:func:`~scoring.integrity.stats.burst_tail`).
    ``night``
        Share submitted between 23:00 and 05:00 Beijing time, against the other points
        (binomial; the reference rate is at least 1%).
    ``hour_profile``
        Whether the point keeps the same hours of the day every day (its days × blocks of
        the day, permutation X²; :mod:`~scoring.integrity.hours`).
    ``similar_durations``
        Spread of the answering times (log seconds, after the number of items answered)
        — unusually alike times (lower tail, outlier test).

Quality (every submitted row)
    ``fast_straight_lining``
        Share straight-lining (one answer to ≥ 8 aspect items) *and* faster than the
        screening's fraction of the median time, against the other points (binomial,
        reference at least 1%).
    ``collection_flags``
        Share flagged at collection (repeat browser, address burst), against the other
        points (binomial, reference at least 1%).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy import stats as _stats

from .hours import hour_profile_check
from .inputs import IntegrityInputs
from .stats import binomial_excess, burst_tail, count_outlier_test, max_in_window, outlier_test, spread_scale

__all__ = ["ANSWER_CHECKS", "POINT_CHECKS", "CheckOutcome", "PointChecks", "run_point_checks"]

#: Point checks, in the order they are reported, with what each looks at (English).
POINT_CHECKS: Mapping[str, str] = MappingProxyType(
    {
        "top_answers": "share of answers 满意/非常满意 against the same items at the town's other points",
        "all_positive": "share of respondents answering every item 满意/非常满意, against respondents "
        "with as many items at the town's other points",
        "mean_score": "mean item score against the same items at the town's other points",
        "score_spread": "spread of the respondents' scores (unusually uniform answers)",
        "burst": "most completions within one hour, against the point's own hours on random days",
        "night": "share submitted between 23:00 and 05:00 Beijing time",
        "hour_profile": "submissions by time of day, day against day at the point (the same hours every day?)",
        "similar_durations": "spread of answering times (unusually alike times)",
        "fast_straight_lining": "share straight-lining and faster than the screening's fraction of the median time",
        "collection_flags": "share flagged at collection (repeat browser, address burst)",
    }
)
ANSWER_CHECKS = ("top_answers", "all_positive", "mean_score", "score_spread")
#: Pseudo-answers of the district's other points added to a town's reference (shrinkage).
REFERENCE_PRIOR = 20.0
#: Floor of the reference rate in the binomial checks (a point is never unusual for one event).
RATE_FLOOR = 0.01
#: Night: from 23:00 to 05:00 Beijing time.
NIGHT_HOURS = (23, 5)
BURST_WINDOW_S = 3600.0
#: Respondents grouped by the number of items answered (for ``all_positive``): bin edges.
ITEM_COUNT_BINS = np.array([1, 3, 6, 10, 15])


@dataclass(frozen=True, eq=False)
class CheckOutcome:
    """One check over the points: per point statistic, reference and p-value (NaN untested).

    ``units`` says how to read the statistic: ``share`` (0–1), ``score`` (0–100 index
    points), ``count``, ``ratio`` (e.g. a spread relative to the usual one).
    """

    check: str
    units: str
    statistic: np.ndarray = field(repr=False)
    reference: np.ndarray = field(repr=False)
    p_value: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class PointChecks:
    """Every point check that ran, and those that could not (with the reason)."""

    responses: np.ndarray = field(repr=False)  # submitted rows per point
    kept: np.ndarray = field(repr=False)  # rows the estimate keeps, per point
    tested: np.ndarray = field(repr=False)  # point has enough rows to be tested
    outcomes: tuple[CheckOutcome, ...]
    not_run: Mapping[str, str]


def _group_sums(point: np.ndarray, values: np.ndarray, n_points: int) -> np.ndarray:
    """Column sums of ``values`` (rows × k) per point (n_points × k), one column at a time."""
    out = np.zeros((n_points, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(point, weights=values[:, j], minlength=n_points)
    return out


def _reference(point_sums: np.ndarray, point_counts: np.ndarray, town: np.ndarray) -> np.ndarray:
    """Per point and column: the rate at the town's other points, shrunk to the district's others."""
    n_towns = int(town.max()) + 1 if town.size else 1
    town_sums = np.zeros((n_towns, point_sums.shape[1]))
    town_counts = np.zeros((n_towns, point_sums.shape[1]))
    np.add.at(town_sums, town, point_sums)
    np.add.at(town_counts, town, point_counts)
    other_sums = town_sums[town] - point_sums
    other_counts = town_counts[town] - point_counts
    district_sums = point_sums.sum(axis=0)[None, :] - point_sums
    district_counts = point_counts.sum(axis=0)[None, :] - point_counts
    with np.errstate(invalid="ignore", divide="ignore"):
        district_rate = district_sums / district_counts
        own_rate = point_sums / point_counts
        district_rate = np.where(district_counts > 0, district_rate, own_rate)
        rate = (other_sums + REFERENCE_PRIOR * district_rate) / (other_counts + REFERENCE_PRIOR)
    return np.asarray(np.where(np.isfinite(rate), rate, np.nan_to_num(own_rate, nan=0.0)))


def _answer_checks(inputs: IntegrityInputs, tested: np.ndarray, min_n: int) -> list[CheckOutcome]:
    n_points = inputs.n_points
    rows = np.flatnonzero(inputs.kept & (inputs.point >= 0))
    answers = inputs.answers[rows]
    n_answered = (answers > 0).sum(axis=1)
    rows, answers, n_answered = rows[n_answered > 0], answers[n_answered > 0], n_answered[n_answered > 0]
    point = inputs.point[rows]
    n_items = answers.shape[1]
    # Residents are compared with residents of their own age group (the elderly are more
    # satisfied, and gather at hospitals): references are per point, age group and item.
    cell = inputs.age[rows] + 1
    n_cells = int(inputs.age.max()) + 2 if inputs.age.size else 1
    group = point * n_cells + cell
    n_groups = n_points * n_cells

    # Per point, age group and item: answers, top-two answers, sum of item scores (column
    # by column: a million rows never become a float matrix).
    counts = np.zeros((n_groups, n_items))
    top_sums = np.zeros((n_groups, n_items))
    score_sums = np.zeros((n_groups, n_items))
    n_top = np.zeros(rows.size)
    score_total = np.zeros(rows.size)
    for j in range(n_items):
        column = answers[:, j]
        k = int(inputs.scale[j])
        answered = column > 0
        top = column >= k - 1
        score = np.where(answered, (column - 1) * (100.0 / max(k - 1, 1)), 0.0)
        counts[:, j] = np.bincount(group, weights=answered, minlength=n_groups)
        top_sums[:, j] = np.bincount(group, weights=top, minlength=n_groups)
        score_sums[:, j] = np.bincount(group, weights=score, minlength=n_groups)
        n_top += top
        score_total += score

    def reference(sums: np.ndarray, totals: np.ndarray) -> np.ndarray:
        shape = sums.shape
        flat = _reference(sums.reshape(n_points, -1), totals.reshape(n_points, -1), inputs.point_town)
        return flat.reshape(shape)

    top_rate = reference(top_sums, counts)
    mean_score = reference(score_sums, counts)
    expected_top = np.zeros(rows.size)
    expected_score = np.zeros(rows.size)
    for j in range(n_items):
        answered = answers[:, j] > 0
        expected_top += answered * top_rate[group, j]
        expected_score += answered * mean_score[group, j]

    all_positive = n_top == n_answered
    item_bin = np.searchsorted(ITEM_COUNT_BINS, n_answered, side="right") - 1
    bins = np.eye(ITEM_COUNT_BINS.size)[item_bin]
    all_positive_rate = reference(
        _group_sums(group, bins * all_positive[:, None], n_groups),
        _group_sums(group, bins, n_groups),
    )

    # Respondent-level values and their expectations under the point's reference.
    a = n_answered.astype(float)
    top_share = n_top / a
    expected_top /= a
    mean_item = score_total / a
    expected_score /= a
    expected_all = all_positive_rate[group, item_bin]
    centred_score = mean_item - expected_score

    n_kept = np.bincount(point, minlength=n_points).astype(float)
    usable = tested & (n_kept >= min_n)

    def per_point(values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.bincount(point, weights=values, minlength=n_points) / n_kept)

    def mean_check(check: str, units: str, value: np.ndarray, expected: np.ndarray) -> CheckOutcome:
        deviation = value - expected
        mean_deviation = per_point(deviation)
        residual = deviation - mean_deviation[point]
        within = np.bincount(point, weights=residual**2, minlength=n_points)
        pooled = within[usable].sum() / max((n_kept[usable] - 1).sum(), 1.0)
        variance = np.where(usable, pooled / np.maximum(n_kept, 1.0), np.nan)
        test = outlier_test(np.where(usable, mean_deviation, np.nan), variance, tail="upper")
        return CheckOutcome(check, units, per_point(value), per_point(expected), test.p_value)

    outcomes = [
        mean_check("top_answers", "share", top_share, expected_top),
        _ratio_check(
            "all_positive",
            point,
            all_positive.astype(float),
            expected_all * np.exp(_level_adjustment(point, all_positive, centred_score, expected_all, usable))[point],
            usable,
            n_kept,
        ),
        mean_check("mean_score", "score", mean_item, expected_score),
    ]

    # Uniform answers: the spread of the respondents' centred scores.  A respondent who
    # answered many items has a steadier mean score, so each centred score is first
    # divided by the SD expected for its number of items (a + b/items, fitted over the
    # wave); the spreads are then compared on the Wilson–Hilferty scale.
    point_mean = per_point(centred_score)
    residual = centred_score - point_mean[point]
    # Scores near the top of the scale cannot spread much (a ceiling): the expected
    # variance also scales with L(100 − L), L the point's own mean item score.
    level = np.clip(per_point(mean_item), 5.0, 95.0)
    ceiling = level * (100.0 - level) / 2500.0
    share = np.where(usable[point], 1.0, 0.0)
    design = np.column_stack([np.ones(rows.size), 1.0 / a]) * share[:, None]
    coefficients, *_ = np.linalg.lstsq(design, residual**2 / ceiling[point] * share, rcond=None)
    expected_variance = np.maximum((coefficients[0] + coefficients[1] / a) * ceiling[point], 1e-6)
    standardised = residual / np.sqrt(expected_variance)
    sum_of_squares = np.bincount(point, weights=standardised**2, minlength=n_points)
    fourth = np.bincount(point, weights=standardised**4, minlength=n_points)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(sum_of_squares / (n_kept - 1))
        raw_spread = np.sqrt(np.bincount(point, weights=residual**2, minlength=n_points) / (n_kept - 1))
    pooled_variance = sum_of_squares[usable].sum() / max((n_kept[usable] - 1).sum(), 1.0)
    kurtosis = fourth[usable].sum() / max(n_kept[usable].sum(), 1.0) / max(pooled_variance, 1e-12) ** 2
    scaled, variance = spread_scale(np.where(usable, sum_of_squares, np.nan), n_kept, kurtosis)
    test = outlier_test(scaled, variance, tail="lower")
    # In words: the respondents' scores spread by x index points where y is usual for the
    # point's mix of items (the ratio of spreads times the point's own).
    with np.errstate(invalid="ignore", divide="ignore"):
        typical = raw_spread * np.sqrt(test.centre**3) / spread
    outcomes.append(CheckOutcome("score_spread", "score", np.where(usable, raw_spread, np.nan), typical, test.p_value))
    return outcomes


def _level_adjustment(
    point: np.ndarray, all_positive: np.ndarray, centred: np.ndarray, expected: np.ndarray, usable: np.ndarray
) -> np.ndarray:
    """Per point, the log-factor by which its level explains its count of all-satisfied respondents.

    A point where residents are simply more satisfied has more respondents satisfied with
    everything, and also scores higher among those who are *not*: their mean centred score
    (``level``) is untouched by coaching, which only adds all-satisfied respondents.  The
    log ratio of observed to expected counts is regressed on the level across the points
    (Theil–Sen slope, robust to a few coached points); the fitted factor goes into the
    expected count, so only an excess beyond the point's level is unusual.
    """
    n_points = usable.size
    others = ~all_positive
    count = np.bincount(point[others], minlength=n_points).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = np.bincount(point[others], weights=centred[others], minlength=n_points) / count
    observed = np.bincount(point, weights=all_positive.astype(float), minlength=n_points)
    expected_count = np.bincount(point, weights=expected, minlength=n_points)
    fit = usable & (count >= 5) & np.isfinite(level)
    adjustment = np.zeros(n_points)
    if fit.sum() < 8:
        return adjustment
    ratio = np.log((observed[fit] + 0.5) / (expected_count[fit] + 0.5))
    slope = float(_stats.theilslopes(ratio, level[fit])[0])
    centre = float(np.median(level[fit]))
    adjustment[fit] = slope * (level[fit] - centre)
    return adjustment


def _ratio_check(
    check: str,
    point: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
    usable: np.ndarray,
    n_kept: np.ndarray,
) -> CheckOutcome:
    """A rare event per respondent (observed 0/1, expected probability): the point's count
    against its expected count, negative binomial with a robust overdispersion
    (:func:`~scoring.integrity.stats.count_outlier_test`)."""
    n_points = n_kept.size
    total_observed = np.bincount(point, weights=observed, minlength=n_points)
    total_expected = np.bincount(point, weights=expected, minlength=n_points)
    test = count_outlier_test(np.where(usable, total_observed, np.nan), np.where(usable, total_expected, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        share, reference = total_observed / n_kept, test.centre * total_expected / n_kept
    return CheckOutcome(check, "share", share, reference, test.p_value)


def _other_rate(count: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The rate at the other points (with half an event of prior), floored at RATE_FLOOR."""
    total_count, total_n = count.sum(), n.sum()
    return np.asarray(np.maximum((total_count - count + 0.5) / np.maximum(total_n - n + 1.0, 1.0), RATE_FLOOR))


def _rate_check(
    check: str, inputs: IntegrityInputs, rows: np.ndarray, events: np.ndarray, tested: np.ndarray
) -> CheckOutcome:
    n_points = inputs.n_points
    point = inputs.point[rows]
    n = np.bincount(point, minlength=n_points).astype(float)
    count = np.bincount(point, weights=events[rows].astype(float), minlength=n_points)
    rate = _other_rate(count, n)
    p = np.where(tested, binomial_excess(count.astype(np.int64), n.astype(np.int64), rate), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tested, count / n, np.nan)
    return CheckOutcome(check, "share", share, np.where(tested, rate, np.nan), p)


def _timing_checks(inputs: IntegrityInputs, rows: np.ndarray, tested: np.ndarray) -> list[CheckOutcome]:
    n_points = inputs.n_points
    timed = rows[np.isfinite(inputs.local_seconds[rows])]
    point = inputs.point[timed]
    seconds = inputs.local_seconds[timed]
    order = np.argsort(point, kind="stable")
    starts = np.searchsorted(point[order], np.arange(n_points + 1))
    burst = np.full(n_points, np.nan)
    p = np.full(n_points, np.nan)
    for k in np.flatnonzero(tested):
        times = seconds[order[starts[k] : starts[k + 1]]]
        if times.size < 2:
            continue
        days = int(np.floor(times.max() / 86400) - np.floor(times.min() / 86400)) + 1
        burst[k] = max_in_window(times, BURST_WINDOW_S)
        p[k] = burst_tail(times % 86400.0, days, int(burst[k]), BURST_WINDOW_S)
    typical = np.full(n_points, np.nanmedian(burst) if np.isfinite(burst).any() else np.nan)
    outcomes = [CheckOutcome("burst", "count", burst, typical, p)]

    hour = np.floor((inputs.local_seconds % 86400.0) / 3600.0)
    with np.errstate(invalid="ignore"):
        night = (hour >= NIGHT_HOURS[0]) | (hour < NIGHT_HOURS[1])
    outcomes.append(_rate_check("night", inputs, timed, night, tested))
    statistic, reference, p_profile = hour_profile_check(inputs, rows, tested)
    outcomes.append(CheckOutcome("hour_profile", "share", statistic, reference, p_profile))
    return outcomes


def _duration_check(inputs: IntegrityInputs, rows: np.ndarray, tested: np.ndarray, min_n: int) -> CheckOutcome:
    n_points = inputs.n_points
    duration = inputs.duration[rows]
    rows = rows[np.isfinite(duration) & (duration > 0)]
    point = inputs.point[rows]
    log_duration = np.log(inputs.duration[rows])
    items = np.log1p((inputs.answers[rows] > 0).sum(axis=1))
    design = np.column_stack([np.ones(rows.size), items])
    coefficients, *_ = np.linalg.lstsq(design, log_duration, rcond=None)
    residual = log_duration - design @ coefficients
    n = np.bincount(point, minlength=n_points).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(point, weights=residual, minlength=n_points) / n
    centred = residual - mean[point]
    sum_of_squares = np.bincount(point, weights=centred**2, minlength=n_points)
    usable = tested & (n >= min_n)
    pooled = sum_of_squares[usable].sum() / max((n[usable] - 1).sum(), 1.0)
    fourth = np.bincount(point, weights=centred**4, minlength=n_points)
    kurtosis = fourth[usable].sum() / max(n[usable].sum(), 1.0) / max(pooled, 1e-12) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(sum_of_squares / (n - 1))
    scaled, variance = spread_scale(np.where(usable, sum_of_squares, np.nan), n, kurtosis)
    test = outlier_test(scaled, variance, tail="lower")
    # In words: answering times typically vary by ±x% (exp(sd) − 1).
    statistic = np.where(usable, np.expm1(spread), np.nan)
    typical = np.full(n_points, np.expm1(np.sqrt(test.centre**3)) if np.isfinite(test.centre) else np.nan)
    return CheckOutcome("similar_durations", "ratio", statistic, typical, test.p_value)


def run_point_checks(inputs: IntegrityInputs, *, min_responses: int) -> PointChecks:
    """Run every point check the table's columns allow.

    Parameters
    ----------
    inputs : IntegrityInputs
    min_responses : int
        A point with fewer submitted responses (or, for the answer checks, fewer kept
        ones) is not tested.

    Returns
    -------
    PointChecks
    """
    n_points = inputs.n_points
    at_point = inputs.point >= 0
    submitted_rows = np.flatnonzero(inputs.submitted & at_point)
    responses = np.bincount(inputs.point[submitted_rows], minlength=n_points)
    kept = np.bincount(inputs.point[inputs.kept & at_point], minlength=n_points)
    tested = responses >= min_responses
    not_run: dict[str, str] = {}
    outcomes: list[CheckOutcome] = []
    if n_points == 0 or "point" not in inputs.present:
        reason = "no collection point column or no response at a point"
        return PointChecks(responses, kept, tested, (), {check: reason for check in POINT_CHECKS})
    if tested.sum() < 4:
        reason = f"fewer than 4 points with {min_responses} or more responses to compare"
        return PointChecks(responses, kept, tested, (), {check: reason for check in POINT_CHECKS})

    builders: dict[str, Callable[[], list[CheckOutcome]]] = {
        "answers": lambda: _answer_checks(inputs, tested, min_responses),
        "timing": lambda: _timing_checks(inputs, submitted_rows, tested),
        "similar_durations": lambda: [_duration_check(inputs, submitted_rows, tested, min_responses)],
        "fast_straight_lining": lambda: [
            _rate_check("fast_straight_lining", inputs, submitted_rows, inputs.fast_straight, tested)
        ],
        "collection_flags": lambda: [
            _rate_check("collection_flags", inputs, submitted_rows, inputs.collection_flagged, tested)
        ],
    }
    missing = {
        "timing": "submitted_at",
        "similar_durations": "duration_s",
        "fast_straight_lining": "duration_s",
        "collection_flags": "flags",
    }
    for name, build in builders.items():
        column = missing.get(name)
        if column is not None and column not in inputs.present:
            for check in ("burst", "night", "hour_profile") if name == "timing" else (name,):
                not_run[check] = f"the responses have no {column!r} column"
            continue
        outcomes.extend(build())
    order = list(POINT_CHECKS)
    outcomes.sort(key=lambda outcome: order.index(outcome.check))
    for outcome in outcomes:
        if not np.isfinite(outcome.p_value).any():
            not_run[outcome.check] = "no point could be tested"
    kept_outcomes = tuple(o for o in outcomes if o.check not in not_run)
    return PointChecks(responses, kept, tested, kept_outcomes, not_run)
