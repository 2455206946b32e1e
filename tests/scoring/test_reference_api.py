"""The api designs of R's survey package: statistics.md's table and full-precision R output.

R: tests/scoring/r/api_reference.R (R 4.2, survey 4.1.1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.design import survey_design
from scoring.estimation import survey_mean, survey_ratio, survey_total
from scoring.proportions import proportion_intervals
from scoring.variance import jackknife_design
from scoring.weighting import Margin, post_stratify, rake

from .results import (
    KALTON_FACTORS,
    KALTON_POPULATION,
    KALTON_SAMPLE,
    POP_SCHWIDE,
    POP_TYPES,
    R_DIR,
    STATISTICS_MD,
    api_reference,
)

TYPES = Margin("stype", tuple(POP_TYPES), tuple(POP_TYPES.values()))
SCHWIDE = Margin("sch.wide", tuple(POP_SCHWIDE), tuple(POP_SCHWIDE.values()))
RELATIVE = 1e-9


@pytest.fixture
def computed(dstrat, dclus1):
    """Every statistic of the statistics.md table, computed here."""
    values = {}
    mean = survey_mean(dstrat, "api00")
    values["strat_mean_api00"], values["strat_mean_api00_se"] = mean.estimate[0], mean.se[0]
    total = survey_total(dstrat, "enroll", na_rm=True)
    values["strat_total_enroll"], values["strat_total_enroll_se"] = total.estimate[0], total.se[0]
    mean = survey_mean(dclus1, "api00")
    values["clus1_mean_api00"], values["clus1_mean_api00_se"] = mean.estimate[0], mean.se[0]
    ratio = survey_ratio(dclus1, "api.stu", "enroll")
    values["clus1_ratio"], values["clus1_ratio_se"] = ratio.estimate[0], ratio.se[0]
    values["jk1_mean_api00_se"] = survey_mean(jackknife_design(dclus1, mse=False), "api00").se[0]
    mean = survey_mean(post_stratify(dclus1, TYPES), "api00")
    values["ps_mean_api00"], values["ps_mean_api00_se"] = mean.estimate[0], mean.se[0]
    mean = survey_mean(rake(dclus1, [TYPES, SCHWIDE]), "api00")
    values["rake_mean_api00"], values["rake_mean_api00_se"] = mean.estimate[0], mean.se[0]
    return values


@pytest.mark.parametrize("name", sorted(STATISTICS_MD))
def test_statistics_md_table_at_printed_precision(computed, name):
    value, tolerance = STATISTICS_MD[name]
    assert abs(computed[name] - value) <= tolerance, f"{name}: {computed[name]!r} vs {value}"


@pytest.mark.parametrize("name", sorted(STATISTICS_MD))
def test_statistics_md_table_at_full_precision(computed, name):
    assert computed[name] == pytest.approx(api_reference()[name], rel=RELATIVE)


def test_kalton_raking_factors():
    """Kalton & Flores-Cervantes (2003), 4 × 3 table over expand.grid(a = 1:4, b = 1:3)."""
    a = np.tile(np.arange(1, 5), 3)
    b = np.repeat(np.arange(1, 4), 4)
    cells = pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "count": KALTON_SAMPLE})
    population = np.asarray(KALTON_POPULATION, dtype=float)
    margins = [
        Margin("a", ("1", "2", "3", "4"), tuple(np.bincount(a - 1, weights=population))),
        Margin("b", ("1", "2", "3"), tuple(np.bincount(b - 1, weights=population))),
    ]
    raked = rake(survey_design(cells, weights="count"), margins)
    factors = (raked.weights / cells["count"].to_numpy()).reshape(3, 4).T  # rows a, columns b
    assert_allclose(np.round(factors, 2), KALTON_FACTORS)
    reference = api_reference()
    expected = [[reference[f"kalton_{i}_{j}"] for j in (1, 2, 3)] for i in (1, 2, 3, 4)]
    assert_allclose(factors, expected, rtol=1e-9)


def test_raked_weights_match_r(dclus1):
    weights = rake(dclus1, [TYPES, SCHWIDE]).weights
    reference = api_reference()
    expected = [reference[f"rake_weight_{i + 1:03d}"] for i in range(len(weights))]
    assert_allclose(weights, expected, rtol=1e-9)


def test_raking_variance_equals_calibrate_raking(dclus1):
    """rake() and calibrate(calfun="raking") agree (equal d_k); so do we, to both."""
    mean = survey_mean(rake(dclus1, [TYPES, SCHWIDE]), "api00")
    reference = api_reference()
    assert mean.se[0] == pytest.approx(reference["calibrate_mean_api00_se"], rel=RELATIVE)
    assert survey_ratio(rake(dclus1, [TYPES, SCHWIDE]), "api.stu", "enroll").se[0] == pytest.approx(
        reference["rake_ratio_se"], rel=RELATIVE
    )


def test_post_stratified_total(dclus1):
    total = survey_total(post_stratify(dclus1, TYPES), "enroll")
    assert total.estimate[0] == pytest.approx(api_reference()["ps_total_enroll"], rel=RELATIVE)
    assert total.se[0] == pytest.approx(api_reference()["ps_total_enroll_se"], rel=RELATIVE)


def test_cluster_total_and_deff(dclus1):
    reference = api_reference()
    total = survey_total(dclus1, "enroll")
    assert total.se[0] == pytest.approx(reference["clus1_total_enroll_se"], rel=RELATIVE)
    assert survey_mean(dclus1, "api00").deff[0] == pytest.approx(reference["clus1_mean_api00_deff"], rel=RELATIVE)


def test_domain_mean_on_the_full_design(dclus1, apiclus1):
    """svymean(~api00, subset(dclus1, stype == "H")) and svyby(~api00, ~stype, svymean)."""
    reference = api_reference()
    domain = survey_mean(dclus1, "api00", domain=(apiclus1["stype"] == "H").to_numpy())
    assert domain.estimate[0] == pytest.approx(reference["clus1_mean_api00_H"], rel=RELATIVE)
    assert domain.se[0] == pytest.approx(reference["clus1_mean_api00_H_se"], rel=RELATIVE)
    assert domain.deff[0] == pytest.approx(reference["clus1_mean_api00_H_deff"], rel=RELATIVE)
    by = survey_mean(dclus1, "api00", by="stype")
    assert by.names == ("api00[stype=E]", "api00[stype=H]", "api00[stype=M]")
    for k, level in enumerate("EHM"):
        assert by.estimate[k] == pytest.approx(reference[f"clus1_by_stype_{level}"], rel=RELATIVE)
        assert by.se[k] == pytest.approx(reference[f"clus1_by_stype_{level}_se"], rel=RELATIVE)


def test_dropping_rows_instead_gives_another_se(dclus1, apiclus1):
    """Subpopulation estimation must not drop rows: doing so changes the SE."""
    rows = apiclus1[apiclus1["stype"] == "H"]
    dropped = survey_mean(survey_design(rows, cluster="dnum", weights="pw", fpc="fpc"), "api00")
    assert dropped.se[0] != pytest.approx(api_reference()["clus1_mean_api00_H_se"], rel=1e-3)


def test_jackknife_mse_true(dclus1):
    se = survey_mean(jackknife_design(dclus1, mse=True), "api00").se[0]
    assert se == pytest.approx(api_reference()["jk1_mse_mean_api00_se"], rel=RELATIVE)


def test_jackknife_replicates_are_re_raked(dclus1):
    """rake(as.svrepdesign(dclus1, mse=TRUE), …): each replicate raked again."""
    raked = rake(dclus1, [TYPES, SCHWIDE])
    replicates = jackknife_design(raked, mse=True)
    assert survey_mean(replicates, "api00").se[0] == pytest.approx(api_reference()["jk1_rake_mean_api00_se"], rel=1e-8)
    # Every replicate meets the margins.
    weights = replicates.replicate_weights()
    stype = raked.data["stype"].to_numpy()
    for level, population in POP_TYPES.items():
        assert_allclose(weights[stype == level].sum(axis=0), population, rtol=1e-9)


@pytest.mark.parametrize("method, name", [("logit", "logit"), ("korn_graubard", "beta")])
def test_proportion_intervals_match_svyciprop(dclus1, apiclus1, method, name):
    reference = api_reference()
    indicator = (apiclus1["sch.wide"] == "Yes").to_numpy(dtype=float)
    interval = proportion_intervals(survey_mean(dclus1, indicator), method=method)
    assert interval.estimate[0] == pytest.approx(reference[f"clus1_prop_{name}"], rel=1e-9)
    assert interval.se[0] == pytest.approx(reference[f"clus1_prop_{name}_se"], rel=1e-9)
    assert interval.ci_low[0] == pytest.approx(reference[f"clus1_prop_{name}_low"], rel=1e-8)
    assert interval.ci_high[0] == pytest.approx(reference[f"clus1_prop_{name}_high"], rel=1e-8)


def test_mean_interval_is_the_t_interval(dclus1, apiclus1):
    reference = api_reference()
    indicator = (apiclus1["sch.wide"] == "Yes").to_numpy(dtype=float)
    low, high = survey_mean(dclus1, indicator).confint()
    assert low[0] == pytest.approx(reference["clus1_prop_mean_low"], rel=1e-9)
    assert high[0] == pytest.approx(reference["clus1_prop_mean_high"], rel=1e-9)


def test_lonely_psu_adjust_matches_r():
    frame = pd.read_csv(R_DIR / "apiclus1_lonely.csv")
    design = survey_design(frame, strata="grp", cluster="dnum", weights="pw", lonely_psu="adjust")
    reference = api_reference()
    assert survey_mean(design, "api00").se[0] == pytest.approx(reference["lonely_mean_api00_se"], rel=RELATIVE)
    assert survey_total(design, "enroll").se[0] == pytest.approx(reference["lonely_total_enroll_se"], rel=RELATIVE)
