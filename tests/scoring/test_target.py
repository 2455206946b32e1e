"""The target test and its verdict, which always agrees with the 95% interval shown."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from scoring.errors import ScoringInputError
from scoring.target import target_test, target_value, verdict_of_interval


@pytest.mark.parametrize(
    "estimate, se, verdict",
    [(87.0, 0.8, "met"), (83.0, 0.8, "not_met"), (85.5, 0.8, "inconclusive"), (84.5, 0.8, "inconclusive")],
)
def test_verdicts(estimate, se, verdict):
    result = target_test(estimate, se, 24, target=85)
    assert result.verdict == verdict
    assert result.statistic == pytest.approx((estimate - 85) / se)
    assert result.p_value == pytest.approx(stats.t.sf((estimate - 85) / se, 24))
    q = stats.t.ppf(0.975, 24)
    assert result.ci_low == pytest.approx(estimate - q * se)
    assert result.ci_high == pytest.approx(estimate + q * se)
    # A one-sided test at 2.5% each way: met exactly when p < 0.025.
    assert (result.verdict == "met") == (result.p_value < 0.025)
    assert (result.verdict == "not_met") == (result.p_value > 0.975)


def test_the_verdict_agrees_with_the_95_percent_interval_shown():
    """Issue 11: index 86.5 with 95% CI 84.8–88.2 was called 'met' (one-sided 95% bound)."""
    df = 30
    se = 1.7 / stats.t.ppf(0.975, df)
    result = target_test(86.5, se, df, target=85)
    assert (round(result.ci_low, 1), round(result.ci_high, 1)) == (84.8, 88.2)
    assert result.verdict == "inconclusive"
    assert 0.025 < result.p_value < 0.05  # the old one-sided 5% rule would have said "met"


def test_a_given_interval_decides_the_verdict():
    """A rate's interval (logit, Korn–Graubard) is not symmetric: the verdict reads that interval."""
    result = target_test(0.88, 0.014, 30, target=85, metric="satisfied_rate", interval=(0.849, 0.905))
    assert result.verdict == "inconclusive" and (result.ci_low, result.ci_high) == (0.849, 0.905)
    assert target_test(0.88, 0.014, 30, target=85, metric="satisfied_rate", interval=(0.851, 0.905)).verdict == "met"
    assert verdict_of_interval(84.0, 84.9, 85.0) == "not_met"
    assert verdict_of_interval(85.0, 86.0, 85.0) == "inconclusive"  # touching is not above


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


def test_an_unstable_figure_gets_no_verdict():
    result = target_test(90.0, 1.0, 1, target=85, unstable_reason="15 respondents (minimum 30)")
    assert result.verdict is None and result.unstable
    assert result.reason == "15 respondents (minimum 30)"
    assert result.to_dict()["verdict"] is None and result.to_dict()["unstable"] is True
