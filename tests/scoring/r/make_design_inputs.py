"""Write the inputs of design_reference.R (run once; the outputs are committed).

    .venv/bin/python tests/scoring/r/make_design_inputs.py
    Rscript tests/scoring/r/design_reference.R

The design of what Manyi collects (docs/statistics.md, issue 10): a small seeded
synthetic wave in three towns (scoring.synthetic, default items ``<domain>.q1..q5``):

* ``design_responses.csv`` — 3 of 5 points drawn per town, a quarter of the residents
  answering at a point outside their town of residence (``town`` ≠ ``point_town``),
  phone and paper rows with an empty ``point`` and ``point_town``; one domain
  (``SMALL_DOMAIN``) is kept for 15 residents only, at 3 points in 2 of the points'
  towns (its df is ``degf(subset(design, …))`` = 3 − 2 = 1);
* ``design_lonely_responses.csv`` — the same rows, except that one town keeps a single
  point and the paper channel a single response: two strata with one PSU
  (``survey.lonely.psu = "adjust"``);
* ``design_margins.csv`` — population margins on residence town, sex and age group.

No row is screened out by any rule (no partial or flagged rows; rows that give one
answer to 8 or more aspect items are dropped; durations are far from the speeder
threshold), so the reference values do not depend on the screening.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scoring.questionnaire import DOMAIN_IDS
from scoring.synthetic import draw_sample, make_population, write_margins_csv, write_responses_csv

HERE = Path(__file__).resolve().parent
TOWNS = ("xicheng", "jinan", "mashan")
SMALL_DOMAIN = "sports"
SMALL_DOMAIN_PER_POINT = 5
STRAIGHT_LINE_MIN_ITEMS = 8


def _drop_straight_liners(responses: pd.DataFrame) -> pd.DataFrame:
    aspects = [f"{domain}.q{k}" for domain in DOMAIN_IDS for k in range(1, 6)]
    answers = responses[aspects].to_numpy()
    answered = (~np.isnan(answers)).sum(axis=1)
    highest = np.where(np.isnan(answers), -np.inf, answers).max(axis=1)
    lowest = np.where(np.isnan(answers), np.inf, answers).min(axis=1)
    return responses[~((answered >= STRAIGHT_LINE_MIN_ITEMS) & (highest == lowest))].reset_index(drop=True)


def _keep_small_domain(responses: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """The small domain answered by 5 users at each of 3 points: 2 in one town, 1 in another."""
    items = [column for column in responses.columns if column.startswith(f"{SMALL_DOMAIN}.")]
    users = responses[items].notna().any(axis=1) & responses["point"].notna()
    per_point = responses[users].groupby("point").size()
    eligible = per_point[per_point >= SMALL_DOMAIN_PER_POINT].index
    town_of = points.set_index("code")["town"]
    by_town = pd.Series(eligible, index=town_of[eligible].to_numpy()).groupby(level=0).apply(sorted)
    two_point_towns = [town for town, codes in by_town.items() if len(codes) >= 2]
    first = two_point_towns[0]
    second = next(town for town in by_town.index if town != first)
    chosen_points = [*by_town[first][:2], by_town[second][0]]
    keep = np.zeros(len(responses), dtype=bool)
    for code in chosen_points:
        rows = np.flatnonzero(users.to_numpy() & responses["point"].eq(code).to_numpy())
        keep[rows[:SMALL_DOMAIN_PER_POINT]] = True
    out = responses.copy()
    out.loc[~keep, items] = np.nan
    used = out["services_used"].str.split(";")
    out["services_used"] = [
        ";".join(d for d in domains if d != SMALL_DOMAIN or kept) for domains, kept in zip(used, keep)
    ]
    return out


def _lonely(responses: pd.DataFrame) -> pd.DataFrame:
    """One town keeps one point; the paper channel keeps one response."""
    at_point = responses["point"].notna()
    last_town = TOWNS[-1]
    town_points = sorted(responses.loc[at_point & responses["point_town"].eq(last_town), "point"].unique())
    drop = at_point & responses["point_town"].eq(last_town) & responses["point"].ne(town_points[0])
    paper = np.flatnonzero(responses["channel"].eq("paper").to_numpy())
    drop |= responses.index.isin(paper[1:])
    return responses[~drop].reset_index(drop=True)


def main() -> None:
    population = make_population(seed=31, size=60_000, points_per_town=5, towns=TOWNS)
    sample = draw_sample(population, 430, seed=2025, sampled_points_per_town=3)
    responses = _drop_straight_liners(sample.responses)
    responses = _keep_small_domain(responses, population.points)
    durations = responses["duration_s"]
    assert (durations >= durations.median() / 3 * 1.05).all(), "a response would be screened as a speeder"
    write_responses_csv(responses, HERE / "design_responses.csv")
    write_responses_csv(_lonely(responses), HERE / "design_lonely_responses.csv")
    write_margins_csv(population.margins, HERE / "design_margins.csv")


if __name__ == "__main__":
    main()
