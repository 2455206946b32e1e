"""Extra sections of the public results page: one hook per section.

A part of Manyi that adds a section to results.json (e.g. ``integrity``, ``tasks``) shows
it on the public page by adding **one partial**:
``survey/templates/results/sections/<order>_<key>.html`` (``<order>`` two digits, e.g.
``50_integrity.html``).  ``results/year.html`` includes every partial found there, in name
order, at its one marked point (after the rankings).  A partial sees ``results`` (the
typed :class:`scoring.contract.Results`; its own part via ``results.section("<key>")``),
``page`` (the page model), ``language`` (``"zh"`` or ``"en"``) and the usual template
helpers; it should print nothing when its part of the results is absent.  Words go through
``_()`` (with a Chinese translation in ``survey/translations/``) or are taken from
:mod:`scoring.vocabulary` labels: no code is ever printed.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["SECTIONS_DIR", "section_templates"]

#: Where the partials live.
SECTIONS_DIR = Path(__file__).resolve().parents[1] / "templates" / "results" / "sections"
_NAME = re.compile(r"^\d{2}_[a-z][a-z0-9_]*\.html$")


def section_templates(directory: Path = SECTIONS_DIR) -> list[str]:
    """Template names of every section partial, in order (``results/sections/50_integrity.html``).

    Raises
    ------
    ValueError
        A file in the folder is not named ``NN_key.html`` (say which, and how to name it).
    """
    if not directory.is_dir():
        return []
    names = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        if not _NAME.match(path.name):
            raise ValueError(
                f"{path}: a results page section is named NN_key.html (two digits, then its results key), "
                "e.g. 50_integrity.html"
            )
        names.append(f"results/sections/{path.name}")
    return names
