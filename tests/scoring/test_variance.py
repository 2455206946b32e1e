"""Linearization details, lonely PSUs, and the replicate designs (JKn, Rao–Wu bootstrap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.design import survey_design
from scoring.errors import DesignError, RakingError
from scoring.estimation import survey_mean, survey_total
from scoring.variance import MAX_JACKKNIFE_REPLICATES, bootstrap_design, jackknife_design, replicate_design
from scoring.weighting import Margin, margins_from_frame, rake

from .support import small_margins, small_responses


def stratified_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for stratum, n_psu in (("a", 3), ("b", 4), ("c", 2)):
        for psu in range(n_psu):
            for _ in range(rng.integers(5, 12)):
                rows.append((stratum, f"{stratum}{psu}", rng.normal(10 + psu, 2), rng.uniform(0.5, 2.0)))
    return pd.DataFrame(rows, columns=["stratum", "psu", "y", "w"])


def test_linearized_total_is_the_textbook_formula():
    frame = stratified_frame()
    design = survey_design(frame, strata="stratum", cluster="psu", weights="w")
    expected = 0.0
    for _, group in frame.assign(t=frame["w"] * frame["y"]).groupby("stratum"):
        totals = group.groupby("psu")["t"].sum()
        n = len(totals)
        expected += n / (n - 1) * ((totals - totals.mean()) ** 2).sum()
    assert survey_total(design, "y").se[0] == pytest.approx(np.sqrt(expected), rel=1e-12)


def test_lonely_psu_fails_with_the_stratum_named():
    frame = stratified_frame()
    frame.loc[frame["stratum"] == "c", "psu"] = "c0"
    design = survey_design(frame, strata="stratum", cluster="psu", weights="w")
    with pytest.raises(DesignError, match="stratum 'c' has only one PSU.*--lonely-psu adjust"):
        _ = survey_mean(design, "y").se
    with pytest.raises(DesignError, match="stratum 'c' has only one PSU"):
        jackknife_design(design)


def test_lonely_psu_adjust_centres_at_zero():
    frame = stratified_frame()
    frame.loc[frame["stratum"] == "c", "psu"] = "c0"
    adjusted = survey_design(frame, strata="stratum", cluster="psu", weights="w", lonely_psu="adjust")
    mean = survey_mean(adjusted, "y")
    # By hand: stratum c's single PSU total of the influence values, uncentred.
    theta = mean.estimate[0]
    total = frame["w"].sum()
    influence = frame["w"] * (frame["y"] - theta) / total
    expected = 0.0
    for _stratum, group in frame.assign(z=influence).groupby("stratum"):
        totals = group.groupby("psu")["z"].sum()
        n = len(totals)
        expected += (totals**2).sum() if n == 1 else n / (n - 1) * ((totals - totals.mean()) ** 2).sum()
    assert mean.se[0] == pytest.approx(np.sqrt(expected), rel=1e-12)
    replicates = jackknife_design(adjusted)
    lonely = replicates.psu_factors[:, adjusted.clusters.levels.index("c/c0")]
    assert lonely[adjusted.clusters.levels.index("c/c0")] == 0
    assert_allclose(np.delete(lonely, adjusted.clusters.levels.index("c/c0")), 3 / 2)


def test_jackknife_factors_and_scales():
    frame = stratified_frame()
    design = survey_design(frame, strata="stratum", cluster="psu", weights="w")
    replicates = jackknife_design(design)
    assert replicates.n_replicates == design.n_psu == 9
    for r, level in enumerate(design.clusters.levels):
        stratum = level.split("/")[0]
        n_h = {"a": 3, "b": 4, "c": 2}[stratum]
        column = replicates.psu_factors[:, r]
        same = [k for k, other in enumerate(design.clusters.levels) if other.startswith(stratum + "/")]
        assert column[r] == 0
        assert_allclose(np.delete(column[same], same.index(r)), n_h / (n_h - 1))
        assert_allclose(np.delete(column, same), 1.0)
        assert replicates.rscales[r] == pytest.approx((n_h - 1) / n_h)
    # For a linear statistic the JKn variance equals the linearization variance.
    assert survey_total(replicates, "y").se[0] == pytest.approx(survey_total(design, "y").se[0], rel=1e-10)


def test_jackknife_refuses_too_many_psus():
    frame = pd.DataFrame({"y": np.arange(MAX_JACKKNIFE_REPLICATES + 1.0)})
    with pytest.raises(DesignError, match="one replicate per PSU"):
        jackknife_design(survey_design(frame))


def test_bootstrap_is_seeded_and_rao_wu():
    frame = stratified_frame()
    design = survey_design(frame, strata="stratum", cluster="psu", weights="w")
    first = bootstrap_design(design, replicates=200, seed=7)
    assert_allclose(first.psu_factors, bootstrap_design(design, replicates=200, seed=7).psu_factors)
    assert not np.allclose(first.psu_factors, bootstrap_design(design, replicates=200, seed=8).psu_factors)
    # n_h − 1 draws per stratum, rescaled by n_h/(n_h − 1): the factors of a stratum add to n_h.
    for stratum, n_h in (("a", 3), ("b", 4), ("c", 2)):
        rows = [k for k, level in enumerate(design.clusters.levels) if level.startswith(stratum + "/")]
        assert_allclose(first.psu_factors[rows].sum(axis=0), n_h)
    assert first.scale == pytest.approx(1 / 199)


def test_bootstrap_variance_of_a_total_is_unbiased():
    """E[Rao–Wu variance] equals the linearization variance for a linear statistic."""
    frame = stratified_frame()
    design = survey_design(frame, strata="stratum", cluster="psu", weights="w")
    bootstrap = survey_total(bootstrap_design(design, replicates=20_000, seed=1, mse=True), "y").se[0]
    assert bootstrap == pytest.approx(survey_total(design, "y").se[0], rel=0.03)


def test_bootstrap_refuses_lonely_psus_and_fpc():
    frame = stratified_frame()
    frame.loc[frame["stratum"] == "c", "psu"] = "c0"
    with pytest.raises(DesignError, match="stratum 'c' has only one PSU; the bootstrap needs at least two"):
        bootstrap_design(survey_design(frame, strata="stratum", cluster="psu", lonely_psu="adjust"))
    frame = stratified_frame().assign(fpc=1000)
    with pytest.raises(DesignError, match="finite population correction"):
        bootstrap_design(survey_design(frame, strata="stratum", cluster="psu", fpc="fpc"))


def test_replicate_that_empties_a_margin_level_is_named():
    frame = small_responses(300, seed=4)
    # Make one age group appear in a single PSU only.
    frame.loc[frame["age_group"] == "60+", "age_group"] = "45-59"
    frame.loc[frame["point"] == "xicheng-p1", "age_group"] = "60+"
    margins = margins_from_frame(small_margins(frame))
    design = rake(survey_design(frame, strata="town", cluster="point"), margins)
    with pytest.raises(
        RakingError, match="jackknife replicate without PSU 'xicheng/xicheng-p1'.*age_group level '60\\+'"
    ):
        jackknife_design(design)


def test_replicate_design_checks_its_factors():
    design = survey_design(stratified_frame(), strata="stratum", cluster="psu")
    with pytest.raises(DesignError, match="one row per PSU"):
        replicate_design(design, np.ones((3, 4)), scale=1.0)


def test_undefined_replicate_estimates_are_left_out():
    """A domain only in one PSU of a stratum: the replicate dropping it is left out, as R does."""
    frame = stratified_frame()
    domain = frame["psu"] == "a0"
    replicates = jackknife_design(survey_design(frame, strata="stratum", cluster="psu", weights="w"), mse=True)
    mean = survey_mean(replicates, "y", domain=domain.to_numpy())
    assert np.isnan(mean.replicates).sum() == 1
    assert np.isfinite(mean.se[0])


def test_replicate_weights_meet_the_margins_in_every_replicate():
    frame = small_responses(300, seed=6)
    margins = margins_from_frame(small_margins(frame))
    design = rake(survey_design(frame, strata="town", cluster="point"), margins)
    for replicates in (jackknife_design(design), bootstrap_design(design, replicates=30, seed=2)):
        weights = replicates.replicate_weights()
        for margin in margins:
            values = frame[margin.variable].to_numpy()
            for level, population in zip(margin.levels, margin.population):
                assert_allclose(weights[values == level].sum(axis=0), population, rtol=1e-9)


def test_calibration_shrinks_the_variance_of_a_calibration_variable():
    """The share of a raking variable is known exactly after raking: its SE is ~0."""
    frame = small_responses(300, seed=7)
    design = rake(survey_design(frame, strata="town", cluster="point"), margins_from_frame(small_margins(frame)))
    share = survey_mean(design, (frame["sex"] == "male").to_numpy(float))
    assert share.estimate[0] == pytest.approx(0.51)
    assert share.se[0] < 1e-8
    one_margin = rake(
        survey_design(frame, strata="town", cluster="point"), [Margin("sex", ("male", "female"), (510.0, 490.0))]
    )
    assert survey_mean(one_margin, (frame["sex"] == "male").to_numpy(float)).se[0] < 1e-8


@pytest.mark.parametrize("calibrated", [False, True])
def test_sparse_influence_gives_the_dense_variances(calibrated):
    """Subgroup tables pass sparse influence; the term-by-term variance equals the dense one
    (lonely strata adjusted, calibration residuals included)."""
    import scipy.sparse as sparse

    from scoring.design import collection_design
    from scoring.variance import linearized_variance
    from scoring.weighting import margins_from_frame, rake

    from .support import point_town_responses, small_margins

    frame = point_town_responses(300, seed=5)
    frame.loc[frame["point"] == "mashan-hall", "point_town"] = "libu"  # a town with one point: lonely
    design = collection_design(frame)
    assert (design.psu_per_stratum == 1).any()
    if calibrated:
        design = rake(design, margins_from_frame(small_margins(frame)))
    rng = np.random.default_rng(2)
    dense = rng.normal(size=(design.cells.n_cells, 40)) * (rng.random((design.cells.n_cells, 40)) < 0.2)
    expected = linearized_variance(design, dense)
    assert np.allclose(linearized_variance(design, sparse.csr_matrix(dense)), expected, rtol=1e-10, atol=0)
    full = linearized_variance(design, sparse.csr_matrix(dense), full=True)
    assert np.allclose(np.diag(full), expected, rtol=1e-10)


def test_what_a_design_shares_is_built_once_for_it_and_for_no_other_design():
    """The calibration fit, the PSU scales and the dummies are kept per design (a run asks
    for hundreds of variances on one design); a raked copy of a design gets its own, and
    each gives what a fresh computation gives."""
    from scoring import variance
    from scoring.design import collection_design

    from .support import point_town_responses

    frame = point_town_responses(300, seed=5)
    unraked = collection_design(frame)
    raked = rake(unraked, margins_from_frame(small_margins(frame)))
    influence = np.random.default_rng(4).normal(size=(unraked.cells.n_cells, 5))
    raked_influence = np.random.default_rng(4).normal(size=(raked.cells.n_cells, 5))

    def fresh(design, values):
        variance._BASES.clear()
        return variance.linearized_variance(design, values)

    expected_unraked, expected_raked = fresh(unraked, influence), fresh(raked, raked_influence)
    variance._BASES.clear()
    assert np.array_equal(variance.linearized_variance(unraked, influence), expected_unraked)
    assert np.array_equal(variance.linearized_variance(raked, raked_influence), expected_raked)
    assert np.array_equal(variance.linearized_variance(unraked, influence), expected_unraked)
    assert set(variance._BASES) == {unraked, raked}
    assert variance._BASES[unraked].x is None and variance._BASES[raked].x is not None
    del raked
    import gc

    gc.collect()
    assert set(variance._BASES) == {unraked}  # kept no longer than its design
