"""Integrity review on synthetic waves: planted coached points and bot farms are found,
clean waves raise no alarm (scoring/integrity, issue 15).

Waves of 3000 responses over 48 drawn points (12 towns × 4), with the generator's
paradata (keyed address and browser hashes, submission times, durations).  Measured
rates and the command that reproduces them: docs/integrity.md.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.data import validate_responses
from scoring.errors import ResponsesError
from scoring.integrity import Exclusion, IntegrityRules, review_integrity
from scoring.integrity.measure import DetectionRates, measure_detection
from scoring.integrity.section import ADDRESS_PREFIX, integrity_results
from scoring.screening import screen_responses
from scoring.synthetic import IntegrityPlants, generate_survey

#: Seeds of the fixed waves (the same seeds give the same waves and the same findings).
PLANTED_SEED = 2
CLEAN_SEEDS = (100, 101, 102)


def _wave(questionnaires, seed: int, plants: IntegrityPlants | None):
    _, sample = generate_survey(
        3000, seed=seed, population_size=50_000, questionnaires=questionnaires, integrity=plants, paradata=True
    )
    responses = validate_responses(sample.responses, questionnaires, required=("submitted_at",))
    return sample, responses, screen_responses(responses)


@pytest.fixture(scope="module")
def planted(questionnaires):
    plants = IntegrityPlants(random_coached_points=1, coached_responses=40, bot_responses=60, bot_addresses=8)
    sample, responses, screening = _wave(questionnaires, PLANTED_SEED, plants)
    return sample, responses, screening, review_integrity(responses, screening)


def test_a_coached_point_is_flagged_with_its_evidence(planted):
    sample, _, _, review = planted
    (coached,) = sample.integrity.coached_points
    assert [finding.point for finding in review.flagged_points] == [coached]
    finding = review.point(coached)
    assert finding.q_value <= review.rules.fdr
    unusual = {item.check: item for item in finding.evidence if item.unusual}
    assert "all_positive" in unusual
    assert unusual["all_positive"].statistic > 2 * unusual["all_positive"].reference


def test_every_address_of_a_bot_farm_is_flagged_and_nothing_else(planted):
    sample, _, _, review = planted
    flagged = {finding.address for finding in review.flagged_addresses}
    assert flagged == set(sample.integrity.bot_addresses)
    for finding in review.flagged_addresses:
        assert finding.points >= 2
        assert any(item.unusual and item.check == "similar_answers" for item in finding.evidence)


def test_flagged_rows_are_the_coached_point_and_the_farm(planted):
    sample, responses, _, review = planted
    at_coached = (responses.frame["point"].astype("object") == sample.integrity.coached_points[0]).to_numpy()
    np.testing.assert_array_equal(review.flagged_rows, at_coached | sample.integrity.bot_rows)
    assert review.flagged_rows[sample.integrity.coached_rows].all()


@pytest.mark.parametrize("seed", CLEAN_SEEDS)
def test_a_clean_wave_raises_no_alarm(questionnaires, seed):
    _, responses, screening = _wave(questionnaires, seed, None)
    review = review_integrity(responses, screening)
    assert len(review.points) >= 40
    assert review.flagged_points == ()
    assert review.flagged_addresses == ()
    assert not review.flagged_rows.any()


def test_the_office_exclusion_removes_rows_but_never_the_flag(planted):
    sample, responses, screening, _ = planted
    (coached,) = sample.integrity.coached_points
    exclusion = Exclusion(
        "point", coached, "协调员到场核实：工作人员引导居民填答", decided_at="2025-06-30T09:00:00+08:00"
    )
    review = review_integrity(responses, screening, exclusions=[exclusion])
    at_point = (responses.frame["point"].astype("object") == coached).to_numpy()
    np.testing.assert_array_equal(review.excluded_rows, at_point)
    assert review.exclusions == ((exclusion, int(at_point.sum())),)
    assert review.point(coached).flagged


def test_without_paradata_the_checks_that_need_it_say_why_they_did_not_run(planted, questionnaires):
    sample, _, _, _ = planted
    frame = sample.responses.drop(columns=["ip_hash", "browser_hash", "submitted_at"])
    bare = validate_responses(frame, questionnaires)
    review = review_integrity(bare, screen_responses(bare))
    assert review.address_checks == ()
    assert review.not_run["similar_answers"] == "the responses have no 'ip_hash' column"
    assert review.not_run["burst"] == "the responses have no 'submitted_at' column"
    assert "all_positive" in review.point_checks
    assert [finding.point for finding in review.flagged_points] == list(sample.integrity.coached_points)


def test_the_section_names_addresses_by_a_prefix_of_their_hash_only(planted):
    sample, _, _, review = planted
    section = integrity_results(review, estimate_headline={"index": {"estimate": 80.0}, "n": 3000})
    text = json.dumps(section, ensure_ascii=False, allow_nan=False)
    for address in sample.integrity.bot_addresses:
        assert address not in text
        assert address[:ADDRESS_PREFIX] in text
    assert [entry["point"] for entry in section["flagged_points"]] == list(sample.integrity.coached_points)
    evidence = section["flagged_points"][0]["evidence"]
    assert any(item["unusual"] and "满意" in item["what_zh"] for item in evidence)
    assert section["headline"]["all_responses"] == {"index": {"estimate": 80.0}, "n": 3000}
    assert section["estimate"] == "all_responses"
    assert section["statement"]["zh"].startswith("对48个收集点进行了")


def test_the_review_is_reproducible_with_its_seed(planted):
    _, responses, screening, review = planted
    again = review_integrity(responses, screening, rules=IntegrityRules(seed=0))
    assert [f.p_value for f in again.addresses] == [f.p_value for f in review.addresses]
    assert [f.p_value for f in again.points] == [f.p_value for f in review.points]


@pytest.mark.parametrize("value", ["203.0.113.7", "ABCDEF0123456789ABCDEF", "cookie=abc"])
def test_a_raw_address_in_the_hash_columns_is_refused(planted, questionnaires, value):
    sample, _, _, _ = planted
    frame = sample.responses.copy()
    frame.loc[frame.index[3], "ip_hash"] = value
    with pytest.raises(ResponsesError, match="'ip_hash', row 4.*not a keyed hash"):
        validate_responses(frame, questionnaires)


def test_measured_rates_count_what_was_found(questionnaires):
    rates = measure_detection([PLANTED_SEED], coached_responses=40, bot_responses=60, questionnaires=questionnaires)
    assert rates == DetectionRates(
        runs=1, coached_found=1, farm_found=1, farm_addresses_found=1.0, false_points=0, false_addresses=0
    )
