"""Bot flood: one client (one address) floods one collection point; the per-point,
per-address limit holds across several gunicorn workers because its state is in Redis,
and the surveys that get through are flagged for the scoring screen.

    .venv/bin/python benchmarks/bot_flood.py
    .venv/bin/python benchmarks/bot_flood.py --duration 8 --contrast-duration 5

With the shipped settings (``RESPOND_RATE_LIMIT`` = "120 per minute;1500 per hour",
``RESPOND_IP_BURST_PER_HOUR`` = 20) and 4 workers:

1. **Redis** (``MANYI_RATELIMIT_STORAGE_URI=redis://…``): the bot runs ``--bots``
   parallel connections from one address at one point, walking surveys as fast as the
   server answers, for ``--duration`` seconds (inside one rate-limit window).  Half of
   its connections keep their cookies between surveys (a scripted browser session),
   half start each survey with no cookies (a bot that knows about cookies).  Ten honest
   residents (their own addresses) answer at the same time.  Expected: at most 120 of
   the bot's requests get through (the rest get 429), the residents see no error.
2. **memory://** for contrast (``--contrast-duration``; 0 skips it): each worker counts on
   its own, so up to workers × 120 requests get through — why the shared state matters.
3. **The scoring screen**: the wave is exported through the app's adapter and screened
   by :func:`scoring.screening.screen_responses`; every submitted bot survey is
   reported with its collection-time flags and whether (and why) the screen excludes it.

Prints and writes ``benchmarks/output/bot_flood.json``; never fails a test run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.client import Browser, FlowOutcome, LoadSpec, Recorder, Resident, run_async, run_residents
from benchmarks.figures import write_json
from benchmarks.load import resident_expected
from benchmarks.servers import Gunicorn, Site, instance_environment, write_config
from benchmarks.verify import expected_uids
from benchmarks.workspace import Workspace

BOT_ADDRESS = "127.66.0.1"
RATE_LIMIT_PER_MINUTE = 120


async def _flood(port: int, token: str, *, bots: int, duration: float, recorder: Recorder) -> list[FlowOutcome]:
    """``bots`` connections from one address walking surveys at ``token`` flat out."""
    deadline = recorder.now() + duration
    outcomes: list[FlowOutcome] = []

    async def bot(number: int) -> None:
        keeps_cookies = number % 2 == 0
        session = Browser("127.0.0.1", port, source_ip=BOT_ADDRESS)
        rng = random.Random(number)
        for survey in range(1_000_000):
            if recorder.now() >= deadline:
                break
            walker = Resident(
                "127.0.0.1",
                port,
                token,
                source_ip=BOT_ADDRESS,
                marker=f"bot b{number} s{survey}",
                rng=rng,
                recorder=recorder,
                should_stop=lambda: recorder.now() >= deadline,
            )
            if keeps_cookies:
                walker.browser.cookies = session.cookies  # one scripted browser session, survey after survey
            outcomes.append(await walker.run())

    await asyncio.gather(*(bot(number) for number in range(bots)))
    return outcomes


def _flood_run(site: Site, storage: str, *, workers: int, bots: int, duration: float, honest: int) -> dict[str, Any]:
    token = next(iter(site.tokens.values()))
    honest_tokens = [value for value in site.tokens.values() if value != token] or [token]
    server = Gunicorn(site.instance, site.database_url, workers=workers, ratelimit_storage=storage).start()
    bot_recorder, honest_recorder = Recorder(), Recorder()

    async def scenario() -> list[FlowOutcome]:
        honest_spec = LoadSpec(
            "127.0.0.1",
            server.port,
            honest_tokens,
            residents=honest,
            duration_s=duration,
            think=(0.2, 0.6),
            seed=21,
            marker_prefix=f"honest-{storage.split(':')[0]}",
        )
        flood, _ = await asyncio.gather(
            _flood(server.port, token, bots=bots, duration=duration, recorder=bot_recorder),
            run_residents(honest_spec, honest_recorder),
        )
        return flood

    try:
        started = time.perf_counter()
        outcomes = run_async(scenario())
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    statuses = Counter(record.status for record in bot_recorder.requests)
    passed = sum(count for status, count in statuses.items() if status not in (0, 429))
    honest_errors = sum(1 for record in honest_recorder.requests if not resident_expected(record))
    honest_errors += sum(1 for flow in honest_recorder.flows if flow.error)
    return {
        "storage": storage.split(":")[0],
        "workers": workers,
        "bot_connections": bots,
        "flood_s": round(elapsed, 1),
        "bot_requests": len(bot_recorder.requests),
        "bot_requests_per_s": round(len(bot_recorder.requests) / elapsed, 1),
        "bot_requests_through": passed,
        "bot_requests_429": statuses.get(429, 0),
        "bot_statuses": {str(status): count for status, count in sorted(statuses.items())},
        "bot_surveys_submitted": sum(flow.acknowledged for flow in outcomes),
        "honest_residents": honest,
        "honest_requests": len(honest_recorder.requests),
        "honest_surveys_submitted": sum(flow.acknowledged for flow in honest_recorder.flows),
        "honest_errors": honest_errors,
        "_outcomes": outcomes,
    }


def screen(site: Site, outcomes: list[FlowOutcome]) -> dict[str, Any]:
    """Collection-time flags and the scoring screen's verdict on the bot's surveys."""
    with instance_environment(site.instance):
        return _screen(site, outcomes)


def _screen(site: Site, outcomes: list[FlowOutcome]) -> dict[str, Any]:
    from scoring.data import validate_responses
    from scoring.screening import screen_responses
    from survey import create_app
    from survey.adapter import wave_responses_frame
    from survey.db import get_session
    from survey.services.questionnaires import build_questionnaire_set
    from survey.services.waves import get_wave

    uids = expected_uids(site.instance, [flow.start_key for flow in outcomes if flow.acknowledged])
    bot_uids = set(uids.values())
    app = create_app({"DATABASE_URL": site.database_url})
    try:
        with app.app_context():
            session = get_session()
            wave = get_wave(session, site.wave)
            frame = wave_responses_frame(session, wave)
            questionnaires = build_questionnaire_set({wq.questionnaire_id: wq.version for wq in wave.questionnaires})
            validated = validate_responses(frame, questionnaires)
            screening = screen_responses(validated)
    finally:
        app.extensions["manyi_db"].engine.dispose()
    ids = validated.frame["response_id"].astype(str).tolist()
    flags = validated.frame["flags"].astype(str).tolist() if "flags" in validated.frame else [""] * len(ids)
    rows = [(flag, str(reason)) for uid, flag, reason in zip(ids, flags, screening.reason) if uid in bot_uids]
    flagged = Counter(flag or "(none)" for flag, _ in rows)
    excluded = Counter(reason or "(kept)" for _, reason in rows)
    return {
        "bot_surveys_screened": len(rows),
        "flags_at_collection": dict(sorted(flagged.items())),
        "screen_verdict": dict(sorted(excluded.items())),
        "excluded_by_screen": sum(1 for _, reason in rows if reason),
        "flagged_or_excluded": sum(1 for flag, reason in rows if flag or reason),
        "median_duration_s_of_kept": screening.median_duration,
    }


def run(
    workspace: Workspace,
    *,
    workers: int = 4,
    bots: int = 2,
    duration: float = 15.0,
    contrast_duration: float = 8.0,
    honest: int = 10,
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "settings": {
            "RESPOND_RATE_LIMIT": "120 per minute;1500 per hour (shipped default)",
            "RESPOND_IP_BURST_PER_HOUR": "20 (shipped default)",
        }
    }
    try:
        site = workspace.site("sqlite", "flood_redis")
        write_config(site.instance, {})
        redis_run = _flood_run(site, workspace.redis.url, workers=workers, bots=bots, duration=duration, honest=honest)
        outcomes = redis_run.pop("_outcomes")
        redis_run["limit_held"] = redis_run["bot_requests_through"] <= RATE_LIMIT_PER_MINUTE
        results["redis"] = redis_run
        results["screen"] = screen(site, outcomes)
    except Exception as error:
        results["redis"] = {"error": f"{type(error).__name__}: {error}"}
    if contrast_duration > 0:
        try:
            site = workspace.site("sqlite", "flood_memory")
            write_config(site.instance, {})
            memory_run = _flood_run(site, "memory://", workers=workers, bots=bots, duration=contrast_duration, honest=0)
            memory_run.pop("_outcomes")
            memory_run["limit_held"] = memory_run["bot_requests_through"] <= RATE_LIMIT_PER_MINUTE
            results["memory"] = memory_run
        except Exception as error:
            results["memory"] = {"error": f"{type(error).__name__}: {error}"}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--bots", type=int, default=2, help="parallel connections of the one bot")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--contrast-duration", type=float, default=8.0)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with Workspace() as workspace:
        results = run(
            workspace,
            workers=options.workers,
            bots=options.bots,
            duration=options.duration,
            contrast_duration=options.contrast_duration,
        )
    print(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    write_json("bot_flood", results, options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
