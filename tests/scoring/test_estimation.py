"""Estimators: totals, means, ratios, domains, groups and linear combinations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.design import survey_design
from scoring.errors import DesignError, ScoringInputError
from scoring.estimation import linear_combination, survey_mean, survey_ratio
from scoring.variance import jackknife_design


@pytest.fixture
def srs():
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.normal(50, 10, 80), "x": rng.uniform(1, 3, 80), "g": rng.choice(["a", "b"], 80)})


def test_mean_of_a_simple_random_sample(srs):
    """Unweighted, with replacement: SE = s/√n."""
    mean = survey_mean(survey_design(srs), "y")
    y = srs["y"].to_numpy()
    assert mean.estimate[0] == pytest.approx(y.mean())
    assert mean.se[0] == pytest.approx(y.std(ddof=1) / np.sqrt(len(y)), rel=1e-12)
    assert mean.df == len(y) - 1
    _low, high = mean.confint(0.9)
    from scipy import stats

    assert high[0] - mean.estimate[0] == pytest.approx(stats.t.ppf(0.95, 79) * mean.se[0])


def test_ratio_is_the_ratio_of_totals(srs):
    design = survey_design(srs)
    ratio = survey_ratio(design, "y", "x")
    assert ratio.estimate[0] == pytest.approx(srs["y"].sum() / srs["x"].sum())
    assert ratio.names == ("y/x",)
    # Influence z = (y − R x)/X̂: the variance of its total.
    z = (srs["y"] - ratio.estimate[0] * srs["x"]) / srs["x"].sum()
    n = len(z)
    assert ratio.se[0] == pytest.approx(np.sqrt(n / (n - 1) * ((z - z.mean()) ** 2).sum()), rel=1e-12)


def test_domain_mean_equals_ratio_and_groups(srs):
    design = survey_design(srs)
    member = (srs["g"] == "a").to_numpy()
    domain = survey_mean(design, "y", domain=member)
    ratio = survey_ratio(design, srs["y"].to_numpy() * member, member.astype(float))
    assert_allclose(domain.estimate, ratio.estimate)
    assert_allclose(domain.se, ratio.se, rtol=1e-12)
    grouped = survey_mean(design, "y", by="g")
    assert grouped.names == ("y[g=a]", "y[g=b]")
    assert grouped.estimate[0] == pytest.approx(domain.estimate[0])
    assert grouped.se[0] == pytest.approx(domain.se[0])
    assert grouped.counts[0] == member.sum()


def test_missing_values_need_na_rm(srs):
    srs.loc[3, "y"] = np.nan
    design = survey_design(srs)
    with pytest.raises(ScoringInputError, match="missing values \\(first in row 4\\); pass na_rm=True"):
        survey_mean(design, "y")
    mean = survey_mean(design, "y", na_rm=True)
    assert mean.estimate[0] == pytest.approx(srs["y"].mean())
    assert mean.counts[0] == 79


def test_linear_combination_uses_the_covariance(srs):
    design = survey_design(srs)
    both = survey_mean(design, ["y", "x"])
    difference = linear_combination(both, np.array([1.0, -1.0]), names=("y-x",))
    covariance = both.covariance
    assert difference.estimate[0] == pytest.approx(both.estimate[0] - both.estimate[1])
    assert difference.se[0] == pytest.approx(np.sqrt(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]))
    with pytest.raises(ValueError, match="one per estimate"):
        linear_combination(both, np.ones(3))


def test_linear_combination_under_replicates_is_the_combination_of_replicates(srs):
    srs["cluster"] = np.repeat(np.arange(10), 8)
    replicates = jackknife_design(survey_design(srs, cluster="cluster"))
    both = survey_mean(replicates, ["y", "x"])
    total = linear_combination(both, np.array([0.5, 0.5]))
    assert_allclose(total.replicates[:, 0], both.replicates @ np.array([0.5, 0.5]))
    covariance = both.covariance
    assert total.variance[0] == pytest.approx(0.25 * covariance.sum(), rel=1e-12)


def test_empty_domain_is_undefined_not_an_error(srs):
    mean = survey_mean(survey_design(srs), "y", domain=np.zeros(len(srs), dtype=bool))
    assert np.isnan(mean.estimate[0]) and np.isnan(mean.se[0])


def test_select_and_frame(srs):
    both = survey_mean(survey_design(srs), ["y", "x"])
    assert both.select(["x"]).estimate[0] == pytest.approx(srs["x"].mean())
    frame = both.to_frame()
    assert list(frame.columns) == ["estimate", "se", "ci_low", "ci_high", "deff"]
    with pytest.raises(KeyError, match="no estimate named 'z'"):
        both.index("z")


def test_design_errors_name_the_problem(srs):
    with pytest.raises(DesignError, match="strata column 'town' is not in the data"):
        survey_design(srs, strata="town")
    srs.loc[2, "g"] = None
    with pytest.raises(DesignError, match="column 'g' has a missing value in row 3"):
        survey_design(srs, strata="g")
    with pytest.raises(DesignError, match="row 1 has"):
        survey_design(srs, weights=np.r_[0.0, np.ones(len(srs) - 1)])
    with pytest.raises(DesignError, match="only one cluster"):
        survey_design(srs.assign(c=1), cluster="c")
    with pytest.raises(DesignError, match="lonely_psu must be one of fail, adjust"):
        survey_design(srs, lonely_psu="average")


def test_clusters_are_nested_in_strata():
    """A point whose respondents live in two towns is two PSUs (R's nest=TRUE)."""
    frame = pd.DataFrame(
        {"town": ["a", "a", "b", "b", "a", "b"], "point": ["p", "q", "p", "q", "p", "p"], "y": np.arange(6.0)}
    )
    design = survey_design(frame, strata="town", cluster="point")
    assert design.clusters.levels == ("a/p", "a/q", "b/p", "b/q")
    assert design.degrees_of_freedom == 2
