"""Browser and time-of-day signals of the integrity review, and the section's public counts (issue 15).

Browsers: families sharing a phone (2–4 responses at one point) are not flagged; a browser
posting many alike responses is (:mod:`scoring.integrity.browsers`, planted with
:mod:`scoring.integrity.simulate`).  Time of day: a point whose submissions come at hours no
comparable point keeps is flagged (:mod:`scoring.integrity.hours`).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from scoring.data import validate_responses
from scoring.integrity import review_integrity
from scoring.integrity.browsers import completions_tail
from scoring.integrity.section import ADDRESS_PREFIX, integrity_results
from scoring.integrity.simulate import plant_browser_farm, share_browsers
from scoring.screening import screen_responses
from scoring.synthetic import generate_survey

SEED = 100


def _review(frame, questionnaires):
    responses = validate_responses(frame, questionnaires, required=("submitted_at",))
    return review_integrity(responses, screen_responses(responses))


@pytest.fixture(scope="module")
def clean_frame(questionnaires):
    _, sample = generate_survey(3000, seed=SEED, population_size=50_000, questionnaires=questionnaires, paradata=True)
    return sample.responses


@pytest.fixture(scope="module")
def households(clean_frame, questionnaires):
    frame, plants = share_browsers(clean_frame, households=60, seed=1)
    return frame, plants, _review(frame, questionnaires)


def test_household_completions_are_never_a_discovery_and_a_farm_of_ten_is():
    assert completions_tail(np.array([1, 2]))[0] == 1.0
    assert completions_tail(np.array([4]))[0] > 0.05  # a family of four: ordinary
    assert completions_tail(np.array([10]))[0] < 1e-5


def test_families_sharing_a_phone_are_tested_and_not_flagged(households):
    _, plants, review = households
    assert len(plants.household_browsers) == 60
    assert "browser_completions" in review.browser_checks and "browser_answers" in review.browser_checks
    # Browsers with 3 or 4 family members are tested; none is flagged, no point either.
    assert len(review.browsers) > 0
    assert review.flagged_browsers == ()
    assert review.flagged_points == ()


def test_a_browser_farm_is_flagged_with_plain_evidence_and_no_hash_in_the_section(households, questionnaires):
    frame, _, _ = households
    farm_frame, farm = plant_browser_farm(frame, responses=12, seed=5)
    review = _review(farm_frame, questionnaires)
    assert [finding.browser for finding in review.flagged_browsers] == [farm.farm_browser]
    (finding,) = review.flagged_browsers
    evidence = {item.check: item for item in finding.evidence}
    assert evidence["browser_completions"].unusual and evidence["browser_completions"].statistic == 12
    assert evidence["browser_answers"].p_value < 0.001  # alike too (the Monte Carlo floor is 1/3000)
    section = integrity_results(review)
    (entry,) = section["flagged_browsers"]
    assert entry["browser"] == farm.farm_browser[:ADDRESS_PREFIX]
    assert "12份问卷" in next(e["what_zh"] for e in entry["evidence"] if e["check"] == "browser_completions")
    text = json.dumps(section, ensure_ascii=False)
    assert farm.farm_browser not in text
    for browser in farm_frame["browser_hash"].dropna().unique():
        assert browser not in text  # only 12-digit labels, never a whole keyed hash
    assert section["browsers"]["flagged"] == 1 and section["counts"]["browsers_flagged"] == 1
    assert section["counts"]["responses_flagged"] >= 12
    assert "1个浏览器" in section["statement"]["zh"]


def test_alike_answers_from_one_browser_within_the_household_allowance_are_flagged(households, questionnaires):
    frame, _, _ = households
    farm_frame, farm = plant_browser_farm(frame, responses=4, seed=6, alike=1.0)
    review = _review(farm_frame, questionnaires)
    flagged = {finding.browser: finding for finding in review.flagged_browsers}
    assert list(flagged) == [farm.farm_browser]
    unusual = {item.check for item in flagged[farm.farm_browser].evidence if item.unusual}
    assert unusual == {"browser_answers"}  # four completions alone are a family's


def _evening_session(frame: pd.DataFrame, point: str, responses: int) -> pd.DataFrame:
    """Move ``responses`` of the point's submissions to one evening, 21:00–23:00 Beijing time
    (13:00–15:00 UTC) of its first day: one person entering questionnaires in a back room."""
    out = frame.copy()
    rows = np.flatnonzero((out["point"] == point).to_numpy())[:responses]
    moments = pd.to_datetime(out["submitted_at"].iloc[rows], utc=True, format="ISO8601")
    rng = np.random.default_rng(3)
    first_day = moments.min().floor("D")
    session = first_day + pd.to_timedelta(13 * 3600 + np.sort(rng.integers(0, 7200, rows.size)), unit="s")
    column = out.columns.get_loc("submitted_at")
    for row, moment in zip(rows, session):
        out.iat[row, column] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def test_a_point_with_an_evening_session_unlike_its_other_days_is_flagged(clean_frame, questionnaires):
    clean = _review(clean_frame, questionnaires)
    assert "hour_profile" in clean.point_checks
    assert clean.flagged_points == ()
    # A point whose residents come in office hours (nobody after 20:00 on any day).
    hours = pd.to_datetime(clean_frame["submitted_at"], utc=True, format="ISO8601").dt.hour
    evening = clean_frame.assign(evening=(hours >= 12) & (hours < 16)).groupby("point")["evening"].sum()
    sizes = clean_frame["point"].value_counts()
    point = sizes[evening.reindex(sizes.index) == 0].index[0]
    review = _review(_evening_session(clean_frame, point, 20), questionnaires)
    assert [finding.point for finding in review.flagged_points] == [point]
    evidence = {item.check: item for item in review.point(point).evidence}
    # At the permutation floor (1/20000); the session is also a burst, which weighs more here.
    assert evidence["hour_profile"].p_value < 1e-3
    assert evidence["hour_profile"].reference < 0.01
    assert evidence["hour_profile"].statistic >= 20 / sizes[point] - 1e-9  # the session's share, in words


def test_the_section_counts_screening_by_reason_and_every_unit_tested(households):
    frame, _, review = households
    section = integrity_results(review)
    screening = section["screening"]
    assert screening["responses"] == len(frame)
    assert screening["screened"] == sum(screening["reasons"].values()) == screening["responses"] - screening["kept"]
    assert set(screening["reasons"]) >= {"partial", "speeder", "straight_liner"}
    counts = section["counts"]
    assert counts["checks_run"] == len(section["checks"])
    assert counts["points_tested"] == section["points"]["tested"] and section["points"]["flagged"] == 0
    assert counts["browsers_tested"] == section["browsers"]["tested"] == len(review.browsers)
    assert counts["addresses_tested"] == section["addresses"]["tested"]
    assert {c["scope"] for c in section["checks"]} >= {"point", "browser"}
    assert f"质量筛查剔除了{screening['screened']}份问卷" in section["statement"]["zh"]
    assert f"{screening['screened']} response(s) were screened out" in section["statement"]["en"]


def _keys(value, prefix=""):
    """Every dict key of the section (nested, through lists), except the free-form reason and flag names."""
    if isinstance(value, dict):
        for key, item in value.items():
            if prefix.endswith(("reasons", "flags")):
                continue
            yield key
            yield from _keys(item, f"{prefix}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, prefix)


def test_every_key_of_the_section_is_listed_in_docs_contracts(households):
    from pathlib import Path

    _, _, review = households
    text = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `integrity` |"))
    section = integrity_results(review)
    missing = sorted({key for key in _keys(section) if not re.search(rf"\b{re.escape(key)}\b", row)})
    assert missing == []
