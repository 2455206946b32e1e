"""Measured detection and false-alarm rates of the integrity review on simulated waves.

``python -m scoring.integrity.measure`` draws synthetic waves (:mod:`scoring.synthetic`)
over several seeds — clean ones, and ones with a coached point and a bot farm planted —
runs :func:`~.review.review_integrity` on each and prints how often the plants were found
and how often a clean point or address was flagged.  The figures in docs/integrity.md come
from this command (its defaults).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from ..data import validate_responses
from ..questionnaire import QuestionnaireSet
from ..screening import screen_responses
from ..synthetic import IntegrityPlants, generate_survey
from .review import IntegrityRules, review_integrity

__all__ = ["DetectionRates", "measure_detection"]


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


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rates of the clean and planted scenarios over ``--runs`` seeds."""
    parser = argparse.ArgumentParser(prog="python -m scoring.integrity.measure", description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="waves per scenario (default 20)")
    parser.add_argument("--responses", type=int, default=3000, help="responses per wave (default 3000)")
    parser.add_argument("--questionnaires", metavar="DIR", help="questionnaire folder (default: the generator's)")
    options = parser.parse_args(argv)
    questionnaires = None
    if options.questionnaires:
        from ..questionnaire import load_questionnaires

        questionnaires = load_questionnaires(options.questionnaires)
    scenarios = [
        ("clean", 0, 0, 1000),
        ("30 coached + farm of 60", 30, 60, 0),
        ("40 coached + farm of 60", 40, 60, 0),
    ]
    print(f"{options.runs} waves of {options.responses} responses per scenario (48 points, 12 towns)")
    for name, coached, bots, first in scenarios:
        rates = measure_detection(
            range(first, first + options.runs),
            n_responses=options.responses,
            coached_responses=coached,
            bot_responses=bots,
            questionnaires=questionnaires,
        )
        print(
            f"{name}: coached point flagged {rates.coached_found}/{rates.runs}; farm found {rates.farm_found}/"
            f"{rates.runs} (mean share of its addresses flagged {rates.farm_addresses_found:.0%}); "
            f"waves with a false point {rates.false_points}/{rates.runs}, with a false address "
            f"{rates.false_addresses}/{rates.runs}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
