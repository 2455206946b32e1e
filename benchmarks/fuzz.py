"""Hostile input at scale: the hypothesis tests of ``tests/survey/test_fuzz.py`` with
thousands of random examples on SQLite and PostgreSQL, plus oversized bodies sent to a
real gunicorn (with a Content-Length, and chunked without one).

    .venv/bin/python benchmarks/fuzz.py                   # 6,300 examples
    .venv/bin/python benchmarks/fuzz.py --examples 50     # per test and database

The oracle is the tests' own (no 500, nothing stored from invalid input, 413 for
oversized bodies, tampered tokens and cookies rejected, sign-in never granted).  Cases
hypothesis once found and that still fail are kept in the test file as strict xfails;
they are listed here as known failures (and the goal is not met while there are any).  The
hypothesis seed is chosen per run and reported, so that a failure can be replayed with
``pytest tests/survey/test_fuzz.py --hypothesis-seed=SEED`` and the same settings.
Prints and writes ``benchmarks/output/fuzz.json``; never fails a test run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import write_json
from benchmarks.servers import REPO, Gunicorn, write_config
from benchmarks.workspace import Workspace

TEST_FILE = "tests/survey/test_fuzz.py"
TESTS_PER_DATABASE = 7
MAX_CONTENT_LENGTH = 64 * 1024


def run_hypothesis(examples: int, seed: int, *, timeout: float = 900.0) -> dict[str, Any]:
    """Run the fuzz tests in a child pytest with ``examples`` per test and database."""
    log = Path(tempfile.mkstemp(prefix="manyi-fuzz-", suffix=".jsonl")[1])
    env = dict(os.environ, MANYI_FUZZ_RANDOM="1", MANYI_FUZZ_EXAMPLES=str(examples), MANYI_FUZZ_LOG=str(log))
    command = [
        sys.executable,
        "-m",
        "pytest",
        TEST_FILE,
        "-q",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-seed={seed}",
        "-o",
        "addopts=",
        "--tb=line",
        "-rfExX",
    ]
    started = time.perf_counter()
    try:
        completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
        output, returncode = completed.stdout + completed.stderr, completed.returncode
    except subprocess.TimeoutExpired as error:
        output, returncode = f"timed out after {timeout:.0f} s: {error}", -1
    elapsed = time.perf_counter() - started
    per_test: dict[str, dict[str, int]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        per_test[entry["test"]] = entry["counts"]
    log.unlink(missing_ok=True)
    statuses: Counter[str] = Counter()
    for counts in per_test.values():
        statuses.update({key: value for key, value in counts.items() if key != "examples"})
    failures = [line for line in output.splitlines() if line.startswith("FAILED")]
    known = [line.removeprefix("XFAIL ").strip() for line in output.splitlines() if line.startswith("XFAIL")]
    errors = [
        line.strip() for line in output.splitlines() if "Error" in line and ("E " in line or line.startswith("/"))
    ]
    return {
        "command": " ".join(["MANYI_FUZZ_RANDOM=1", f"MANYI_FUZZ_EXAMPLES={examples}", *command[2:]]),
        "seed": seed,
        "seconds": round(elapsed, 1),
        "examples": sum(counts.get("examples", 0) for counts in per_test.values()),
        "per_test": {name: counts.get("examples", 0) for name, counts in sorted(per_test.items())},
        "statuses": dict(sorted(statuses.items())),
        "summary": (output.strip().splitlines() or [""])[-1],
        "failures": failures,
        "failure_details": sorted(set(errors))[:10],
        "known_failures": known,
        "ok": returncode == 0 and not known,
    }


def _raw_post(port: int, head: str, body_chunks: list[bytes]) -> int:
    """Send a hand-made request; return the reply's status (0 when the server hung up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1"))
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while b"\r\n" not in data:
                piece = sock.recv(4096)
                if not piece:
                    break
                data += piece
        except (TimeoutError, ConnectionResetError):
            return 0
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def oversized_on_gunicorn(workspace: Workspace) -> dict[str, Any]:
    """Oversized POSTs to every public POST route of a real server → 413 each."""
    site = workspace.site("sqlite", "fuzz_size")
    write_config(site.instance, {})
    server = Gunicorn(site.instance, site.database_url, workers=2).start()
    token = next(iter(site.tokens.values()))
    results = []
    try:
        for path in (f"/s/{token}", f"/s/{token}/services", "/admin/login"):
            for size in (MAX_CONTENT_LENGTH + 1, 1024 * 1024, 20 * 1024 * 1024):
                body = b"comment=" + b"x" * (size - 8)
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
                )
                status = _raw_post(server.port, head, [body])
                results.append(
                    {
                        "path": path.replace(token, "<token>"),
                        "bytes": size,
                        "framing": "content-length",
                        "status": status,
                    }
                )
                chunk = b"x" * 8192
                count = size // len(chunk) + 1
                chunks = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(count)] + [b"0\r\n\r\n"]
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                )
                status = _raw_post(server.port, head, chunks)
                results.append(
                    {
                        "path": path.replace(token, "<token>"),
                        "bytes": count * len(chunk),
                        "framing": "chunked",
                        "status": status,
                    }
                )
        results.append(_chunked_after_a_valid_form(server.port, token))
    finally:
        server.stop()
    return {"requests": results, "ok": all(entry["status"] == 413 for entry in results)}


def _chunked_after_a_valid_form(port: int, token: str) -> dict[str, Any]:
    """A real start form (CSRF token, key) followed by 100 KB more, sent chunked: the
    body must be refused whole, not cut at the limit and read as a valid form."""
    from urllib.parse import urlencode

    from benchmarks.client import Browser, parse_post_form, run_async

    async def landing() -> tuple[dict[str, str], Any]:
        browser = Browser("127.0.0.1", port)
        try:
            reply = await browser.request("GET", f"/s/{token}")
            return dict(browser.cookies), parse_post_form(reply.text())
        finally:
            await browser.close()

    cookies, form = run_async(landing())
    body = urlencode(list(form.hidden) + [("padding", "x" * 100_000)]).encode("ascii")
    chunks = [
        f"{len(body[i : i + 8192]):x}\r\n".encode() + body[i : i + 8192] + b"\r\n" for i in range(0, len(body), 8192)
    ]
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    head = (
        f"POST {form.action} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Cookie: {cookie}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    status = _raw_post(port, head, [*chunks, b"0\r\n\r\n"])
    return {"path": "/s/<token> (valid form first)", "bytes": len(body), "framing": "chunked", "status": status}


def run(workspace: Workspace, *, examples: int = 450, seed: int | None = None) -> dict[str, Any]:
    seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
    results: dict[str, Any] = {}
    try:
        results["hypothesis"] = run_hypothesis(examples, seed)
    except Exception as error:
        results["hypothesis"] = {"error": f"{type(error).__name__}: {error}", "ok": False}
    try:
        results["oversized_on_gunicorn"] = oversized_on_gunicorn(workspace)
    except Exception as error:
        results["oversized_on_gunicorn"] = {"error": f"{type(error).__name__}: {error}", "ok": False}
    results["ok"] = all(part.get("ok") for part in results.values() if isinstance(part, dict))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=450, help="per test and database (7 tests × 2 databases)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with Workspace() as workspace:
        results = run(workspace, examples=options.examples, seed=options.seed)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    write_json("fuzz", results, options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
