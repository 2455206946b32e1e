"""The satisfaction pipeline against R's survey package, to 1e-6 relative.

Inputs and R outputs: tests/scoring/r/ (make_pipeline_inputs.py, pipeline_reference.R).
A stratified (town), clustered (point) sample with planned missingness and planted
low-quality responses, raked to town, sex and age-group margins.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from scoring.data import read_margins
from scoring.design import survey_design
from scoring.pipeline import EstimateOptions, run_estimate
from scoring.questionnaire import DOMAIN_IDS
from scoring.satisfaction import estimate_satisfaction
from scoring.screening import ScreeningRules
from scoring.variance import replicate_design

from .conftest import QUESTIONNAIRE_DIR
from .results import R_DIR, pipeline_reference, stats_domain_df_reference

RELATIVE = 1e-6
RESPONSES = R_DIR / "pipeline_responses.csv"
MARGINS = R_DIR / "pipeline_margins.csv"
DOMAIN_WEIGHTS = R_DIR / "pipeline_domain_weights.csv"


#: The R script screens with the rule before issue 10 (straight-lining alone excludes).
LEGACY_SCREENING = ScreeningRules(straight_line_fast_fraction=None)


def options(**changes) -> EstimateOptions:
    base = dict(
        responses=RESPONSES,
        questionnaires=QUESTIONNAIRE_DIR,
        margins=MARGINS,
        strata="town",
        cluster="point",
        screening_rules=LEGACY_SCREENING,
    )
    return EstimateOptions(**{**base, **changes})


@pytest.fixture(scope="module")
def reference():
    return pipeline_reference()


@pytest.fixture(scope="module")
def domain_df():
    return stats_domain_df_reference()


@pytest.fixture(scope="module")
def run():
    return run_estimate(options())


@pytest.fixture(scope="module")
def jackknife_run():
    return run_estimate(options(variance="jackknife"))


def close(value, expected, rel=RELATIVE):
    return value == pytest.approx(expected, rel=rel)


def test_screening_counts_and_sample(run, reference):
    for reason in ("partial", "duplicate_browser", "speeder", "straight_liner"):
        assert run.results["excluded"][reason] == reference[f"excluded_{reason}"]
    assert run.results["overall"]["n"] == reference["n_analysed"]
    assert run.results["overall"]["df"] == reference["df"] == run.results["design"]["df"]


def test_raked_weights(run, reference):
    expected = pd.read_csv(R_DIR / "pipeline_weights.csv", dtype={"response_id": str})
    ours = run.weights_frame().set_index("response_id")["weight"]
    assert_allclose(ours.loc[expected["response_id"]].to_numpy(), expected["weight"].to_numpy(), rtol=1e-9)
    weights = run.results["weights"]
    assert weights["method"] == "raking"
    for key in ("effective_n", "deff", "min", "max"):
        assert close(weights[key], reference[f"weights_{key}"])


@pytest.mark.parametrize("domain", DOMAIN_IDS)
def test_domain_index(run, reference, domain_df, domain):
    result = run.results["domains"][domain]
    assert close(result["index"], reference[f"index_{domain}"])
    assert close(result["se"], reference[f"se_{domain}"])
    # The same estimate as svyratio(~num, ~den) on the full design.
    assert close(result["se"], reference[f"ratio_se_{domain}"])
    assert close(result["deff"], reference[f"deff_{domain}"])
    assert close(result["alpha"], reference[f"alpha_{domain}"])
    assert result["n"] == reference[f"n_{domain}"]
    # The domain's own df: degf(subset(design, has a score)) — employment misses a PSU (23, not 24).
    assert result["df"] == domain_df[f"df_{domain}"] and result["psus"] == domain_df[f"psus_{domain}"]
    half = stats.t.ppf(0.975, domain_df[f"df_{domain}"]) * reference[f"se_{domain}"]
    assert close(result["ci_low"], reference[f"index_{domain}"] - half)
    assert close(result["ci_high"], reference[f"index_{domain}"] + half)
    assert close(result["ci_low"], domain_df[f"ci_low_{domain}"])
    assert close(result["ci_high"], domain_df[f"ci_high_{domain}"])


def test_a_domain_missing_a_psu_has_one_df_less(run, domain_df):
    assert domain_df["df_employment"] == 23 and domain_df["df"] == 24
    assert run.results["domains"]["employment"]["df"] == 23 and run.results["overall"]["df"] == 24


@pytest.mark.parametrize("code", [*DOMAIN_IDS, "overall"])
def test_satisfied_rate_logit_interval(run, reference, domain_df, code):
    rate = (run.results["overall"] if code == "overall" else run.results["domains"][code])["satisfied_rate"]
    assert close(rate["estimate"], reference[f"rate_{code}"])
    assert close(rate["se"], reference[f"rate_se_{code}"])
    # svyciprop's default df: degf of the subset answering (pipeline_reference.R passed the design's).
    assert rate["df"] == domain_df[f"rate_df_{code}"]
    assert close(rate["ci_low"], domain_df[f"rate_low_{code}"])
    assert close(rate["ci_high"], domain_df[f"rate_high_{code}"])
    if rate["df"] == reference["df"]:
        assert close(rate["ci_low"], reference[f"rate_low_{code}"])
        assert close(rate["ci_high"], reference[f"rate_high_{code}"])
    estimates = run.estimates
    counts = estimates.rates.counts[list(estimates.rates.names).index(code if code == "overall" else f"{code}.overall")]
    assert counts == reference[f"rate_n_{code}"]


def test_overall_index_equal_weights(run, reference):
    overall = run.results["overall"]
    assert close(overall["index"], reference["overall_equal"])
    assert close(overall["se"], reference["overall_se_equal"])
    half = stats.t.ppf(0.975, reference["df"]) * reference["overall_se_equal"]
    assert close(overall["ci_low"], reference["overall_equal"] - half)


def test_overall_index_with_a_domain_weights_file(reference):
    overall = run_estimate(options(domain_weights=DOMAIN_WEIGHTS)).results["overall"]
    assert close(overall["index"], reference["overall_file"])
    assert close(overall["se"], reference["overall_se_file"])


def test_overall_variance_includes_domain_covariances(run, reference):
    """Ignoring the covariances between domains gives another SE."""
    estimate = run.estimates.domain_index
    independent = np.sqrt(np.sum((np.full(12, 1 / 12) * estimate.se) ** 2))
    assert not close(independent, reference["overall_se_equal"], rel=1e-2)


@pytest.mark.parametrize(
    "target, metric, key",
    [(85, "index", "target_index_85"), (78, "index", "target_index_78"), (85, "satisfied_rate", "target_rate_85")],
)
def test_target_test_p_value(reference, target, metric, key):
    result = run_estimate(options(target=target, target_metric=metric)).results["target"]
    assert result["metric"] == metric
    assert result["value"] == (target / 100 if metric == "satisfied_rate" else target)
    assert close(result["statistic"], reference[f"{key}_statistic"])
    assert close(result["p_value"], reference[f"{key}_p"])
    expected = {"target_index_85": "not_met", "target_index_78": "inconclusive", "target_rate_85": "met"}[key]
    assert result["verdict"] == expected


def test_subgroups(run, reference, domain_df):
    checked = 0
    for variable, levels in run.results["subgroups"].items():
        for level, cells in levels.items():
            for domain, cell in cells.items():
                key = f"sub_{variable}_{level}_{domain}"
                assert cell["n"] == reference[f"{key}_n"]
                if f"{key}_index" not in reference:
                    assert cell["index"] is None and cell["suppressed"]
                    continue
                assert close(cell["index"], reference[f"{key}_index"])
                assert close(cell["se"], reference[f"{key}_se"])
                assert close(cell["cv"], reference[f"{key}_se"] / reference[f"{key}_index"])
                assert cell["df"] == domain_df[f"{key}_df"]
                half = stats.t.ppf(0.975, cell["df"]) * cell["se"] if cell["df"] > 0 else math.nan
                assert cell["ci_low"] is None if cell["df"] == 0 else close(cell["ci_low"], cell["index"] - half)
                # Unstable below 30 respondents, 5 PSUs or 1 df; suppressed when unstable, n < 30 or CV > 0.3,
                # and a level's overall when one of its domains is unstable.
                unstable = cell["n"] < 30 or cell["psus"] < 5 or cell["df"] < 1
                assert cell["unstable"] == unstable
                weak = domain == "overall" and any(cells[d]["unstable"] for d in cells if d != "overall")
                assert cell["suppressed"] == (unstable or cell["cv"] > 0.3 or weak)
                checked += 1
    assert checked == (12 + 2 + 4) * 13 == sum(1 for k in reference if k.startswith("sub_") and k.endswith("_index"))


@pytest.mark.parametrize("domain", DOMAIN_IDS)
def test_jackknife_domain_se(jackknife_run, reference, domain):
    result = jackknife_run.results["domains"][domain]
    assert close(result["index"], reference[f"jk_index_{domain}"])
    assert close(result["se"], reference[f"jk_se_{domain}"])


def test_jackknife_overall_and_rates(jackknife_run, reference, domain_df):
    assert jackknife_run.variance_design.n_replicates == reference["jk_replicates"]
    overall = jackknife_run.results["overall"]
    assert close(overall["se"], reference["jk_overall_se_equal"])
    assert jackknife_run.results["design"]["variance"] == "jackknife"
    for code in [*DOMAIN_IDS, "overall"]:
        rate = (overall if code == "overall" else jackknife_run.results["domains"][code])["satisfied_rate"]
        assert close(rate["se"], reference[f"jk_rate_se_{code}"])
        # svyciprop on a replicate design: logit of every replicate, on the rate's own df.
        assert close(rate["ci_low"], domain_df[f"jk_rate_low_{code}"])
        assert close(rate["ci_high"], domain_df[f"jk_rate_high_{code}"])


def test_jackknife_overall_with_domain_weights(reference):
    overall = run_estimate(options(variance="jackknife", domain_weights=DOMAIN_WEIGHTS)).results["overall"]
    assert close(overall["se"], reference["jk_overall_se_file"])


def test_bootstrap_with_rs_replicate_factors(run, reference):
    """R's subbootstrap draws (exported), every replicate re-raked: same SEs."""
    factors = pd.read_csv(R_DIR / "pipeline_bootstrap_factors.csv")
    by_psu = {
        f"{t}/{p}": row for t, p, row in zip(factors["town"], factors["point"], factors.filter(like="r").to_numpy())
    }
    matrix = np.array([by_psu[level] for level in run.design.clusters.levels])
    replicates = replicate_design(run.design, matrix, scale=1 / (matrix.shape[1] - 1), mse=True, method="bootstrap")
    assert replicates.scale == pytest.approx(reference["boot_scale"])
    estimates = estimate_satisfaction(run.table, replicates)
    for _d, domain in enumerate(DOMAIN_IDS):
        assert close(estimates.domains[domain].index.se, reference[f"boot_se_{domain}"])
    assert close(estimates.overall.index.se, reference["boot_overall_se_equal"])
    for code in DOMAIN_IDS:
        assert close(estimates.domains[code].satisfied_rate.se, reference[f"boot_rate_se_{code}"])


def test_unequal_base_weights_match_calibrate_raking(reference):
    """With unequal d_k the residuals are fitted with d_k: R's calibrate(calfun="raking")."""
    weighted = run_estimate(options(responses=R_DIR / "pipeline_responses_weighted.csv"))
    for domain in DOMAIN_IDS:
        result = weighted.results["domains"][domain]
        assert close(result["index"], reference[f"weighted_index_{domain}"])
        assert close(result["se"], reference[f"weighted_se_{domain}"])
    assert close(weighted.results["overall"]["se"], reference["weighted_overall_se"])
    # R's rake() fits its residuals without weights (backfitting on unweighted means):
    # with unequal d_k that is a different — and, per statistics.md, wrong — variance.
    assert not close(weighted.results["domains"]["education"]["se"], reference["weighted_rake_se_education"], rel=1e-3)


def _variance_by_hand(run, domain: str, fit_with: str) -> float:
    """Linearized variance of a raked domain index written out row by row (numpy only)."""
    design = run.design
    frame = run.table.frame
    score = run.table.domain_score(domain)
    present = ~np.isnan(score)
    weights = design.weights
    base = design.base_weights
    total = weights[present].sum()
    theta = (weights[present] * score[present]).sum() / total
    z = np.where(present, (np.where(present, score, 0.0) - theta) / total, 0.0)
    x = pd.get_dummies(frame[["town", "sex", "age_group"]].astype(str)).to_numpy(dtype=float)
    fit = base if fit_with == "d" else weights
    beta = np.linalg.lstsq(x.T @ (fit[:, None] * x), x.T @ (fit * z), rcond=None)[0]
    residual = weights * (z - x @ beta)
    psu = frame["town"].astype(str) + "/" + frame["point"].astype(str)
    totals = pd.Series(residual).groupby(psu.to_numpy()).sum()
    stratum = totals.index.str.split("/").str[0]
    variance = 0.0
    for _, group in totals.groupby(stratum):
        n = len(group)
        variance += n / (n - 1) * ((group - group.mean()) ** 2).sum()
    return float(np.sqrt(variance))


@pytest.mark.parametrize("domain", ["education", "healthcare", "elderly_care"])
def test_calibration_residuals_use_weights_before_calibration(run, reference, domain):
    right = _variance_by_hand(run, domain, "d")
    wrong = _variance_by_hand(run, domain, "w")
    assert close(right, reference[f"se_{domain}"])
    assert close(run.results["domains"][domain]["se"], right)
    assert not close(wrong, reference[f"se_{domain}"], rel=1e-4)


def test_skipping_the_calibration_residuals_overstates_the_se(run, reference):
    naive = survey_design(run.table.frame, strata="town", cluster="point", weights=run.weights)
    from scoring.estimation import survey_mean

    se = survey_mean(naive, run.table.domain_score("healthcare"), na_rm=True).se[0]
    assert close(se, reference["naive_se_healthcare"])
    assert se > run.results["domains"]["healthcare"]["se"] * 1.01


def test_margins_file_reads_as_r_does():
    margins = read_margins(MARGINS)
    assert [m.variable for m in margins] == ["town", "sex", "age_group"]
    assert len({m.total for m in margins}) == 1
