"""Integrity checks: coached collection points and bot farms, found with false-discovery control.

A district that publishes a satisfaction index must show that it was not manufactured:
residents coached (or paid) to answer 满意 at a collection point, or a bot farm posting
through a few rotating addresses.  This package looks for both in any responses table of
the contract — from the database or a CSV — and says what it found in plain words
(``results["integrity"]``, docs/integrity.md):

* :mod:`.points` — each collection point against the other points of its town: share of
  top answers, respondents answering everything 满意, mean score, uniform answers;
  completions within one hour, night-time submissions, hours unlike the point's other days,
  alike answering times;
  straight-lining with speed; flags set at collection;
* :mod:`.addresses` — each network address (keyed hash) across the wave: alike answers
  and alike answering times among its responses;
* :mod:`.browsers` — each browser (keyed hash) with three or more responses: more
  completions than a household's, alike answers; :mod:`.hours` — a point's hours of the
  day, day against day;
* :mod:`.review` — one p-value per unit (Bonferroni over its checks), Benjamini–Hochberg
  across units, the flagged rows, and the office's exclusions (:class:`Exclusion`);
* :mod:`.section` — the ``integrity`` section of the results, with the headline with and
  without the flagged responses;
* :mod:`.stats` — the tests; :mod:`.words` — what the checks mean in Chinese and English.

Nothing is dropped silently: flagged responses stay in the estimate until the office
decides to exclude them, and the decision and its reason are published.
"""

from __future__ import annotations

from .addresses import ADDRESS_CHECKS
from .points import POINT_CHECKS
from .review import (
    EXCLUSION_KINDS,
    AddressFinding,
    Evidence,
    Exclusion,
    IntegrityReview,
    IntegrityRules,
    PointFinding,
    review_integrity,
)

__all__ = [
    "ADDRESS_CHECKS",
    "EXCLUSION_KINDS",
    "POINT_CHECKS",
    "AddressFinding",
    "Evidence",
    "Exclusion",
    "IntegrityReview",
    "IntegrityRules",
    "PointFinding",
    "review_integrity",
]
