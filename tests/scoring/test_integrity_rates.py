"""Measured detection power and false alarms of the integrity review (issue 15 acceptance), reduced size.

The full-size figures (100 waves per scenario) and the command are in docs/integrity.md;
here 30 waves per scenario.  With 30 runs a 95% Clopper–Pearson interval spans about ±15
points, so the assertions are the targets loosened to what 30 runs can show: the coached
point (30 residents) found in at least 24 of 30 waves (a true rate of 90% gives fewer than
24 with probability 2.6%), and a false point in at most 4 of 30 clean waves (a true rate of
5% gives more than 4 with probability 1.6%).
"""

from __future__ import annotations

import pytest

from scoring.integrity.measure import binomial_interval, measure_detection

RUNS = 30


@pytest.mark.slow
def test_thirty_coached_residents_are_found_and_clean_waves_stay_quiet(questionnaires):
    coached = measure_detection(range(RUNS), coached_responses=30, bot_responses=60, questionnaires=questionnaires)
    clean = measure_detection(range(1000, 1000 + RUNS), questionnaires=questionnaires)
    low, high = binomial_interval(coached.coached_found, RUNS)
    print(f"coached found {coached.coached_found}/{RUNS} (95% CI {low:.0%}–{high:.0%})")
    print(f"clean waves with a false point {clean.false_points}/{RUNS}, false address {clean.false_addresses}/{RUNS}")
    assert coached.coached_found >= 24
    assert coached.farm_found >= RUNS - 1
    assert clean.false_points <= 4
    assert clean.false_addresses <= 2
