"""The page order and completeness rules of the resident flow (pure: no app, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.questionnaire import DOMAIN_IDS, load_questionnaires
from survey.respond import flow
from tests.conftest import QUESTIONNAIRES

#: Loaded once: the files are read-only data (and hypothesis calls a test many times).
QUESTIONNAIRE_SET = load_questionnaires(QUESTIONNAIRES)


@pytest.fixture
def questionnaires():
    return QUESTIONNAIRE_SET


def test_without_services_the_flow_has_the_three_common_pages(questionnaires):
    pages = flow.build_pages(questionnaires, None, "healthcare")
    assert [page.id for page in pages] == ["services", "demographics", "final"]
    assert [item.code for item in pages[0].items] == ["services_used"]
    assert [item.code for item in pages[1].items] == ["sex", "age_group", "town"]
    assert [item.code for item in pages[2].items] == ["overall", "comment"]


def test_domain_page_lists_aspects_then_its_overall(questionnaires):
    page = flow.domain_page(questionnaires, "education")
    codes = [item.code for item in page.items]
    assert codes[-1] == "education.overall"
    assert codes[:-1] == [item.code for item in questionnaires.domains["education"].aspect_items]
    assert page.title.zh == "公共教育" and page.kind == "domain"


@settings(max_examples=200, deadline=None)
@given(
    chosen=st.lists(st.sampled_from(DOMAIN_IDS), unique=True),
    focus=st.one_of(st.none(), st.sampled_from(DOMAIN_IDS)),
)
def test_page_order_properties(chosen, focus):
    ids = [page.id for page in flow.build_pages(QUESTIONNAIRE_SET, chosen, focus)]
    assert ids[0] == "services" and ids[-2:] == ["demographics", "final"]
    domains = ids[1:-2]
    assert sorted(domains) == sorted(chosen) and len(set(domains)) == len(domains)
    if focus in chosen:
        assert domains[0] == focus
    rest = [domain for domain in domains if domain != focus]
    assert rest == [domain for domain in DOMAIN_IDS if domain in rest]


def test_unknown_domain_ids_are_ignored(questionnaires):
    assert flow.ordered_domains(["casino", "transport"], "casino", tuple(questionnaires.domains)) == ["transport"]


def test_first_incomplete_and_reachable(questionnaires):
    pages = flow.build_pages(questionnaires, ["healthcare"], "healthcare")
    answers: dict = {}
    assert flow.first_incomplete(pages, answers) == "services"
    assert flow.reachable(pages, "services", answers) and not flow.reachable(pages, "healthcare", answers)
    answers["services_used"] = ["healthcare"]
    assert flow.first_incomplete(pages, answers) == "healthcare"
    answers.update({item.code: "na" for item in pages[1].items})  # 不适用 counts as an answer
    assert flow.first_incomplete(pages, answers) == "demographics"
    answers.update({"sex": "female", "age_group": "60+", "town": "jinan", "overall": 4})
    assert flow.first_incomplete(pages, answers) is None  # the comment is optional
    assert flow.reachable(pages, "final", answers)
    assert not flow.reachable(pages, "education", answers)


def test_blank_text_and_empty_choice_are_not_answers(questionnaires):
    item = questionnaires.common.item("services_used")
    assert not flow.is_answered(item, []) and flow.is_answered(item, ["sports"])
    comment = questionnaires.common.item("comment")
    assert not flow.is_answered(comment, "   ") and flow.is_answered(comment, "好")


def test_neighbours_and_page_kinds(questionnaires):
    pages = flow.build_pages(questionnaires, ["sports", "culture"], None)
    assert flow.neighbours(pages, "services") == (None, "culture")
    assert flow.neighbours(pages, "final") == ("demographics", None)
    assert [flow.page_kind(x) for x in ("services", "sports", "final", "thanks", "admin")] == [
        "services",
        "domain",
        "final",
        None,
        None,
    ]
