"""Measured detection and false-alarm rates of the integrity review on simulated waves.

``python -m scoring.integrity.measure`` draws synthetic waves (:mod:`scoring.synthetic`)
over several seeds — clean ones, and ones with a coached point and a bot farm planted —
runs :func:`~.review.review_integrity` on each and prints how often the plants were found
and how often a clean point or address was flagged.  The figures in docs/integrity.md come
from this command (its defaults: 100 waves per scenario — clean, and 20, 30, 40 and 50
coached residents at one point with a farm of 60 — each rate with its 95% Clopper–Pearson
interval).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as _stats

from ..data import validate_responses
from ..questionnaire import QuestionnaireSet
from ..screening import screen_responses
from ..synthetic import IntegrityPlants, generate_survey
from .review import IntegrityRules, review_integrity

__all__ = ["SCENARIOS", "DetectionRates", "binomial_interval", "measure_detection", "rates_table"]

#: The scenarios of the printed table: (name, coached residents, farm responses, first seed).
SCENARIOS: tuple[tuple[str, int, int, int], ...] = (
    ("clean", 0, 0, 1000),
    ("20 coached + farm of 60", 20, 60, 0),
    ("30 coached + farm of 60", 30, 60, 0),
    ("40 coached + farm of 60", 40, 60, 0),
    ("50 coached + farm of 60", 50, 60, 0),
)


def binomial_interval(count: int, runs: int, *, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson (exact) interval of a rate ``count/runs``, as shares (0–1)."""
    if runs <= 0:
        return float("nan"), float("nan")
    alpha = 1.0 - level
    low = 0.0 if count == 0 else float(_stats.beta.ppf(alpha / 2, count, runs - count + 1))
    high = 1.0 if count == runs else float(_stats.beta.ppf(1 - alpha / 2, count + 1, runs - count))
    return low, high


@dataclass(frozen=True)
class DetectionRates:
    """Counts over ``runs`` simulated waves of one scenario.

    Attributes
    ----------
    runs : int
    coached_found : int
        Waves whose coached point was flagged (0 without coached points).
    farm_found : int
        Waves where at least half the farm's addresses were flagged.
    farm_addresses_found : float
        Mean share of the farm's addresses flagged.
    false_points : int
        Waves where a point that was not coached was flagged.
    false_addresses : int
        Waves where an address outside the farm was flagged.
    """

    runs: int
    coached_found: int
    farm_found: int
    farm_addresses_found: float
    false_points: int
    false_addresses: int


def measure_detection(
    seeds: Sequence[int],
    *,
    n_responses: int = 3000,
    coached_responses: int = 0,
    bot_responses: int = 0,
    bot_addresses: int = 8,
    questionnaires: QuestionnaireSet | None = None,
    rules: IntegrityRules | None = None,
) -> DetectionRates:
    """Simulate one wave per seed (one coached point when ``coached_responses``) and count."""
    coached_found = farm_found = false_points = false_addresses = 0
    farm_share = 0.0
    for seed in seeds:
        plants = None
        if coached_responses or bot_responses:
            plants = IntegrityPlants(
                random_coached_points=1 if coached_responses else 0,
                coached_responses=max(coached_responses, 1),
                bot_responses=bot_responses,
                bot_addresses=bot_addresses,
            )
        _, sample = generate_survey(
            n_responses,
            seed=seed,
            population_size=50_000,
            questionnaires=questionnaires,
            integrity=plants,
            paradata=True,
        )
        required = ["submitted_at"]
        responses = validate_responses(sample.responses, questionnaires, required=required)
        review = review_integrity(responses, screen_responses(responses), rules=rules)
        points = {finding.point for finding in review.flagged_points}
        coached = set(sample.integrity.coached_points)
        coached_found += bool(coached) and coached <= points
        false_points += bool(points - coached)
        addresses = {finding.address for finding in review.flagged_addresses}
        farm = set(sample.integrity.bot_addresses)
        if farm:
            share = len(addresses & farm) / len(farm)
            farm_share += share
            farm_found += share >= 0.5
        false_addresses += bool(addresses - farm)
    runs = len(seeds)
    return DetectionRates(runs, coached_found, farm_found, farm_share / max(runs, 1), false_points, false_addresses)


def _rate(count: int, runs: int) -> str:
    low, high = binomial_interval(count, runs)
    return f"{count}/{runs} ({100 * count / max(runs, 1):.0f}%, {100 * low:.0f}–{100 * high:.0f}%)"


def rates_table(rows: Sequence[tuple[str, DetectionRates]]) -> str:
    """A markdown table of the scenarios' rates with 95% Clopper–Pearson intervals (docs/integrity.md)."""
    lines = [
        "| scenario | coached point flagged | bot farm found | waves with a false point | waves with a false address |",
        "|---|---|---|---|---|",
    ]
    for name, rates in rows:
        coached = _rate(rates.coached_found, rates.runs) if "coached" in name else "—"
        farm = _rate(rates.farm_found, rates.runs) if "farm" in name else "—"
        lines.append(
            f"| {name} | {coached} | {farm} | {_rate(rates.false_points, rates.runs)} | "
            f"{_rate(rates.false_addresses, rates.runs)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rates of the clean and planted scenarios over ``--runs`` seeds."""
    parser = argparse.ArgumentParser(prog="python -m scoring.integrity.measure", description=__doc__)
    parser.add_argument("--runs", type=int, default=100, help="waves per scenario (default 100)")
    parser.add_argument("--seed-offset", type=int, default=0, help="added to every scenario's first seed (default 0)")
    parser.add_argument(
        "--scenarios", default="", help="comma-separated coached counts to run (e.g. 0,30; default: all five)"
    )
    parser.add_argument("--responses", type=int, default=3000, help="responses per wave (default 3000)")
    parser.add_argument("--questionnaires", metavar="DIR", help="questionnaire folder (default: the generator's)")
    options = parser.parse_args(argv)
    questionnaires = None
    if options.questionnaires:
        from ..questionnaire import load_questionnaires

        questionnaires = load_questionnaires(options.questionnaires)
    wanted = {int(v) for v in options.scenarios.split(",") if v.strip()} if options.scenarios else None
    print(
        f"{options.runs} waves of {options.responses} responses per scenario (48 points, 12 towns); "
        "95% Clopper-Pearson intervals",
        flush=True,
    )
    rows = []
    for name, coached, bots, first in SCENARIOS:
        if wanted is not None and coached not in wanted:
            continue
        start = first + options.seed_offset
        rates = measure_detection(
            range(start, start + options.runs),
            n_responses=options.responses,
            coached_responses=coached,
            bot_responses=bots,
            questionnaires=questionnaires,
        )
        rows.append((f"{name} (seeds {start}–{start + options.runs - 1})", rates))
        print(rates_table(rows[-1:]).splitlines()[-1], flush=True)
    print(rates_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
