"""The Flask-Babel catalogue: msgids in English, a complete Chinese (zh) translation,
and a compiled .mo that matches its .po.

When a test here fails after a UI string changed, run the commands at the top of
``babel.cfg`` (extract, update, translate, compile).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "survey" / "translations" / "zh" / "LC_MESSAGES"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _po():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        return read_po(handle, locale="zh")


def _extracted() -> dict[str, str]:
    """msgid → first place it is used, exactly as ``pybabel extract -F babel.cfg`` sees it."""
    with open(REPO / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        REPO, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def test_every_extracted_string_has_a_chinese_translation():
    catalogue = _po()
    missing = []
    for msgid, where in sorted(_extracted().items(), key=lambda pair: pair[1]):
        message = catalogue.get(msgid)
        if message is None or message.fuzzy or not all(_strings(message)):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "untranslated (see babel.cfg for the commands):\n" + "\n".join(missing)


def test_translations_keep_every_placeholder():
    for message in _po():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set(_PLACEHOLDER.findall(ids[0])) | (set(_PLACEHOLDER.findall(ids[1])) if len(ids) > 1 else set())
        for text in filter(None, _strings(message)):  # untranslated: the test above
            assert set(_PLACEHOLDER.findall(text)) <= expected, (message.id, text)
            if "%(" in ids[0] and len(ids) == 1:
                assert set(_PLACEHOLDER.findall(text)) == expected, (message.id, text)


def _hashable(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_compiled_catalogue_is_current():
    po = {_hashable(m.id): _hashable(m.string) for m in _po() if m.id and not m.fuzzy and all(_strings(m))}
    with open(CATALOGUE / "messages.mo", "rb") as handle:
        mo = {_hashable(m.id): _hashable(m.string) for m in read_mo(handle) if m.id}
    stale = sorted(str(key) for key in po.keys() ^ mo.keys()) + sorted(
        str(k) for k in po.keys() & mo.keys() if po[k] != mo[k]
    )
    assert not stale, "messages.mo is out of date; run: pybabel compile -d survey/translations -l zh\n" + "\n".join(
        stale[:20]
    )


def test_chinese_is_the_default_and_english_the_msgids(app):
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"):
        assert gettext("Start the survey") == "开始填写"
        with force_locale("en"):
            assert gettext("Start the survey") == "Start the survey"


@pytest.mark.parametrize("name", ["messages.po", "messages.mo"])
def test_catalogue_files_are_packaged(name):
    assert (CATALOGUE / name).is_file()
