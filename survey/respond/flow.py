"""The resident's path through a questionnaire set: which pages, in which order, and
which of them are complete.

Pure: no Flask, no database.  A response's answers are one mapping ``code → value``
(Likert items 1..K or ``"na"``; choice items their value; ``services_used`` a list of
domain ids; ``comment`` a string).  :func:`build_pages` turns the questionnaire set, the
services the resident ticked and the collection point's focus domain into the ordered
pages; :func:`first_incomplete` says where the resident must go next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoring.questionnaire import COMMON_ID, DOMAIN_IDS, Item, QuestionnaireSet, Text

#: Page ids of the common pages; domain pages use the domain id.
SERVICES = "services"
DEMOGRAPHICS = "demographics"
FINAL = "final"
#: Where a submitted response ends (not a question page).
THANKS = "thanks"
#: The landing page (privacy notice, start button) is not a question page either.
LANDING = "start"

#: Which page of common.yaml each common page shows.
COMMON_PAGE_OF = {SERVICES: "screening", DEMOGRAPHICS: "demographics", FINAL: "final"}
PAGE_KINDS = ("services", "domain", "demographics", "final")
SERVICES_ITEM = "services_used"


@dataclass(frozen=True)
class Page:
    """One page of questions.

    ``id`` is ``services``, ``demographics``, ``final`` or a domain id; ``title`` is
    ``None`` for the common pages (their titles are UI strings, translated by the app),
    the domain questionnaire's title for domain pages.
    """

    id: str
    kind: str
    items: tuple[Item, ...]
    questionnaire_id: str
    title: Text | None = None
    intro: Text | None = None


def ordered_domains(selected: Sequence[str], focus_domain: str | None, available: Sequence[str]) -> list[str]:
    """The chosen domains in the order they are asked: the point's focus domain first
    (when chosen), then the others in the fixed domain order.  Unknown ids are dropped."""
    chosen = [domain for domain in DOMAIN_IDS if domain in set(selected) and domain in available]
    if focus_domain in chosen:
        chosen.remove(focus_domain)
        chosen.insert(0, focus_domain)
    return chosen


def common_page(questionnaires: QuestionnaireSet, page_id: str) -> Page:
    """One of the pages built from common.yaml (``services``, ``demographics``, ``final``)."""
    yaml_page = COMMON_PAGE_OF[page_id]
    items = tuple(item for item in questionnaires.common.items if item.page == yaml_page)
    kind = "services" if page_id == SERVICES else page_id
    return Page(id=page_id, kind=kind, items=items, questionnaire_id=COMMON_ID)


def domain_page(questionnaires: QuestionnaireSet, domain: str) -> Page:
    """A domain's page: its aspect items, then ``<domain>.overall`` (file order)."""
    questionnaire = questionnaires.domains[domain]
    aspects = [item for item in questionnaire.items if item.role == "aspect"]
    overall = [item for item in questionnaire.items if item.role == "overall"]
    return Page(
        id=domain,
        kind="domain",
        items=(*aspects, *overall),
        questionnaire_id=domain,
        title=questionnaire.title,
        intro=questionnaire.intro,
    )


def build_pages(
    questionnaires: QuestionnaireSet, services_used: Sequence[str] | None, focus_domain: str | None
) -> list[Page]:
    """Every page of the flow for a resident who ticked ``services_used``.

    Before the services page is answered, the flow has only the common pages; it grows
    a page per chosen domain once they are known.
    """
    pages = [common_page(questionnaires, SERVICES)]
    for domain in ordered_domains(services_used or (), focus_domain, tuple(questionnaires.domains)):
        pages.append(domain_page(questionnaires, domain))
    pages.append(common_page(questionnaires, DEMOGRAPHICS))
    pages.append(common_page(questionnaires, FINAL))
    return pages


def is_answered(item: Item, value: Any) -> bool:
    """Whether ``value`` counts as an answer to ``item`` (不适用/不清楚 does)."""
    if value is None:
        return False
    if item.kind == "multi_choice":
        return bool(value)
    if isinstance(value, str):
        return bool(value.strip())
    return True


def missing_items(page: Page, answers: Mapping[str, Any]) -> list[str]:
    """Codes of the required items of ``page`` that have no answer yet."""
    return [item.code for item in page.items if item.required and not is_answered(item, answers.get(item.code))]


def first_incomplete(pages: Sequence[Page], answers: Mapping[str, Any]) -> str | None:
    """The id of the first page with a required item unanswered, or None when all are done."""
    for page in pages:
        if missing_items(page, answers):
            return page.id
    return None


def reachable(pages: Sequence[Page], page_id: str, answers: Mapping[str, Any]) -> bool:
    """A page can be shown when every page before it is complete (no skipping ahead)."""
    ids = [page.id for page in pages]
    if page_id not in ids:
        return False
    stop = first_incomplete(pages, answers)
    return stop is None or ids.index(page_id) <= ids.index(stop)


def neighbours(pages: Sequence[Page], page_id: str) -> tuple[str | None, str | None]:
    """The ids of the pages before and after ``page_id`` (None at either end)."""
    ids = [page.id for page in pages]
    position = ids.index(page_id)
    before = ids[position - 1] if position > 0 else None
    after = ids[position + 1] if position + 1 < len(ids) else None
    return before, after


def page_kind(page_id: str) -> str | None:
    """The kind of page an id names, whatever the resident chose (None: not a page id)."""
    if page_id == SERVICES:
        return "services"
    if page_id in (DEMOGRAPHICS, FINAL):
        return page_id
    if page_id in DOMAIN_IDS:
        return "domain"
    return None
