"""The estimate step on data as Manyi collects them: the point-town design with phone and
paper strata (against R, stats_point_town.R), both verdicts, stability, the scale mapping,
the sensitivity section."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scoring.pipeline import EstimateOptions, run_estimate
from scoring.target import verdict_of_interval

from .conftest import QUESTIONNAIRE_DIR
from .results import R_DIR, _reference
from .support import point_town_responses, small_margins

RELATIVE = 1e-6
RESPONSES = R_DIR / "stats_point_town_responses.csv"
MARGINS = R_DIR / "stats_point_town_margins.csv"


def close(value, expected, rel=RELATIVE):
    return value == pytest.approx(expected, rel=rel)


@pytest.fixture(scope="module")
def reference():
    return _reference("stats_point_town.csv")


def options(**changes) -> EstimateOptions:
    base = dict(responses=RESPONSES, margins=MARGINS, strata="point_town", cluster="point", lonely_psu="adjust")
    return EstimateOptions(**{**base, **changes})


@pytest.fixture(scope="module")
def run():
    return run_estimate(options())


def test_the_fixture_is_what_it_says():
    frame = pd.read_csv(RESPONSES, keep_default_na=False, na_values=[""], dtype=str)
    regenerated = point_town_responses()
    text = regenerated.astype(str).where(regenerated.notna() & regenerated.ne(""), None)
    text = text.apply(lambda column: column.str.replace(r"\.0$", "", regex=True))
    pd.testing.assert_frame_equal(frame.apply(lambda column: column.str.replace(r"\.0$", "", regex=True)), text)
    at_points = frame["point"].notna()
    assert 0.2 < (frame.loc[at_points, "point_town"] != frame.loc[at_points, "town"]).mean() < 0.35
    assert set(frame.loc[~at_points, "channel"]) == {"phone", "paper"}
    pd.testing.assert_frame_equal(pd.read_csv(MARGINS), small_margins(regenerated))


def test_point_town_design_with_phone_and_paper_strata_as_r(run, reference):
    design = run.results["design"]
    assert (design["strata"], design["clusters"]) == ("point_town", "point")
    assert design["df"] == reference["df"] == 83 == run.results["overall"]["df"]
    assert design["n_psu"] == reference["n_psu"] and design["n_strata"] == reference["n_strata"]
    assert design["rows_without_cluster"]["strata"] == ["channel:paper", "channel:phone"]
    assert design["rows_without_cluster"]["rows"] == 77
    assert design["lonely_psu"] == "adjust" and "quasi-randomisation" in design["assumption"]
    assert sum(run.results["excluded"].values()) == 0


@pytest.mark.parametrize("domain", ["education", "healthcare"])
def test_domain_indices_their_df_and_intervals_as_r(run, reference, domain):
    result = run.results["domains"][domain]
    key = f"linear_{domain}"
    assert close(result["index"], reference[f"{key}_index"])
    assert close(result["se"], reference[f"{key}_se"]) and close(result["se"], reference[f"{key}_ratio_se"])
    assert result["df"] == reference[f"{key}_df"] < run.results["design"]["df"]
    assert close(result["ci_low"], reference[f"{key}_ci_low"])


def test_overall_index_and_rates_as_r(run, reference):
    overall = run.results["overall"]
    assert close(overall["index"], reference["linear_overall"])
    assert close(overall["se"], reference["linear_overall_se"])
    for code in ("education", "healthcare", "overall"):
        rate = (overall if code == "overall" else run.results["domains"][code])["satisfied_rate"]
        assert close(rate["estimate"], reference[f"rate_{code}"])
        assert close(rate["se"], reference[f"rate_se_{code}"])
        assert rate["df"] == reference[f"rate_df_{code}"]
        assert close(rate["ci_low"], reference[f"rate_low_{code}"])
        assert close(rate["ci_high"], reference[f"rate_high_{code}"])


def test_monitoring_mapping_as_r_and_twenty_plus_four_fifths_of_linear(run, reference):
    monitoring = run_estimate(options(mapping="monitoring"))
    assert monitoring.results["scale"]["mapping"] == "monitoring"
    assert "x/K × 100" in monitoring.results["scale"]["description"]
    assert run.results["scale"]["mapping"] == "linear"
    for domain in ("education", "healthcare"):
        result, linear = monitoring.results["domains"][domain], run.results["domains"][domain]
        assert close(result["index"], reference[f"monitoring_{domain}_index"])
        assert close(result["se"], reference[f"monitoring_{domain}_se"])
        assert result["index"] == pytest.approx(20 + 0.8 * linear["index"], rel=1e-12)
        assert result["se"] == pytest.approx(0.8 * linear["se"], rel=1e-12)
        assert result["satisfied_rate"] == linear["satisfied_rate"]  # rates do not depend on the mapping
    overall = monitoring.results["overall"]
    assert close(overall["index"], reference["monitoring_overall"])
    assert close(overall["se"], reference["monitoring_overall_se"])
    assert overall["index"] == pytest.approx(20 + 0.8 * run.results["overall"]["index"], rel=1e-12)


def test_monitoring_is_twenty_plus_four_fifths_of_linear_on_the_pipeline_fixture():
    """statistics.md / issue 11: on five-point items monitoring = 20 + 0.8 × linear (12 domains)."""
    base = dict(
        responses=R_DIR / "pipeline_responses.csv",
        questionnaires=QUESTIONNAIRE_DIR,
        margins=R_DIR / "pipeline_margins.csv",
        strata="town",
        cluster="point",
        sensitivity=False,
    )
    linear = run_estimate(EstimateOptions(**base)).results
    monitoring = run_estimate(EstimateOptions(**base, mapping="monitoring")).results
    for domain, values in monitoring["domains"].items():
        assert values["index"] == pytest.approx(20 + 0.8 * linear["domains"][domain]["index"], rel=1e-12)
        assert values["ci_low"] == pytest.approx(20 + 0.8 * linear["domains"][domain]["ci_low"], rel=1e-12)
    assert monitoring["overall"]["index"] == pytest.approx(20 + 0.8 * linear["overall"]["index"], rel=1e-12)
    assert monitoring["overall"]["se"] == pytest.approx(0.8 * linear["overall"]["se"], rel=1e-12)


def test_both_verdicts_always_agree_with_their_intervals(run):
    results = run.results
    assert results["targets"]["metric"] == "index" and results["target"] == results["targets"]["index"]
    tests = [results["targets"]["index"], results["targets"]["satisfied_rate"]]
    for values in results["domains"].values():
        tests += [values["targets"]["index"], values["targets"]["satisfied_rate"]]
    for test in tests:
        assert test["verdict"] == verdict_of_interval(test["ci_low"], test["ci_high"], test["value"])
        assert (test["verdict"] == "met") == (test["ci_low"] > test["value"])
        assert (test["verdict"] == "not_met") == (test["ci_high"] < test["value"])
    index = results["targets"]["index"]
    assert (index["ci_low"], index["ci_high"]) == (results["overall"]["ci_low"], results["overall"]["ci_high"])
    assert index["p_value"] == pytest.approx(stats.t.sf(index["statistic"], results["overall"]["df"]))
    rate = results["targets"]["satisfied_rate"]
    assert rate["value"] == 0.85 and rate["target"] == 85
    assert (rate["ci_low"], rate["ci_high"]) == (
        results["overall"]["satisfied_rate"]["ci_low"],
        results["overall"]["satisfied_rate"]["ci_high"],
    )
    chosen = run_estimate(options(target_metric="satisfied_rate", sensitivity=False)).results
    assert chosen["target"] == chosen["targets"]["satisfied_rate"] and chosen["targets"]["metric"] == "satisfied_rate"


def test_a_thin_domain_is_unstable_gets_no_verdict_and_leaves_the_overall_index():
    frame = point_town_responses()
    answered = frame[[f"education.q{k}" for k in range(1, 5)]].notna().any(axis=1)
    thin = answered & (np.cumsum(answered) > 20)  # keep 20 education respondents
    frame.loc[thin, [c for c in frame.columns if c.startswith("education.")]] = np.nan
    results = run_estimate(options(responses=frame)).results
    education = results["domains"]["education"]
    assert education["n"] == 20 and education["unstable"]
    assert "20 respondents (fewer than 30)" in education["unstable_reason"]
    assert education["targets"]["index"]["verdict"] is None and education["targets"]["index"]["unstable"]
    assert education["weight"] == 0.0
    overall = results["overall"]
    assert overall["domain_weights"] == {"education": 0.0, "healthcare": 1.0}
    assert overall["left_out_domains"] == [{"domain": "education", "reason": education["unstable_reason"]}]
    assert overall["index"] == pytest.approx(results["domains"]["healthcare"]["index"])
    assert "renormalised" in overall["unstable_domain_rule"]
    assert not overall["unstable"] and results["target"]["verdict"] is not None
    # A level's overall is built from the domains of the district's overall index (healthcare alone here):
    # an unstable education cell does not suppress it, an unstable healthcare cell does.
    for levels in results["subgroups"].values():
        for cells in levels.values():
            reason = cells["overall"]["reason"] or ""
            assert ("unstable component: healthcare" in reason) == cells["healthcare"]["unstable"]
            assert "education" not in reason


def test_sensitivity_shows_how_much_the_headline_moves(run, reference):
    sensitivity = run.results["sensitivity"]
    assert sensitivity["headline"] == ["index", "satisfied_rate"]
    assert "quasi-randomisation" in sensitivity["note"]
    weighting = sensitivity["weighting"]
    assert weighting["method"] == "raking"
    assert weighting["weighted"]["index"]["estimate"] == run.results["overall"]["index"]
    unweighted = weighting["unweighted"]
    assert close(unweighted["index"]["estimate"], reference["unweighted_linear_overall"])
    assert close(unweighted["index"]["se"], reference["unweighted_linear_overall_se"])
    assert close(unweighted["satisfied_rate"]["estimate"], reference["unweighted_rate_overall"])
    assert close(unweighted["satisfied_rate"]["ci_low"], reference["unweighted_rate_low_overall"])
    assert unweighted["n"] == 420
    # Nothing is screened out of these data: with and without screening agree.
    screening = sensitivity["screening"]
    assert screening["excluded"] == 0 and screening["with"] == screening["without"]
    assert set(sensitivity["channel"]) == {"qr", "phone", "paper"}
    assert sum(h["n"] for h in sensitivity["channel"].values()) == 420
    assert set(sensitivity["point_type"]) == {"healthcare", "education", "general", "no_point"}
    assert sensitivity["point_type"]["no_point"]["n"] == 77
    for row in [*sensitivity["channel"].values(), *sensitivity["point_type"].values()]:
        assert set(row) == {"index", "satisfied_rate", "n"}
        index = row["index"]
        if index["estimate"] is not None and index["ci_low"] is not None:
            assert index["ci_low"] < index["estimate"] < index["ci_high"]


def test_sensitivity_with_and_without_screening_differ_by_the_screened_rows():
    frame = point_town_responses()
    frame.loc[:29, "duration_s"] = 20.0  # 30 speeders
    frame["flags"] = ""
    frame.loc[30:34, "flags"] = "duplicate_browser"
    results = run_estimate(options(responses=frame)).results
    screening = results["sensitivity"]["screening"]
    assert screening["excluded"] == 35 == results["excluded"]["speeder"] + results["excluded"]["duplicate_browser"]
    assert screening["with"]["n"] == 385 and screening["without"]["n"] == 420
    assert screening["with"]["index"]["estimate"] == results["overall"]["index"]
    off = run_estimate(options(responses=frame, screening=False)).results["sensitivity"]["screening"]
    assert off["with"]["n"] == 385 and off["without"]["n"] == 420
    for key in ("index", "satisfied_rate"):
        for field in ("estimate", "se", "ci_low", "ci_high"):
            assert off["with"][key][field] == pytest.approx(screening["with"][key][field], rel=1e-12)
    assert off["without"]["index"]["estimate"] == pytest.approx(screening["without"]["index"]["estimate"])


def test_rows_without_a_point_can_be_refused(tmp_path):
    from scoring.errors import DesignError

    with pytest.raises(DesignError, match="has no 'point'"):
        run_estimate(options(unclustered="fail"))


def test_the_old_design_on_these_data_is_the_one_statistics_md_warns_against(run):
    """Strata = residence town split each point by where its respondents live."""
    old = run_estimate(options(strata="town", sensitivity=False)).results["design"]
    assert old["n_psu"] > run.results["design"]["n_psu"]
    assert old["clusters_split_by_strata"] == 12 and run.results["design"]["clusters_split_by_strata"] == 0
    assert math.isfinite(old["df"])


def test_command_line_namespaces_carry_the_new_options():
    import argparse

    namespace = argparse.Namespace(
        responses=RESPONSES,
        strata="point_town",
        cluster="point",
        mapping="monitoring",
        min_n=40,
        min_psus=6,
        unclustered="fail",
        straight_line_fast_fraction="none",
        json="out.json",
    )
    parsed = EstimateOptions.from_namespace(namespace)
    assert (parsed.mapping, parsed.min_n, parsed.min_psus, parsed.unclustered) == ("monitoring", 40, 6, "fail")
    assert parsed.effective_screening_rules().straight_line_fast_fraction is None
    namespace.straight_line_fast_fraction = 0.4
    assert EstimateOptions.from_namespace(namespace).effective_screening_rules().straight_line_fast_fraction == 0.4
    assert EstimateOptions(responses=RESPONSES, screening=False).effective_screening_rules().enabled is False
