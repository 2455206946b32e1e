"""YAML data files with line numbers: loading, problems, bilingual text, content versions.

The questionnaires (:mod:`scoring.questionnaire`) and the plan (:mod:`scoring.plan`) are
both YAML data files checked the same way: every problem names the file, the line and
the item or task, and one run reports them all.  Pure: no Flask, no database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LANGUAGES: tuple[str, ...] = ("zh", "en")
_CHOICE_VALUE = re.compile(r"^[a-z0-9][a-z0-9_+\-]*$")


class QuestionnaireError(ValueError):
    """A questionnaire file is invalid.

    ``problems`` lists every problem found as :class:`Problem` records, so that a
    single run reports them all.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file: where, which item, what, and how to fix it."""

    file: str
    message: str
    line: int | None = None
    item: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        item = f" [{self.item}]" if self.item else ""
        return f"{where}{item}: {self.message}"


@dataclass(frozen=True)
class Text:
    """A bilingual string."""

    zh: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.zh


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


# ---------------------------------------------------------------------------
# YAML with line numbers


class _LineDict(dict[str, Any]):
    line: int | None = None


#: libyaml's parser when PyYAML was built with it (about ten times faster), else the pure-Python one.
_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeBase):  # type: ignore[misc]
    """A safe loader that remembers the line of every mapping (for error messages)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    mapping = _LineDict()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _plain(value: Any) -> Any:
    """Turn loader containers into plain JSON-able data (for hashing and storage)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def content_version(definition: Mapping[str, Any]) -> str:
    """Content hash of a parsed questionnaire: comments and layout do not change it."""
    canonical = json.dumps(_plain(definition), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------
# Validation


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, message: str, node: Any = None, item: str | None = None) -> None:
        line = getattr(node, "line", None)
        self.problems.append(Problem(self.file, message, line, item))

    def text(self, value: Any, what: str, node: Any, item: str | None) -> Text | None:
        if not isinstance(value, dict):
            self.add(
                f"{what} must be a mapping with 'zh' and 'en' strings, e.g. {{zh: 满意, en: Satisfied}}", node, item
            )
            return None
        unknown = set(value) - set(LANGUAGES)
        if unknown:
            self.add(f"{what} has unknown language(s) {sorted(unknown)}; use only 'zh' and 'en'", value, item)
        for language in LANGUAGES:
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                self.add(f"{what} is missing its '{language}' translation", value, item)
        if all(isinstance(text, str) and text.strip() for text in (value.get(lang) for lang in LANGUAGES)):
            return Text(zh=value["zh"].strip(), en=value["en"].strip())
        return None

    def choices(self, value: Any, node: Any, item: str) -> tuple[Choice, ...]:
        if not isinstance(value, list) or not value:
            self.add("choices must be a non-empty list of {value, zh, en}", node, item)
            return ()
        seen: set[str] = set()
        result = []
        for choice in value:
            if not isinstance(choice, dict):
                self.add("each choice must be a mapping {value, zh, en}", node, item)
                continue
            unknown = set(choice) - {"value", *LANGUAGES}
            if unknown:
                self.add(f"choice has unknown key(s) {sorted(unknown)}; allowed: value, zh, en", choice, item)
            raw = choice.get("value")
            choice_value = str(raw) if raw is not None else ""
            if not _CHOICE_VALUE.match(choice_value):
                self.add(f"choice value {raw!r} must be lower-case ASCII (letters, digits, _ + -)", choice, item)
            if choice_value in seen:
                self.add(f"duplicate choice value {choice_value!r}", choice, item)
            seen.add(choice_value)
            label = self.text({k: choice.get(k) for k in LANGUAGES}, f"choice {choice_value!r}", choice, item)
            if label:
                result.append(Choice(choice_value, label))
        return tuple(result)


def _read_yaml(path: Path, checker: _Checker) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        checker.add(f"not valid UTF-8 ({exc.reason} at byte {exc.start}); save the file as UTF-8")
        return None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        checker.problems.append(Problem(checker.file, f"YAML syntax error: {problem}", line))
        return None
