"""Write the inputs of pipeline_reference.R (run once; the outputs are committed).

    .venv/bin/python tests/scoring/r/make_pipeline_inputs.py
    Rscript tests/scoring/r/pipeline_reference.R

A seeded synthetic sample (scoring.synthetic) with the real questionnaires: 12 towns
(strata), 3 collection points drawn per town (PSUs), residents answering only the
domains they used plus "don't know" answers (planned missingness), and planted
partial, duplicate, speeder and straight-lining responses for the screening.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scoring.questionnaire import DOMAIN_IDS, load_questionnaires
from scoring.synthetic import generate_survey, write_margins_csv, write_responses_csv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def main() -> None:
    questionnaires = load_questionnaires(ROOT / "questionnaires")
    population, sample = generate_survey(
        2400,
        seed=20250,
        population_seed=7,
        questionnaires=questionnaires,
        population_size=300_000,
        points_per_town=8,
        sampled_points_per_town=3,
        contamination={"partial": 0.02, "duplicate_browser": 0.01, "speeders": 0.015, "straight_liners": 0.01},
    )
    responses = sample.responses
    write_responses_csv(responses, HERE / "pipeline_responses.csv")
    write_margins_csv(population.margins, HERE / "pipeline_margins.csv")
    # The same responses with unequal design weights (constant within a point).
    weighted = responses.copy()
    codes = weighted["point"].astype("category").cat.codes.to_numpy()
    weighted["base_weight"] = 0.6 + 0.35 * (codes % 5)
    write_responses_csv(weighted, HERE / "pipeline_responses_weighted.csv")
    # Unequal domain weights for the overall index (an AHP-like set).
    weights = np.arange(1, len(DOMAIN_IDS) + 1, dtype=float)
    with open(HERE / "pipeline_domain_weights.csv", "w", encoding="utf-8", newline="\n") as handle:
        handle.write("domain,weight\n")
        for domain, weight in zip(DOMAIN_IDS, weights):
            handle.write(f"{domain},{weight:g}\n")


if __name__ == "__main__":
    main()
