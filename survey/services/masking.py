"""Masking personal details in residents' comments: phone numbers and ID numbers.

The survey never asks for a name, a phone number or an ID number, and the comment box
says not to write them; some residents do anyway ("请打电话给我 13912345678").  Comments
are masked **when stored** — from the resident form (:mod:`survey.respond.forms`) and
from an import (:mod:`survey.services.imports`) — and **again in every export**
(:mod:`survey.services.exports`), for comments stored before masking existed.  What is
masked, each replaced by a bracketed note that says what was there:

* **Mainland ID numbers** (居民身份证号码): 18 characters, 17 digits and a check character
  (a digit or ``X``; ISO 7064 MOD 11-2 — masked whether or not the check character is
  right, since a mistyped ID number is still an ID number), and the old 15-digit numbers.
  → ``[身份证号已隐去]``
* **Mobile numbers**: ``1[3-9]`` and 9 more digits, optionally after ``+86``/``86``, with
  spaces or hyphens in the usual 3-4-4 places (``139 1234 5678``).  → ``[电话号码已隐去]``
* **Landline numbers** with their area code: ``0`` and 2–3 digits (``0716``), in brackets
  or not, then 7–8 digits, optionally split 3-4 or 4-4 (``(0716) 812-3456``).
  → ``[电话号码已隐去]``

Digits may be typed half-width (``0-9``) or full-width (``０-９``, as a Chinese input
method often writes them).  A number is only masked as a whole: a run of digits inside a
longer run (a 20-digit bank reference, say) is not cut in pieces, and is masked as a
long number (``[号码已隐去]``) when it has 15 digits or more.  Short numbers (prices,
bus lines, room numbers, years) are left alone.  Local landline numbers without an area
code (7–8 digits) are not masked: they cannot be told from amounts.

Also here, the one rule for the text a comment may hold (:data:`CONTROL_CHARACTERS`), read
by the import of responses; the resident form (``survey.respond.forms._CONTROL``) holds the
same rule, and a test keeps the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CONTROL_CHARACTERS",
    "ID_NOTE",
    "LONG_NUMBER_NOTE",
    "PHONE_NOTE",
    "Masked",
    "mask_details",
    "mask_personal_details",
]

#: Characters a comment may not contain: ASCII control characters other than tab and
#: line breaks (PostgreSQL rejects NUL outright; the others, ANSI escapes among them, are
#: never typed by people).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


ID_NOTE = "[身份证号已隐去]"
PHONE_NOTE = "[电话号码已隐去]"
LONG_NUMBER_NOTE = "[号码已隐去]"

_DIGIT = "[0-9０-９]"
_SEPARATOR = "[ \u3000\\-－‐—]"
#: Not inside a longer run of digits: a number is masked whole or not at all.
_BEFORE = "(?<![0-9０-９])"
_AFTER = "(?![0-9０-９])"

_ID_NUMBER = re.compile(f"{_BEFORE}(?:{_DIGIT}{{17}}[0-9０-９XxＸｘ]|{_DIGIT}{{15}}){_AFTER}")
_MOBILE = re.compile(
    f"{_BEFORE}(?:[+＋]?[8８][6６]{_SEPARATOR}?)?[1１][3-9３-９]{_DIGIT}(?:{_SEPARATOR}?{_DIGIT}{{4}}){{2}}{_AFTER}"
)
_LANDLINE = re.compile(
    f"{_BEFORE}(?:[(（][0０]{_DIGIT}{{2,3}}[)）]|[0０]{_DIGIT}{{2,3}})(?:{_SEPARATOR}|[)）])?"
    f"(?:{_DIGIT}{{7,8}}|{_DIGIT}{{3,4}}{_SEPARATOR}{_DIGIT}{{4}}){_AFTER}"
)
_LONG_NUMBER = re.compile(f"{_DIGIT}{{15,}}")

#: In this order: ID numbers first (an 18-digit ID number holds an 11-digit run that
#: looks like a mobile number), then phones, then whatever long digit runs are left.
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("id_number", _ID_NUMBER, ID_NOTE),
    ("mobile", _MOBILE, PHONE_NOTE),
    ("landline", _LANDLINE, PHONE_NOTE),
    ("long_number", _LONG_NUMBER, LONG_NUMBER_NOTE),
)


@dataclass(frozen=True)
class Masked:
    """A text with personal details masked, and how many of each kind were found."""

    text: str
    counts: dict[str, int]

    @property
    def changed(self) -> bool:
        return any(self.counts.values())


def mask_details(text: str) -> Masked:
    """``text`` with ID numbers and phone numbers replaced by notes (see the module notes).

    Examples
    --------
    >>> mask_details("请回电 139-1234-5678，身份证 42100219800101123X").text
    '请回电 [电话号码已隐去]，身份证 [身份证号已隐去]'
    >>> mask_details("3路公交车20分钟一班，挂号费10元").text
    '3路公交车20分钟一班，挂号费10元'
    """
    counts: dict[str, int] = {}
    for name, pattern, note in _RULES:
        text, found = pattern.subn(note, text)
        counts[name] = found
    return Masked(text, counts)


def mask_personal_details(text: str | None) -> str | None:
    """``text`` with ID numbers and phone numbers masked (None and "" stay as they are)."""
    if not text:
        return text
    return mask_details(text).text
