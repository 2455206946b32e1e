"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl in a temp dir, loopback, random port.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as
Debian's ``postgres`` user (``runuser``) on a directory it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, or None."""
    explicit = os.environ.get("MANYI_PG_BIN")
    candidates = [explicit] if explicit else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    base_dir: Path
    port: int
    as_user: str | None
    user: str = "manyi"

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-A",
            "trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = f"-p {self.port} -k {self.base_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.base_dir / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)

    def psql(self, sql: str, database: str = "postgres") -> None:
        self._run(
            str(self.bin_dir.parent / "bin" / "psql") if (self.bin_dir / "psql").exists() else "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        )


def start_postgres() -> PostgresServer:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql")
    as_user = "postgres" if os.geteuid() == 0 else None
    base_dir = Path(tempfile.mkdtemp(prefix="manyi-pg-"))
    if as_user:
        shutil.chown(base_dir, user=as_user, group=as_user)
    last_error: Exception | None = None
    for _ in range(3):  # a random port can be taken between choosing and binding
        server = PostgresServer(bin_dir, base_dir, _free_port(), as_user)
        try:
            server.start()
            return server
        except subprocess.CalledProcessError as error:
            last_error = error
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)
            time.sleep(0.2)
    raise RuntimeError(f"could not start PostgreSQL: {getattr(last_error, 'stderr', last_error)}")


def remove(server: PostgresServer) -> None:
    server.stop()
    shutil.rmtree(server.base_dir, ignore_errors=True)
