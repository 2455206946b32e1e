"""Reference values from R's survey package (docs/statistics.md and tests/scoring/r/).

Two kinds:

* :data:`STATISTICS_MD` — the table of statistics.md, at its printed precision (these are
  R's own saved test outputs: api.Rout.saved, rakecheck.Rout.save, kalton.Rout.save);
* :func:`api_reference` and :func:`pipeline_reference` — full-precision outputs of
  ``tests/scoring/r/api_reference.R`` and ``pipeline_reference.R`` (R 4.2, survey 4.1.1),
  compared to 1e-6 relative.

The R scripts and the CSV files they read and write live in ``tests/scoring/r/``; the
tests read the files and never need R.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

R_DIR = Path(__file__).resolve().parent / "r"

#: statistics.md, "Reference values that any implementation must reproduce":
#: (value, absolute tolerance of the printed precision).
STATISTICS_MD = {
    "strat_mean_api00": (662.29, 0.005),
    "strat_mean_api00_se": (9.4089, 0.00005),
    "strat_total_enroll": (3687178, 0.5),
    "strat_total_enroll_se": (114642, 0.5),
    "clus1_mean_api00": (644.17, 0.005),
    "clus1_mean_api00_se": (23.542, 0.0005),
    "clus1_ratio": (0.8497087, 0.00000005),
    "clus1_ratio_se": (0.008386297, 0.0000000005),
    "jk1_mean_api00_se": (26.329, 0.0005),
    "ps_mean_api00": (642.31, 0.005),
    # R 4.1.1 gives 23.920486…; statistics.md prints 23.921, i.e. 23.9205 rounded twice.
    # The full-precision test below checks R's value to 1e-9.
    "ps_mean_api00_se": (23.921, 0.00052),
    "rake_mean_api00": (641.23, 0.005),
    "rake_mean_api00_se": (23.704, 0.0005),
}

#: Kalton & Flores-Cervantes (2003): raking factors of the 4 × 3 table, rows a = 1..4.
KALTON_FACTORS = (
    (1.81, 1.45, 2.02),
    (1.08, 0.87, 1.21),
    (2.20, 1.76, 2.45),
    (1.83, 1.47, 2.04),
)
KALTON_SAMPLE = (20, 50, 100, 30, 40, 140, 50, 100, 40, 310, 50, 70)
KALTON_POPULATION = (80, 60, 170, 55, 40, 150, 60, 165, 55, 340, 200, 125)

#: postStratify / rake populations of the statistics.md table.
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


def _reference(name: str) -> dict[str, float]:
    frame = pd.read_csv(R_DIR / name)
    return dict(zip(frame["statistic"], frame["value"].astype(float)))


@cache
def api_reference() -> dict[str, float]:
    """Full-precision R outputs for the api designs (api_reference.R)."""
    return _reference("api_reference.csv")


@cache
def pipeline_reference() -> dict[str, float]:
    """Full-precision R outputs for the satisfaction pipeline (pipeline_reference.R)."""
    return _reference("pipeline_reference.csv")


@cache
def stats_domain_df_reference() -> dict[str, float]:
    """R's domain degrees of freedom and the intervals built on them, on the pipeline fixture
    (stats_domain_df.R: ``degf(subset(design, …))``, ``svyciprop``'s default df)."""
    return _reference("stats_domain_df.csv")
