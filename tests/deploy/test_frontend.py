"""The production front end (issue 12, high 2), started as shipped: Debian's nginx with
``deploy/nginx/`` in front of gunicorn with ``deploy/gunicorn.conf.py`` on a unix socket,
``MANYI_TRUSTED_PROXIES=1``, rate limits in Redis (:mod:`benchmarks.frontend`).

It shows that two clients trickling a body no longer hold gunicorn's two sync workers
(``/healthz`` answers while they trickle; straight against gunicorn it does not), that
each client's own address reaches the app (separate rate-limit buckets, the right keyed
hash on the stored response; a client's forged ``X-Forwarded-For`` is not believed), that
a whole resident survey submits through it, and what nginx adds: static files, gzip,
body limits, HSTS on TLS only.

nginx and redis-server are Debian packages (``.ci/run`` installs both): locally a missing
one skips these tests, under ``CI=true`` it fails them.  The assertions are about what
answers and what is stored; a short client timeout (5 s) is only the failure signal.
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from benchmarks.client import Browser, LoadSpec, run_async, run_residents
from benchmarks.frontend import FrontEnd, nginx_binary
from benchmarks.servers import RedisServer, UnixHTTPConnection, write_config
from survey.db import get_session
from survey.models import Response
from survey.privacy import RESPONSE_ADDRESS, keyed_hash
from tests.conftest import app_on_template_copy, need
from tests.survey.respond_support import make_wave

pytestmark = pytest.mark.redis

WORKERS = 2  # as in the probe: two slow clients held both sync workers
HEALTHZ_TIMEOUT_S = 5.0  # failure signal only
RESPOND_LIMIT = 30


@pytest.fixture(scope="module")
def redis_server():
    if shutil.which("redis-server") is None:
        need("redis-server", "apt-get install redis-server")
    server = RedisServer().start()
    yield server
    server.stop()


@dataclass
class Site:
    """The front end, the app on the same database (to compute hashes and read rows), a token."""

    server: FrontEnd
    app: Flask
    token: str


@pytest.fixture(scope="module")
def site(sqlite_template, tmp_path_factory, redis_server) -> Iterator[Site]:
    """One front end for the module (starting gunicorn and nginx is the slow part)."""
    if nginx_binary() is None:
        need("nginx", "apt-get install nginx")
    folder = tmp_path_factory.mktemp("front-end")
    app = app_on_template_copy(sqlite_template, folder)  # the questionnaires are in the template
    database = folder / "manyi.sqlite3"
    token = make_wave(app)
    app.extensions["manyi_db"].engine.dispose()
    instance = folder / "gunicorn-instance"
    instance.mkdir()
    # the app's secret, so that the test computes the keyed hashes the server makes
    write_config(instance, {"SECRET_KEY": app.config["SECRET_KEY"], "RESPOND_RATE_LIMIT": f"{RESPOND_LIMIT} per hour"})
    server = FrontEnd(
        instance, f"sqlite:///{database}", workers=WORKERS, ratelimit_storage=redis_server.url, tls=True
    ).start()
    try:
        yield Site(server, app, token)
    finally:
        server.stop()
        app.extensions["manyi_db"].engine.dispose()


# --------------------------------------------------------------------------- helpers


def _connect_tcp(port: int, source_ip: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source_ip, 0))


def _connect_unix(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(path))
    return sock


@contextmanager
def trickling(connect, path: str, *, clients: int = 2, every_s: float = 0.5) -> Iterator[list[int]]:
    """``clients`` connections each POSTing a 60 KB form one byte every ``every_s``
    seconds (the probe sent one every 2 s); yields the bytes sent so far per client."""
    stop = threading.Event()
    sent = [0] * clients
    sockets = [connect(number) for number in range(clients)]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 60000\r\n\r\n"
    ).encode("ascii")

    def trickle(number: int) -> None:
        sock = sockets[number]
        try:
            sock.sendall(head + b"c")
            sent[number] = 1
            while not stop.wait(every_s):
                sock.sendall(b"c")
                sent[number] += 1
        except OSError:
            return

    threads = [threading.Thread(target=trickle, args=(number,), daemon=True) for number in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield sent
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        for sock in sockets:
            sock.close()


def _healthz(connection: http.client.HTTPConnection) -> int:
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    finally:
        connection.close()


def _wait_until(condition, *, rounds: int = 100) -> None:
    event = threading.Event()
    for _ in range(rounds):
        if condition():
            return
        event.wait(0.05)
    raise AssertionError("the slow clients never started sending")


# --------------------------------------------------------------------------- slow clients


def test_two_slow_clients_no_longer_stop_the_service(site):
    server, token = site.server, site.token
    assert server.gunicorn is not None and server.gunicorn.socket is not None

    # Through nginx: the trickling bodies stay in nginx; both workers stay free.
    with trickling(lambda n: _connect_tcp(server.port, f"127.0.0.{4 + n}"), f"/s/{token}") as sent:
        _wait_until(lambda: min(sent) >= 3)
        statuses = [
            _healthz(http.client.HTTPConnection("127.0.0.1", server.port, timeout=HEALTHZ_TIMEOUT_S)) for _ in range(3)
        ]
        assert min(sent) >= 3  # still trickling while /healthz answered
    assert statuses == [200, 200, 200]

    # The same two clients straight against gunicorn (what the probe did): each holds a
    # sync worker, and /healthz gets no answer.  This is what the front end prevents.
    with trickling(lambda n: _connect_unix(server.gunicorn.socket), f"/s/{token}") as sent:
        _wait_until(lambda: min(sent) >= 3)
        with pytest.raises(TimeoutError):
            _healthz(UnixHTTPConnection(server.gunicorn.socket, timeout=HEALTHZ_TIMEOUT_S))


# --------------------------------------------------------------------------- addresses


async def _remaining(port: int, path: str, source_ip: str, headers: dict[str, str] | None = None) -> int:
    browser = Browser("127.0.0.1", port, source_ip=source_ip)
    try:
        reply = await browser.request("GET", path, headers=headers, cookies=False)
    finally:
        await browser.close()
    assert reply.status == 200, reply.status
    return int(reply.headers["x-ratelimit-remaining"])


def test_each_client_address_reaches_the_app_and_a_forged_one_does_not(site):
    server, token, app = site.server, site.token, site.app
    landing = f"/s/{token}"

    async def scenario() -> list[int]:
        return [
            await _remaining(server.port, landing, "127.0.0.12"),
            await _remaining(server.port, landing, "127.0.0.12"),
            await _remaining(server.port, landing, "127.0.0.13"),  # its own bucket
            # 127.0.0.12 claiming to be 127.0.0.13: nginx appends the address it saw, the app takes that one
            await _remaining(server.port, landing, "127.0.0.12", {"X-Forwarded-For": "127.0.0.13"}),
            await _remaining(server.port, landing, "127.0.0.13"),
        ]

    remaining = run_async(scenario())
    top = RESPOND_LIMIT - 1
    assert remaining == [top, top - 1, top, top - 2, top - 1]

    # A whole survey from 127.x.y.z through nginx: acknowledged, stored under the hash of that address.
    recorder = run_async(
        run_residents(
            LoadSpec("127.0.0.1", server.port, [token], residents=1, flows_per_resident=1, duration_s=None, seed=5)
        )
    )
    [flow] = recorder.flows
    assert flow.acknowledged, flow.error
    with app.app_context():
        session = get_session()
        [stored] = session.scalars(select(Response).where(Response.comment == flow.marker)).all()
        expected = keyed_hash(flow.source_ip, purpose=RESPONSE_ADDRESS)
        nginx_address = keyed_hash("127.0.0.1", purpose=RESPONSE_ADDRESS)
    assert stored.state == "submitted" and stored.ip_hash == expected
    assert expected != nginx_address
    assert flow.source_ip not in server.nginx.log("manyi.access.log")  # nginx's log keeps no address either


# --------------------------------------------------------------------------- what nginx adds


def _get(port: int, path: str, *, tls: bool = False, headers: dict[str, str] | None = None):
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=context
        )
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.headers, reply.read()
    finally:
        connection.close()


def _post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def test_static_files_gzip_and_https_headers(site):
    server, token = site.server, site.token
    assert server.nginx is not None

    status, headers, body = _get(server.port, "/static/css/site.css", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (Path(__file__).resolve().parents[2] / "survey/static/css/site.css").read_bytes()
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in headers  # served by nginx, not by the app
    assert "Strict-Transport-Security" not in headers  # plain HTTP

    status, headers, body = _get(server.port, f"/s/{token}", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and "满意" in gzip.decompress(body).decode()
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")  # the app's own headers pass

    status, headers, _ = _get(server.nginx.tls_port, f"/s/{token}", tls=True)
    assert status == 200
    assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]
    status, headers, _ = _get(server.nginx.tls_port, "/static/css/site.css", tls=True)
    assert status == 200 and headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "nginx/" not in (headers.get("Server") or "")  # no version


def test_body_limits_resident_forms_64_kb_office_import_larger(site):
    server, token = site.server, site.token
    status, body = _post(server.port, f"/s/{token}", b"comment=" + b"x" * (70 * 1024))
    assert status == 413 and b"nginx" in body  # refused by nginx, never reached a worker
    status, body = _post(server.port, "/admin/imports", b"x" * (70 * 1024))
    assert b"nginx" not in body  # passed on: the app decides (here: no session, so no import)
    assert status in (400, 302, 303, 413)


def test_a_slow_header_sender_is_cut_off_by_nginx(site):
    """A client that opens a connection and never finishes its headers is closed by nginx
    (client_header_timeout) and never reaches gunicorn."""
    server = site.server

    async def never_finish() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(), 30)
        finally:
            writer.close()

    reply = run_async(never_finish())
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408")
