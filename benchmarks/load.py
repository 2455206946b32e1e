"""Load: 100 simulated residents completing whole surveys through the production front
end — nginx (``deploy/nginx/``) in front of gunicorn (``deploy/gunicorn.conf.py``, unix
socket, ``MANYI_TRUSTED_PROXIES=1``) — on SQLite (WAL) and on PostgreSQL, with the
rate-limit state in Redis; the same server's bare endpoint (``/healthz``) measured in
the same run.

    .venv/bin/python benchmarks/load.py                         # both databases, 60 s phases
    .venv/bin/python benchmarks/load.py --database sqlite --duration 10 --bare-duration 5 --paced-duration 10
    .venv/bin/python benchmarks/load.py --no-front-end          # gunicorn alone on a port, as before

Per database, on one front end (``--workers`` sync workers; default the production
file's 2 × cores + 1) and one fresh copy of the demo instance:

1. **warm-up** (not reported): a few residents for a few seconds;
2. **bare endpoint**: ``--residents`` connections requesting ``/healthz`` back to back;
3. **saturated**: ``--residents`` residents walking surveys back to back (no pause):
   the most the server does, compared with the bare endpoint's requests per second;
4. **paced**: the same number of residents, arriving at random moments within the
   first pause and then pausing ``--think`` seconds on every page before sending it (a
   person reading six questions needs 10–30 s): latency under a load the server can
   carry;
5. **slow clients**: the paced phase again while ``--slow-clients`` clients each trickle
   a 60 KB form one byte a second (the security probe's attack, which held every sync
   worker of a bare gunicorn): nginx holds them, the residents' latency should not move.

Then the database is checked by keys (:mod:`benchmarks.verify`): every acknowledged
survey stored exactly once (0 lost, 0 duplicated), nothing else created.  Every phase
reports throughput, **whole surveys per second**, p50/p95/p99 latency, errors and who
used the CPU (the load generator shares the cores; nginx is counted apart).
Prints and writes ``benchmarks/output/load.json``; never fails a test run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.client import (
    PAGE_OK,
    REDIRECT,
    LoadSpec,
    Recorder,
    RequestRecord,
    run_async,
    run_bare,
    run_residents,
    run_tricklers,
)
from benchmarks.figures import CpuMeter, process_tree, request_summary, write_json
from benchmarks.frontend import FrontEnd, production_workers
from benchmarks.servers import Gunicorn, write_config
from benchmarks.verify import max_response_id, verify_run
from benchmarks.workspace import DATABASE_KINDS, Workspace

GOALS = {"ratio_to_bare": 0.5, "p99_ms": 150.0, "errors": 0, "surveys_per_s": 20.0}


def resident_expected(record: RequestRecord) -> bool:
    """A resident expects pages (200) on GET and redirects (303) on POST."""
    return record.status == (PAGE_OK if record.kind == "get" else REDIRECT)


def bare_expected(record: RequestRecord) -> bool:
    return record.status == PAGE_OK


def _meter(server: Gunicorn | FrontEnd, workspace: Workspace, kind: str) -> CpuMeter:
    trees = {"server": lambda: process_tree(server.master_pid) if server.master_pid else []}
    if isinstance(server, FrontEnd):
        trees["nginx"] = lambda: server.nginx.worker_pids() if server.nginx is not None else []
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
    return recorder, _residents_summary(recorder, elapsed, spec, cpu)


def _residents_summary(recorder: Recorder, elapsed: float, spec: LoadSpec, cpu: dict[str, Any]) -> dict[str, Any]:
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
    return summary


def _phase_with_tricklers(
    spec: LoadSpec, meter: CpuMeter, *, slow_clients: int, path: str
) -> tuple[Recorder, dict[str, Any]]:
    """The paced residents while ``slow_clients`` clients trickle a 60 KB form each."""

    async def phase() -> tuple[Recorder, Any, float]:
        stop = asyncio.Event()
        tricklers = asyncio.ensure_future(
            run_tricklers(spec.host, spec.port, path, clients=slow_clients, stop=stop, every_s=1.0)
        )
        await asyncio.sleep(2.0)  # every slow client connected and sending before the residents come
        meter.start()
        started = time.perf_counter()
        recorder = await run_residents(spec)
        elapsed = time.perf_counter() - started
        stop.set()
        return recorder, await tricklers, elapsed

    recorder, trickled, elapsed = run_async(phase())
    cpu = meter.stop()
    summary = _residents_summary(recorder, elapsed, spec, cpu)
    summary["slow_clients"] = {
        "clients": trickled.clients,
        "every_s": 1.0,
        "body_bytes": 60_000,
        "still_connected_at_end": trickled.still_connected,
        "bytes_sent_min": min(trickled.bytes_sent, default=0),
        "errors": trickled.errors,
    }
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
    workers: int | None = None,
    retry_fraction: float = 0.0,
    slow_clients: int = 50,
    front_end: bool = True,
) -> dict[str, Any]:
    """All phases on one database kind; returns the figures (never raises on a miss)."""
    site = workspace.site(kind, f"load_{kind}")
    write_config(site.instance, {})  # the shipped defaults (rate limits included)
    workers = workers or production_workers()
    server: Gunicorn | FrontEnd
    if front_end:
        server = FrontEnd(site.instance, site.database_url, workers=workers, ratelimit_storage=workspace.redis.url)
        server.start()
        assert server.gunicorn is not None
        command, worker_class = server.command(), server.gunicorn.worker_class
    else:
        server = Gunicorn(site.instance, site.database_url, workers=workers, ratelimit_storage=workspace.redis.url)
        server.start()
        command, worker_class = " ".join(server.command()[2:]), server.worker_class
    tokens = list(site.tokens.values())
    first_new_id = max_response_id(site.database_url) + 1
    figures: dict[str, Any] = {
        "database": kind,
        "server": {
            "front_end": "nginx" if front_end else None,
            "workers": workers,
            "worker_class": worker_class,
            "ratelimit_storage": "redis",
            "command": command,
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

            if slow_clients > 0:
                slow_spec = LoadSpec(
                    "127.0.0.1",
                    server.port,
                    tokens,
                    residents=residents,
                    duration_s=paced_duration,
                    think=think,
                    seed=4,
                    marker_prefix=f"slow-{kind}",
                    retry_fraction=retry_fraction,
                )
                recorder, figures["slow_clients"] = _phase_with_tricklers(
                    slow_spec, _meter(server, workspace, kind), slow_clients=slow_clients, path=f"/s/{tokens[0]}"
                )
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
    slow = figures.get("slow_clients")
    errors = figures["bare"]["errors"] + saturated["errors"] + saturated["flow_errors"]
    for phase in (paced, slow):
        if phase:
            errors += phase["errors"] + phase["flow_errors"]
    verification = figures["verification"]
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
        "surveys_per_s": {
            "value": saturated["submissions_per_s"],
            "goal": f">= {GOALS['surveys_per_s']:.0f}",
            "met": saturated["submissions_per_s"] >= GOALS["surveys_per_s"],
        },
        "errors": {"value": errors, "goal": "0", "met": errors == 0},
        "lost": {"value": verification["missing"], "goal": "0", "met": verification["missing"] == 0},
        "duplicated": {
            "value": verification["duplicated"] + verification["surveys_with_two_responses"],
            "goal": "0",
            "met": verification["duplicated"] + verification["surveys_with_two_responses"] == 0,
        },
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
    if slow:
        goals["p99_ms_slow_clients"] = {
            "value": slow["latency"]["p99_ms"],
            "goal": f"< {GOALS['p99_ms']:.0f}",
            "met": slow["latency"]["p99_ms"] < GOALS["p99_ms"],
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
    parser.add_argument("--workers", type=int, default=None, help="default: deploy/gunicorn.conf.py's (2 × cores + 1)")
    parser.add_argument("--retry-fraction", type=float, default=0.0)
    parser.add_argument(
        "--slow-clients", type=int, default=50, help="clients trickling a 60 KB form during the last phase (0: none)"
    )
    parser.add_argument(
        "--no-front-end", action="store_true", help="gunicorn alone on a loopback port (no nginx), as before issue 12"
    )
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
            slow_clients=options.slow_clients,
            front_end=not options.no_front_end,
        )
    print(json.dumps(results, indent=2, ensure_ascii=False))
    write_json("load", results, options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
