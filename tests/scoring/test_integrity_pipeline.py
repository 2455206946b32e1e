"""``results["integrity"]`` from the estimate step: findings, headlines with and without
the flagged responses, and the office's exclusions applied to the estimate."""

from __future__ import annotations

import pytest

from scoring.integrity import Exclusion, IntegrityRules
from scoring.pipeline import EstimateOptions, run_estimate
from scoring.synthetic import IntegrityPlants, generate_survey


@pytest.fixture(scope="module")
def wave(questionnaires):
    plants = IntegrityPlants(random_coached_points=1, coached_responses=40, bot_responses=60)
    _, sample = generate_survey(
        3000, seed=2, population_size=50_000, questionnaires=questionnaires, integrity=plants, paradata=True
    )
    return sample


def _options(sample, questionnaires, **extra):
    return EstimateOptions(
        responses=sample.responses,
        questionnaires=questionnaires,
        strata="point_town",
        cluster="point",
        lonely_psu="adjust",
        sensitivity=False,
        **extra,
    )


@pytest.fixture(scope="module")
def run(wave, questionnaires):
    return run_estimate(_options(wave, questionnaires))


def test_the_section_lists_the_flagged_point_and_the_headline_with_and_without_it(wave, run):
    section = run.results["integrity"]
    assert [entry["point"] for entry in section["flagged_points"]] == list(wave.integrity.coached_points)
    assert len(section["flagged_addresses"]) == len(wave.integrity.bot_addresses)
    assert section["estimate"] == "all_responses"
    headline = section["headline"]
    assert headline["all_responses"]["index"]["estimate"] == pytest.approx(run.results["overall"]["index"])
    assert headline["with_office_exclusions"] is None
    without = headline["without_flagged"]
    assert without["n"] == headline["all_responses"]["n"] - section["flagged_responses"]
    # Coached residents answered 满意/非常满意: without them the rate of satisfied residents falls.
    assert without["satisfied_rate"]["estimate"] < headline["all_responses"]["satisfied_rate"]["estimate"]
    assert section["problems"] == []


def test_the_office_exclusion_is_applied_to_the_estimate_and_said(wave, run, questionnaires):
    (coached,) = wave.integrity.coached_points
    exclusion = Exclusion("point", coached, "协调员到场核实：工作人员引导居民填答")
    excluded = run_estimate(_options(wave, questionnaires, exclusions=(exclusion,)))
    section = excluded.results["integrity"]
    at_point = int((wave.responses["point"] == coached).sum())
    assert section["estimate"] == "office_exclusions"
    assert section["exclusions"][0]["reason"] == exclusion.reason
    assert section["exclusions"][0]["responses"] == at_point
    assert section["exclusions"][0]["flagged"] is True
    assert section["flagged_points"][0]["point"] == coached  # the flag stays
    headline = section["headline"]
    assert headline["with_office_exclusions"]["index"]["estimate"] == pytest.approx(
        excluded.results["overall"]["index"]
    )
    assert headline["all_responses"]["n"] == run.results["overall"]["n"]
    assert excluded.results["overall"]["n"] < run.results["overall"]["n"]


def test_the_review_can_be_switched_off(wave, questionnaires):
    off = run_estimate(_options(wave, questionnaires, integrity_rules=IntegrityRules(enabled=False)))
    assert off.results["integrity"] is None
