"""Issue 11: the public page's domain chart clipped its axis label "100" to "10(".

The axis and the rows share one SVG coordinate system (``viewBox``); the label of the
last tick is centred on x = 200, so the box must reach past 200 by half its width.
"""

from __future__ import annotations

import re

from survey.results.view import SCALE_WIDTH, Scale
from tests.conftest import REPO

TEMPLATE = REPO / "survey" / "templates" / "results" / "year.html"
#: Width of one digit of the axis labels (font-size 8) in SVG units, generously (Latin
#: digits are about 0.55–0.6 em wide in common sans-serif fonts).
DIGIT_WIDTH = 0.62 * 8


def test_axis_labels_fit_inside_the_chart_box():
    boxes = set(re.findall(r'<svg[^>]*viewBox="([-\d. ]+)"[^>]*width="100%"', TEMPLATE.read_text(encoding="utf-8")))
    domain_boxes = {box for box in boxes if float(box.split()[3]) == 12}
    assert len(domain_boxes) == 1, "the axis and the rows must share one viewBox"
    left, _, width, _ = map(float, domain_boxes.pop().split())
    for low in (0.0, 40.0, 60.0, 75.0):
        for x, value in Scale(low).ticks:
            half = DIGIT_WIDTH * len(str(value)) / 2
            assert x - half >= left, (value, x)
            assert x + half <= left + width, (value, x)
    assert Scale(60.0).ticks[-1] == (SCALE_WIDTH, 100)
