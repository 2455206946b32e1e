"""Office jobs under load (issue 12, medium 7): a 60,000-row import and a publication run
as jobs while simulated residents answer.

    .venv/bin/python benchmarks/bench_jobs.py                                  # SQLite, 60,000 rows, 50 residents
    .venv/bin/python benchmarks/bench_jobs.py --rows 5000 --residents 10       # a short try
    .venv/bin/python benchmarks/bench_jobs.py --database sqlite postgresql

Per database, on a fresh copy of the demo instance (``manyi demo --no-serve``):

1. the production front end (:class:`benchmarks.frontend.FrontEnd`: nginx → gunicorn,
   ``deploy/gunicorn.conf.py``, rate limits in Redis) and ``manyi worker`` as its own
   process, as ``deploy/systemd/manyi-worker.service`` runs it;
2. ``--residents`` simulated residents (:mod:`benchmarks.client`) walk surveys, pausing
   ``--think`` seconds on every page, from the start to the end of the office's work;
3. meanwhile an administrator signs in through nginx (CSRF token from the form, as a
   browser), uploads a ``--rows``-row phone file (the demo wave's own responses, exported
   and repeated with new ids) on the import screen, and follows the job's page (polled every
   ``--poll`` seconds: state and progress as the office sees them) to its end; then a
   publisher re-publishes the wave and follows that job the same way.

Reports, per database: the residents' errors (goal 0) and p99 latency (goal < 300 ms),
each job's queue wait and duration as seen by polling, whether the job ended
``succeeded``, the progress values the job page showed, and the rows the import stored.
Prints and writes ``benchmarks/output/jobs.json``; never fails a test run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import html
import http.client
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.client import LoadSpec, Recorder, run_async, run_residents
from benchmarks.figures import request_summary, write_json
from benchmarks.frontend import FrontEnd, production_workers
from benchmarks.load import resident_expected
from benchmarks.servers import REPO, Site, run_manyi, write_config
from benchmarks.workspace import DATABASE_KINDS, Workspace

GOALS = {"resident_errors": 0, "resident_p99_ms": 300.0}
_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"')
_FIELD = re.compile(r'<dd id="(job-state|job-progress|job-error)">(.*?)</dd>', re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


# --------------------------------------------------------------------------- the office's browser


class Office:
    """A signed-in office browser on one keep-alive-free connection per request (English pages)."""

    def __init__(self, port: int, *, timeout: float = 300.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {"lang": "en"}
        #: How long the last form POST took (the CSRF page fetched before it not counted).
        self.last_post_ms = 0.0

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
            connection.request(method, path, body=body, headers=sent)
            reply = connection.getresponse()
            text = reply.read().decode("utf-8", errors="replace")
            for name, value in reply.getheaders():
                if name.lower() == "set-cookie":
                    cookie_name, _, rest = value.partition("=")
                    self.cookies[cookie_name.strip()] = rest.split(";", 1)[0]
            return reply.status, {k.lower(): v for k, v in reply.getheaders()}, text
        finally:
            connection.close()

    def token(self, path: str) -> str:
        status, _headers, text = self.request("GET", path)
        found = _INPUT.search(text)
        if status != 200 or found is None:
            raise RuntimeError(f"GET {path}: {status}, no CSRF token")
        return html.unescape(found.group(1))

    def post_form(self, path: str, fields: dict[str, str], *, page: str) -> tuple[int, dict[str, str], str]:
        from urllib.parse import urlencode

        body = urlencode({"csrf_token": self.token(page), **fields}).encode()
        clock = time.perf_counter()
        reply = self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        self.last_post_ms = (time.perf_counter() - clock) * 1000
        return reply

    def sign_in(self, username: str, password: str) -> None:
        status, _headers, _text = self.post_form(
            "/admin/login", {"username": username, "password": password}, page="/admin/login"
        )
        if status not in (302, 303):
            raise RuntimeError(f"signing in as {username} failed: {status}")

    def upload(self, path: str, fields: dict[str, str], *, file_field: str, filename: str, data: bytes, page: str):
        boundary = "----manyi" + secrets.token_hex(12)
        parts = []
        for name, value in {"csrf_token": self.token(page), **fields}.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        clock = time.perf_counter()
        reply = self.request(
            "POST", path, b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        self.last_post_ms = (time.perf_counter() - clock) * 1000
        return reply


@dataclass
class JobWatch:
    """What polling one job's page saw."""

    kind: str
    submit_status: int = 0
    submit_ms: float = 0.0
    job_id: int | None = None
    state: str = ""
    error: str = ""
    queued_s: float | None = None
    ran_s: float | None = None
    total_s: float | None = None
    polls: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "submit_status": self.submit_status,
            "submit_ms": round(self.submit_ms, 1),
            "job_id": self.job_id,
            "state": self.state,
            "error": self.error,
            "queued_s": self.queued_s,
            "ran_s": self.ran_s,
            "total_s": self.total_s,
            "polls": self.polls,
            "progress_seen": self.seen,
            "progress_values": len(self.seen),
        }


def _fields(text: str) -> dict[str, str]:
    return {name: " ".join(html.unescape(_TAGS.sub(" ", value)).split()) for name, value in _FIELD.findall(text)}


def follow(office: Office, watch: JobWatch, location: str, *, poll: float, timeout: float) -> JobWatch:
    """Poll the job's page until it ends; note every distinct (state, progress) shown."""
    watch.job_id = int(location.rstrip("/").rsplit("/", 1)[1])
    started = time.perf_counter()
    last = None
    while time.perf_counter() - started < timeout:
        status, _headers, text = office.request("GET", f"/admin/jobs/{watch.job_id}")
        watch.polls += 1
        now = round(time.perf_counter() - started, 2)
        shown = _fields(text) if status == 200 else {"job-state": f"HTTP {status}"}
        state, progress = shown.get("job-state", ""), shown.get("job-progress", "")
        if (state, progress) != last:
            watch.seen.append({"t_s": now, "state": state, "progress": progress})
            last = (state, progress)
        if state != "queued" and watch.queued_s is None:
            watch.queued_s = now
        if state in ("done", "failed"):
            watch.state = "succeeded" if state == "done" else "failed"
            watch.error = shown.get("job-error", "")
            watch.total_s = now
            watch.ran_s = round(now - (watch.queued_s or 0.0), 2)
            return watch
        time.sleep(poll)
    watch.state = "timed out"
    return watch


# --------------------------------------------------------------------------- the import file


def import_file(site: Site, rows: int, folder: Path) -> bytes:
    """``rows`` phone responses for the demo wave: its own export, repeated with new ids."""
    exported = folder / "wave.csv"
    run_manyi(site.instance, site.database_url, "export", site.wave, "--format", "csv", "--out", str(exported))
    reader = csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8-sig")))
    source = [row for row in reader if row.get("state", "submitted") in ("", "submitted")]
    if not source:
        raise RuntimeError("the demo wave exported no submitted responses")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [], lineterminator="\n")
    writer.writeheader()
    for number in range(rows):
        row = dict(source[number % len(source)])
        row["response_id"] = f"bench-{number:06d}"
        if "channel" in row:
            row["channel"] = "phone"
        if "flags" in row:
            row["flags"] = ""
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _account(site: Site, name: str, role: str) -> str:
    output = run_manyi(site.instance, site.database_url, "users", "add", name, "--role", role)
    found = re.search(r"password: (\S+)", output)
    if found is None:
        raise RuntimeError(f"no password in the output of 'manyi users add':\n{output}")
    return found.group(1)


def _stored(site: Site) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(site.database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM responses WHERE channel = 'phone' AND state = 'submitted'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- one database


def measure_database(
    workspace: Workspace,
    kind: str,
    *,
    rows: int = 60_000,
    residents: int = 50,
    think: tuple[float, float] = (2.0, 6.0),
    poll: float = 0.5,
    job_timeout: float = 1800.0,
    workers: int | None = None,
) -> dict[str, Any]:
    site = workspace.site(kind, f"jobs_{kind}")
    write_config(site.instance, {})
    admin_password = _account(site, "bench-admin", "admin")
    publisher_password = _account(site, "bench-publisher", "publisher")
    data = import_file(site, rows, site.instance)
    before = _stored(site)
    workers = workers or production_workers()
    front = FrontEnd(site.instance, site.database_url, workers=workers, ratelimit_storage=workspace.redis.url)
    front.start()
    log = open(site.instance / "worker.log", "ab")  # noqa: SIM115 - handed to the child process
    manyi = Path(sys.executable).with_name("manyi")
    worker = subprocess.Popen(
        [str(manyi), "worker", "--poll", "0.5"],
        cwd=REPO,
        env={**front.gunicorn.environment()} if front.gunicorn else None,
        stdout=log,
        stderr=log,
        start_new_session=True,
        preexec_fn=lambda: os.nice(10),  # as deploy/systemd/manyi-worker.service (Nice=10)
    )
    log.close()
    figures: dict[str, Any] = {
        "database": kind,
        "rows": rows,
        "file_mb": round(len(data) / 1e6, 1),
        "residents": residents,
        "think_s": list(think),
        "server": {"front_end": "nginx", "workers": workers, "command": front.command(), "job_worker": "manyi worker"},
    }
    jobs: list[JobWatch] = []

    def office_work() -> None:
        admin = Office(front.port)
        admin.sign_in("bench-admin", admin_password)
        watch = JobWatch("import")
        status, headers, _text = admin.upload(
            "/admin/imports",
            {"wave": site.wave, "channel": "phone", "new_ids": "y"},
            file_field="file",
            filename="phone.csv",
            data=data,
            page="/admin/imports",
        )
        watch.submit_status, watch.submit_ms = status, admin.last_post_ms
        jobs.append(watch)
        if status == 303:
            follow(admin, watch, headers.get("location", ""), poll=poll, timeout=job_timeout)
        publisher = Office(front.port)
        publisher.sign_in("bench-publisher", publisher_password)
        watch = JobWatch("publish")
        page = f"/admin/waves/{site.wave}/publication"
        status, headers, _text = publisher.post_form(
            f"/admin/waves/{site.wave}/publish",
            {"reason": "benchmark: the phone interviews are in", "confirm": "y"},
            page=page,
        )
        watch.submit_status, watch.submit_ms = status, publisher.last_post_ms
        jobs.append(watch)
        if status == 303:
            follow(publisher, watch, headers.get("location", ""), poll=poll, timeout=job_timeout)

    async def together() -> tuple[Recorder, float, str]:
        stop = asyncio.Event()
        recorder = Recorder()
        spec = LoadSpec(
            "127.0.0.1",
            front.port,
            list(site.tokens.values()),
            residents=residents,
            duration_s=None,
            think=think,
            seed=12,
            marker_prefix=f"jobs-{kind}",
        )
        started = time.perf_counter()
        walking = asyncio.ensure_future(run_residents(spec, recorder, stop=stop))
        await asyncio.sleep(think[1])  # the residents are all walking before the office starts
        problem = ""
        try:
            await asyncio.to_thread(office_work)
        except Exception as error:  # reported, not raised: a benchmark measures
            problem = f"{type(error).__name__}: {error}"
        stop.set()
        await walking
        return recorder, time.perf_counter() - started, problem

    try:
        recorder, elapsed, problem = run_async(together())
        summary = request_summary(recorder, elapsed, expected=resident_expected)
        figures["residents_phase"] = summary | {
            "surveys_acknowledged": sum(flow.acknowledged for flow in recorder.flows),
            "flow_errors": sum(1 for flow in recorder.flows if flow.error),
        }
        figures["office_problem"] = problem
        figures["jobs"] = [watch.as_dict() for watch in jobs]
        figures["imported_rows"] = _stored(site) - before
        figures["goals"] = GOALS
        figures["met"] = {
            "resident_errors": summary["errors"] == 0,
            "resident_p99_ms": (summary["latency"].get("p99_ms") or 1e9) < GOALS["resident_p99_ms"],
            "jobs_succeeded": len(jobs) == 2 and all(watch.state == "succeeded" for watch in jobs),
            "progress_seen": all(watch.seen for watch in jobs),
            "all_rows_imported": figures["imported_rows"] == rows,
        }
    finally:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        front.stop()
    return figures


def run(
    workspace: Workspace,
    databases: tuple[str, ...] = ("sqlite",),
    *,
    rows: int = 60_000,
    residents: int = 50,
    think: tuple[float, float] = (2.0, 6.0),
    poll: float = 0.5,
) -> dict[str, Any]:
    figures: dict[str, Any] = {"goals": GOALS}
    for kind in databases:
        try:
            figures[kind] = measure_database(workspace, kind, rows=rows, residents=residents, think=think, poll=poll)
        except Exception as error:  # one database failing does not hide the other's figures
            figures[kind] = {"error": f"{type(error).__name__}: {error}"}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", nargs="+", choices=DATABASE_KINDS, default=["sqlite"])
    parser.add_argument("--rows", type=int, default=60_000, help="rows of the imported phone file")
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"))
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between looks at the job's page")
    parser.add_argument("--seed-responses", type=int, default=1000)
    options = parser.parse_args()
    with Workspace(seed_responses=options.seed_responses) as workspace:
        figures = run(
            workspace,
            tuple(options.database),
            rows=options.rows,
            residents=options.residents,
            think=tuple(options.think),
            poll=options.poll,
        )
    write_json("jobs", figures)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
