"""The typed results contract (scoring.contract): exact round trip, extras kept, codes checked."""

from __future__ import annotations

import copy
import json

import pytest

from scoring.contract import ContractError, Results
from scoring.vocabulary import json_safe
from tests.scoring.report_data import fake_results, synthetic_responses


@pytest.fixture(scope="module")
def results():
    return json_safe(fake_results(synthetic_responses()))


def test_round_trip_is_exact_key_order_included(results):
    typed = Results.from_dict(results)
    again = typed.to_dict()
    assert again == results
    assert json.dumps(again) == json.dumps(results)  # the same keys in the same order


def test_unknown_sections_and_keys_are_kept_where_they_were(results):
    data = copy.deepcopy(results)
    data["integrity"] = {"flagged_points": ["bus-01"], "index_without": 79.4}
    data["overall"]["a_newer_key"] = [1, 2]
    typed = Results.from_dict(data)
    assert typed.section("integrity") == {"flagged_points": ["bus-01"], "index_without": 79.4}
    assert json.dumps(typed.to_dict()) == json.dumps(data)


def test_both_target_tests_are_read_with_the_plan_metric_first(results):
    data = copy.deepcopy(results)
    data["targets"]["metric"] = "satisfied_rate"
    typed = Results.from_dict(data)
    assert [metric for metric, _ in typed.target_tests()] == ["satisfied_rate", "index"]
    assert typed.said_target == 85


def test_a_verdict_outside_the_vocabulary_is_named_with_its_path(results):
    data = copy.deepcopy(results)
    data["targets"]["index"]["verdict"] = "passed"
    with pytest.raises(ContractError, match=r"results\.targets\.index\.verdict: 'passed'"):
        Results.from_dict(data).check()


def test_a_wrong_shape_is_refused_with_its_path(results):
    data = copy.deepcopy(results)
    data["overall"] = [1, 2, 3]
    with pytest.raises(ContractError, match="overall"):
        Results.from_dict(data)


def test_unstable_none_figures_are_read_as_none_without_a_verdict(results):
    data = copy.deepcopy(results)
    domain = next(iter(data["domains"]))
    data["domains"][domain]["targets"]["index"].update(estimate=None, ci_low=None, ci_high=None, verdict=None)
    data["domains"][domain]["targets"]["index"]["unstable"] = True
    typed = Results.from_dict(data).check()
    test = typed.domains[domain].target_test("index")
    assert test.estimate is None and test.shown_verdict == "unstable"


def test_docs_contracts_lists_every_key_of_the_contract_and_no_other():
    """docs/contracts.md's table of the typed contract's keys equals the code's, record by record."""
    import re
    from pathlib import Path

    from scoring.contract import _walk

    text = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text(encoding="utf-8")
    table = text.split("### Keys of the typed contract", 1)[1].split("\n## ", 1)[0]  # up to the next section
    documented = {
        match.group(1): re.findall(r"`([^`]+)`", match.group(2))
        for match in re.finditer(r"^\| `(\w+)` \| (.+) \|$", table, re.MULTILINE)
    }
    defined = {cls.__name__: list(cls._fields()) for cls in _walk(Results, set())}
    assert documented == defined
