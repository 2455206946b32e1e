"""``deploy/gunicorn.conf.py`` (issue 12, medium 5): several workers with rate-limit
counters in each worker's memory (``memory://``) count on their own and let N times every
limit through, so the production server refuses to start that way — with a message
naming ``MANYI_RATELIMIT_STORAGE_URI`` — unless told knowingly to accept it."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.servers import REPO

CONFIG = REPO / "deploy" / "gunicorn.conf.py"


@pytest.fixture
def config(monkeypatch, tmp_path) -> dict:
    """The config file's names, read as gunicorn reads it, in an empty instance folder."""
    for name in ("MANYI_RATELIMIT_STORAGE_URI", "MANYI_ACCEPT_PER_WORKER_LIMITS", "MANYI_WEB_WORKERS", "MANYI_BIND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(tmp_path))
    return runpy.run_path(str(CONFIG))


def _arbiter(workers: int) -> SimpleNamespace:
    warnings: list[str] = []
    log = SimpleNamespace(warning=lambda message, *args: warnings.append(message % args))
    return SimpleNamespace(cfg=SimpleNamespace(workers=workers), log=log, warnings=warnings)


def test_production_defaults(config):
    assert config["bind"] == ["unix:/run/manyi/gunicorn.sock"]
    assert config["worker_class"] == "sync"
    assert config["workers"] == 2 * (os.cpu_count() or 1) + 1
    assert config["umask"] == 0o007


def test_several_workers_on_memory_storage_refuse_to_start(config):
    with pytest.raises(RuntimeError, match="MANYI_RATELIMIT_STORAGE_URI") as caught:
        config["on_starting"](_arbiter(4))
    assert "redis://" in str(caught.value) and "MANYI_ACCEPT_PER_WORKER_LIMITS=1" in str(caught.value)


@pytest.mark.parametrize(
    ("workers", "environment", "instance_config"),
    [
        (1, {}, ""),  # one worker: its counters are the only ones
        (4, {"MANYI_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, ""),
        (4, {}, 'RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"\n'),  # instance/config.py, as Flask reads it
    ],
)
def test_shared_storage_or_one_worker_starts(config, monkeypatch, tmp_path, workers, environment, instance_config):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if instance_config:
        (tmp_path / "config.py").write_text(instance_config)
    arbiter = _arbiter(workers)
    config["on_starting"](arbiter)
    assert arbiter.warnings == []


def test_per_worker_counters_accepted_knowingly_start_with_a_warning(config, monkeypatch):
    monkeypatch.setenv("MANYI_ACCEPT_PER_WORKER_LIMITS", "1")
    arbiter = _arbiter(3)
    config["on_starting"](arbiter)
    assert arbiter.warnings and "3 workers count rate limits each on their own" in arbiter.warnings[0]


def test_gunicorn_itself_stops_with_the_message(tmp_path):
    """The real server: ``gunicorn --config deploy/gunicorn.conf.py`` exits before binding."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MANYI_RATELIMIT_STORAGE_URI", "MANYI_ACCEPT_PER_WORKER_LIMITS")
    }
    env.update(MANYI_INSTANCE_PATH=str(tmp_path), MANYI_WEB_WORKERS="3")
    socket_path = tmp_path / "gunicorn.sock"
    completed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), "--bind", f"unix:{socket_path}", "survey.wsgi:app"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode != 0
    assert "MANYI_RATELIMIT_STORAGE_URI" in completed.stderr and "3 workers" in completed.stderr
    assert not Path(socket_path).exists()  # refused before listening
