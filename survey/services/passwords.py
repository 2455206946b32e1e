"""Weak office passwords: length, the common-password list and the user name.

A password a person chooses is refused when it is shorter than :data:`MIN_PASSWORD_LENGTH`;
when it is one of the 10,000 most common passwords (the list shipped beside this module,
``common_passwords.txt.gz``, gzip-compressed text with its source in its header), also with digits or punctuation
added before or after it ("password2024!", "1qaz2wsx!!"), said twice ("trustno1trustno1")
or written in capitals; when it contains the user name (of three characters or more); or
when it is one character repeated.  Generated passwords are not checked (they are random).
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

#: Fewest characters of an office password.
MIN_PASSWORD_LENGTH = 10
#: How passwords are hashed (``PASSWORD_HASH_METHOD``): werkzeug's scrypt with N = 2**15,
#: r = 8, p = 1, about 0.1 s and 32 MB per hash.
DEFAULT_PASSWORD_HASH_METHOD = "scrypt:32768:8:1"

#: Digits and punctuation that people add around a common word to pass a length rule.
_PADDING = "0123456789!@#$%^&*()-_=+.,;:?/~`'\"[]{}<>|\\ "


def _candidates(lowered: str) -> set[str]:
    """The password and what it may be made of: without the digits and punctuation added
    after, before or around it, and the part said twice ("abc123abc123")."""
    found = {lowered, lowered.rstrip(_PADDING), lowered.lstrip(_PADDING), lowered.strip(_PADDING)}
    for text in list(found):
        for size in range(1, len(text) // 2 + 1):
            if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
                found.add(text[:size])
                break
    found.discard("")
    return found


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = gzip.decompress(resources.files("survey.services").joinpath("common_passwords.txt.gz").read_bytes()).decode()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why ``password`` is too weak for the account ``username``, or None when it is fine.

    Parameters
    ----------
    password
        The proposed password.
    username
        The account's name; a password that contains it is refused.

    Returns
    -------
    str or None
        A sentence saying what is wrong and how to choose better, for the person typing it.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    name = username.strip().lower()
    if len(name) >= 3 and name in lowered:
        return "the password must not contain the user name; choose words that have nothing to do with the account"
    if len(set(lowered)) == 1:
        return "the password is one character repeated; use several unrelated words"
    common = common_passwords()
    if any(candidate in common for candidate in _candidates(lowered)):
        return (
            "this password is one of the most common passwords (or one with digits added, or one said twice); "
            "use three or four unrelated words instead"
        )
    return None
