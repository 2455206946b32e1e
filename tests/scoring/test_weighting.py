"""Raking, post-stratification, trimming and weight diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.design import survey_design
from scoring.errors import DesignError, MarginsError, RakingError
from scoring.estimation import survey_mean
from scoring.weighting import Margin, Trimming, margins_from_frame, post_stratify, rake, weight_diagnostics

from .support import small_margins, small_responses


@pytest.fixture
def frame():
    return small_responses(400, seed=2)


@pytest.fixture
def margins(frame):
    return margins_from_frame(small_margins(frame))


def test_raking_meets_every_margin_to_the_tolerance(frame, margins):
    raked = rake(survey_design(frame, strata="town", cluster="point"), margins)
    for margin in margins:
        totals = pd.Series(raked.weights).groupby(frame[margin.variable].to_numpy()).sum()
        assert_allclose(totals.loc[list(margin.levels)].to_numpy(), margin.population, rtol=1e-10)
    assert raked.calibration.method == "raking"
    assert raked.calibration.iterations > 1


def test_raking_leaves_the_input_design_alone(frame, margins):
    design = survey_design(frame, strata="town", cluster="point")
    rake(design, margins)
    assert_allclose(design.weights, 1.0)
    assert design.calibration is None


def test_post_stratification_is_one_margin_and_takes_cross_classifications(frame):
    cross = frame["sex"] + ":" + frame["age_group"]
    levels = sorted(cross.unique())
    population = np.arange(1, len(levels) + 1) * 1000.0
    margin = Margin("sex:age_group", tuple(levels), tuple(population))
    weighted = post_stratify(survey_design(frame), margin)
    assert weighted.calibration.method == "post_stratification"
    totals = pd.Series(weighted.weights).groupby(cross.to_numpy()).sum()
    assert_allclose(totals.loc[levels].to_numpy(), population, rtol=1e-12)


def test_post_stratify_refuses_several_variables(frame, margins):
    with pytest.raises(MarginsError, match="one variable"):
        post_stratify(survey_design(frame), small_margins(frame))


def test_unknown_level_in_the_data_names_level_and_row(frame, margins):
    frame.loc[6, "town"] = "taihugang"
    with pytest.raises(
        MarginsError, match=r"town level 'taihugang' occurs in the responses \(first in row 7, response_id 'r0007'\)"
    ):
        rake(survey_design(frame), margins)


def test_level_without_responses_is_an_empty_cell(frame, margins):
    extra = pd.concat(
        [small_margins(frame), pd.DataFrame([("town", "libu", 0.0)], columns=["variable", "level", "population"])]
    )
    extra.loc[extra["level"] == "xicheng", "population"] -= 1000  # keep totals equal
    extra.loc[extra["level"] == "libu", "population"] = 1000
    with pytest.raises(RakingError, match="empty cell: town level 'libu' has population 1,000"):
        rake(survey_design(frame), margins_from_frame(extra))


def test_level_with_zero_population_and_no_responses_is_dropped(frame):
    table = pd.concat(
        [small_margins(frame), pd.DataFrame([("town", "libu", 0.0)], columns=["variable", "level", "population"])]
    )
    raked = rake(survey_design(frame), margins_from_frame(table))
    assert "libu" not in raked.calibration.margins[0].levels


def test_zero_population_with_responses_is_an_error(frame):
    table = small_margins(frame)
    moved = table.loc[table["level"] == "mashan", "population"].iloc[0]
    table.loc[table["level"] == "mashan", "population"] = 0
    table.loc[table["level"] == "xicheng", "population"] += moved
    with pytest.raises(MarginsError, match="mashan' has .* responses but population 0"):
        rake(survey_design(frame), margins_from_frame(table))


def test_margins_with_different_totals(frame):
    table = small_margins(frame)
    table.loc[table["variable"] == "sex", "population"] *= 1.01
    with pytest.raises(MarginsError, match="do not add up to the same population"):
        rake(survey_design(frame), margins_from_frame(table))


def test_missing_margin_column_and_missing_value(frame, margins):
    with pytest.raises(MarginsError, match="'sex', which is not a column"):
        rake(survey_design(frame.drop(columns="sex")), margins)
    frame.loc[3, "sex"] = None
    with pytest.raises(MarginsError, match="column 'sex' is empty in row 4"):
        rake(survey_design(frame), margins)


def test_non_convergence_is_reported():
    """Margins that no weights can meet: every man is 18–29, yet half the people are men."""
    frame = pd.DataFrame(
        {
            "sex": ["male"] * 10 + ["female"] * 30,
            "age_group": ["18-29"] * 10 + ["18-29"] * 5 + ["60+"] * 25,
        }
    )
    margins = [Margin("sex", ("male", "female"), (500.0, 500.0)), Margin("age_group", ("18-29", "60+"), (100.0, 900.0))]
    with pytest.raises(RakingError, match="did not converge after 50 iterations"):
        rake(survey_design(frame), margins, max_iterations=50)


def test_calibrating_twice_is_refused(frame, margins):
    raked = rake(survey_design(frame), margins)
    with pytest.raises(DesignError, match="already calibrated"):
        rake(raked, margins)


def test_trimming_keeps_adjustments_in_bounds_and_meets_margins(frame, margins):
    design = survey_design(frame, strata="town", cluster="point")
    untrimmed = rake(design, margins)
    mean_adjustment = sum(margins[0].population) / len(frame)
    ratio = untrimmed.weights / mean_adjustment
    lower, upper = 0.35, 2.1
    assert ratio.min() < lower or ratio.max() > upper  # trimming has something to do
    trimmed = rake(design, margins, trimming=Trimming(lower, upper))
    ratio = trimmed.weights / mean_adjustment
    assert ratio.min() >= lower * (1 - 1e-6) and ratio.max() <= upper * (1 + 1e-6)
    for margin in margins:
        totals = pd.Series(trimmed.weights).groupby(frame[margin.variable].to_numpy()).sum()
        assert_allclose(totals.loc[list(margin.levels)].to_numpy(), margin.population, rtol=1e-9)
    assert weight_diagnostics(trimmed).method == "raking+trimming"
    # The trimmed design still estimates, with calibration residuals.
    assert np.isfinite(survey_mean(trimmed, frame["overall"].to_numpy(float)).se[0])


def test_trimming_bounds_are_validated():
    with pytest.raises(ValueError, match="0 < lower < 1 < upper"):
        Trimming(1.2, 3.0)


def test_impossible_trimming_is_reported(frame, margins):
    with pytest.raises(RakingError, match="trimming .* did not converge"):
        rake(survey_design(frame), margins, trimming=Trimming(0.999, 1.001, max_rounds=5))


def test_weight_diagnostics():
    summary = weight_diagnostics(np.array([1.0, 1.0, 2.0, 4.0]))
    assert summary.effective_n == pytest.approx(64 / 22)
    assert summary.deff == pytest.approx(4 * 22 / 64)
    assert (summary.min, summary.max, summary.n, summary.total) == (1.0, 4.0, 4, 8.0)
    assert summary.method == "none"


def test_margins_table_validation():
    with pytest.raises(MarginsError, match="exactly the columns variable, level, population"):
        margins_from_frame(pd.DataFrame({"variable": ["sex"], "level": ["male"], "count": [1]}))
    with pytest.raises(MarginsError, match="row 2: sex=male is listed twice"):
        margins_from_frame(pd.DataFrame({"variable": ["sex", "sex"], "level": ["male", "male"], "population": [1, 2]}))
    with pytest.raises(MarginsError, match="row 1: population for sex=male must be a number ≥ 0"):
        margins_from_frame(pd.DataFrame({"variable": ["sex"], "level": ["male"], "population": ["-3"]}))
    with pytest.raises(MarginsError, match="row 1: 'level' is empty"):
        margins_from_frame(pd.DataFrame({"variable": ["sex"], "level": [None], "population": [3]}))
