"""The production front end on loopback: Debian's nginx with the site of ``deploy/nginx/``
in front of gunicorn with ``deploy/gunicorn.conf.py`` on a unix socket — what
``deploy/systemd/manyi-web.service`` and nginx run in production, started by the test
suite (``tests/deploy/test_frontend.py``) and the load benchmark (``benchmarks/load.py``).

The site files are used as shipped; only the production paths and ports are rewritten
(:data:`REWRITES`): the socket, ``/opt/manyi/`` (this repository), the listening ports
(loopback, random), the log and certificate folders (a temp prefix).  A site file that no
longer contains one of them makes :meth:`Nginx.render` fail, so the tests never quietly
start something other than what is shipped.

nginx runs in the foreground (``-g 'daemon off;'``) in its own process group, with a
temp prefix for its pid file, logs and temporary bodies; only that process is ever
signalled.  As root its workers run as root too (``user root``): they read the
repository's static files and the socket in a temp folder.
"""

from __future__ import annotations

import os
import runpy
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.servers import REPO, Gunicorn, free_port

DEPLOY = REPO / "deploy"
NGINX_BINARY = "/usr/sbin/nginx"
SITE_FILES = ("manyi.conf", "manyi-tls.conf", "manyi-locations.conf")
#: Production value → test value (formatted with the prefix, repository, socket and
#: ports), per site file.  Every production value must be present in its file.
REWRITES: dict[str, tuple[tuple[str, str], ...]] = {
    "manyi.conf": (
        ("unix:/run/manyi/gunicorn.sock", "unix:{socket}"),
        ("    listen 80;\n", "    listen 127.0.0.1:{port};\n"),
        ("    listen [::]:80;\n", ""),
        ("/opt/manyi/deploy/nginx/", "{site}/"),
        ("/var/log/nginx/", "{prefix}/logs/"),
    ),
    "manyi-tls.conf": (
        ("    listen 443 ssl http2;\n", "    listen 127.0.0.1:{tls_port} ssl http2;\n"),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("/etc/ssl/manyi/", "{prefix}/tls/"),
        ("/opt/manyi/deploy/nginx/", "{site}/"),
        ("/var/log/nginx/", "{prefix}/logs/"),
    ),
    "manyi-locations.conf": (("/opt/manyi/", "{repo}/"),),
}


def production_workers() -> int:
    """The number of gunicorn workers ``deploy/gunicorn.conf.py`` starts on this machine."""
    return int(runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"])


def nginx_binary() -> str | None:
    """Debian's nginx (``apt-get install nginx``), or None."""
    if os.path.exists(NGINX_BINARY):
        return NGINX_BINARY
    return shutil.which("nginx")


@dataclass
class Nginx:
    """nginx serving the ``deploy/nginx/`` site in front of the gunicorn socket ``upstream``.

    ``tls=True`` also serves ``manyi-tls.conf`` on :attr:`tls_port` with a self-signed
    certificate (made with ``openssl``).
    """

    upstream: Path
    tls: bool = False
    port: int = 0
    tls_port: int = 0
    prefix: Path | None = None
    process: subprocess.Popen | None = None
    #: Debian's nginx.conf says ``auto`` (one per core).
    worker_processes: str = "auto"

    def render(self) -> Path:
        """Write the rewritten site files and a minimal ``nginx.conf``; return its path."""
        assert self.prefix is not None
        site = self.prefix / "site"
        for folder in ("site", "logs", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / folder).mkdir(parents=True, exist_ok=True)
        values = {
            "socket": self.upstream,
            "port": self.port,
            "tls_port": self.tls_port,
            "site": site,
            "prefix": self.prefix,
            "repo": REPO,
        }
        for name in SITE_FILES:
            text = (DEPLOY / "nginx" / name).read_text(encoding="utf-8")
            for production, test_value in REWRITES[name]:
                if production not in text:
                    raise RuntimeError(
                        f"deploy/nginx/{name} no longer contains {production!r}; update REWRITES in benchmarks/frontend.py"
                    )
                text = text.replace(production, test_value.format(**values))
            (site / name).write_text(text, encoding="utf-8")
        includes = [f"    include {site}/manyi.conf;"]
        if self.tls:
            self._certificate()
            includes.append(f"    include {site}/manyi-tls.conf;")
        lines = [
            *(["user root root;"] if os.geteuid() == 0 else []),
            f"worker_processes {self.worker_processes};",
            f"pid {self.prefix}/nginx.pid;",
            f"error_log {self.prefix}/logs/error.log warn;",
            "events { worker_connections 4096; }",
            "http {",
            "    include /etc/nginx/mime.types;",
            "    default_type application/octet-stream;",
            "    sendfile on;",
            f"    client_body_temp_path {self.prefix}/body;",
            f"    proxy_temp_path {self.prefix}/proxy;",
            f"    fastcgi_temp_path {self.prefix}/fastcgi;",
            f"    uwsgi_temp_path {self.prefix}/uwsgi;",
            f"    scgi_temp_path {self.prefix}/scgi;",
            *includes,
            "}",
        ]
        path = self.prefix / "nginx.conf"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _certificate(self) -> None:
        assert self.prefix is not None
        folder = self.prefix / "tls"
        folder.mkdir(exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(folder / "privkey.pem"),
                "-out",
                str(folder / "fullchain.pem"),
            ],
            check=True,
            capture_output=True,
        )

    def _arguments(self, config: Path) -> list[str]:
        assert self.prefix is not None
        return ["-p", str(self.prefix), "-c", str(config), "-e", str(self.prefix / "logs" / "error.log")]

    def start(self) -> Nginx:
        """``nginx -t`` the rendered site, then start it; wait until it accepts connections."""
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx not found; apt-get install nginx")
        self.prefix = self.prefix or Path(tempfile.mkdtemp(prefix="manyi-nginx-"))
        for _ in range(3):
            self.port = free_port()
            self.tls_port = free_port() if self.tls else 0
            config = self.render()
            check = subprocess.run([binary, "-t", "-q", *self._arguments(config)], capture_output=True, text=True)
            if check.returncode != 0:
                raise RuntimeError(f"nginx -t refused the deploy/nginx site:\n{check.stderr}")
            self.process = subprocess.Popen(
                [binary, *self._arguments(config), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._wait():
                return self
            self.stop(remove=False)
        raise RuntimeError(f"nginx did not start on a loopback port; see {self.prefix}/logs/error.log")

    def _wait(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def log(self, name: str = "error.log") -> str:
        """A log of this nginx (``error.log``, ``manyi.access.log``)."""
        path = (self.prefix or Path("/nonexistent")) / "logs" / name
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_pids(self) -> list[int]:
        from benchmarks.figures import process_tree

        return process_tree(self.process.pid) if self.process is not None else []

    def stop(self, *, remove: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if remove and self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)


@dataclass
class FrontEnd:
    """nginx → gunicorn (``deploy/gunicorn.conf.py``, unix socket), with
    ``MANYI_TRUSTED_PROXIES=1`` as ``deploy/manyi.env.example`` sets it."""

    instance: Path
    database_url: str
    workers: int = 4
    ratelimit_storage: str | None = None
    tls: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    gunicorn: Gunicorn | None = None
    nginx: Nginx | None = None
    runtime: Path | None = None

    @property
    def port(self) -> int:
        assert self.nginx is not None
        return self.nginx.port

    @property
    def master_pid(self) -> int | None:
        return self.gunicorn.master_pid if self.gunicorn is not None else None

    def start(self) -> FrontEnd:
        self.runtime = Path(tempfile.mkdtemp(prefix="manyi-run-"))
        self.gunicorn = Gunicorn(
            self.instance,
            self.database_url,
            workers=self.workers,
            ratelimit_storage=self.ratelimit_storage,
            socket=self.runtime / "gunicorn.sock",
            config=DEPLOY / "gunicorn.conf.py",
            extra_env={"MANYI_TRUSTED_PROXIES": "1", **self.extra_env},
        )
        try:
            self.gunicorn.start()
            self.nginx = Nginx(self.runtime / "gunicorn.sock", tls=self.tls).start()
        except BaseException:
            self.stop()
            raise
        return self

    def command(self) -> str:
        """What runs, for a report: the gunicorn command line behind nginx."""
        assert self.gunicorn is not None
        text = " ".join(self.gunicorn.command()[2:]).replace(str(REPO) + "/", "")
        return "nginx (deploy/nginx/manyi.conf) → " + text.replace(str(self.runtime), "/run/manyi")

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        if self.gunicorn is not None:
            self.gunicorn.stop()
        if self.runtime is not None:
            shutil.rmtree(self.runtime, ignore_errors=True)
