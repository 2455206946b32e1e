"""Intervals for proportions: logit, Korn–Graubard, Wilson (R comparisons in test_reference_*)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

from scoring.design import survey_design
from scoring.estimation import survey_mean
from scoring.proportions import korn_graubard_interval, logit_interval, proportion_intervals, wilson_interval


def test_wilson_at_infinite_df_is_statsmodels_wilson():
    p, n = np.array([0.2, 0.55, 0.9]), np.array([50.0, 120.0, 400.0])
    low, high = wilson_interval(p, p * (1 - p) / n, np.inf)
    expected = np.array([proportion_confint(pi * ni, ni, alpha=0.05, method="wilson") for pi, ni in zip(p, n)])
    assert_allclose(low, expected[:, 0], rtol=1e-10)
    assert_allclose(high, expected[:, 1], rtol=1e-10)


def test_korn_graubard_at_srs_is_clopper_pearson():
    """With Var = p(1 − p)/n and df = n − 1 the interval is Clopper–Pearson."""
    p, n = np.array([0.3]), np.array([40.0])
    low, high = korn_graubard_interval(p, p * (1 - p) / n, n, df=39)
    expected = proportion_confint(12, 40, alpha=0.05, method="beta")
    assert_allclose([low[0], high[0]], expected, rtol=1e-10)


def test_logit_interval_is_symmetric_on_the_logit_scale():
    low, high = logit_interval(np.array([0.8]), np.array([0.04]), df=30)
    centre = special.logit(0.8)
    half = stats.t.ppf(0.975, 30) * 0.2
    assert_allclose([special.logit(low[0]), special.logit(high[0])], [centre - half, centre + half])


@pytest.mark.parametrize("method", ["logit", "korn_graubard", "wilson"])
def test_boundary_proportions_get_a_korn_graubard_interval(method):
    frame = pd.DataFrame({"y": np.ones(30), "cluster": np.repeat(np.arange(10), 3)})
    interval = proportion_intervals(survey_mean(survey_design(frame, cluster="cluster"), "y"), method=method)
    assert interval.estimate[0] == 1.0 and interval.se[0] == 0.0
    assert interval.ci_high[0] == 1.0
    assert 0.8 < interval.ci_low[0] < 1.0
    expected_low = stats.beta.ppf(0.025, 30 * (stats.t.ppf(0.025, 29) / stats.t.ppf(0.025, 9)) ** 2, 1)
    assert interval.ci_low[0] == pytest.approx(expected_low)


def test_unknown_method():
    frame = pd.DataFrame({"y": [0.0, 1.0, 1.0, 0.0]})
    with pytest.raises(ValueError, match="method must be one of logit, korn_graubard, wilson"):
        proportion_intervals(survey_mean(survey_design(frame), "y"), method="wald")
