"""Quality screening: partial, duplicate_browser, speeder, straight_liner."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.data import validate_responses
from scoring.screening import SCREENING_REASONS, screen_responses
from scoring.synthetic import generate_survey

from .support import small_responses


@pytest.fixture(scope="module")
def contaminated():
    _, sample = generate_survey(
        3000,
        seed=5,
        population_size=50_000,
        contamination={"partial": 0.03, "duplicate_browser": 0.02, "speeders": 0.02, "straight_liners": 0.02},
    )
    return sample


def test_planted_rows_are_found_with_their_reason(contaminated):
    result = screen_responses(validate_responses(contaminated.responses))
    planted = contaminated.planted
    assert (result.reason[planted["partial"]] == "partial").all()
    assert (result.reason[planted["duplicate_browser"]] == "duplicate_browser").all()
    assert (result.reason[planted["speeders"]] == "speeder").all()
    # Planted straight-liners answer at the clean residents' pace: seen, but straight-lining
    # excludes only together with a fast time (issue 10, finding 5).
    straight = planted["straight_liners"]
    assert result.straight_lining[straight].all()
    fast = contaminated.responses["duration_s"].to_numpy() < result.median_duration / 2
    assert (result.reason[straight & fast] == "straight_liner").all()
    assert (result.reason[straight & ~fast] == "").all() and (straight & ~fast).sum() > 0.8 * straight.sum()
    clean = ~np.any(list(planted.values()), axis=0)
    # A clean resident may straight-line by chance (and be excluded only if also fast), nothing else.
    assert set(result.reason[clean]) <= {"", "straight_liner"}
    assert sum(result.excluded.values()) == (~result.keep).sum()
    assert list(result.excluded) == list(SCREENING_REASONS)


def test_screening_off_keeps_all_but_partial(contaminated):
    result = screen_responses(validate_responses(contaminated.responses), enabled=False)
    assert result.excluded == {
        "partial": int(contaminated.planted["partial"].sum()),
        "outside_district": 0,
        "duplicate_browser": 0,
        "ip_burst": 0,
        "speeder": 0,
        "straight_liner": 0,
    }


def test_speeder_rule_uses_a_third_of_the_median():
    frame = small_responses(9)
    frame["duration_s"] = [90, 100, 110, 120, 130, 140, 150, 37, 36]
    result = screen_responses(validate_responses(frame))
    assert result.median_duration == 110  # a third of it: 36.67
    assert result.reason.tolist() == [""] * 8 + ["speeder"]


def test_straight_liner_needs_eight_answered_aspect_items_and_a_fast_time():
    frame = small_responses(7)
    # Median 200: nobody is a speeder (below 66.7), rows 0–2 are fast (below 100).
    frame["duration_s"] = [90.0, 90.0, 90.0, 200.0, 200.0, 200.0, 200.0]
    aspects = [c for c in frame.columns if "." in c and not c.endswith(".overall")]
    frame.loc[0, aspects] = 4.0  # 9 aspects, all 4: straight-liner
    frame.loc[1, aspects] = 4.0
    frame.loc[1, aspects[:2]] = np.nan  # 7 answered: too few to judge
    frame.loc[2, aspects] = 4.0
    frame.loc[2, aspects[0]] = 5.0  # one different answer
    frame.loc[3, aspects] = 4.0  # all 4 at a normal pace: kept
    result = screen_responses(validate_responses(frame))
    assert result.median_duration == 200.0
    assert result.reason.tolist() == ["straight_liner"] + [""] * 6
    assert result.straight_lining[:4].tolist() == [True, False, False, True]


def test_first_reason_wins():
    frame = small_responses(6)
    frame["state"] = ["partial", "submitted", None, "submitted", "submitted", "submitted"]
    frame["flags"] = ["duplicate_browser", "rate_limited;duplicate_browser", None, "rate_limited", None, None]
    frame.loc[0, "duration_s"] = 1.0
    result = screen_responses(validate_responses(frame))
    assert result.reason[:4].tolist() == ["partial", "duplicate_browser", "", ""]


def test_ip_burst_flag_is_excluded_like_a_duplicate(contaminated):
    frame = contaminated.responses.copy()
    kept = np.flatnonzero(frame["state"].fillna("submitted").to_numpy() != "partial")[:5]
    frame["flags"] = frame["flags"].astype(object)
    frame.loc[frame.index[kept], "flags"] = "ip_burst"
    result = screen_responses(validate_responses(frame))
    assert result.excluded["ip_burst"] == 5
    assert not result.keep[kept].any()
    assert set(result.reason[kept]) == {"ip_burst"}
    off = screen_responses(validate_responses(frame), enabled=False)
    assert off.excluded["ip_burst"] == 0


def test_satisfied_residents_who_answer_all_fives_at_a_normal_pace_are_kept():
    """Issue 10, finding 5: straight-lining alone removed satisfied residents (93 of 2,000)."""
    frame = small_responses(400, seed=12)
    aspects = [c for c in frame.columns if "." in c and not c.endswith(".overall")]
    satisfied = np.arange(0, 400, 4)  # a quarter of the residents: every answer 5
    frame.loc[satisfied, aspects] = 5.0
    frame.loc[satisfied, [c for c in frame.columns if c.endswith("overall")]] = 5.0
    frame["duration_s"] = np.linspace(120, 300, 400)  # nobody is fast
    result = screen_responses(validate_responses(frame))
    assert result.excluded["straight_liner"] == 0
    assert result.keep.all()
    assert result.straight_lining[satisfied].all()  # seen, counted, not excluded
