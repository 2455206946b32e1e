"""Write the inputs of accountability_reference.R (run once; the outputs are committed).

    .venv/bin/python tests/scoring/r/make_accountability_inputs.py
    Rscript tests/scoring/r/accountability_reference.R

Results by plan task and lead unit (issue 16): a seeded synthetic wave of 600 responses
with the shipped questionnaires (every aspect item names its plan task), the design of
what Manyi collects (PSU = collection point, strata = the point's town, phone and paper
rows one stratum per channel with each respondent its own PSU, lonely PSUs "adjust"),
raked to residence town, sex and age group:

* ``accountability_responses.csv`` — the responses (contract columns, ``point_town``);
* ``accountability_margins.csv`` — the population margins.

The Python side runs the estimate step without screening, so that R sees the same rows.
"""

from __future__ import annotations

from pathlib import Path

from scoring.questionnaire import load_questionnaires
from scoring.synthetic import generate_survey, write_margins_csv, write_responses_csv

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def main() -> None:
    questionnaires = load_questionnaires(REPO / "questionnaires")
    population, sample = generate_survey(600, seed=16, population_size=60_000, questionnaires=questionnaires)
    write_responses_csv(sample.responses, HERE / "accountability_responses.csv")
    write_margins_csv(population.margins, HERE / "accountability_margins.csv")


if __name__ == "__main__":
    main()
