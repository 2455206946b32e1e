"""``make bench``: every benchmark in one run, one report (``benchmarks/RESULTS.md``).

    .venv/bin/python benchmarks/run_all.py            # the full run (under 15 minutes on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick    # short phases: tries the whole pipeline in ~5 minutes

Order: seed one demo instance per database (``manyi demo --no-serve``), then load
(SQLite, PostgreSQL; through the production front end, nginx → gunicorn, with slow
clients trickling in its last phase), crash, retry storm, bot flood and shared rate limit,
office jobs under load (a 60,000-row import and a publication run by ``manyi worker``
while 50 residents answer, SQLite), hostile input,
page weight — all on loopback, each on its own copy of the seed — then the other
engineers' scripts as child processes: ``bench_scoring.py`` (scoring scale, R side by
side), ``bench_storage.py`` (export speed) and ``bench_report.py`` (the full report).
Figures go to ``benchmarks/output/*.json`` and, rendered, to ``benchmarks/RESULTS.md``.

Needs PostgreSQL's server binaries, ``redis-server`` and nginx (Debian: ``apt-get install
postgresql redis-server nginx``; ``.ci/run`` installs them).  A missing one is reported in
RESULTS.md, not raised.  Never fails: a benchmark measures, it does not judge the build
(the exit status is 0 unless the script itself is broken).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_jobs, bot_flood, crash, fuzz, load, page_weight, retry_storm
from benchmarks.figures import OUTPUT, git_commit, machine, write_json
from benchmarks.frontend import nginx_binary
from benchmarks.results_md import render, replace_headline
from benchmarks.servers import REPO
from benchmarks.workspace import Workspace

RESULTS = REPO / "benchmarks" / "RESULTS.md"
PYTHON = ".venv/bin/python"

#: Full and quick settings of each step (the quick ones only try the pipeline).
FULL = {
    "load": {
        "residents": 100,
        "duration": 60.0,
        "bare_duration": 15.0,
        "paced_duration": 30.0,
        "think": (2.0, 6.0),
        "slow_clients": 50,
    },
    "crash": {"residents": 50, "kill_after": 8.0},
    "retry_storm": {"residents": 100, "duration": 20.0},
    "bot_flood": {"duration": 15.0, "contrast_duration": 8.0, "bots": 2},
    "fuzz": {"examples": 450},
    "jobs": {"rows": 60_000, "residents": 50, "think": (2.0, 6.0)},
    "scoring": [],
    "storage": ["--responses", "100000"],
    "report": ["--responses", "100000"],
}
QUICK = {
    "load": {
        "residents": 30,
        "duration": 10.0,
        "bare_duration": 5.0,
        "paced_duration": 10.0,
        "think": (2.0, 6.0),
        "slow_clients": 20,
    },
    "crash": {"residents": 20, "kill_after": 3.0},
    "retry_storm": {"residents": 30, "duration": 5.0},
    "bot_flood": {"duration": 6.0, "contrast_duration": 4.0, "bots": 2},
    "fuzz": {"examples": 15},
    "jobs": {"rows": 5000, "residents": 10, "think": (2.0, 6.0)},
    "scoring": ["--sizes", "10000", "100000", "--no-r", "--no-jackknife"],
    "storage": ["--responses", "10000"],
    "report": ["--responses", "10000"],
}


def _command(script: str, options: dict[str, Any] | list[str]) -> str:
    """The command line that reproduces one step on its own."""
    if isinstance(options, list):
        return " ".join([PYTHON, f"benchmarks/{script}", *options])
    parts = [PYTHON, f"benchmarks/{script}"]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        parts += [flag, *(str(v) for v in value)] if isinstance(value, tuple) else [flag, str(value)]
    return " ".join(parts)


def run_child(script: str, arguments: list[str], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run another engineer's benchmark script; keep its output (it never fails a run)."""
    path = REPO / "benchmarks" / script
    if not path.exists():
        return {"missing": f"benchmarks/{script} is not in the tree yet"}
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, str(path), *arguments],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        output, code = completed.stdout, completed.returncode
        errors = completed.stderr
    except subprocess.TimeoutExpired as error:
        output, code, errors = str(error.stdout or ""), -1, f"timed out after {timeout:.0f} s"
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "returncode": code,
        "stdout_tail": output.strip().splitlines()[-40:],
        "stderr_tail": errors.strip().splitlines()[-10:],
    }


def prerequisites() -> dict[str, str]:
    """What is missing from the machine (empty when everything is there)."""
    from tests.pg import find_pg_bin

    missing = {}
    if shutil.which("redis-server") is None:
        missing["redis-server"] = "apt-get install redis-server"
    if find_pg_bin() is None:
        missing["postgresql"] = "apt-get install postgresql"
    if nginx_binary() is None:
        missing["nginx"] = "apt-get install nginx"
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="short phases (tries the pipeline; figures not comparable)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="STEP",
        choices=(
            "load",
            "crash",
            "retry_storm",
            "bot_flood",
            "jobs",
            "fuzz",
            "page_weight",
            "scoring",
            "storage",
            "report",
        ),
        help="run only these steps (RESULTS.md then shows only them)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the Markdown report")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: write the report again from the last run's benchmarks/output/all.json",
    )
    options = parser.parse_args()
    if options.render_only:
        report = json.loads((OUTPUT / "all.json").read_text(encoding="utf-8"))
        options.results.write_text(render(report), encoding="utf-8")
        print(f"wrote {options.results} from the run of {report['date']} (commit {report['commit']})")
        return 0
    settings = QUICK if options.quick else FULL
    wanted = set(
        options.only
        or ("load", "crash", "retry_storm", "bot_flood", "jobs", "fuzz", "page_weight", "scoring", "storage", "report")
    )
    started = time.perf_counter()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "quick": options.quick,
        "partial": bool(options.only),
        "command": " ".join(
            [
                "make bench" if not options.quick and not options.only else PYTHON,
                *([] if not options.quick and not options.only else ["benchmarks/run_all.py", *sys.argv[1:]]),
            ]
        ),
        "missing": prerequisites(),
        "steps": {},
        "commands": {},
        "seconds": {},
    }
    databases = tuple(
        kind for kind in ("sqlite", "postgresql") if kind != "postgresql" or "postgresql" not in report["missing"]
    )
    print(f"make bench: {', '.join(sorted(wanted))} (quick={options.quick}); machine {report['machine']}", flush=True)

    def step(name: str, script: str, action: Callable[[], Any], options_for_command: Any, *, save: bool = True) -> None:
        if name not in wanted:
            return
        print(f"- {name} …", flush=True)
        clock = time.perf_counter()
        try:
            report["steps"][name] = action()
        except Exception as error:
            report["steps"][name] = {
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc()[-2000:],
            }
        report["seconds"][name] = round(time.perf_counter() - clock, 1)
        report["commands"][name] = _command(script, options_for_command)
        if save:  # the other scripts write their own files
            write_json(name, report["steps"][name])
        print(f"  {name}: {report['seconds'][name]:.0f} s", flush=True)

    with Workspace(seed_responses=1000) as workspace:
        if "redis-server" not in report["missing"]:
            clock = time.perf_counter()
            for kind in databases:
                workspace.seed(kind)
            report["seconds"]["seed"] = round(time.perf_counter() - clock, 1)
            step("load", "load.py", lambda: load.run(workspace, databases, **settings["load"]), settings["load"])
            step("crash", "crash.py", lambda: crash.run(workspace, databases, **settings["crash"]), settings["crash"])
            step(
                "retry_storm",
                "retry_storm.py",
                lambda: retry_storm.run(workspace, databases, **settings["retry_storm"]),
                settings["retry_storm"],
            )
            step(
                "bot_flood",
                "bot_flood.py",
                lambda: bot_flood.run(workspace, **settings["bot_flood"]),
                settings["bot_flood"],
            )
            # The import + publish jobs under load: on SQLite, where the security probe saw
            # "database is locked" (bench_jobs.py --database postgresql measures the other).
            step(
                "jobs",
                "bench_jobs.py",
                lambda: bench_jobs.run(workspace, ("sqlite",), **settings["jobs"]),
                settings["jobs"],
            )
        step("fuzz", "fuzz.py", lambda: fuzz.run(workspace, **settings["fuzz"]), settings["fuzz"])
        step("page_weight", "page_weight.py", lambda: page_weight.run(workspace), {})
    # A quick run must not overwrite the scoring figures of a full one.
    scoring_output = OUTPUT if not options.quick else Path(tempfile.mkdtemp(prefix="manyi-bench-scoring-out-"))
    scoring_arguments = [*settings["scoring"], *([] if not options.quick else ["--output", str(scoring_output)])]
    step(
        "scoring",
        "bench_scoring.py",
        lambda: run_child("bench_scoring.py", scoring_arguments),
        settings["scoring"],
        save=False,
    )
    if "scoring" in report["steps"] and (scoring_output / "scoring.json").exists():
        report["steps"]["scoring"]["figures"] = json.loads(
            (scoring_output / "scoring.json").read_text(encoding="utf-8")
        )
    storage_json = scoring_output / "storage.json"
    step(
        "storage",
        "bench_storage.py",
        lambda: run_child("bench_storage.py", [*settings["storage"], "--json", str(storage_json)]),
        settings["storage"],
        save=False,
    )
    if "storage" in report["steps"] and storage_json.exists():
        report["steps"]["storage"]["figures"] = json.loads(storage_json.read_text(encoding="utf-8"))
    step(
        "report",
        "bench_report.py",
        lambda: run_child("bench_report.py", settings["report"]),
        settings["report"],
        save=False,
    )

    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    write_json("all", report)
    options.results.write_text(render(report), encoding="utf-8")
    if not options.quick and not options.only and options.results == RESULTS:
        readme = REPO / "benchmarks" / "README.md"
        readme.write_text(replace_headline(readme.read_text(encoding="utf-8"), report), encoding="utf-8")
    print(
        f"wrote {options.results.relative_to(REPO) if options.results.is_relative_to(REPO) else options.results} "
        f"in {report['total_seconds'] / 60:.1f} min",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
