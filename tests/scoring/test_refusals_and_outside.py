"""Residents who decline a raking question (不愿回答, ``refused``) and residents who live
outside the district (``town = outside``), against R's survey package (issue 14).

Inputs and R outputs: tests/scoring/r/ (make_refused_inputs.py, refused_raking.R): the
design fixture of issue 10 with 8% of the sexes and 6% of the age groups refused and 5%
of the residents outside the district.  R calibrates by raking on the town dummies and
the share variables ``z_l = I_l − q_l I_answered`` (known totals 0) and checks the same
weights by the iterative proportional fitting written out; docs/statistics.md,
"Residents who decline a question".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.data import read_margins, validate_responses
from scoring.errors import MarginsError
from scoring.pipeline import EstimateOptions, run_estimate
from scoring.questionnaire import DOMAIN_IDS
from scoring.screening import screen_responses
from scoring.weighting import REFUSED, Margin, RefusalMargin, margins_with_refusals

from .results import R_DIR
from .support import small_responses
from .test_reference_design import options as design_options
from .test_reference_design import read_reference

RELATIVE = 1e-6
RESPONSES = R_DIR / "refused_responses.csv"
MARGINS = R_DIR / "design_margins.csv"


def options(**changes) -> EstimateOptions:
    """The design of tests/scoring/test_reference_design.py on the refusals fixture."""
    return design_options(**{"responses": RESPONSES, **changes})


@pytest.fixture(scope="module")
def reference() -> dict[str, float]:
    return read_reference("refused_reference.csv")


@pytest.fixture(scope="module")
def run():
    return run_estimate(options())


def close(value, expected, rel=RELATIVE) -> bool:
    return value == pytest.approx(expected, rel=rel)


def test_the_fixture_holds_refusals_and_residents_outside_the_district(reference):
    frame = pd.read_csv(RESPONSES, dtype=str, keep_default_na=False)
    inside = frame[frame["town"] != "outside"]
    assert (frame["town"] == "outside").sum() == reference["outside_district"] > 0
    assert (inside["sex"] == REFUSED).sum() == reference["sex_refused"] > 0
    assert (inside["age_group"] == REFUSED).sum() == reference["age_refused"] > 0


def test_residents_outside_the_district_are_counted_and_left_out(run, reference):
    assert run.results["excluded"]["outside_district"] == reference["outside_district"]
    assert run.results["overall"]["n"] == reference["n"]
    assert list(run.results["excluded"])[:2] == ["partial", "outside_district"]


def test_weights_equal_r_calibrate_with_share_variables(run, reference):
    expected = pd.read_csv(R_DIR / "refused_weights.csv", dtype={"response_id": str})
    ours = run.weights_frame().set_index("response_id")["weight"]
    assert len(ours) == len(expected)
    np.testing.assert_allclose(ours.loc[expected["response_id"]].to_numpy(), expected["weight"].to_numpy(), rtol=1e-9)
    assert close(run.results["weights"]["effective_n"], reference["weights_effective_n"])


def test_answered_levels_meet_the_population_shares_and_refusers_keep_the_mean_adjustment(run):
    frame = pd.read_csv(RESPONSES, dtype=str, keep_default_na=False).set_index("response_id")
    weights = run.weights_frame().set_index("response_id")["weight"]
    sex = frame.loc[weights.index, "sex"]
    answered = sex != REFUSED
    shares = weights[answered].groupby(sex[answered]).sum() / weights[answered].sum()
    assert shares["male"] == pytest.approx(30600 / 60000, rel=1e-9)
    assert weights.sum() == pytest.approx(60000, rel=1e-9)
    assert weights[~answered].sum() > 0  # refusers keep their weight: nobody is dropped


@pytest.mark.parametrize("domain", DOMAIN_IDS)
def test_domain_index_and_se(run, reference, domain):
    result = run.results["domains"][domain]
    assert close(result["index"], reference[f"index_{domain}"])
    assert close(result["se"], reference[f"se_{domain}"])


def test_overall_index_and_se(run, reference):
    assert close(run.results["overall"]["index"], reference["overall"])
    assert close(run.results["overall"]["se"], reference["overall_se"])
    # Treating the refusers' weighted count as a known population would understate it.
    assert reference["overall_se_refused_as_fixed_level"] < reference["overall_se"]


def test_jackknife_re_rakes_every_replicate_with_the_same_rule():
    results = run_estimate(options(variance="jackknife")).results
    assert np.isfinite(results["overall"]["se"]) and results["overall"]["se"] > 0


def test_a_margin_with_refusers_becomes_a_refusal_margin():
    data = pd.DataFrame({"sex": ["male", "female", REFUSED], "age_group": ["60+", "60+", "60+"]})
    sex, age = read_margins(MARGINS)[1:]
    made = margins_with_refusals(data, (sex, age))
    assert isinstance(made[0], RefusalMargin) and made[0].levels == ("male", "female", REFUSED)
    assert made[1] is age  # nobody refused it
    assert made[0].shares.sum() == pytest.approx(1.0)


def test_a_cross_classified_margin_with_refusers_says_how_to_rake_instead():
    data = pd.DataFrame({"sex": ["male", REFUSED], "age_group": ["60+", "60+"]})
    crossed = Margin("sex:age_group", ("male:60+", "female:60+"), (10.0, 12.0))
    with pytest.raises(MarginsError, match="rake on sex, age_group as separate margins"):
        margins_with_refusals(data, (crossed,))


def test_residents_outside_the_district_are_excluded_even_with_screening_off():
    frame = small_responses(6)
    frame["town"] = frame["town"].astype(str)
    frame.loc[[1, 4], "town"] = "outside"
    for enabled in (True, False):
        result = screen_responses(validate_responses(frame), enabled=enabled)
        assert result.reason.tolist() == ["", "outside_district", "", "", "outside_district", ""]
        assert result.excluded["outside_district"] == 2
        assert result.always_excluded.tolist() == [False, True, False, False, True, False]
