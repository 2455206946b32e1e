"""The one-sided target test and its verdict."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from scoring.errors import ScoringInputError
from scoring.target import target_test, target_value


@pytest.mark.parametrize(
    "estimate, se, verdict",
    [(87.0, 0.8, "met"), (83.0, 0.8, "not_met"), (85.5, 0.8, "inconclusive"), (84.5, 0.8, "inconclusive")],
)
def test_verdicts(estimate, se, verdict):
    result = target_test(estimate, se, 24, target=85)
    assert result.verdict == verdict
    assert result.statistic == pytest.approx((estimate - 85) / se)
    assert result.p_value == pytest.approx(stats.t.sf((estimate - 85) / se, 24))
    assert (result.verdict == "met") == (result.p_value < 0.05)
    q = stats.t.ppf(0.95, 24)
    assert result.lower_bound == pytest.approx(estimate - q * se)
    assert result.upper_bound == pytest.approx(estimate + q * se)


def test_rates_are_tested_on_the_proportion_scale():
    result = target_test(0.88, 0.01, 30, target=85, metric="satisfied_rate")
    assert result.value == 0.85 and result.target == 85
    assert result.statistic == pytest.approx(3.0)
    assert result.verdict == "met"


def test_targets_are_written_as_people_say_them():
    assert target_value(85, "index") == 85.0
    with pytest.raises(ScoringInputError, match="write the target as a percentage"):
        target_value(0.85, "satisfied_rate")
    with pytest.raises(ScoringInputError, match="between 0 and 100"):
        target_value(185, "index")
    with pytest.raises(ScoringInputError, match="target metric must be one of index, satisfied_rate"):
        target_value(85, "median")


def test_no_standard_error_is_inconclusive():
    result = target_test(90.0, 0.0, 10)
    assert result.verdict == "inconclusive" and math.isnan(result.p_value)
