"""Satisfaction estimates through the API: weights of domains, subgroups, the results dict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from scoring.data import validate_responses
from scoring.design import survey_design
from scoring.errors import DomainWeightsError, ScoringInputError
from scoring.importance import pairwise_weighted_correlation, relative_weights
from scoring.pipeline import EstimateOptions, run_estimate
from scoring.satisfaction import Stability, Suppression, estimate_satisfaction
from scoring.scores import build_analysis_table
from scoring.variance import bootstrap_design
from scoring.weighting import margins_from_frame, rake

from .support import small_margins, small_responses


@pytest.fixture
def analysis():
    frame = small_responses(600, seed=3)
    table = build_analysis_table(validate_responses(frame))
    design = rake(survey_design(table.frame, strata="town", cluster="point"), margins_from_frame(small_margins(frame)))
    return table, design


def test_overall_index_is_the_weighted_sum_of_domain_indices(analysis):
    table, design = analysis
    estimates = estimate_satisfaction(table, design, domain_weights={"education": 3, "healthcare": 1})
    indices = [estimates.domains[d].index.index for d in ("education", "healthcare")]
    assert estimates.overall.index.index == pytest.approx(0.75 * indices[0] + 0.25 * indices[1])
    covariance = estimates.domain_index.covariance
    a = np.array([0.75, 0.25])
    assert estimates.overall.index.se == pytest.approx(math.sqrt(a @ covariance @ a))
    assert estimates.overall.domain_weights == {"education": 0.75, "healthcare": 0.25}


def test_a_domain_left_out_of_the_weights_gets_none(analysis):
    table, design = analysis
    estimates = estimate_satisfaction(table, design, domain_weights={"healthcare": 2})
    assert estimates.overall.index.index == pytest.approx(estimates.domains["healthcare"].index.index)
    with pytest.raises(DomainWeightsError, match="'transport', which has no items"):
        estimate_satisfaction(table, design, domain_weights={"transport": 1})


def test_derived_domain_weights_are_johnsons_relative_importance(analysis):
    table, design = analysis
    estimates = estimate_satisfaction(table, design, domain_weights="derived")
    weights = estimates.overall.domain_weights
    assert sum(weights.values()) == pytest.approx(1.0)
    values = np.column_stack(
        [table.domain_score("education"), table.domain_score("healthcare"), table.item_score("overall")]
    )
    correlation = pairwise_weighted_correlation(values, design.weights)
    expected = relative_weights(correlation[:2, :2], correlation[:2, 2]).shares
    assert_allclose([weights["education"], weights["healthcare"]], expected)


def test_pairwise_weighted_correlation_matches_numpy_on_complete_data():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(500, 3)) @ np.array([[1, 0.5, 0.2], [0, 1, 0.3], [0, 0, 1]])
    weights = rng.uniform(0.5, 2, 500)
    expected = np.cov(values.T, aweights=weights)
    expected = expected / np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    assert_allclose(pairwise_weighted_correlation(values, weights), expected, atol=1e-12)
    values[:100, 0] = np.nan  # pairwise: column 0's correlations use the other 400 rows
    partial = pairwise_weighted_correlation(values, weights)
    sub = np.cov(values[100:, :2].T, aweights=weights[100:])
    assert partial[0, 1] == pytest.approx(sub[0, 1] / np.sqrt(sub[0, 0] * sub[1, 1]))


def test_relative_weights_of_uncorrelated_predictors():
    result = relative_weights(np.eye(3), np.array([0.1, 0.3, 0.4]))
    assert_allclose(result.weights, [0.01, 0.09, 0.16])
    assert result.r_squared == pytest.approx(0.26)


def test_subgroup_suppression_is_configurable(analysis):
    table, design = analysis
    loose = estimate_satisfaction(
        table, design, suppression=Suppression(min_n=0, max_cv=10), stability=Stability(min_n=1, min_psus=2)
    )
    strict = estimate_satisfaction(table, design, suppression=Suppression(min_n=10_000, max_cv=10))
    assert not any(s.suppressed for s in loose.subgroups if np.isfinite(s.index))
    assert all(s.suppressed for s in strict.subgroups)
    cell = next(s for s in loose.subgroups if s.variable == "sex" and s.level == "female" and s.domain == "overall")
    assert cell.n == (table.frame["sex"] == "female").sum()
    assert cell.cv == pytest.approx(cell.se / cell.index)


def test_rows_without_a_group_value_are_left_out_of_that_table():
    frame = small_responses(300, seed=8)
    frame.loc[:9, "age_group"] = None
    table = build_analysis_table(validate_responses(frame))
    estimates = estimate_satisfaction(table, survey_design(table.frame, strata="town", cluster="point"))
    levels = {s.level for s in estimates.subgroups if s.variable == "age_group"}
    assert levels == {"18-29", "30-44", "45-59", "60+"}
    total = sum(s.n for s in estimates.subgroups if s.variable == "age_group" and s.domain == "overall")
    assert total == 290


def test_a_domain_without_respondents_is_left_out_of_the_overall_index_and_listed():
    empty = build_analysis_table(
        validate_responses(small_responses(200, seed=1).assign(**{f"healthcare.q{k}": np.nan for k in range(1, 6)}))
    )
    estimates = estimate_satisfaction(empty, survey_design(empty.frame))
    assert math.isnan(estimates.domains["healthcare"].index.index)
    assert estimates.domains["healthcare"].index.unstable
    assert estimates.overall.domain_weights == {"education": 1.0, "healthcare": 0.0}
    assert [domain for domain, _ in estimates.overall.left_out] == ["healthcare"]
    assert estimates.overall.index.index == pytest.approx(estimates.domains["education"].index.index)
    alone = estimate_satisfaction(empty, survey_design(empty.frame), domain_weights={"education": 1})
    assert alone.overall.left_out == () and alone.overall.index.index == estimates.overall.index.index


def test_replicate_designs_give_every_estimate(analysis):
    table, design = analysis
    estimates = estimate_satisfaction(table, bootstrap_design(design, replicates=100, seed=3))
    assert all(np.isfinite(r.index.se) and np.isfinite(r.satisfied_rate.ci_low) for r in estimates.domains.values())
    assert np.isfinite(estimates.overall.index.se)


def test_design_and_table_must_match(analysis):
    _table, design = analysis
    other = build_analysis_table(validate_responses(small_responses(100)))
    with pytest.raises(ScoringInputError, match="the design has 600 rows but the analysis table 100"):
        estimate_satisfaction(other, design)


def test_results_dict_has_exactly_the_contract_keys():
    frame = small_responses(400, seed=9)
    run = run_estimate(EstimateOptions(responses=frame, margins=small_margins(frame), strata="town", cluster="point"))
    results = run.results
    assert list(results) == [
        "overall",
        "domains",
        "target",
        "targets",
        "scale",
        "weights",
        "design",
        "excluded",
        "subgroups",
        "sensitivity",
        "integrity",
        "settings",
        "inputs",
        "version",
    ]
    index_keys = ["index", "se", "ci_low", "ci_high", "df", "n", "psus"]
    rate_keys = ["estimate", "se", "ci_low", "ci_high", "df", "n", "psus", "unstable", "unstable_reason"]
    test_keys = ["metric", "target", "value", "estimate", "se", "ci_low", "ci_high", "df", "statistic"]
    test_keys += ["p_value", "verdict", "unstable", "reason"]
    assert list(results["overall"]) == [
        *index_keys,
        "unstable",
        "unstable_reason",
        "domain_weights",
        "left_out_domains",
        "unstable_domain_rule",
        "satisfied_rate",
    ]
    assert list(results["overall"]["satisfied_rate"]) == rate_keys
    for domain in results["domains"].values():
        assert list(domain) == [
            *index_keys,
            "deff",
            "alpha",
            "unstable",
            "unstable_reason",
            "weight",
            "satisfied_rate",
            "targets",
        ]
        assert list(domain["satisfied_rate"]) == rate_keys
        assert list(domain["targets"]) == ["index", "satisfied_rate"]
        assert list(domain["targets"]["index"]) == test_keys
    assert list(results["target"]) == test_keys
    assert list(results["targets"]) == ["metric", "index", "satisfied_rate"]
    assert results["targets"]["metric"] == "index" and results["target"] == results["targets"]["index"]
    assert list(results["scale"]) == ["mapping", "description", "points"]
    assert list(results["weights"]) == ["method", "effective_n", "deff", "min", "max"]
    assert list(results["design"]) == [
        "strata",
        "clusters",
        "rows_without_cluster",
        "clusters_split_by_strata",
        "lonely_psu",
        "lonely_strata",
        "n_psu",
        "n_strata",
        "df",
        "variance",
        "replicates",
        "description",
        "assumption",
    ]
    assert {k: results["design"][k] for k in ("strata", "clusters", "df", "variance")} == {
        "strata": "town",
        "clusters": "point",
        "df": 8,
        "variance": "linearization",
    }
    assert list(results["excluded"]) == [
        "partial",
        "outside_district",
        "duplicate_browser",
        "ip_burst",
        "speeder",
        "straight_liner",
    ]
    assert list(results["subgroups"]) == ["town", "sex", "age_group"]
    cell_keys = ["index", "se", "ci_low", "ci_high", "df", "n", "psus", "cv", "unstable", "suppressed", "reason"]
    for levels in results["subgroups"].values():
        for cells in levels.values():
            assert list(cells) == ["education", "healthcare", "overall"]
            for cell in cells.values():
                assert list(cell) == cell_keys
    assert list(results["sensitivity"]) == ["headline", "note", "weighting", "screening", "channel", "point_type"]
    assert list(results["settings"]) == ["analysis", "digest", "questionnaires"]
    assert list(results["inputs"]) == ["responses"] and len(results["inputs"]["responses"]) == 64
    assert results["version"].startswith("manyi-scoring ")


def test_a_subgroups_overall_is_suppressed_when_one_of_its_domains_is_unstable():
    """Issue 10: a composite cell was not suppressed when a component rested on one respondent."""
    frame = small_responses(800, seed=6)
    few = (frame["town"] == "jinan") & (np.arange(len(frame)) % 20 != 0)  # keep about 1 in 20 in jinan
    for column in [c for c in frame.columns if c.startswith("healthcare.")]:
        frame.loc[few, column] = np.nan
    table = build_analysis_table(validate_responses(frame))
    design = survey_design(table.frame, strata="town", cluster="point")
    estimates = estimate_satisfaction(table, design, stability=Stability(min_n=30, min_psus=2))
    cells = {(s.level, s.domain): s for s in estimates.subgroups if s.variable == "town"}
    thin = cells[("jinan", "healthcare")]
    assert thin.n < 30 and thin.unstable and thin.suppressed
    composite = cells[("jinan", "overall")]
    assert composite.n >= 30 and not composite.unstable  # the level itself is large enough …
    assert composite.suppressed and "unstable component: healthcare" in composite.reason  # … its parts are not
    assert not estimates.domains["healthcare"].index.unstable  # district-wide the domain is fine
    other = cells[("xicheng", "overall")]
    assert not other.suppressed and other.reason is None
