"""Shared rate-limit state: with ``MANYI_RATELIMIT_STORAGE_URI`` pointing at a real Redis
(Debian's redis-server, started here on a loopback port), the per-point, per-address
limit holds across several gunicorn workers.

Without Redis (``memory://``) each worker would count on its own, so a client spread
over three workers could get up to three times the limit through.  Skipped locally,
failed under ``CI=true``, when redis-server is missing.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter

import pytest

from benchmarks.client import Browser, run_async
from benchmarks.servers import Gunicorn, RedisServer, write_config
from tests.conftest import need
from tests.survey.respond_support import make_wave

pytestmark = pytest.mark.redis
WORKERS = 3
LIMIT = 10


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        need("redis-server", "apt-get install redis-server")
    server = RedisServer().start()
    yield server
    server.stop()


async def _landing_statuses(port: int, path: str, count: int, source_ip: str) -> Counter[int]:
    """``count`` landing-page requests from one address, four at a time, each on its
    own connection (so gunicorn hands them to whichever worker is free)."""
    statuses: Counter[int] = Counter()

    async def one() -> None:
        browser = Browser("127.0.0.1", port, source_ip=source_ip)
        try:
            statuses[(await browser.request("GET", path)).status] += 1
        finally:
            await browser.close()

    for start in range(0, count, 4):
        await asyncio.gather(*(one() for _ in range(min(4, count - start))))
    return statuses


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_per_point_limit_holds_across_workers_with_redis(app, database_url, tmp_path, redis_server):
    hospital = make_wave(app)
    bus_stop = make_wave(app, point_code="bus-01", focus=None)
    app.extensions["manyi_db"].engine.dispose()
    instance = tmp_path / "gunicorn-instance"
    instance.mkdir()
    write_config(instance, {"RESPOND_RATE_LIMIT": f"{LIMIT} per hour"})
    server = Gunicorn(instance, database_url, workers=WORKERS, ratelimit_storage=redis_server.url).start()
    try:
        flood = run_async(_landing_statuses(server.port, f"/s/{hospital}", 3 * LIMIT, "127.9.0.1"))
        other_point = run_async(_landing_statuses(server.port, f"/s/{bus_stop}", 2, "127.9.0.1"))
        other_address = run_async(_landing_statuses(server.port, f"/s/{hospital}", 2, "127.9.0.2"))
        served_by = len(server.worker_pids())
    finally:
        server.stop()

    assert served_by == WORKERS
    assert flood == Counter({200: LIMIT, 429: 2 * LIMIT})  # exactly the limit, whichever worker answered
    assert other_point == Counter({200: 2})  # the limit is per point …
    assert other_address == Counter({200: 2})  # … and per address

    import redis

    keys = redis.Redis.from_url(redis_server.url).keys("*")
    assert keys, "the counters live in Redis"
    assert not any(b"127.9.0" in key for key in keys)  # keyed hashes, never the raw address
