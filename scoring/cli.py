"""Command line: ``python -m scoring estimate …`` (and the report commands when present).

Usage::

    python -m scoring estimate --responses FILE [--questionnaires DIR] [--margins FILE]
        [--strata COL] [--cluster COL] [--variance linearization|jackknife|bootstrap]
        [--replicates N] [--seed S] [--domain-weights FILE|derived] [--target 85]
        [--target-metric index|satisfied_rate] [--no-screening] [--json OUT]
        [--weights-out FILE] [--lonely-psu fail|adjust]
        [--rate-interval logit|korn_graubard|wilson] [--trim LOWER UPPER]
        [--suppress-min-n 30] [--suppress-max-cv 0.3] [--level 0.95]

It prints a readable summary and, with ``--json``, writes the results (the contract of
the scoring issue); ``--weights-out`` writes ``response_id,weight``.  Bad input prints a
message naming the column, level or row and exits with status 2, writing nothing; files
are written atomically (temporary file, then rename) only after everything succeeded.

For other commands (``report``, ``plan``)
-----------------------------------------
* :func:`add_estimate_options` adds the estimate options (all of the above except the
  output files) to an argparse parser, so a command takes "the same options as
  estimate";
* :func:`scoring.pipeline.run_estimate` (re-exported here) runs the estimate step from
  the parsed options and returns an :class:`~scoring.pipeline.EstimateRun`: ``results``
  (the JSON dict), ``estimates``, ``design`` (calibrated, with the final weights),
  ``variance_design``, ``table`` (scores) and ``analysis_frame()`` (scores and weights
  in one DataFrame).
* If the module ``scoring.report_cli`` exists, its ``register_commands(subparsers)`` is
  called, so its commands appear next to ``estimate``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import ScoringInputError
from .pipeline import VARIANCE_METHODS, EstimateOptions, EstimateRun, run_estimate
from .proportions import INTERVAL_METHODS
from .questionnaire import QuestionnaireError
from .target import TARGET_METRICS

__all__ = [
    "EstimateOptions",
    "EstimateRun",
    "add_estimate_options",
    "build_parser",
    "main",
    "run_estimate",
    "write_atomically",
]

#: Errors that are the user's input, reported as a message and exit status 2.
INPUT_ERRORS: tuple[type[Exception], ...] = (ScoringInputError, QuestionnaireError)


def add_estimate_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the estimate step's input and method options to ``parser`` (not the outputs)."""
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--responses", required=True, metavar="FILE", help="responses CSV (docs/contracts.md)")
    inputs.add_argument("--questionnaires", metavar="DIR", help="questionnaire folder (item weights, scales, codes)")
    inputs.add_argument("--margins", metavar="FILE", help="population margins CSV: variable,level,population")
    inputs.add_argument(
        "--domain-weights",
        metavar="FILE|derived",
        help="domain,weight CSV, or 'derived' (relative importance for 'overall'); default equal",
    )
    design = parser.add_argument_group("design and variance")
    design.add_argument("--strata", metavar="COL", help="stratum column, e.g. town")
    design.add_argument("--cluster", metavar="COL", help="cluster (PSU) column, e.g. point")
    design.add_argument("--variance", choices=VARIANCE_METHODS, default="linearization")
    design.add_argument("--replicates", type=int, metavar="N", help="bootstrap replicates (default 500)")
    design.add_argument("--seed", type=int, default=0, metavar="S", help="bootstrap seed (default 0)")
    design.add_argument(
        "--lonely-psu",
        choices=("fail", "adjust"),
        default="fail",
        help="a stratum with one PSU: fail (default) or adjust as R's survey.lonely.psu",
    )
    design.add_argument(
        "--trim",
        type=float,
        nargs=2,
        metavar=("LOWER", "UPPER"),
        help="keep weight adjustments within LOWER..UPPER times their mean, re-raking",
    )
    estimates = parser.add_argument_group("estimates")
    estimates.add_argument("--target", type=float, default=85.0, help="target as said: 85 (default 85)")
    estimates.add_argument("--target-metric", choices=TARGET_METRICS, default="index")
    estimates.add_argument(
        "--rate-interval",
        choices=INTERVAL_METHODS,
        default="logit",
        help="interval for satisfied rates (default logit)",
    )
    estimates.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    estimates.add_argument(
        "--no-screening",
        dest="screening",
        action="store_false",
        help="keep speeders, straight-liners and duplicates (partial responses are always left out)",
    )
    estimates.add_argument(
        "--suppress-min-n",
        type=int,
        default=30,
        metavar="N",
        help="suppress subgroup cells with fewer respondents (default 30)",
    )
    estimates.add_argument(
        "--suppress-max-cv",
        type=float,
        default=0.3,
        metavar="CV",
        help="suppress subgroup cells with a larger CV (default 0.3)",
    )
    return parser


def write_atomically(path: str | Path, write: Callable[[Any], None], *, mode: str = "w") -> None:
    """Write a file through ``write(handle)`` into a temporary file, then rename it."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed and renamed below
        mode,
        dir=directory,
        prefix=f".{target.name}.",
        suffix=".tmp",
        delete=False,
        encoding="utf-8" if "b" not in mode else None,
        newline="" if "b" not in mode else None,
    )
    try:
        with handle:
            write(handle)
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _format(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def summary_text(run: EstimateRun) -> str:
    """The readable summary the command prints."""
    results = run.results
    level = round(run.estimates.level * 100)
    lines = [
        f"{'domain':<22}{'index':>7}  {f'{level}% CI':<15}{'SE':>6}{'n':>8}{'deff':>6}{'alpha':>7}  satisfied (CI)"
    ]
    for domain, r in results["domains"].items():
        rate = r["satisfied_rate"]
        rate_text = (
            "—"
            if rate is None
            else (
                f"{_format(rate['estimate'] and rate['estimate'] * 100)}% "
                f"({_format(rate['ci_low'] and rate['ci_low'] * 100)}–{_format(rate['ci_high'] and rate['ci_high'] * 100)})"
            )
        )
        lines.append(
            f"{domain:<22}{_format(r['index']):>7}  {_format(r['ci_low']) + '–' + _format(r['ci_high']):<15}"
            f"{_format(r['se'], 2):>6}{r['n']:>8}{_format(r['deff'], 2):>6}{_format(r['alpha'], 2):>7}  {rate_text}"
        )
    overall = results["overall"]
    lines.append(
        f"{'OVERALL':<22}{_format(overall['index']):>7}  {_format(overall['ci_low']) + '–' + _format(overall['ci_high']):<15}"
        f"{_format(overall['se'], 2):>6}{overall['n']:>8}"
    )
    rate = overall["satisfied_rate"]
    if rate is not None:
        lines.append(
            f"overall satisfied rate: {_format(rate['estimate'] * 100)}% "
            f"({_format(rate['ci_low'] * 100)}–{_format(rate['ci_high'] * 100)}), {run.estimates.interval_method} interval"
        )
    target = results["target"]
    if target is not None:
        shown = target["value"] * 100 if target["metric"] == "satisfied_rate" else target["value"]
        lines.append(
            f"target {_format(shown)} ({target['metric']}): {target['verdict']} "
            f"(t = {_format(target['statistic'], 2)}, one-sided p = {_format(target['p_value'], 4)})"
        )
    design = results["design"]
    weights = results["weights"]
    lines.append(
        f"design: strata {design['strata'] or '—'}, clusters {design['clusters'] or '—'}, df {design['df']}, "
        f"variance {design['variance']}"
        + (f" ({run.variance_design.n_replicates} replicates)" if design["variance"] != "linearization" else "")
    )
    lines.append(
        f"weights: {weights['method']}, effective n {_format(weights['effective_n'], 0)}, "
        f"deff {_format(weights['deff'], 2)}, range {_format(weights['min'], 2)}–{_format(weights['max'], 2)}"
    )
    excluded = ", ".join(f"{k} {v}" for k, v in results["excluded"].items())
    lines.append(f"excluded: {excluded} (analysed {overall['n']})")
    return "\n".join(lines)


def _estimate_command(options: argparse.Namespace) -> int:
    run = run_estimate(options)
    json_text = json.dumps(run.results, ensure_ascii=False, indent=2, allow_nan=False) + "\n" if options.json else None
    if options.json:
        write_atomically(options.json, lambda handle: handle.write(json_text))
    if options.weights_out:
        frame = run.weights_frame()
        write_atomically(
            options.weights_out,
            lambda handle: frame.to_csv(handle, index=False, float_format="%.17g", lineterminator="\n"),
        )
    print(summary_text(run))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m scoring`` parser, with any report commands registered."""
    parser = argparse.ArgumentParser(prog="python -m scoring", description="Manyi scoring engine")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    estimate = subparsers.add_parser(
        "estimate",
        help="weights, domain and overall indices with confidence intervals, the target test",
        description="Estimate the satisfaction indices of a responses table (see docs/contracts.md).",
    )
    add_estimate_options(estimate)
    outputs = estimate.add_argument_group("outputs")
    outputs.add_argument("--json", metavar="OUT", help="write the results JSON here")
    outputs.add_argument("--weights-out", metavar="FILE", help="write response_id,weight here")
    estimate.set_defaults(handler=_estimate_command)
    if importlib.util.find_spec("scoring.report_cli") is not None:
        importlib.import_module("scoring.report_cli").register_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input)."""
    parser = build_parser()
    options = parser.parse_args(argv)
    handler = getattr(options, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(options) or 0)
    except INPUT_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # an output path that cannot be written
        print(f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
