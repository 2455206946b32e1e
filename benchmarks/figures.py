"""Figures shared by the benchmark scripts: latency percentiles, throughput, CPU
accounting on a shared machine, the machine's description and JSON output.

The load generator runs on the same two cores as the server it measures, and other
work may be running too; :class:`CpuMeter` therefore measures, over a phase, the CPU
seconds of this process (the client), of the processes it names (gunicorn, Redis,
PostgreSQL) and of the whole machine, so that a report can say who used what.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.client import Recorder, RequestRecord
from benchmarks.servers import REPO, machine_cpu_times, process_cpu_seconds

OUTPUT = REPO / "benchmarks" / "output"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(fraction * len(sorted_values) + 0.999999)))
    return sorted_values[rank - 1]


def latency_summary(records: Iterable[RequestRecord]) -> dict[str, float]:
    """Count, p50/p95/p99/max latency (ms) of answered requests."""
    seconds = sorted(record.seconds for record in records if record.status)
    return {
        "count": len(seconds),
        "p50_ms": round(1000 * percentile(seconds, 0.50), 1),
        "p95_ms": round(1000 * percentile(seconds, 0.95), 1),
        "p99_ms": round(1000 * percentile(seconds, 0.99), 1),
        "max_ms": round(1000 * (seconds[-1] if seconds else 0.0), 1),
    }


def request_summary(recorder: Recorder, elapsed: float, *, expected: Callable[[RequestRecord], bool]) -> dict[str, Any]:
    """Throughput, latency and errors of every request of a phase.

    ``expected`` says whether a request's status is what a resident expects; anything
    else (no reply, a 5xx, a 429, a 4xx) is an error.
    """
    records = recorder.requests
    errors = [record for record in records if not expected(record)]
    statuses = Counter(str(record.status) for record in records)
    return {
        "requests": len(records),
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(len(records) / elapsed, 1) if elapsed else 0.0,
        "latency": latency_summary(records),
        "latency_get": latency_summary(r for r in records if r.kind == "get"),
        "latency_post": latency_summary(r for r in records if r.kind in ("post", "resend", "twin")),
        "errors": len(errors),
        "error_examples": sorted({f"{r.kind} {r.status} {r.error}".strip() for r in errors})[:5],
        "statuses": dict(sorted(statuses.items())),
    }


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (live)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


@dataclass
class CpuMeter:
    """CPU seconds over a phase: this process, named process trees, the whole machine."""

    trees: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    _start: dict[str, float] = field(default_factory=dict)
    _machine: tuple[float, float] = (0.0, 0.0)
    _wall: float = 0.0

    def _sample(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        sample = {"client": usage.ru_utime + usage.ru_stime}
        for name, pids in self.trees.items():
            sample[name] = sum(process_cpu_seconds(pid) for pid in pids())
        return sample

    def start(self) -> CpuMeter:
        self._start = self._sample()
        self._machine = machine_cpu_times()
        self._wall = time.perf_counter()
        return self

    def stop(self) -> dict[str, Any]:
        """CPU seconds per part, and each part's share of the machine's capacity."""
        end = self._sample()
        busy, total = machine_cpu_times()
        wall = time.perf_counter() - self._wall
        cores = os.cpu_count() or 1
        used = {name: max(0.0, end[name] - self._start.get(name, 0.0)) for name in end}
        machine_busy = busy - self._machine[0]
        used["machine"] = machine_busy
        used["other"] = max(0.0, machine_busy - sum(value for name, value in used.items() if name != "machine"))
        return {
            "wall_s": round(wall, 2),
            "cores": cores,
            "cpu_s": {name: round(value, 2) for name, value in used.items()},
            "share_of_capacity": {name: round(value / (wall * cores), 3) for name, value in used.items()},
            "client_share_of_used": round(used["client"] / machine_busy, 3) if machine_busy else None,
            "machine_total_s": round(total - self._machine[1], 2),
        }


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def write_json(name: str, figures: dict[str, Any], path: Path | None = None) -> Path:
    """Write ``figures`` to ``benchmarks/output/<name>.json`` (or ``path``)."""
    target = path or OUTPUT / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return target
