"""The servers a benchmark (or an in-suite check) starts on loopback, and stops.

* :class:`Gunicorn` — ``gunicorn 'survey.wsgi:app'`` with several workers, in its own
  process group so that :meth:`Gunicorn.kill9` can ``kill -9`` the master and every
  worker at once; on a loopback port, or (``socket=…``, with ``deploy/gunicorn.conf.py``)
  on a unix socket as in production (nginx in front: :mod:`benchmarks.frontend`);
* :class:`RedisServer` — Debian's ``redis-server`` on a random port in a temp dir,
  nothing written to disk;
* PostgreSQL — :func:`tests.pg.start_postgres` (initdb + pg_ctl, as the tests do);
* :func:`seed_instance` / :func:`copy_site` — an instance made by ``manyi demo`` once
  per database kind, then copied (SQLite file copy, PostgreSQL ``CREATE DATABASE …
  TEMPLATE``) for every scenario, so that each starts from the same state.

Only processes started here are ever signalled, by their own ids.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BOOT_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def machine_cpu_times() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection over a unix socket (gunicorn bound as in production)."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(str(self.socket_path))
        self.sock = sock


def http_get(port: int, path: str, *, timeout: float = 5.0, unix_socket: Path | None = None) -> tuple[int, bytes]:
    connection = (
        UnixHTTPConnection(unix_socket, timeout=timeout)
        if unix_socket is not None
        else http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    )
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


# --------------------------------------------------------------------------- Redis


@dataclass
class RedisServer:
    """A private redis-server on loopback (no persistence), for the shared limit state."""

    port: int = 0
    directory: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server not found; apt-get install redis-server")
        self.directory = Path(tempfile.mkdtemp(prefix="manyi-redis-"))
        for _ in range(3):
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.directory),
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._wait():
                return self
            self.stop()
        raise RuntimeError("could not start redis-server on a loopback port")

    def _wait(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


# --------------------------------------------------------------------------- gunicorn


@dataclass
class Gunicorn:
    """``gunicorn 'survey.wsgi:app'`` on a loopback port, in its own process group."""

    instance: Path
    database_url: str
    workers: int = 4
    worker_class: str = "sync"
    threads: int = 1
    ratelimit_storage: str | None = None
    port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    #: Bind to this unix socket (as in production) instead of a loopback port.
    socket: Path | None = None
    #: ``--config`` file (``deploy/gunicorn.conf.py`` for the production front end);
    #: the options below override it.
    config: Path | None = None

    @property
    def bind(self) -> str:
        return f"unix:{self.socket}" if self.socket is not None else f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "gunicorn"]
        if self.config is not None:
            command += ["--config", str(self.config)]
        command += ["survey.wsgi:app", "--bind", self.bind, "--workers", str(self.workers)]
        command += ["--worker-class", self.worker_class, "--log-level", "warning"]
        if self.config is None:  # otherwise the production file's own values
            command += ["--backlog", "2048", "--timeout", "60", "--graceful-timeout", "5"]
        if self.worker_class == "gthread":
            command += ["--threads", str(self.threads)]
        return command

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "MANYI_INSTANCE_PATH": str(self.instance),
                "MANYI_DATABASE_URL": self.database_url,
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        if self.ratelimit_storage:
            env["MANYI_RATELIMIT_STORAGE_URI"] = self.ratelimit_storage
        env.update(self.extra_env)
        return env

    def start(self, *, port: int | None = None) -> Gunicorn:
        """Start (or restart on the same port) and wait until every worker answers."""
        if self.socket is None:
            self.port = port or self.port or free_port()
        self.log_path = self.instance / "gunicorn.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self.process = subprocess.Popen(
                self.command(), cwd=REPO, env=self.environment(), stdout=log, stderr=log, start_new_session=True
            )
        finally:
            log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited during start-up; see {self.log_path}:\n{self.log_tail()}")
            try:
                status, _ = http_get(self.port, "/healthz", timeout=2, unix_socket=self.socket)
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200 and len(self.worker_pids()) >= self.workers:
                # Every worker imports the app on its own: ask often enough that each has.
                for _ in range(4 * self.workers):
                    http_get(self.port, "/healthz", timeout=10, unix_socket=self.socket)
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {BOOT_TIMEOUT_S:.0f} s; see {self.log_path}")

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def master_pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def worker_pids(self) -> list[int]:
        return _children(self.master_pid) if self.master_pid else []

    def kill9(self) -> list[int]:
        """``kill -9`` the master and every worker at the same instant; return their pids."""
        if self.process is None:
            return []
        pids = [self.process.pid, *self.worker_pids()]
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() and _is_alive(pid) for pid in pids):
            time.sleep(0.05)
        return pids

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _is_alive(pid: int) -> bool:
    """True unless the process is gone or a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


# --------------------------------------------------------------------------- instances


@contextmanager
def instance_environment(instance: Path) -> Iterator[None]:
    """``MANYI_INSTANCE_PATH`` set to ``instance`` for an in-process app, then restored
    (so that it does not leak into later steps and their child processes)."""
    before = os.environ.get("MANYI_INSTANCE_PATH")
    os.environ["MANYI_INSTANCE_PATH"] = str(instance)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MANYI_INSTANCE_PATH", None)
        else:
            os.environ["MANYI_INSTANCE_PATH"] = before


def write_config(instance: Path, settings: dict[str, Any]) -> None:
    """Write ``instance/config.py`` (read by every worker's ``create_app``)."""
    lines = ['"""Written by benchmarks/servers.py for one benchmark scenario."""']
    lines += [f"{name} = {value!r}" for name, value in settings.items()]
    (instance / "config.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_manyi(instance: Path, database_url: str, *args: str) -> str:
    """Run the ``manyi`` command line against an instance; return its output."""
    env = dict(os.environ, MANYI_INSTANCE_PATH=str(instance), MANYI_DATABASE_URL=database_url)
    manyi = Path(sys.executable).with_name("manyi")
    command = [str(manyi)] if manyi.exists() else [sys.executable, "-c", "from survey.cli import main; main()"]
    completed = subprocess.run([*command, *args], cwd=REPO, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"manyi {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


@dataclass
class Site:
    """A prepared instance: its folder, database and collection-point tokens."""

    instance: Path
    database_url: str
    tokens: dict[str, str]  # point code → token
    wave: str = "2025"


def point_tokens(instance: Path, database_url: str, wave: str = "2025") -> dict[str, str]:
    """Point code → token, from ``manyi points list`` (the URLs it prints)."""
    output = run_manyi(instance, database_url, "points", "list", wave)
    tokens = {}
    for line in output.strip().splitlines()[1:]:
        code, _town, _place, url = line.split("\t")
        tokens[code] = url.rsplit("/", 1)[-1]
    return tokens


def seed_instance(directory: Path, database_url: str | None = None, *, responses: int = 1000) -> Site:
    """``manyi demo --no-serve --responses N``: a published demo wave with points."""
    directory.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{directory / 'manyi.sqlite3'}"
    run_manyi(directory, url, "demo", "--no-serve", "--responses", str(responses))
    return Site(directory, url, point_tokens(directory, url))


def copy_site(seed: Site, directory: Path, *, postgres: Any = None, name: str = "") -> Site:
    """A fresh copy of ``seed`` in ``directory`` (same secret key, same tokens).

    SQLite: the database file is copied (the seed is closed and checkpointed).
    PostgreSQL (``postgres`` is the :class:`tests.pg.PostgresServer`): ``CREATE DATABASE
    name TEMPLATE <seed>``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(seed.instance / "secret_key", directory / "secret_key")
    if seed.database_url.startswith("sqlite"):
        target = directory / "manyi.sqlite3"
        shutil.copy(seed.instance / "manyi.sqlite3", target)
        return Site(directory, f"sqlite:///{target}", dict(seed.tokens), seed.wave)
    from sqlalchemy import create_engine, text

    template = seed.database_url.rsplit("/", 1)[-1]
    admin = create_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    finally:
        admin.dispose()
    return Site(directory, postgres.url(name), dict(seed.tokens), seed.wave)


def create_postgres_database(postgres: Any, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    return postgres.url(name)


def start_postgres() -> Any:
    """The throwaway PostgreSQL server of the tests (``tests.pg``)."""
    sys.path.insert(0, str(REPO))
    from tests import pg

    return pg.start_postgres()


def remove_postgres(server: Any) -> None:
    from tests import pg

    pg.remove(server)
