"""Change between waves and sample-size planning (scoring.planning, ``python -m scoring plan``)."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from scoring.planning import (
    DEFAULT_DEFF,
    DEFAULT_SD,
    change,
    compare_waves,
    format_plan,
    plan_sample_sizes,
    welch_df,
)
from scoring.questionnaire import DOMAIN_IDS


def results(index, se, *, n=2000, df=36, rate=0.8, rate_se=0.01, domains=None, towns=None):
    return {
        "overall": {"index": index, "se": se, "df": df, "n": n, "satisfied_rate": {"estimate": rate, "se": rate_se}},
        "domains": domains or {},
        "weights": {"deff": 1.3},
        "design": {"df": df},
        "subgroups": {"town": towns or {}},
    }


# --------------------------------------------------------------------------- change


def test_change_of_independent_estimates():
    difference, se, df, low, high, p = change(82.0, 0.6, 80.0, 0.8)
    assert difference == pytest.approx(2.0)
    assert se == pytest.approx(1.0)
    assert math.isinf(df)
    assert (low, high) == pytest.approx((2.0 - 1.959964, 2.0 + 1.959964), abs=1e-5)
    assert p == pytest.approx(2 * stats.norm.sf(2.0))


def test_welch_satterthwaite_df():
    assert welch_df(1.0, 10, 1.0, 10) == pytest.approx(20.0)
    assert welch_df(1.0, 10, 0.0, 5) == pytest.approx(10.0)
    assert math.isinf(welch_df(1.0, None, 1.0, None))
    _, _, df, low, high, p = change(82.0, 0.6, 80.0, 0.8, current_df=36, previous_df=30)
    expected_df = (0.36 + 0.64) ** 2 / (0.36**2 / 36 + 0.64**2 / 30)
    assert df == pytest.approx(expected_df)
    t = stats.t.ppf(0.975, expected_df)
    assert (low, high) == pytest.approx((2 - t, 2 + t))
    assert p == pytest.approx(2 * stats.t.sf(2.0, expected_df))


def test_compare_waves_covers_every_index_and_rate():
    domain = {"index": 80.0, "se": 1.0, "satisfied_rate": {"estimate": 0.8, "se": 0.02}}
    before = {"index": 76.0, "se": 1.0, "satisfied_rate": {"estimate": 0.79, "se": 0.02}}
    current = results(81.0, 0.5, domains={"education": domain, "transport": domain})
    previous = results(80.5, 0.5, rate=0.75, domains={"education": before})
    comparison = compare_waves(current, previous, previous_label="2024")
    keys = [c.key for c in comparison.changes]
    assert keys == [
        "overall.index",
        "overall.satisfied_rate",
        "domains.education.index",
        "domains.education.satisfied_rate",
    ]
    by_key = {c.key: c for c in comparison.changes}
    assert not by_key["overall.index"].significant  # +0.5 ± 1.4
    assert by_key["overall.satisfied_rate"].significant  # +0.05 with SE 0.014
    assert by_key["domains.education.index"].significant  # +4 with SE 1.41
    assert by_key["domains.education.index"].difference == pytest.approx(4.0)
    assert not by_key["domains.education.satisfied_rate"].significant
    assert by_key["domains.education.index"].label == "公共教育"
    data = json.loads(json.dumps(comparison.to_dict()))
    assert data["previous"] == "2024" and "overall.index" in data["changes"]


def test_bad_change_inputs():
    with pytest.raises(ValueError, match="confidence"):
        change(1, 1, 1, 1, confidence=1.5)
    with pytest.raises(ValueError, match="non-negative"):
        change(1, -1, 1, 1)


# --------------------------------------------------------------------------- sample sizes


def test_plan_without_results_uses_the_stated_assumptions():
    plan = plan_sample_sizes(half_width=2)
    expected = math.ceil(DEFAULT_DEFF * (1.959964 * DEFAULT_SD / 2) ** 2)
    assert [d.domain for d in plan.domains] == list(DOMAIN_IDS)
    assert all(d.respondents == expected for d in plan.domains)
    assert plan.total == expected and plan.overall == expected
    assert any("assumed" in note for note in plan.notes)


def test_plan_formula_with_given_deff_and_sd():
    plan = plan_sample_sizes(half_width=2, deff=2.0, sd=25.0, towns=("xicheng", "libu"))
    n = math.ceil(2.0 * (stats.norm.ppf(0.975) * 25 / 2) ** 2)
    assert plan.domains[0].respondents == n  # 1201
    assert plan.towns == {"xicheng": n, "libu": n}
    assert plan.total_with_towns == 2 * n
    halved = plan_sample_sizes(half_width=1, deff=2.0, sd=25.0)
    assert halved.domains[0].respondents == pytest.approx(4 * n, rel=0.01)


def test_plan_from_results_scales_the_achieved_precision():
    domains = {
        "education": {"index": 80, "se": 1.0, "n": 500, "deff": 2.0},
        "transport": {"index": 75, "se": 0.5, "n": 1600, "deff": 1.5},
    }
    towns = {
        "xicheng": {"overall": {"index": 80, "se": 2.0, "n": 300}},
        "libu": {"overall": {"index": 80, "se": 1.0, "n": 200}},
    }
    plan = plan_sample_sizes(
        half_width=1.0, results=results(80, 0.4, n=2000, domains=domains, towns=towns), results_name="2024.json"
    )
    z = stats.norm.ppf(0.975)
    education = {d.domain: d for d in plan.domains}["education"]
    # n SE² (z/h)²: 500 × 1 × 3.84 = 1921 respondents answering education
    assert education.respondents == math.ceil(500 * 1.0 * z**2)
    assert education.answer_share == pytest.approx(0.25)
    assert education.responses == math.ceil(education.respondents / 0.25)
    assert education.sd == pytest.approx(math.sqrt(500 / 2.0))
    assert plan.overall == math.ceil(2000 * 0.16 * z**2)
    assert plan.towns["xicheng"] == math.ceil(300 * 4.0 * z**2)
    assert plan.towns["libu"] == math.ceil(200 * 1.0 * z**2)
    assert plan.total == max(plan.overall, *(d.responses for d in plan.domains))
    assert plan.total_with_towns == max(plan.total, sum(plan.towns.values()))
    assert plan.source == "2024.json"
    targets = plan.to_targets()
    assert set(targets) == {"total", "domains", "towns"}
    assert targets["domains"]["education"] == education.respondents
    assert plan.to_targets(include_towns=False)["towns"] == {}


def test_plan_from_results_with_an_assumed_deff():
    domains = {"education": {"index": 80, "se": 1.0, "n": 500, "deff": 2.0}}
    plan = plan_sample_sizes(half_width=2, deff=1.0, results=results(80, 0.4, domains=domains))
    education = plan.domains[0]
    assert education.deff == 1.0 and education.sd == pytest.approx(math.sqrt(250))
    assert education.respondents == math.ceil(250 * (stats.norm.ppf(0.975) / 2) ** 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"half_width": 0}, "half_width"),
        ({"half_width": 2, "deff": -1}, "deff"),
        ({"half_width": 2, "sd": 0}, "sd"),
        ({"half_width": 2, "confidence": 95}, "confidence"),
    ],
)
def test_bad_plan_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan_sample_sizes(**kwargs)


def test_format_plan_is_a_readable_table():
    text = format_plan(plan_sample_sizes(half_width=2, towns=("xicheng",)))
    assert "education" in text and "xicheng" in text and "total for the district" in text


# --------------------------------------------------------------------------- command line


def test_plan_command(tmp_path, capsys):
    from scoring.cli import main

    previous = tmp_path / "results.json"
    domains = {"education": {"index": 80, "se": 1.0, "n": 500, "deff": 2.0}}
    previous.write_text(json.dumps(results(80, 0.4, domains=domains)), encoding="utf-8")
    out = tmp_path / "plan.json"
    assert main(["plan", "--half-width", "2", "--from-results", str(previous), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "education" in printed and "responses" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["targets"]["domains"]["education"] == data["domains"]["education"]["respondents"]


def test_plan_command_rejects_bad_input(tmp_path, capsys):
    from scoring.cli import main

    assert main(["plan", "--half-width", "-1"]) == 2
    assert "half_width" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    out = tmp_path / "plan.json"
    assert main(["plan", "--half-width", "2", "--from-results", str(bad), "--json", str(out)]) == 2
    assert "not a results.json" in capsys.readouterr().err
    assert not out.exists()


def test_a_design_effect_below_one_is_floored_at_one():
    """Issue 10: a 15-resident domain's deff of 0.49 was reused by the planner."""
    domains = {"sports": {"index": 80, "se": 1.0, "n": 15, "deff": 0.49, "unstable": True}}
    plan = plan_sample_sizes(half_width=2, results=results(80, 0.4, domains=domains))
    sports = plan.domains[0]
    assert sports.deff == 1.0
    assert sports.sd == pytest.approx(math.sqrt(15 / 0.49))  # the SD measured with the deff it came with
    assert sports.respondents == math.ceil(1.0 * 15 / 0.49 * (stats.norm.ppf(0.975) / 2) ** 2)
    assert any("floored at 1" in note for note in plan.notes)
    assert any("sports" in note and "unstable" in note for note in plan.notes)
    assert plan_sample_sizes(half_width=2, deff=0.5).domains[0].deff == 1.0


# --------------------------------------------------------------------------- comparable waves


def with_settings(result, **changes):
    from scoring.settings import AnalysisSettings

    settings = AnalysisSettings(margins=(("sex", "male", 25500), ("sex", "female", 24500))).replace(**changes)
    return {
        **result,
        "settings": {
            "analysis": settings.to_dict(),
            "digest": settings.digest(),
            "questionnaires": {"common": "aaaa", "education": "bbbb"},
        },
    }


def test_waves_scored_with_different_settings_are_refused_with_every_difference_named():
    from scoring.errors import WavesNotComparableError
    from scoring.screening import ScreeningRules

    previous = with_settings(results(80.0, 0.5))
    current = with_settings(
        results(81.0, 0.5),
        mapping="monitoring",
        screening=ScreeningRules(straight_line_fast_fraction=None),
        margins=(("sex", "male", 25000), ("sex", "female", 25000)),
    )
    current["settings"]["questionnaires"]["education"] = "cccc"
    with pytest.raises(WavesNotComparableError) as raised:
        compare_waves(current, previous, previous_label="2024")
    message = str(raised.value)
    for named in ("mapping: 'linear' → 'monitoring'", "screening", "margins", "questionnaire education", "2024"):
        assert named in message
    assert "allow_differences" in message
    flagged = compare_waves(current, previous, previous_label="2024", allow_differences=True)
    assert flagged.comparable is False
    assert {d.setting for d in flagged.differences} == {"mapping", "screening", "margins", "questionnaire education"}
    assert all(c.comparable is False for c in flagged.changes)
    data = flagged.to_dict()
    assert data["comparable"] is False and data["adjustment"] == "holm"
    assert {d["setting"] for d in data["differences"]} >= {"mapping", "margins"}
    assert data["changes"]["overall.index"]["comparable"] is False


def test_waves_scored_alike_are_comparable_and_unrecorded_settings_are_said_so():
    same = compare_waves(with_settings(results(81.0, 0.5)), with_settings(results(80.0, 0.5)))
    assert same.comparable is True and same.differences == () and same.notes == ()
    unknown = compare_waves(results(81.0, 0.5), with_settings(results(80.0, 0.5)))
    assert unknown.comparable is None and "does not record its analysis settings" in unknown.notes[0]
    assert all(c.comparable is None for c in unknown.changes)


def test_many_changes_are_holm_adjusted():
    from scoring.planning import holm_adjust

    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm") = 0.04 0.09 0.09 0.20
    assert holm_adjust([0.01, 0.04, 0.03, 0.2, math.nan]) == pytest.approx(
        [0.04, 0.09, 0.09, 0.2, math.nan], nan_ok=True
    )
    # 12 domains whose indices each moved by a borderline amount: p ≈ 0.03 each.
    domain = {"index": 80.0, "se": 1.0, "satisfied_rate": {"estimate": 0.8, "se": 0.02}}
    before = {"index": 77.0, "se": 1.0, "satisfied_rate": {"estimate": 0.8, "se": 0.02}}
    domains = {d: domain for d in DOMAIN_IDS}
    comparison = compare_waves(
        results(80.0, 0.5, domains=domains), results(80.0, 0.5, domains={d: before for d in DOMAIN_IDS})
    )
    moved = [c for c in comparison.changes if c.key.endswith(".index") and c.scope != "overall"]
    assert len(moved) == 12 and all(0.01 < c.p_value < 0.05 for c in moved)
    assert not any(c.significant for c in moved)  # unadjusted, all 12 would be "significant"
    # 26 tests (12 domains × index and rate, overall index and rate), 12 of them tied at p ≈ 0.037:
    # Holm multiplies the smallest by 26 and keeps the step-down maximum.
    assert all(c.p_adjusted == pytest.approx(min(1, 26 * c.p_value)) for c in moved)
    assert comparison.to_dict()["changes"]["domains.education.index"]["p_adjusted"] == moved[0].p_adjusted


def test_changes_use_each_figures_own_df():
    now = results(81.0, 0.6, df=36)
    now["domains"] = {"sports": {"index": 80.0, "se": 1.0, "df": 3}}
    before = results(80.0, 0.8, df=30)
    before["domains"] = {"sports": {"index": 76.0, "se": 1.0, "df": 3}}
    sports = {c.key: c for c in compare_waves(now, before).changes}["domains.sports.index"]
    assert sports.df == pytest.approx(welch_df(1.0, 3, 1.0, 3)) == pytest.approx(6.0)


# --------------------------------------------------------------------------- power of the target test


def test_power_of_the_target_test_for_a_planned_n():
    from scoring.planning import respondents_for_power, target_power

    result = target_power(n=1000, expected=87, sd=20, deff=1.5)
    se = math.sqrt(1.5 * 400 / 1000)
    assert result.se == pytest.approx(se)
    assert result.power == pytest.approx(stats.norm.sf(stats.norm.ppf(0.975) - 2 / se))
    assert result.probability_not_met == pytest.approx(stats.norm.cdf(-stats.norm.ppf(0.975) - 2 / se))
    with_df = target_power(n=1000, expected=87, sd=20, deff=1.5, df=20)
    assert with_df.power == pytest.approx(stats.nct.sf(stats.t.ppf(0.975, 20), 20, 2 / se))
    assert with_df.power < result.power  # few PSUs cost power
    assert target_power(n=4000, expected=87, sd=20, deff=1.5).power > result.power
    # At the target itself 'met' has the test's size, 2.5%.
    assert target_power(n=1000, expected=85, sd=20).power == pytest.approx(0.025)
    rate = target_power(n=1000, expected=88, metric="satisfied_rate", deff=1.0)
    assert rate.sd == pytest.approx(math.sqrt(0.88 * 0.12)) and rate.value == 0.85
    assert target_power(n=1000, expected=87, deff=0.5).deff == 1.0  # floored
    needed = respondents_for_power(power=0.8, expected=87, sd=20, deff=1.5)
    assert target_power(n=needed, expected=87, sd=20, deff=1.5).power >= 0.8
    assert target_power(n=needed - 1, expected=87, sd=20, deff=1.5).power < 0.8
    assert needed == math.ceil(1.5 * 400 * ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / 2) ** 2)
    with pytest.raises(ValueError, match="not above the target"):
        respondents_for_power(expected=84)
    with pytest.raises(ValueError, match="between 0 and 100"):
        target_power(n=100, expected=130)
    with pytest.raises(ValueError, match="write it as a percentage"):
        target_power(n=100, expected=0.88, metric="satisfied_rate")
