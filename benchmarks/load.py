"""Load: 100 simulated residents completing whole surveys against gunicorn, on SQLite
(WAL) and on PostgreSQL, with the rate-limit state in Redis; the same server's bare
endpoint (``/healthz``) measured in the same run.

    .venv/bin/python benchmarks/load.py                         # both databases, 60 s phases
    .venv/bin/python benchmarks/load.py --database sqlite --duration 10 --bare-duration 5 --paced-duration 10

Per database, on one gunicorn (``--workers`` sync workers) and one fresh copy of the
demo instance:

1. **warm-up** (not reported): a few residents for a few seconds;
2. **bare endpoint**: ``--residents`` connections requesting ``/healthz`` back to back;
3. **saturated**: ``--residents`` residents walking surveys back to back (no pause):
   the most the server does, compared with the bare endpoint's requests per second;
4. **paced**: the same number of residents, arriving at random moments within the
   first pause and then pausing ``--think`` seconds on every page before sending it (a
   person reading six questions needs 10–30 s): latency under a load the server can
   carry.

Then the database is checked by keys (:mod:`benchmarks.verify`): every acknowledged
survey stored exactly once, nothing else created.  Every phase reports throughput,
p50/p95/p99 latency, errors and who used the CPU (the load generator shares the cores).
Prints and writes ``benchmarks/output/load.json``; never fails a test run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.client import PAGE_OK, REDIRECT, LoadSpec, Recorder, RequestRecord, run_async, run_bare, run_residents
from benchmarks.figures import CpuMeter, process_tree, request_summary, write_json
from benchmarks.servers import Gunicorn, write_config
from benchmarks.verify import max_response_id, verify_run
from benchmarks.workspace import DATABASE_KINDS, Workspace

GOALS = {"ratio_to_bare": 0.5, "p99_ms": 150.0, "errors": 0}


def resident_expected(record: RequestRecord) -> bool:
    """A resident expects pages (200) on GET and redirects (303) on POST."""
    return record.status == (PAGE_OK if record.kind == "get" else REDIRECT)


def bare_expected(record: RequestRecord) -> bool:
    return record.status == PAGE_OK


def _meter(server: Gunicorn, workspace: Workspace, kind: str) -> CpuMeter:
    trees = {"server": lambda: process_tree(server.master_pid) if server.master_pid else []}
    trees["redis"] = workspace.redis_pids
    if kind == "postgresql":
        trees["postgresql"] = workspace.postgres_pids
    return CpuMeter(trees)


def _phase_residents(spec: LoadSpec, meter: CpuMeter) -> tuple[Recorder, dict[str, Any]]:
    meter.start()
    started = time.perf_counter()
    recorder = run_async(run_residents(spec))
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    summary = request_summary(recorder, elapsed, expected=resident_expected)
    acknowledged = sum(flow.acknowledged for flow in recorder.flows)
    summary.update(
        {
            "residents": spec.residents,
            "think_s": list(spec.think),
            "surveys_started": sum(flow.started for flow in recorder.flows),
            "surveys_acknowledged": acknowledged,
            "submissions_per_s": round(acknowledged / elapsed, 2) if elapsed else 0.0,
            "pages_per_survey": round(
                sum(flow.pages_sent for flow in recorder.flows if flow.acknowledged) / acknowledged, 1
            )
            if acknowledged
            else 0.0,
            "flow_errors": sum(1 for flow in recorder.flows if flow.error),
            "flow_error_examples": sorted({flow.error for flow in recorder.flows if flow.error})[:5],
            "resends": sum(flow.resends for flow in recorder.flows),
            "resend_mismatches": sum(flow.resend_mismatches for flow in recorder.flows),
            "cpu": cpu,
        }
    )
    return recorder, summary


def measure_database(
    workspace: Workspace,
    kind: str,
    *,
    residents: int = 100,
    duration: float = 60.0,
    bare_duration: float = 15.0,
    paced_duration: float = 60.0,
    think: tuple[float, float] = (2.0, 6.0),
    warmup: float = 5.0,
    workers: int = 4,
    retry_fraction: float = 0.0,
) -> dict[str, Any]:
    """All phases on one database kind; returns the figures (never raises on a miss)."""
    site = workspace.site(kind, f"load_{kind}")
    write_config(site.instance, {})  # the shipped defaults (rate limits included)
    server = Gunicorn(site.instance, site.database_url, workers=workers, ratelimit_storage=workspace.redis.url).start()
    tokens = list(site.tokens.values())
    first_new_id = max_response_id(site.database_url) + 1
    figures: dict[str, Any] = {
        "database": kind,
        "server": {
            "workers": workers,
            "worker_class": server.worker_class,
            "ratelimit_storage": "redis",
            "command": " ".join(server.command()[2:]),
        },
    }
    flows = []
    try:
        warm = run_async(
            run_residents(
                LoadSpec(
                    "127.0.0.1",
                    server.port,
                    tokens,
                    residents=10,
                    duration_s=warmup,
                    seed=1,
                    marker_prefix=f"warm-{kind}",
                )
            )
        )
        flows += warm.flows

        meter = _meter(server, workspace, kind).start()
        started = time.perf_counter()
        bare = run_async(run_bare("127.0.0.1", server.port, connections=residents, duration_s=bare_duration))
        bare_elapsed = time.perf_counter() - started
        figures["bare"] = request_summary(bare, bare_elapsed, expected=bare_expected) | {
            "cpu": meter.stop(),
            "connections": residents,
        }

        saturated_spec = LoadSpec(
            "127.0.0.1",
            server.port,
            tokens,
            residents=residents,
            duration_s=duration,
            seed=2,
            marker_prefix=f"sat-{kind}",
            retry_fraction=retry_fraction,
        )
        recorder, figures["saturated"] = _phase_residents(saturated_spec, _meter(server, workspace, kind))
        flows += recorder.flows

        if paced_duration > 0:
            paced_spec = LoadSpec(
                "127.0.0.1",
                server.port,
                tokens,
                residents=residents,
                duration_s=paced_duration,
                think=think,
                seed=3,
                marker_prefix=f"paced-{kind}",
                retry_fraction=retry_fraction,
            )
            recorder, figures["paced"] = _phase_residents(paced_spec, _meter(server, workspace, kind))
            flows += recorder.flows
    finally:
        server.stop()
    verification = verify_run(site.database_url, site.instance, flows, first_new_id=first_new_id)
    figures["verification"] = verification.summary()
    figures["verification_problems"] = verification.problems()
    figures["goals"] = evaluate(figures)
    return figures


def evaluate(figures: dict[str, Any]) -> dict[str, Any]:
    """Each goal of issue 7 for one database: the figure, the goal and met or not."""
    bare_rps = figures["bare"]["requests_per_s"]
    saturated = figures["saturated"]
    paced = figures.get("paced")
    ratio = saturated["requests_per_s"] / bare_rps if bare_rps else 0.0
    errors = figures["bare"]["errors"] + saturated["errors"] + saturated["flow_errors"]
    if paced:
        errors += paced["errors"] + paced["flow_errors"]
    goals = {
        "ratio_to_bare": {
            "value": round(ratio, 3),
            "goal": f">= {GOALS['ratio_to_bare']}",
            "met": ratio >= GOALS["ratio_to_bare"],
        },
        "p99_ms_saturated": {
            "value": saturated["latency"]["p99_ms"],
            "goal": f"< {GOALS['p99_ms']:.0f}",
            "met": saturated["latency"]["p99_ms"] < GOALS["p99_ms"],
        },
        "errors": {"value": errors, "goal": "0", "met": errors == 0},
        "stored_exactly_once": {
            "value": f"{figures['verification']['stored_exactly_once']}/{figures['verification']['acknowledged']}",
            "goal": "all, checked by keys",
            "met": bool(figures["verification"]["ok"]),
        },
    }
    if paced:
        goals["p99_ms_paced"] = {
            "value": paced["latency"]["p99_ms"],
            "goal": f"< {GOALS['p99_ms']:.0f}",
            "met": paced["latency"]["p99_ms"] < GOALS["p99_ms"],
        }
    return goals


def run(workspace: Workspace, databases: tuple[str, ...] = DATABASE_KINDS, **options: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "options": {key: list(value) if isinstance(value, tuple) else value for key, value in options.items()}
    }
    for kind in databases:
        try:
            results[kind] = measure_database(workspace, kind, **options)
        except Exception as error:
            results[kind] = {"error": f"{type(error).__name__}: {error}"}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=(*DATABASE_KINDS, "both"), default="both")
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0, help="saturated phase, seconds")
    parser.add_argument("--bare-duration", type=float, default=15.0)
    parser.add_argument("--paced-duration", type=float, default=60.0, help="0 skips the paced phase")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--retry-fraction", type=float, default=0.0)
    parser.add_argument("--json", type=Path, help="write the figures here (default benchmarks/output/load.json)")
    options = parser.parse_args()
    databases = DATABASE_KINDS if options.database == "both" else (options.database,)
    with Workspace() as workspace:
        results = run(
            workspace,
            databases,
            residents=options.residents,
            duration=options.duration,
            bare_duration=options.bare_duration,
            paced_duration=options.paced_duration,
            think=tuple(options.think),
            workers=options.workers,
            retry_fraction=options.retry_fraction,
        )
    print(json.dumps(results, indent=2, ensure_ascii=False))
    write_json("load", results, options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
