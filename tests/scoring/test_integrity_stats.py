"""The tests behind the integrity checks (scoring/integrity/stats.py)."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.errors import ScoringInputError
from scoring.integrity import Exclusion, IntegrityRules
from scoring.integrity.stats import (
    benjamini_hochberg,
    burst_tail,
    count_outlier_test,
    max_in_window,
    outlier_test,
    small_variance,
)


def test_benjamini_hochberg_matches_the_step_up_procedure():
    # R: p.adjust(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205), "BH")
    p = np.array([0.041, 0.001, 0.205, 0.008, 0.039, 0.042, 0.06, 0.074])
    expected = np.array([0.0672, 0.008, 0.205, 0.032, 0.0672, 0.0672, 0.08, 0.074 * 8 / 7])
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-12)


def test_benjamini_hochberg_keeps_untested_units_out_of_the_count():
    q = benjamini_hochberg(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.04])


def test_max_in_window_is_half_open():
    times = np.array([0.0, 100.0, 3599.0, 3600.0, 7200.0])
    assert max_in_window(times, 3600.0) == 3
    assert max_in_window(np.array([]), 3600.0) == 0


def test_burst_tail_bounds_the_chance_of_a_burst_on_random_days():
    rng = np.random.default_rng(3)
    time_of_day = rng.normal(8 * 3600, 1800, size=60)  # a school gate at drop-off
    days, window = 20, 3600.0
    observed = []
    for _ in range(2000):
        times = rng.integers(0, days, size=time_of_day.size) * 86400.0 + time_of_day
        observed.append(max_in_window(times, window))
    observed = np.array(observed)
    for burst in (6, 8, 10):
        simulated = float((observed >= burst).mean())
        assert burst_tail(time_of_day, days, burst, window) >= simulated - 0.01
    # A burst of all sixty on one day is far beyond chance; one day of collection is no test.
    assert burst_tail(time_of_day, days, 60, window) < 1e-20
    assert burst_tail(time_of_day, 1, 60, window) == 1.0


def test_outlier_test_allows_a_point_effect_but_finds_an_extreme_point():
    rng = np.random.default_rng(7)
    values = rng.normal(0.0, 0.3, size=40) + rng.normal(0.0, 0.1, size=40)  # point effect + sampling error
    values[5] = 2.0
    test = outlier_test(values, np.full(40, 0.01), tail="upper")
    assert int(np.nanargmin(test.p_value)) == 5
    assert test.p_value[5] < 1e-4
    assert 0.04 < test.tau2 < 0.16  # the point effect (0.3²) is estimated, not hidden by the outlier
    lower = outlier_test(values, np.full(40, 0.01), tail="lower")
    assert lower.p_value[5] > 0.99
    with pytest.raises(ValueError, match="tail"):
        outlier_test(values, np.full(40, 0.01), tail="both")


def test_count_outlier_test_finds_an_excess_of_events():
    rng = np.random.default_rng(11)
    expected = rng.uniform(3.0, 15.0, size=30)
    observed = rng.poisson(expected).astype(float)
    observed[0] = 5 * expected[0] + 10
    test = count_outlier_test(observed, expected)
    assert int(np.nanargmin(test.p_value)) == 0
    assert test.p_value[0] < 1e-4
    assert np.nanmedian(test.p_value) > 0.2


def test_small_variance_is_the_lower_chi_square_tail():
    assert small_variance(1.0, 10, 1.0) < 1e-3
    assert small_variance(10.0, 10, 1.0) == pytest.approx(0.5595, abs=1e-3)
    assert np.isnan(small_variance(1.0, 0, 1.0))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kind": "town", "target": "a", "reason": "r"}, "kind must be one of point, address"),
        ({"kind": "point", "target": " ", "reason": "r"}, "needs the point"),
        ({"kind": "point", "target": "hosp-01", "reason": "  "}, "needs a reason"),
        ({"kind": "point", "target": "hosp-01", "reason": "x" * 501}, "keep it under 500"),
    ],
)
def test_an_exclusion_says_what_is_wrong(arguments, message):
    with pytest.raises(ScoringInputError, match=message):
        Exclusion(**arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"fdr": 0.5}, "fdr must be a rate between 0 and 0.5"),
        ({"fdr": True}, "fdr must be a rate"),
        ({"min_point_responses": 2}, "min_point_responses must be a whole number ≥ 5"),
        ({"max_replicates": 10}, "max_replicates must be a whole number ≥ 99"),
    ],
)
def test_rules_say_what_is_wrong(arguments, message):
    with pytest.raises(ScoringInputError, match=message):
        IntegrityRules(**arguments)
