"""Retry storm: every simulated resident sends 20% of its POSTs twice with the same
one-time submission key → zero duplicates.

    .venv/bin/python benchmarks/retry_storm.py                      # SQLite and PostgreSQL
    .venv/bin/python benchmarks/retry_storm.py --database sqlite --duration 5 --residents 20

Half of the repeats come *after* the first reply, carrying the cookies from before it
(a browser retrying when the reply was lost on a flaky network); half are sent *at the
same time* on a second connection (a double tap).  Every repeat must lead where the
first send led (same status, same redirect), and the database is checked by keys
(:mod:`benchmarks.verify`): each acknowledged survey stored exactly once, exactly one
response per survey that tapped "start", no half-written response visible as
submitted.  Prints and writes ``benchmarks/output/retry_storm.json``; never fails a
test run.
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

from benchmarks.client import LoadSpec, Recorder, run_async, run_residents
from benchmarks.figures import request_summary, write_json
from benchmarks.load import resident_expected
from benchmarks.servers import Gunicorn, Site, write_config
from benchmarks.verify import max_response_id, verify_run
from benchmarks.workspace import DATABASE_KINDS, Workspace

RETRY_FRACTION = 0.2


def storm(
    site: Site,
    *,
    residents: int = 100,
    duration: float | None = 20.0,
    flows_per_resident: int | None = None,
    retry_fraction: float = RETRY_FRACTION,
    workers: int = 4,
    ratelimit_storage: str | None = None,
) -> dict[str, Any]:
    """One retry storm on ``site``; returns the figures and the verdict."""
    write_config(site.instance, {})
    server = Gunicorn(site.instance, site.database_url, workers=workers, ratelimit_storage=ratelimit_storage).start()
    first_new_id = max_response_id(site.database_url) + 1
    spec = LoadSpec(
        "127.0.0.1",
        server.port,
        list(site.tokens.values()),
        residents=residents,
        duration_s=duration,
        flows_per_resident=flows_per_resident,
        retry_fraction=retry_fraction,
        seed=5,
        marker_prefix="storm",
    )
    try:
        started = time.perf_counter()
        recorder: Recorder = run_async(run_residents(spec))
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    verification = verify_run(site.database_url, site.instance, recorder.flows, first_new_id=first_new_id)
    requests = request_summary(recorder, elapsed, expected=resident_expected)
    kinds = {kind: sum(1 for record in recorder.requests if record.kind == kind) for kind in ("post", "resend", "twin")}
    mismatches = sum(flow.resend_mismatches for flow in recorder.flows)
    flow_errors = sum(1 for flow in recorder.flows if flow.error)
    return {
        "database": site.database_url.split(":")[0].split("+")[0],
        "residents": residents,
        "retry_fraction": retry_fraction,
        "posts": kinds["post"],
        "repeats_after_reply": kinds["resend"],
        "repeats_at_same_time": kinds["twin"],
        "repeat_share": round((kinds["resend"] + kinds["twin"]) / kinds["post"], 3) if kinds["post"] else 0.0,
        "repeats_leading_elsewhere": mismatches,
        "surveys_acknowledged": sum(flow.acknowledged for flow in recorder.flows),
        "errors": requests["errors"] + flow_errors,
        "error_examples": requests["error_examples"]
        + sorted({flow.error for flow in recorder.flows if flow.error})[:3],
        "requests_per_s": requests["requests_per_s"],
        "latency": requests["latency"],
        "verification": verification.summary(),
        "verification_problems": verification.problems(),
        "duplicates": len(verification.duplicated)
        + verification.surveys_with_two_responses
        + verification.unexpected_responses,
        "ok": verification.ok and mismatches == 0 and requests["errors"] == 0 and flow_errors == 0,
    }


def run(workspace: Workspace, databases: tuple[str, ...] = DATABASE_KINDS, **options: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in databases:
        try:
            results[kind] = storm(
                workspace.site(kind, f"storm_{kind}"), ratelimit_storage=workspace.redis.url, **options
            )
        except Exception as error:
            results[kind] = {"error": f"{type(error).__name__}: {error}", "ok": False}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=(*DATABASE_KINDS, "both"), default="both")
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--retry-fraction", type=float, default=RETRY_FRACTION)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    databases = DATABASE_KINDS if options.database == "both" else (options.database,)
    with Workspace() as workspace:
        results = run(
            workspace,
            databases,
            residents=options.residents,
            duration=options.duration,
            retry_fraction=options.retry_fraction,
        )
    print(json.dumps(results, indent=2, ensure_ascii=False))
    write_json("retry_storm", results, options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
