"""Results by plan task and lead unit (issue 16): items, composites, ranks, indicators.

The figures are checked against R's survey package (tests/scoring/r/accountability_reference.R
on make_accountability_inputs.py's seeded wave): each item's index, SE and df, two lead units'
equal-weight composites (``svycontrast`` of totals) with their SE, df and n, and the design
covariance between the two composites, which the rank simulation draws from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.accountability import (
    RANKING_METHOD,
    IndicatorRecord,
    indicator_progress,
    plan_accountability,
    withhold_suppressed,
)
from scoring.errors import ScoringInputError
from scoring.pipeline import EstimateOptions, run_estimate

from .results import R_DIR

RELATIVE = 1e-6
UNITS = ("health_bureau", "housing_construction_bureau")


@pytest.fixture(scope="module")
def reference() -> dict[str, float]:
    table = pd.read_csv(R_DIR / "accountability_reference.csv")
    return dict(zip(table["statistic"], table["value"].astype(float)))


@pytest.fixture(scope="module")
def run(questionnaires):
    return run_estimate(
        EstimateOptions(
            responses=R_DIR / "accountability_responses.csv",
            margins=R_DIR / "accountability_margins.csv",
            questionnaires=questionnaires,
            strata="point_town",
            cluster="point",
            lonely_psu="adjust",
            screening=False,
        )
    )


def _item_scores(run) -> pd.DataFrame:
    frame = run.analysis_frame()
    return frame.loc[:, [code for code in run.table.instrument.item_codes if "." in code]]


@pytest.fixture(scope="module")
def result(run, questionnaires):
    records = [
        IndicatorRecord(code=indicator.code, year=2025, value=indicator.target, source="区统计局（示意）")
        for indicator in questionnaires.plan.tasks[0].indicators
    ]
    return plan_accountability(
        questionnaires.plan,
        questionnaires,
        _item_scores(run),
        run.design,
        results=run.results,
        indicators=records,
        year=2025,
    )


def test_the_reference_wave_has_every_row(run, reference):
    assert len(run.analysis_frame()) == 600
    assert int(reference["df"]) == 94


def test_item_indices_match_r(result, reference):
    checked = 0
    for statistic, value in reference.items():
        if not (statistic.startswith("item_") and statistic.endswith("_index")):
            continue
        code = statistic[len("item_") : -len("_index")]
        figure = result.items[code].figure
        assert figure.index == pytest.approx(value, rel=RELATIVE), code
        assert figure.se == pytest.approx(reference[f"item_{code}_se"], rel=RELATIVE), code
        assert figure.df == int(reference[f"item_{code}_df"]), code
        assert figure.n == int(reference[f"item_{code}_n"]), code
        checked += 1
    assert checked == 17


@pytest.mark.parametrize("unit", UNITS)
def test_lead_unit_composites_match_r(result, reference, unit):
    figure = result.unit(unit).figure
    assert figure.index == pytest.approx(reference[f"unit_{unit}_index"], rel=RELATIVE)
    assert figure.se == pytest.approx(reference[f"unit_{unit}_se"], rel=RELATIVE)
    assert figure.df == int(reference[f"unit_{unit}_df"])
    assert figure.n == int(reference[f"unit_{unit}_n"])


def test_the_covariance_between_units_matches_r(result, reference):
    covariance = result.covariance(*UNITS)
    assert covariance == pytest.approx(reference["unit_covariance"], rel=RELATIVE)
    assert covariance != 0


def test_a_composite_is_the_equal_weight_mean_of_its_stable_items(result):
    unit = result.unit("health_bureau")
    left_out = {item for item, _ in unit.left_out_items}
    used = [result.items[code].figure.index for code in unit.items if code not in left_out]
    assert unit.figure.index == pytest.approx(sum(used) / len(used), rel=1e-12)


def test_ranks_are_intervals_from_the_joint_normal_for_stable_units_only(result):
    results = result.to_dict()
    assert results["plan"]["ranking"]["method"] == RANKING_METHOD
    ranked = [unit for unit in results["lead_units"].values() if unit["rank"] is not None]
    assert ranked and results["plan"]["ranking"]["n_ranked"] == len(ranked)
    for unit in results["lead_units"].values():
        if unit["unstable"]:
            assert unit["rank"] is None and unit["verdict"] is None
    for unit in ranked:
        low, high = unit["rank"]["rank_interval"]
        assert 1 <= low <= unit["rank"]["median_rank"] <= high <= len(ranked)


def test_results_carry_tasks_units_and_priorities(result, questionnaires):
    results = result.to_dict()
    assert set(results) == {"plan", "tasks", "lead_units", "indicators"}
    assert len(results["tasks"]) == len(questionnaires.plan.tasks)
    assert list(results["lead_units"]) == [unit.code for unit in questionnaires.plan.lead_units]
    health = results["lead_units"]["health_bureau"]
    assert health["name"]["zh"]
    assert len(health["priorities"]) <= 3
    for item in health["priorities"]:
        assert item["index"] < results["plan"]["target"] and not item["unstable"]
    assert 0 <= health["residents"]["satisfied_share"] <= 1
    task = next(task for task in results["tasks"].values() if task["items"])
    assert {"index", "ci_low", "ci_high", "n", "priority"} <= set(task["items"][0])


def test_indicators_read_met_not_yet_and_no_data(questionnaires):
    plan = questionnaires.plan
    first, second, *rest = [indicator for task in plan.tasks for indicator in task.indicators]
    worse = first.target - 1 if first.direction == "at_least" else first.target + 1
    records = [
        IndicatorRecord(code=first.code, year=2024, value=worse, source="示意"),
        IndicatorRecord(code=second.code, year=2025, value=second.target, source="示意"),
        IndicatorRecord(code=second.code, year=2026, value=second.target - 50, source="示意"),
    ]
    progress = {entry.code: entry for entry in indicator_progress(plan, records, year=2025)}
    assert first.direction in ("at_least", "at_most")
    assert progress[first.code].status == "not_yet"
    assert progress[first.code].value_year == 2024
    assert progress[second.code].status == "met" and progress[second.code].value_year == 2025
    assert all(progress[indicator.code].status == "no_data" for indicator in rest)


def test_the_task_counts_its_indicators(result, questionnaires):
    first_task = questionnaires.plan.tasks[0]
    counts = result.to_dict()["tasks"][str(first_task.number)]["indicators"]
    assert counts["met"] == len(first_task.indicators)
    assert counts["not_yet"] == 0


def test_withhold_suppressed_empties_suppressed_units():
    results = {
        "tasks": {},
        "lead_units": {
            "u": {
                "suppressed": True,
                "index": 70.0,
                "ci_low": 60.0,
                "ci_high": 80.0,
                "verdict": "below",
                "rank": {"median_rank": 1},
                "change": {"difference": 1.0},
                "residents": {"n": 3, "satisfied_share": 0.5},
                "priorities": [],
            }
        },
    }
    unit = withhold_suppressed(results)["lead_units"]["u"]
    assert unit["index"] is None and unit["ci_low"] is None and unit["verdict"] is None
    assert unit["rank"] is None and unit["change"] is None
    assert unit["residents"] == {"n": 3}


def test_mismatched_inputs_and_too_few_draws_are_refused(run, questionnaires):
    scores = _item_scores(run)
    with pytest.raises(ScoringInputError, match="rows"):
        plan_accountability(questionnaires.plan, questionnaires, scores.iloc[:-1], run.design, results=run.results)
    with pytest.raises(ScoringInputError, match="draws"):
        plan_accountability(questionnaires.plan, questionnaires, scores, run.design, results=run.results, draws=10)


def test_an_unstable_unit_gets_no_rank(run, questionnaires):
    scores = _item_scores(run).copy()
    health_items = [code for code in scores.columns if code.startswith("healthcare.")]
    keep = np.zeros(len(scores), dtype=bool)
    keep[:5] = True
    scores.loc[~keep, health_items] = np.nan
    result = plan_accountability(questionnaires.plan, questionnaires, scores, run.design, results=run.results)
    health = result.unit("health_bureau")
    assert health.figure.unstable
    assert health.rank is None and health.verdict is None
