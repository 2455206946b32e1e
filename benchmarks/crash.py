"""Crash: ``kill -9`` of the gunicorn master and all its workers in the middle of the
load, restart, and check that nothing acknowledged was lost and nothing half-written
is visible as submitted.

    .venv/bin/python benchmarks/crash.py                      # SQLite and PostgreSQL
    .venv/bin/python benchmarks/crash.py --database sqlite --residents 20 --kill-after 3

Residents walk surveys back to back; after ``--kill-after`` seconds the whole process
group (master and workers) gets SIGKILL at once, so requests die at every stage: in
the parser, in a transaction, between COMMIT and the reply.  The server is restarted
on the same port and every interrupted resident carries on as a phone would — the
same GET again, or the same POST with the same one-time key.  Then
:func:`benchmarks.verify.verify_run` checks the database by keys: every survey
acknowledged before or after the crash stored exactly once, every submitted response
complete, no stray responses, and on SQLite ``PRAGMA integrity_check`` = ``ok``.
Prints and writes ``benchmarks/output/crash.json``; never fails a test run.
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

from benchmarks.client import LoadSpec, Recorder, run_async, run_residents
from benchmarks.figures import write_json
from benchmarks.servers import Gunicorn, Site, write_config
from benchmarks.verify import max_response_id, verify_run
from benchmarks.workspace import DATABASE_KINDS, Workspace


async def _load_and_kill(server: Gunicorn, spec: LoadSpec, kill_after: float) -> tuple[Recorder, list[int], float]:
    """Run the residents; SIGKILL the server mid-run; return what happened."""
    recorder = Recorder()
    stop = asyncio.Event()
    residents = asyncio.create_task(run_residents(spec, recorder, stop=stop))
    await asyncio.sleep(kill_after)
    stop.set()  # nothing new after the kill; the requests in flight die with the server
    killed_at = recorder.now()
    pids = server.kill9()
    await residents
    return recorder, pids, killed_at


async def _resume(recorder: Recorder) -> None:
    for walker in recorder.unfinished:
        walker.should_stop = lambda: False
    await asyncio.gather(*(walker.resume() for walker in recorder.unfinished))


def crash_once(
    site: Site,
    *,
    residents: int = 50,
    kill_after: float = 8.0,
    workers: int = 4,
    ratelimit_storage: str | None = None,
    think: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    """One crash-and-recover cycle on ``site``; returns the figures and the verdict."""
    write_config(site.instance, {})
    server = Gunicorn(site.instance, site.database_url, workers=workers, ratelimit_storage=ratelimit_storage).start()
    first_new_id = max_response_id(site.database_url) + 1
    spec = LoadSpec(
        "127.0.0.1",
        server.port,
        list(site.tokens.values()),
        residents=residents,
        duration_s=None,
        think=think,
        seed=11,
        marker_prefix="crash",
    )
    try:
        recorder, pids, killed_at = run_async(_load_and_kill(server, spec, kill_after))
        acknowledged_before = sum(flow.acknowledged for flow in recorder.flows)
        failed_requests = sum(1 for record in recorder.requests if record.status == 0)
        interrupted = len(recorder.unfinished)
        final_unanswered = sum(flow.final_unanswered for flow in recorder.flows)
        started = time.perf_counter()
        server.start(port=server.port)
        restart_seconds = time.perf_counter() - started
        run_async(_resume(recorder))
    finally:
        server.stop()
    verification = verify_run(site.database_url, site.instance, recorder.flows, first_new_id=first_new_id, crashed=True)
    still_unfinished = [walker for walker in recorder.unfinished if walker.pending is not None]
    return {
        "database": site.database_url.split(":")[0].split("+")[0],
        "residents": residents,
        "killed_after_s": round(killed_at, 2),
        "processes_killed": len(pids),
        "requests_before_kill": len(recorder.requests),
        "requests_cut_by_kill": failed_requests,
        "surveys_acknowledged_before_kill": acknowledged_before,
        "surveys_interrupted": interrupted,
        "final_pages_unanswered_at_kill": final_unanswered,
        "restart_s": round(restart_seconds, 2),
        "surveys_acknowledged_after_resume": sum(flow.acknowledged for flow in recorder.flows) - acknowledged_before,
        "surveys_still_unfinished": len(still_unfinished),
        "unfinished_errors": sorted({walker.outcome.error for walker in still_unfinished})[:5],
        "unfinished_steps": [walker.pending[:2] for walker in still_unfinished][:5],
        "server_log_tail": server.log_tail(15) if still_unfinished else "",
        "verification": verification.summary(),
        "verification_problems": verification.problems(),
        "ok": verification.ok and not still_unfinished,
    }


def run(workspace: Workspace, databases: tuple[str, ...] = DATABASE_KINDS, **options: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in databases:
        try:
            site = workspace.site(kind, f"crash_{kind}")
            results[kind] = crash_once(site, ratelimit_storage=workspace.redis.url, **options)
        except Exception as error:
            results[kind] = {"error": f"{type(error).__name__}: {error}", "ok": False}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=(*DATABASE_KINDS, "both"), default="both")
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--kill-after", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    databases = DATABASE_KINDS if options.database == "both" else (options.database,)
    with Workspace() as workspace:
        results = run(
            workspace, databases, residents=options.residents, kill_after=options.kill_after, workers=options.workers
        )
    print(json.dumps(results, indent=2, ensure_ascii=False))
    write_json("crash", results, options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
