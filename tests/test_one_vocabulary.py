"""One vocabulary (issue 13): a fact the product states is written in one place.

The verdict words of the office screens are :mod:`scoring.vocabulary`'s; the default target,
the district's time zone and the rule for a comment's characters have one home each.  The
source checks read the code with :mod:`ast` (docstrings and comments may mention a value).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scoring.vocabulary import DEFAULT_TARGET, LABELS, TIME_ZONE, VERDICTS

REPO = Path(__file__).resolve().parent.parent


def _sources() -> dict[str, ast.Module]:
    found = {}
    for root in ("survey", "scoring"):
        for path in sorted((REPO / root).rglob("*.py")):
            if "migrations" not in path.parts:
                found[str(path.relative_to(REPO))] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_office_screens_say_the_verdicts_in_the_vocabularys_words(app, language):
    from survey.admin.base import VERDICT_LABELS

    with app.test_request_context(f"/admin/?lang={language}"):
        shown = {code: str(words) for code, words in VERDICT_LABELS.items()}
    assert shown == {code: LABELS["verdict"][language][code] for code in VERDICTS}


def test_the_time_zone_is_named_once():
    where = [
        f"{name}:{node.lineno}"
        for name, tree in _sources().items()
        if name != "scoring/vocabulary.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value == TIME_ZONE and id(node) not in _docstrings(tree)
    ]
    assert where == [], f"name the zone as scoring.vocabulary.TIME_ZONE: {where}"


def test_the_default_target_is_written_once():
    """No default value of a parameter, field or setting is the literal target (85)."""
    where = []
    for name, tree in _sources().items():
        if name == "scoring/vocabulary.py":
            continue
        for node in ast.walk(tree):
            defaults: list[ast.expr | None] = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defaults = [*node.args.defaults, *node.args.kw_defaults]
            elif isinstance(node, ast.AnnAssign) or (
                isinstance(node, ast.keyword) and node.arg in ("target", "default")
            ):
                defaults = [node.value]
            for value in defaults:
                if isinstance(value, ast.Constant) and value.value == DEFAULT_TARGET:
                    where.append(f"{name}:{value.lineno}")
    assert where == [], f"use scoring.vocabulary.DEFAULT_TARGET: {where}"


def test_the_import_and_the_resident_form_hold_comments_to_one_rule():
    from survey.respond.forms import _CONTROL
    from survey.services.masking import CONTROL_CHARACTERS

    assert _CONTROL.pattern == CONTROL_CHARACTERS.pattern
    assert CONTROL_CHARACTERS.search("a\x1b[31mred") and not CONTROL_CHARACTERS.search("多行\n\t评论")
