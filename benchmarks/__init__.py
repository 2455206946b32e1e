"""Benchmarks: scripts that measure (``make bench`` runs ``benchmarks/run_all.py``).

The modules shared by the scripts and by the small in-suite checks
(``tests/survey/test_crash_recovery.py``, ``test_retry_storm.py``,
``test_ratelimit_redis.py``) are :mod:`benchmarks.client` (an asyncio HTTP client and
the simulated resident), :mod:`benchmarks.servers` (gunicorn, Redis and PostgreSQL on
loopback) and :mod:`benchmarks.verify` (what the database must hold afterwards).
"""

from __future__ import annotations
