"""The design of what Manyi collects, against R's survey package, to 1e-6 relative (issue 10).

Inputs and R outputs: tests/scoring/r/ (make_design_inputs.py, design_reference.R).  A
small wave in three towns: PSU = collection point, strata = the point's town
(``point_town``), a quarter of the residents answering at a point outside their town of
residence, phone and paper rows without a point forming one stratum per channel with
each respondent its own PSU, lonely PSUs "adjust", raked to residence town × sex × age
group.  One domain is answered by 15 residents at 3 points in 2 strata (its df is
``degf(subset(design, …))`` = 1); a second table has two strata with a single PSU; the
``monitoring`` mapping (x/K × 100) is checked on the same data.

The first test checks the fixtures themselves; the others run the engine with the
design options (``strata="point_town"``, ``cluster="point"``, ``lonely_psu="adjust"``,
``mapping``, ``min_n``, ``min_psus``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scoring.errors import ScoringInputError
from scoring.pipeline import EstimateOptions, run_estimate
from scoring.questionnaire import DOMAIN_IDS

from .results import R_DIR

RELATIVE = 1e-6
RESPONSES = R_DIR / "design_responses.csv"
LONELY_RESPONSES = R_DIR / "design_lonely_responses.csv"
MARGINS = R_DIR / "design_margins.csv"
SMALL_DOMAIN = "sports"


def options(**changes) -> EstimateOptions:
    """The default design of ``manyi score``; every domain (≥ 2 PSUs) kept stable so all are compared."""
    base = dict(
        responses=RESPONSES,
        margins=MARGINS,
        strata="point_town",
        cluster="point",
        lonely_psu="adjust",
        min_n=1,
        min_psus=2,
    )
    return EstimateOptions(**{**base, **changes})


def read_reference(name: str) -> dict[str, float]:
    """An R fixture of ``statistic,value`` rows (``tests/scoring/r/<name>``) as a dict."""
    table = pd.read_csv(R_DIR / name)
    return dict(zip(table["statistic"], table["value"].astype(float)))


@pytest.fixture(scope="module")
def reference() -> dict[str, float]:
    return read_reference("design_reference.csv")


@pytest.fixture(scope="module")
def run():
    return run_estimate(options())


@pytest.fixture(scope="module")
def monitoring_run():
    return run_estimate(options(mapping="monitoring"))


@pytest.fixture(scope="module")
def lonely_run():
    return run_estimate(options(responses=LONELY_RESPONSES))


def close(value, expected, rel=RELATIVE) -> bool:
    return value == pytest.approx(expected, rel=rel)


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"response_id": str, "wave": str})


def _check_domain(result: dict, reference: dict[str, float], prefix: str, domain: str) -> None:
    key = f"{prefix}{{}}_{domain}".format
    assert close(result["index"], reference[key("index")])
    assert close(result["se"], reference[key("se")])
    assert result["n"] == reference[key("n")]
    assert result["df"] == reference[key("df")]
    assert close(result["ci_low"], reference[key("ci_low")])
    assert close(result["ci_high"], reference[key("ci_high")])


def _check_rate(rate: dict, reference: dict[str, float], prefix: str, code: str) -> None:
    key = f"{prefix}{{}}_{code}".format
    assert close(rate["estimate"], reference[key("rate")])
    assert close(rate["se"], reference[key("rate_se")])
    assert close(rate["ci_low"], reference[key("rate_low")])
    assert close(rate["ci_high"], reference[key("rate_high")])


def _check_overall(overall: dict, reference: dict[str, float], prefix: str) -> None:
    assert close(overall["index"], reference[f"{prefix}overall"])
    assert close(overall["se"], reference[f"{prefix}overall_se"])
    assert overall["df"] == reference[f"{prefix}df"]
    assert close(overall["ci_low"], reference[f"{prefix}overall_ci_low"])
    assert close(overall["ci_high"], reference[f"{prefix}overall_ci_high"])


# --------------------------------------------------------------------------- the fixtures


def test_the_fixtures_hold_the_cases_of_issue_10(reference):
    responses = _read(RESPONSES)
    without_point = responses["point"].isna()
    assert set(responses.loc[without_point, "channel"]) == {"phone", "paper"}
    assert responses.loc[without_point, "point_town"].isna().all()
    assert responses.loc[~without_point, "point_town"].notna().all()
    at_point = responses[~without_point]
    assert at_point["point_town"].nunique() == 3 and at_point["point"].nunique() == 9
    assert 0.2 < (at_point["town"] != at_point["point_town"]).mean() < 0.3  # residents answering elsewhere
    # A point stands in one town; its residents come from several.
    assert at_point.groupby("point")["point_town"].nunique().eq(1).all()
    assert at_point.groupby("point")["town"].nunique().max() >= 3
    # psu = point or response_id, stratum = point_town or channel:<channel>: #PSU − #strata.
    psus = at_point["point"].nunique() + without_point.sum()
    strata = 3 + responses.loc[without_point, "channel"].nunique()
    assert reference["df"] == psus - strata == 47

    small = responses[[c for c in responses if c.startswith(f"{SMALL_DOMAIN}.")]].notna().any(axis=1)
    members = responses[small]
    assert len(members) == 15 == reference[f"n_{SMALL_DOMAIN}"]
    assert members["point"].nunique() == 3 and members["point_town"].nunique() == 2
    assert reference[f"df_{SMALL_DOMAIN}"] == 1 == reference[f"psus_{SMALL_DOMAIN}"] - 2
    half = stats.t.ppf(0.975, 1) * reference[f"se_{SMALL_DOMAIN}"]
    assert close(reference[f"ci_high_{SMALL_DOMAIN}"], reference[f"index_{SMALL_DOMAIN}"] + half, rel=1e-12)

    lonely = _read(LONELY_RESPONSES)
    stratum = np.where(lonely["point"].isna(), "channel:" + lonely["channel"], lonely["point_town"].astype(str))
    psu = np.where(lonely["point"].isna(), lonely["response_id"], lonely["point"].astype(str))
    psus_per_stratum = pd.Series(psu).groupby(stratum).nunique()
    assert sorted(psus_per_stratum[psus_per_stratum == 1].index) == ["channel:paper", "mashan"]
    assert reference["lonely_strata_with_one_psu"] == 2

    for domain in DOMAIN_IDS:  # monitoring = 20 + 0.8 × linear on five-point items
        assert close(reference[f"monitoring_index_{domain}"], 20 + 0.8 * reference[f"index_{domain}"], rel=1e-12)
        assert close(reference[f"monitoring_se_{domain}"], 0.8 * reference[f"se_{domain}"], rel=1e-12)
        assert reference[f"monitoring_rate_{domain}"] == reference[f"rate_{domain}"]


# --------------------------------------------------------------------------- the engine


def test_design_and_degrees_of_freedom(run, reference):
    assert run.results["design"]["df"] == reference["df"]
    assert run.results["overall"]["df"] == reference["df"]
    assert run.results["overall"]["n"] == reference["n"]


def test_raked_weights(run, reference):
    expected = pd.read_csv(R_DIR / "design_weights.csv", dtype={"response_id": str})
    ours = run.weights_frame().set_index("response_id")["weight"]
    np.testing.assert_allclose(ours.loc[expected["response_id"]].to_numpy(), expected["weight"].to_numpy(), rtol=1e-9)
    assert close(run.results["weights"]["effective_n"], reference["weights_effective_n"])


@pytest.mark.parametrize("domain", DOMAIN_IDS)
def test_domain_index_se_df_and_interval(run, reference, domain):
    _check_domain(run.results["domains"][domain], reference, "", domain)


@pytest.mark.parametrize("code", [*DOMAIN_IDS, "overall"])
def test_satisfied_rate_logit_interval(run, reference, code):
    rate = (run.results["overall"] if code == "overall" else run.results["domains"][code])["satisfied_rate"]
    _check_rate(rate, reference, "", code)


def test_overall_index_and_its_linearized_se(run, reference):
    _check_overall(run.results["overall"], reference, "")


def test_a_15_resident_domain_has_the_df_of_its_own_psus(run, reference):
    result = run.results["domains"][SMALL_DOMAIN]
    assert result["n"] == 15
    assert result["df"] == reference[f"df_{SMALL_DOMAIN}"] == 1  # not the design's 47
    half = stats.t.ppf(0.975, 1) * reference[f"se_{SMALL_DOMAIN}"]
    assert close(result["ci_high"] - result["ci_low"], 2 * half)
    strict = run_estimate(options(min_n=30, min_psus=5)).results["domains"]
    assert strict[SMALL_DOMAIN]["unstable"] is True
    assert strict["healthcare"]["unstable"] is False


@pytest.mark.parametrize("domain", DOMAIN_IDS)
def test_monitoring_mapping(monitoring_run, run, reference, domain):
    result = monitoring_run.results["domains"][domain]
    _check_domain(result, reference, "monitoring_", domain)
    linear = run.results["domains"][domain]
    assert close(result["index"], 20 + 0.8 * linear["index"])
    assert close(result["se"], 0.8 * linear["se"])
    _check_rate(result["satisfied_rate"], reference, "monitoring_", domain)


def test_monitoring_overall(monitoring_run, reference):
    _check_overall(monitoring_run.results["overall"], reference, "monitoring_")


@pytest.mark.parametrize("domain", DOMAIN_IDS)
def test_lonely_psu_adjust_domains(lonely_run, reference, domain):
    result = lonely_run.results["domains"][domain]
    _check_domain(result, reference, "lonely_", domain)
    _check_rate(result["satisfied_rate"], reference, "lonely_", domain)


def test_lonely_psu_adjust_overall(lonely_run, reference):
    assert lonely_run.results["design"]["df"] == reference["lonely_df"]
    _check_overall(lonely_run.results["overall"], reference, "lonely_")
    _check_rate(lonely_run.results["overall"]["satisfied_rate"], reference, "lonely_", "overall")


def test_lonely_psu_fail_refuses_the_design():
    with pytest.raises(ScoringInputError, match="one PSU"):
        run_estimate(options(responses=LONELY_RESPONSES, lonely_psu="fail"))
