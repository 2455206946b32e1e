"""Benchmark: the full report (``python -m scoring report``) for 100,000 responses.

Budget (issue 5): ≤ 30 s for estimate + rankings + key drivers + tables + charts + HTML + PDF,
the command-line run included (reading the CSV, starting Python).  The synthetic data are
made first and not timed.  This script measures and prints; it never fails a test run.

Usage::

    .venv/bin/python benchmarks/bench_report.py [--responses 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 30.0


def make_inputs(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    sys.path.insert(0, str(REPO))
    from scoring.questionnaire import load_questionnaires
    from scoring.synthetic import generate_survey, write_responses_csv

    population, sample = generate_survey(n, seed=seed, questionnaires=load_questionnaires(REPO / "questionnaires"))
    responses = write_responses_csv(sample.responses, folder / "responses.csv")
    margins = folder / "margins.csv"
    population.margins.to_csv(margins, index=False)
    return responses, margins


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--keep", metavar="DIR", help="write the report here and keep it")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="manyi-bench-report-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        responses, margins = make_inputs(folder, options.responses, options.seed)
        print(f"synthetic data: {options.responses:,} responses in {time.perf_counter() - started:.1f} s (not timed)")
        out = Path(options.keep) if options.keep else folder / "report"
        benchmarks = sorted((REPO / "questionnaires" / "benchmarks").glob("*.csv"))
        command = [
            sys.executable,
            "-m",
            "scoring",
            "report",
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
            *[arg for path in benchmarks for arg in ("--benchmarks", str(path))],
            "--illustrative",
            "--out",
            str(out),
        ]
        started = time.perf_counter()
        completed = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
        )
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            print(completed.stdout + completed.stderr)
            print(f"report command failed (exit {completed.returncode}) after {elapsed:.1f} s")
            return 0
        print("step timings (progress lines of the run):")
        for line in completed.stderr.splitlines():
            print(f"  {line.strip()}")
        data = json.loads((out / "results.json").read_text(encoding="utf-8"))
        files = [path for path in out.rglob("*") if path.is_file()]
        pdf = out / "report.pdf"
        print(
            f"files written: {len(files)} ({sum(p.stat().st_size for p in files) / 1e6:.1f} MB), "
            f"report.pdf {pdf.stat().st_size / 1e6:.1f} MB"
        )
        print(f"analysed responses: {data['overall']['n']:,}; charts: {len(list((out / 'charts').glob('*.png')))}")
        verdict = "within" if elapsed <= BUDGET_SECONDS else "OVER"
        print(
            f"full report for {options.responses:,} responses: {elapsed:.1f} s "
            f"({verdict} the {BUDGET_SECONDS:.0f} s budget; CPU cores: {os.cpu_count()}, "
            f"load average {os.getloadavg()[0]:.1f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
