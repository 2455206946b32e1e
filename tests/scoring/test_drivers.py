"""Key drivers: Johnson's relative weights, weighted correlations, the engine's jackknife, quadrants, priorities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.design import collection_design, survey_design
from scoring.drivers import (
    DomainDrivers,
    ItemDriver,
    _correlations,
    _moments,
    driver_replicates,
    item_score_frame,
    key_drivers,
    rank_priorities,
)
from scoring.estimation import survey_mean
from scoring.importance import relative_weights
from scoring.questionnaire import DOMAIN_IDS
from scoring.variance import jackknife_design

#: The example of iopsych::relWt (R documentation of iopsych 0.90.1): predictors 1–4,
#: criterion 5.  statistics.md lists the reference output.
IOPSYCH_R = np.array(
    [
        [1.0, 0.2, 0.3, 0.4, -0.4],
        [0.2, 1.0, 0.5, 0.1, 0.1],
        [0.3, 0.5, 1.0, 0.2, -0.3],
        [0.4, 0.1, 0.2, 1.0, 0.4],
        [-0.4, 0.1, -0.3, 0.4, 1.0],
    ]
)
IOPSYCH_EPS = np.array([0.24066119, 0.05492664, 0.12143476, 0.28158189])
IOPSYCH_R2 = 0.6986045


def test_relative_weights_reproduce_iopsych():
    result = relative_weights(IOPSYCH_R[:4, :4], IOPSYCH_R[:4, 4])
    assert_allclose(result.weights, IOPSYCH_EPS, atol=5e-9)
    assert result.r_squared == pytest.approx(IOPSYCH_R2, abs=5e-8)
    assert_allclose(result.shares.sum(), 1.0)


def design_of(weights, strata=None, clusters=None):
    """A design for rows with these weights (and optionally strata and clusters)."""
    n = len(weights)
    frame = pd.DataFrame({"stratum": strata if strata is not None else np.zeros(n)})
    if clusters is not None:
        frame["cluster"] = np.asarray(clusters)
    return survey_design(
        frame,
        strata="stratum" if strata is not None else None,
        cluster="cluster" if clusters is not None else None,
        weights=np.asarray(weights, dtype=float),
    )


def data_with_exact_correlation(correlation: np.ndarray, weights: np.ndarray, seed: int = 0) -> np.ndarray:
    """Rows whose *weighted* correlation matrix is exactly ``correlation``."""
    rng = np.random.default_rng(seed)
    n, k = len(weights), correlation.shape[0]
    z = rng.standard_normal((n, k))
    p = weights / weights.sum()
    z -= p @ z
    covariance = (z * p[:, None]).T @ z
    z = z @ np.linalg.inv(np.linalg.cholesky(covariance)).T  # weighted covariance = I
    return z @ np.linalg.cholesky(correlation).T


@pytest.mark.parametrize("weighted", [False, True])
def test_key_drivers_reproduce_iopsych_from_respondent_data(weighted):
    rng = np.random.default_rng(3)
    n = 600
    weights = rng.uniform(0.3, 3.0, n) if weighted else np.ones(n)
    values = data_with_exact_correlation(IOPSYCH_R, weights)
    codes = ["education.a", "education.b", "education.c", "education.d", "education.overall"]
    scores = pd.DataFrame(60 + 12 * values, columns=codes)  # correlations ignore the scale
    analysis = key_drivers(scores, design_of(weights))
    education = analysis.domains["education"]
    assert_allclose([item.importance for item in education.items], IOPSYCH_EPS, atol=1e-8)
    assert education.r_squared == pytest.approx(IOPSYCH_R2, abs=1e-7)
    assert_allclose([item.importance_share for item in education.items], IOPSYCH_EPS / IOPSYCH_EPS.sum(), atol=1e-8)


def test_unweighted_data_does_not_match_when_weights_matter():
    """The weights are used: the same rows with their weights ignored give other values."""
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.1, 5.0, 600)
    values = data_with_exact_correlation(IOPSYCH_R, weights)
    codes = ["education.a", "education.b", "education.c", "education.d", "education.overall"]
    unweighted = key_drivers(pd.DataFrame(values, columns=codes), design_of(np.ones(600))).domains["education"]
    assert not np.allclose([item.importance for item in unweighted.items], IOPSYCH_EPS, atol=1e-4)


def weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    return cov / np.sqrt(np.average((x - mx) ** 2, weights=w) * np.average((y - my) ** 2, weights=w))


def test_pairwise_weighted_correlations_use_the_rows_where_both_are_present():
    rng = np.random.default_rng(5)
    values = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    values[rng.random(values.shape) < 0.2] = np.nan
    weights = rng.uniform(0.5, 2.0, 300)
    correlation = _correlations(_moments(values, weights))
    for i in range(4):
        for j in range(4):
            both = ~np.isnan(values[:, i]) & ~np.isnan(values[:, j])
            expected = 1.0 if i == j else weighted_corr(values[both, i], values[both, j], weights[both])
            assert correlation[i, j] == pytest.approx(expected, abs=1e-12)


def test_item_score_frame_scales_to_0_100():
    frame = pd.DataFrame({"response_id": ["a", "b", "c"], "education.q1": [1, 5, None], "education.overall": [3, 4, 2]})
    scores = item_score_frame(frame)
    assert list(scores.columns) == ["education.q1", "education.overall"]
    assert_allclose(scores["education.q1"].to_numpy(), [0.0, 100.0, np.nan])
    assert_allclose(scores["education.overall"].to_numpy(), [50.0, 75.0, 25.0])


# --------------------------------------------------------------------------- jackknife


def brute_force_jackknife_se(values, weights, strata, clusters):
    """JKn by recomputing the weighted mean with explicit replicate weights."""
    estimate = np.average(values, weights=weights)
    variance = 0.0
    for stratum in np.unique(strata):
        in_stratum = strata == stratum
        psus = np.unique(clusters[in_stratum])
        n_h = len(psus)
        for psu in psus:
            replicate = weights.copy()
            replicate[in_stratum] *= n_h / (n_h - 1)
            replicate[in_stratum & (clusters == psu)] = 0.0
            variance += (n_h - 1) / n_h * (np.average(values, weights=replicate) - estimate) ** 2
    return np.sqrt(variance)


def synthetic_item_scores(n=1500, seed=2):
    from tests.scoring.report_data import synthetic_responses

    responses = synthetic_responses(n, seed)
    # Only rows collected at a point: the brute-force jackknife below takes the point's town
    # as the stratum and the point as the PSU (phone and paper rows have neither).
    responses = responses[responses["point"].fillna("").astype(str) != ""].reset_index(drop=True)
    return responses, item_score_frame(responses)


def synthetic_design(responses, weights=None):
    """The stratified (the point's town), clustered (point) design of synthetic responses."""
    weights = np.ones(len(responses)) if weights is None else weights
    return design_of(weights, responses["point_town"].to_numpy(), responses["point"].to_numpy())


def raked_design(responses):
    """The synthetic responses raked to their towns' and sexes' shares of a population."""
    from scoring.weighting import Margin, rake

    frame = responses.reset_index(drop=True)
    towns = tuple(sorted(frame["town"].unique()))
    total = 1000.0 * sum(1 + k % 3 for k in range(len(towns)))
    margins = [
        Margin("town", towns, tuple(1000.0 * (1 + k % 3) for k in range(len(towns)))),
        Margin("sex", ("male", "female"), (0.49 * total, 0.51 * total)),
    ]
    return rake(collection_design(frame), margins)


def test_performance_se_is_the_stratified_jackknife():
    responses, scores = synthetic_item_scores()
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.5, 2.0, len(scores))
    strata, clusters = responses["point_town"].to_numpy(), responses["point"].to_numpy()
    analysis = key_drivers(scores, synthetic_design(responses, weights))
    assert analysis.method == "jackknife"
    item = analysis.domains["healthcare"].items[0]
    answered = ~np.isnan(scores[item.item].to_numpy())
    expected = brute_force_jackknife_se(
        scores[item.item].to_numpy()[answered], weights[answered], strata[answered], clusters[answered]
    )
    assert item.performance_se == pytest.approx(expected, rel=1e-9)
    assert item.performance == pytest.approx(
        np.average(scores[item.item].to_numpy()[answered], weights=weights[answered])
    )


def test_drivers_use_the_engines_jackknife_with_every_replicate_re_raked():
    """One jackknife: on a raked design the performance SE is svymean's on the engine's
    JKn replicate design (scoring.variance.jackknife_design), re-raked replicates included."""
    responses, scores = synthetic_item_scores()
    design = raked_design(responses)
    analysis = key_drivers(scores, design)
    replicates = jackknife_design(design)
    assert analysis.method == "jackknife" and analysis.replicates == replicates.n_replicates == design.n_psu
    assert analysis.df == design.degrees_of_freedom
    for item in analysis.domains["transport"].items[:3]:
        engine = survey_mean(replicates, scores[item.item].to_numpy(), na_rm=True)
        assert item.performance == pytest.approx(float(engine.estimate[0]), rel=1e-12)
        assert item.performance_se == pytest.approx(float(engine.se[0]), rel=1e-9)


def test_re_raked_replicates_are_statistically_equivalent_to_the_old_held_weights_plan():
    """The drivers used to hold the raked weights fixed in their own JKn plan.  The engine's
    jackknife re-rakes every replicate (R's variance for a raked design): the point estimates
    are identical and the SEs of the same size, differing by the raking's own contribution
    (measured here: importance SE ratios 0.87–1.33, median 1.05; performance 0.76–1.49, median 1.11)."""
    responses, scores = synthetic_item_scores()
    design = raked_design(responses)
    new = key_drivers(scores, design)
    held = key_drivers(scores, synthetic_design(responses, design.weights))  # old plan: weights held fixed
    ratios = []
    for domain, drivers in new.domains.items():
        for item, old in zip(drivers.items, held.domains[domain].items):
            assert item.importance == pytest.approx(old.importance, rel=1e-9)
            assert item.performance == pytest.approx(old.performance, rel=1e-9)
            ratios += [item.importance_se / old.importance_se, item.performance_se / old.performance_se]
    ratios = np.array(ratios)
    assert 0.95 < np.median(ratios) < 1.15
    assert np.all((ratios > 0.7) & (ratios < 1.6))


def test_a_replicate_design_is_used_as_given():
    responses, scores = synthetic_item_scores()
    replicates = jackknife_design(raked_design(responses))
    assert driver_replicates(replicates) is replicates
    assert key_drivers(scores, replicates).replicates == replicates.n_replicates


def test_respondents_without_clusters_beyond_the_jackknife_limit_get_the_seeded_bootstrap():
    _, scores = synthetic_item_scores()
    design = design_of(np.ones(len(scores)))
    analysis = key_drivers(scores, design, max_jackknife_psus=500, bootstrap_replicates=200, seed=3)
    assert analysis.method == "bootstrap" and analysis.replicates == 200
    assert "自助法" in analysis.description
    again = key_drivers(scores, design, max_jackknife_psus=500, bootstrap_replicates=200, seed=3)
    first, second = analysis.domains["education"].items[0], again.domains["education"].items[0]
    assert first.importance_se == second.importance_se  # seeded: reproducible
    for item in analysis.domains["education"].items:
        assert item.importance_ci_low <= item.importance <= item.importance_ci_high
        assert item.performance_ci_low < item.performance < item.performance_ci_high
        assert 0 <= item.share_ci_low <= item.importance_share <= item.share_ci_high <= 1


# --------------------------------------------------------------------------- the analysis


def test_drivers_find_the_synthetic_items_that_matter():
    from scoring.synthetic import generate_survey

    population, sample = generate_survey(12_000, seed=4, population_size=120_000)
    scores = item_score_frame(sample.responses)
    analysis = key_drivers(scores, collection_design(sample.responses))
    truth = population.parameters.aspect_importance
    agreements = 0
    for _domain, drivers in analysis.domains.items():
        estimated = {item.item: item.importance_share for item in drivers.items}
        true_top = max(estimated, key=lambda code: truth[code])
        agreements += max(estimated, key=estimated.get) == true_top
    assert agreements >= 10  # of 12 domains: the most important item is found


def test_quadrants_split_at_the_domain_means():
    _, scores = synthetic_item_scores()
    analysis = key_drivers(scores, design_of(np.ones(len(scores))))
    for drivers in analysis.domains.values():
        assert drivers.importance_mean == pytest.approx(np.mean([i.importance for i in drivers.items]))
        for item in drivers.items:
            important = item.importance >= drivers.importance_mean
            performing = item.performance >= drivers.performance_mean
            expected = {
                (True, False): "concentrate",
                (True, True): "keep_up",
                (False, False): "low_priority",
                (False, True): "possible_overkill",
            }[(important, performing)]
            assert item.quadrant == expected
        assert sum(item.relative_importance for item in drivers.items) == pytest.approx(len(drivers.items))


def make_item(domain, code, share, performance, quadrant, k=4):
    return ItemDriver(
        domain,
        code,
        code,
        share,
        0.0,
        share,
        share,
        share,
        share,
        share,
        share * k,
        performance,
        1.0,
        performance - 2,
        performance + 2,
        100,
        quadrant,
    )


def test_priorities_rank_importance_times_gap_to_target():
    first = DomainDrivers(
        "a",
        "甲",
        (make_item("a", "a.x", 0.5, 70, "concentrate"), make_item("a", "a.y", 0.1, 90, "possible_overkill")),
        0.5,
        0.4,
        0.6,
        100,
        0.25,
        80,
        False,
    )
    second = DomainDrivers(
        "b",
        "乙",
        (make_item("b", "b.x", 0.3, 60, "concentrate"), make_item("b", "b.y", 0.4, 88, "concentrate")),
        0.5,
        0.4,
        0.6,
        100,
        0.25,
        80,
        False,
    )
    ranked = rank_priorities({"a": first, "b": second}, target=85)
    # a.x: 2 × 15 = 30; b.x: 1.2 × 25 = 30, tied, lower performance first; b.y: 1.6 × 0 = 0.
    assert [p.item for p in ranked] == ["b.x", "a.x", "b.y"]
    assert [p.rank for p in ranked] == [1, 2, 3]
    assert ranked[0].score == pytest.approx(30.0) and ranked[1].score == pytest.approx(30.0)
    assert ranked[2].gap == 0.0 and ranked[2].score == 0.0


def test_small_domains_are_skipped_with_a_note():
    _, scores = synthetic_item_scores()
    analysis = key_drivers(scores, design_of(np.ones(len(scores))), min_respondents=10_000)
    assert analysis.domains == {}
    assert len(analysis.notes) == 12 and "未做驱动因素分析" in analysis.notes[0]


def test_labels_come_from_the_questionnaires():
    from scoring.questionnaire import load_questionnaires
    from tests.conftest import QUESTIONNAIRES

    questionnaires = load_questionnaires(QUESTIONNAIRES)
    domain = questionnaires.domains["education"]
    codes = [item.code for item in domain.aspect_items] + ["education.overall"]
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.integers(1, 6, size=(200, len(codes))) * 25.0 - 25.0, columns=codes)
    analysis = key_drivers(scores, design_of(np.ones(200)), questionnaires=questionnaires)
    item = analysis.domains["education"].items[0]
    assert item.label == domain.aspect_items[0].label.zh
    assert analysis.domains["education"].label == "公共教育"


def test_scores_and_design_of_different_responses_are_refused():
    _, scores = synthetic_item_scores()
    with pytest.raises(ValueError, match=f"item_scores has {len(scores)} rows but the design has 3"):
        key_drivers(scores, design_of(np.ones(3)))


def test_to_dict_has_domains_and_priorities():
    import json

    _, scores = synthetic_item_scores()
    data = json.loads(json.dumps(key_drivers(scores, design_of(np.ones(len(scores)))).to_dict()))
    assert data["importance"] == "johnson_relative_weights"
    assert set(data["domains"]) == set(DOMAIN_IDS)
    first = next(iter(data["domains"].values()))
    assert {"r_squared", "items", "importance_mean", "performance_mean"} <= set(first)
    assert {"importance", "importance_ci_low", "performance", "quadrant"} <= set(first["items"][0])
    assert isinstance(data["priorities"], list)
