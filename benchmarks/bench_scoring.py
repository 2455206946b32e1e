"""Scoring engine speed and memory: 10k, 100k and 1M responses, with R side by side.

    .venv/bin/python benchmarks/bench_scoring.py                  # 10k, 100k, 1M (+ R at 100k)
    .venv/bin/python benchmarks/bench_scoring.py --sizes 10000 100000 --no-jackknife

The job (issue 4): responses in the contract with the real questionnaires (12 domains,
≈ 70 Likert items), 12 towns as strata, 8 collection points per town as clusters (96
PSUs), raked to town, sex and age-group margins, linearization, every domain index,
satisfied rate, the overall index and the subgroup tables.

Measured, each in a fresh process so that peak memory is the job's own:

* **estimate step** — :func:`scoring.pipeline.run_estimate` on a table already in memory
  (what the web app's adapter calls): validation, screening, scores, design, raking,
  estimates; with a breakdown by phase.  Peak RSS of that process (input table included);
* **CLI run** — ``python -m scoring estimate --responses FILE …`` from start to exit,
  CSV parsing included, and its peak RSS;
* **jackknife** — the estimate step with ``variance="jackknife"`` (one replicate per PSU,
  each re-raked);
* **R** — ``benchmarks/r_scoring.R`` at 100k (read + rake + 12 domain ratios with
  R's survey package) when ``Rscript`` is installed.

It prints the figures and writes ``benchmarks/output/scoring.json`` and ``scoring.md``;
it never fails a test run (a failed measurement is reported, not raised).  Synthetic
inputs are generated once and cached (``--cache``, default a folder in the temp dir).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
R_SIZE = 100_000
BUDGETS = {"estimate_seconds": 5.0, "peak_gb": 3.0, "cli_seconds": 20.0, "jackknife_seconds": 60.0, "r_speedup": 20.0}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- inputs


def make_inputs(n: int, cache: Path) -> tuple[Path, Path]:
    """Cached synthetic responses (CSV) and margins for ``n`` responses."""
    cache.mkdir(parents=True, exist_ok=True)
    responses, margins = cache / f"responses_{n}.csv", cache / f"margins_{n}.csv"
    if responses.exists() and margins.exists():
        return responses, margins
    from scoring.questionnaire import load_questionnaires
    from scoring.synthetic import generate_survey, write_margins_csv, write_responses_csv

    started = time.perf_counter()
    population, sample = generate_survey(
        n,
        seed=1,
        population_seed=0,
        questionnaires=load_questionnaires(REPO / "questionnaires"),
        population_size=max(200_000, 2 * n),
        points_per_town=8,
        sampled_points_per_town=None,
    )
    write_responses_csv(sample.responses, responses.with_suffix(".tmp"))
    responses.with_suffix(".tmp").replace(responses)
    write_margins_csv(population.margins, margins)
    print(f"  generated {n:,} responses in {time.perf_counter() - started:.0f} s ({responses})", flush=True)
    return responses, margins


# --------------------------------------------------------------------------- measurements (child processes)


def measure_estimate(responses: Path, margins: Path, variance: str) -> dict:
    """Parse, then time the estimate step on the in-memory table, phase by phase."""
    from scoring.data import Instrument, read_margins, read_responses, validate_responses
    from scoring.design import survey_design
    from scoring.pipeline import EstimateOptions, run_estimate
    from scoring.questionnaire import load_questionnaires
    from scoring.satisfaction import estimate_satisfaction
    from scoring.scores import build_analysis_table
    from scoring.screening import screen_responses
    from scoring.variance import jackknife_design
    from scoring.weighting import rake

    questionnaires = load_questionnaires(REPO / "questionnaires")
    started = time.perf_counter()
    frame = read_responses(responses)
    parse_seconds = time.perf_counter() - started
    rss_after_parse = peak_rss_mb()

    options = EstimateOptions(
        responses=frame,
        questionnaires=questionnaires,
        margins=margins,
        strata="town",
        cluster="point",
        variance=variance,
    )
    started, cpu = time.perf_counter(), time.process_time()
    run = run_estimate(options)
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu

    phases = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 3)
        clock = now

    validated = validate_responses(frame, Instrument.from_questionnaires(questionnaires), required=["town", "point"])
    lap("validate")
    screening = screen_responses(validated)
    table = build_analysis_table(validated.subset(screening.keep))
    lap("screen + scores")
    design = rake(survey_design(table.frame, strata="town", cluster="point"), read_margins(margins))
    lap("design + raking")
    variance_design = jackknife_design(design) if variance == "jackknife" else design
    lap("replicates" if variance == "jackknife" else "no replicates")
    estimate_satisfaction(table, variance_design)
    lap("estimates")
    return {
        "n": len(frame),
        "variance": variance,
        "seconds": round(total, 3),
        "cpu_seconds": round(total_cpu, 3),
        "parse_seconds": round(parse_seconds, 3),
        "phases": phases,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_after_parse_mb": round(rss_after_parse, 1),
        "cells": run.design.cells.n_cells,
        "psus": run.design.n_psu,
        "replicates": getattr(run.variance_design, "n_replicates", 0),
        "overall_index": run.results["overall"]["index"],
    }


def child(kind: str, responses: Path, margins: Path, variance: str = "linearization") -> dict:
    """Run one measurement in a fresh interpreter; returns its JSON (or an error)."""
    command = [
        sys.executable,
        __file__,
        "--measure",
        kind,
        "--responses",
        str(responses),
        "--margins",
        str(margins),
        "--variance",
        variance,
    ]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_cli(responses: Path, margins: Path) -> dict:
    """``python -m scoring estimate`` end to end: wall time and the child's peak RSS."""
    out = Path(tempfile.mkdtemp(prefix="manyi-bench-")) / "results.json"
    command = [
        sys.executable,
        "-m",
        "scoring",
        "estimate",
        "--responses",
        str(responses),
        "--questionnaires",
        str(REPO / "questionnaires"),
        "--margins",
        str(margins),
        "--strata",
        "town",
        "--cluster",
        "point",
        "--json",
        str(out),
    ]
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "s = time.perf_counter() - t\n"
        "print(json.dumps({'returncode': r.returncode, 'seconds': round(s, 3), 'stderr': r.stderr[-500:],"
        " 'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", wrapper, *command], cwd=REPO, capture_output=True, text=True)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    shutil.rmtree(out.parent, ignore_errors=True)
    if result["returncode"] != 0:
        return {"error": result["stderr"].strip().splitlines()[-1] if result["stderr"].strip() else "failed"}
    return {"seconds": result["seconds"], "peak_rss_mb": result["peak_rss_mb"]}


def measure_r(responses: Path, margins: Path) -> dict:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not installed"}
    script = REPO / "benchmarks" / "r_scoring.R"
    started = time.perf_counter()
    completed = subprocess.run(
        ["Rscript", str(script), str(responses), str(margins)], cwd=REPO, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"}
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = round(wall, 3)
    return figures


# --------------------------------------------------------------------------- report


def slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) on log(n)."""
    points = [(n, s) for n, s in points if s and s > 0]
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(s) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def markdown(report: dict) -> str:
    lines = [
        "## Scoring engine (benchmarks/bench_scoring.py)",
        "",
        f"Machine: {report['machine']}; load average at start {report['load_average']}. "
        "Times are wall-clock seconds on a shared machine.",
        "",
        "| responses | estimate step (s) | CPU (s) | peak RSS (MB) | CLI run (s) | CLI peak RSS (MB) | jackknife (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["sizes"]:
        estimate, cli, jackknife = row.get("estimate", {}), row.get("cli", {}), row.get("jackknife", {})
        lines.append(
            f"| {row['n']:,} | {estimate.get('seconds', '—')} | {estimate.get('cpu_seconds', '—')} | "
            f"{estimate.get('peak_rss_mb', '—')} | {cli.get('seconds', '—')} | {cli.get('peak_rss_mb', '—')} | "
            f"{jackknife.get('seconds', '—')} |"
        )
    lines += [
        "",
        f"Growth (slope of log time on log n), estimate step: {report['slope_estimate']}; "
        f"CLI run: {report['slope_cli']}.",
        "",
    ]
    for row in report["sizes"]:
        if "phases" in row.get("estimate", {}):
            lines.append(
                f"- {row['n']:,}: phases {row['estimate']['phases']}, CSV parse {row['estimate']['parse_seconds']} s, "
                f"{row['estimate']['cells']} cells, {row['estimate']['psus']} PSUs"
            )
    r = report.get("r")
    if r:
        lines += ["", f"R side by side at {R_SIZE:,}: {json.dumps(r)}"]
        if report.get("r_speedup"):
            lines.append(f"Speed-up of the whole CLI run over R's job: {report['r_speedup']}×.")
    lines += ["", f"Budgets: {json.dumps(BUDGETS)}", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "manyi-bench-scoring")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "output")
    parser.add_argument("--no-r", action="store_true", help="skip the R comparison")
    parser.add_argument("--no-jackknife", action="store_true")
    parser.add_argument("--measure", choices=("estimate",), help=argparse.SUPPRESS)
    parser.add_argument("--responses", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--margins", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variance", default="linearization", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure:
        print(json.dumps(measure_estimate(options.responses, options.margins, options.variance)))
        return 0

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "sizes": [],
    }
    for n in options.sizes:
        print(f"{n:,} responses", flush=True)
        try:
            responses, margins = make_inputs(n, options.cache)
        except Exception as error:  # a benchmark reports, it never fails
            report["sizes"].append({"n": n, "error": repr(error)})
            continue
        row = {"n": n, "estimate": child("estimate", responses, margins), "cli": measure_cli(responses, margins)}
        if not options.no_jackknife:
            row["jackknife"] = child("estimate", responses, margins, "jackknife")
        print("  " + json.dumps(row), flush=True)
        report["sizes"].append(row)
        if n == R_SIZE and not options.no_r:
            report["r"] = measure_r(responses, margins)
            print("  R: " + json.dumps(report["r"]), flush=True)
            cli_seconds = row["cli"].get("seconds")
            if cli_seconds and "seconds" in report["r"]:
                report["r_speedup"] = round(report["r"]["seconds"] / cli_seconds, 1)
    report["slope_estimate"] = slope([(r["n"], r.get("estimate", {}).get("seconds")) for r in report["sizes"]])
    report["slope_cli"] = slope([(r["n"], r.get("cli", {}).get("seconds")) for r in report["sizes"]])
    for key in ("slope_estimate", "slope_cli"):
        report[key] = None if report[key] is None else round(report[key], 2)
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / "scoring.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    text = markdown(report)
    (options.output / "scoring.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
