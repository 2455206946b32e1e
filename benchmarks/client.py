"""Simulated residents: a small asyncio HTTP/1.1 client that walks the survey like a
browser without JavaScript.

Each resident is a fresh "phone" per survey: its own cookie jar and its own loopback
source address (``127.x.y.z``: Linux answers on all of ``127.0.0.0/8``), so the per-point,
per-address rate limit and the ``ip_burst`` flag see what they would see in the field
— many phones, one survey each.  A resident opens the point's landing page, taps
"start", then on every page reads the form it was given (CSRF token, one-time
submission key, the questions and their options), answers it and follows the 303
redirect, until the thank-you page.

Dependencies are the standard library only, and the client is kept lean because it
shares the machine's cores with the server it measures.  Every request is recorded
(kind, status, latency); every survey ends in a :class:`FlowOutcome` saying whether
the final page was acknowledged (303 to ``/thanks``) and by which keys it can be found in
the database (see :mod:`benchmarks.verify`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

#: Statuses a resident expects: a page (200) or the redirect after a POST (303).
PAGE_OK = 200
REDIRECT = 303
REQUEST_TIMEOUT_S = 30.0


def run_async(coroutine):
    """Run ``coroutine`` to completion and return its result, like :func:`asyncio.run`.

    :func:`asyncio.run` refuses to start when the calling thread already has a running
    event loop — which is the case inside a pytest session once Playwright's sync API
    has started (it keeps its loop marked as running on the main thread).  Then the
    coroutine runs on a fresh loop in a private thread instead, and exceptions are
    re-raised here.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    import threading

    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=target, name="manyi-async-client")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]


_TAG = re.compile(r"<(form|input|textarea|button)\b([^>]*)>|</(form|textarea)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


class HttpError(Exception):
    """A request that could not be completed (connection refused or reset, timeout,
    malformed reply)."""


# --------------------------------------------------------------------------- HTTP


@dataclass
class Reply:
    """One HTTP reply: status, headers (lower-case names), body and latency."""

    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    body: bytes
    seconds: float

    @property
    def location(self) -> str:
        """The redirect target as a path (scheme and host removed)."""
        target = self.headers.get("location", "")
        parts = urlsplit(target)
        return parts.path + (f"?{parts.query}" if parts.query else "") if parts.scheme else target

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Browser:
    """A cookie jar and a keep-alive connection from one loopback source address.

    Cookie paths are ignored (a resident stays on one point's pages); a cookie set with
    ``Max-Age=0`` or a past expiry is removed, as a browser does.
    """

    def __init__(
        self, host: str, port: int, *, source_ip: str | None = None, timeout: float = REQUEST_TIMEOUT_S
    ) -> None:
        self.host = host
        self.port = port
        self.source_ip = source_ip
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def twin(self) -> Browser:
        """The same phone on a second connection (same address and cookies): a double tap."""
        other = Browser(self.host, self.port, source_ip=self.source_ip, timeout=self.timeout)
        other.cookies = dict(self.cookies)
        return other

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(TimeoutError, OSError):
                await writer.wait_closed()

    async def _connect(self) -> None:
        local = (self.source_ip, 0) if self.source_ip else None
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port, local_addr=local)

    async def request(
        self,
        method: str,
        path: str,
        form: Sequence[tuple[str, str]] | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        cookies: bool = True,
    ) -> Reply:
        """Send one request and read the whole reply; raise :class:`HttpError` on failure."""
        payload = (
            body
            if body is not None
            else (urlencode(list(form), encoding="utf-8").encode("ascii") if form is not None else b"")
        )
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "User-Agent: manyi-bench/1",
            "Accept-Encoding: identity",
        ]
        if method == "POST":
            lines.append(f"Content-Length: {len(payload)}")
            if form is not None:
                lines.append("Content-Type: application/x-www-form-urlencoded")
        if cookies and self.cookies:
            lines.append("Cookie: " + "; ".join(f"{name}={value}" for name, value in self.cookies.items()))
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        started = time.perf_counter()
        try:
            reply = await asyncio.wait_for(self._exchange(raw), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            await self.close()
            raise HttpError(f"{type(error).__name__}: {error}") from error
        except TimeoutError as error:
            await self.close()
            raise HttpError(f"timeout after {self.timeout:.0f} s") from error
        reply.seconds = time.perf_counter() - started
        if cookies:
            self.remember(reply.set_cookies)
        return reply

    async def _exchange(self, raw: bytes) -> Reply:
        if self._writer is None:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        self._writer.write(raw)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        set_cookies: list[str] = []
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                set_cookies.append(value)
            else:
                headers[name] = value
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            body = await self._reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, headers, set_cookies, body, 0.0)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    def remember(self, set_cookies: list[str]) -> None:
        """Apply a reply's Set-Cookie headers to the jar."""
        for header in set_cookies:
            first, *attributes = header.split(";")
            name, _, value = first.strip().partition("=")
            expired = any(
                part.strip().lower() in ("max-age=0",) or part.strip().lower().startswith("expires=thu, 01 jan 1970")
                for part in attributes
            )
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value


# --------------------------------------------------------------------------- forms


@dataclass
class Form:
    """A POST form as a browser sees it: action, controls in order, and buttons."""

    action: str
    hidden: list[tuple[str, str]] = field(default_factory=list)
    radios: dict[str, list[str]] = field(default_factory=dict)
    checkboxes: dict[str, list[str]] = field(default_factory=dict)
    checked: dict[str, list[str]] = field(default_factory=dict)
    textareas: dict[str, int] = field(default_factory=dict)  # name → maxlength (0: none)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        return next((value for key, value in self.hidden if key == name), None)


def _attributes(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(text):
        name = match.group(1).lower()
        value = next((group for group in match.groups()[1:] if group is not None), "")
        found.setdefault(name, html.unescape(value))
    return found


def parse_post_form(page: str) -> Form | None:
    """The page's POST form (the resident pages have exactly one), or None."""
    form: Form | None = None
    for match in _TAG.finditer(page):
        tag = (match.group(1) or "").lower()
        if match.group(3):
            if match.group(3).lower() == "form" and form is not None:
                return form
            continue
        attributes = _attributes(match.group(2) or "")
        if tag == "form":
            if attributes.get("method", "get").lower() == "post":
                form = Form(action=attributes.get("action", ""))
            continue
        if form is None:
            continue
        name = attributes.get("name", "")
        if tag == "input":
            kind = attributes.get("type", "text").lower()
            if kind == "hidden":
                form.hidden.append((name, attributes.get("value", "")))
            elif kind in ("radio", "checkbox"):
                options = form.radios if kind == "radio" else form.checkboxes
                options.setdefault(name, []).append(attributes.get("value", "on"))
                if "checked" in attributes:
                    form.checked.setdefault(name, []).append(attributes.get("value", "on"))
        elif tag == "textarea":
            form.textareas[name] = int(attributes.get("maxlength") or 0)
        elif tag == "button":
            form.buttons.append((name, attributes.get("value", "")))
    return form


def answer(form: Form, rng: random.Random, *, comment: str, extra_services: int = 2) -> list[tuple[str, str]]:
    """Answer every question of ``form`` as a resident would.

    Likert and choice items get a random option (mostly a scale point, sometimes
    不适用/不清楚); the services question keeps what the point pre-selected and adds up to
    ``extra_services`` more; the comment carries ``comment`` (the flow's marker).
    """
    body = list(form.hidden)
    for name, options in form.radios.items():
        points = [option for option in options if option != "na"]
        body.append((name, rng.choice(options) if (rng.random() < 0.05 or not points) else rng.choice(points)))
    for name, options in form.checkboxes.items():
        chosen = list(form.checked.get(name) or [])
        others = [option for option in options if option not in chosen]
        chosen += rng.sample(others, min(len(others), rng.randint(0 if chosen else 1, extra_services)))
        body.extend((name, option) for option in chosen)
    for name, maxlength in form.textareas.items():
        body.append((name, comment[:maxlength] if maxlength else comment))
    if any(button == "go" for button, _ in form.buttons):
        body.append(("go", "next"))
    return body


def chosen(body: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in body if key == name]


# --------------------------------------------------------------------------- recording


@dataclass
class RequestRecord:
    kind: str  # "get", "post", "resend", "twin", "bare"
    status: int  # 0: no reply (connection error or timeout)
    seconds: float
    started: float  # seconds since the run began
    error: str = ""


@dataclass
class FlowOutcome:
    """One resident's survey: how far it got and how to find it in the database."""

    marker: str
    source_ip: str
    token: str
    start_key: str = ""
    #: The "start" POST was sent / answered with the redirect into the survey.
    start_sent: bool = False
    started: bool = False
    final_key: str = ""
    services: list[str] = field(default_factory=list)
    acknowledged: bool = False
    #: The final POST was sent but its reply never came (crash, timeout).
    final_unanswered: bool = False
    pages_sent: int = 0
    resends: int = 0
    resend_mismatches: int = 0
    error: str = ""


@dataclass
class Recorder:
    """Every request and flow of a run, with the run's clock."""

    started: float = field(default_factory=time.perf_counter)
    requests: list[RequestRecord] = field(default_factory=list)
    flows: list[FlowOutcome] = field(default_factory=list)
    #: Residents stopped half-way (by a failure or by the end of the run), for resume.
    unfinished: list[Resident] = field(default_factory=list)

    def now(self) -> float:
        return time.perf_counter() - self.started

    def add(self, kind: str, reply: Reply | None, seconds: float, started: float, error: str = "") -> None:
        self.requests.append(RequestRecord(kind, reply.status if reply else 0, seconds, started, error))


@dataclass
class RetryPolicy:
    """Which POSTs a resident sends twice with the same submission key.

    ``fraction`` of the POSTs are repeated: half of them *after* the first reply (a
    browser retrying when the reply was lost: the repeat carries the cookies from before
    the first POST, as the first reply never reached the phone), half *at the same time*
    on a second connection (a double tap).
    """

    fraction: float = 0.0


class FlowError(Exception):
    """A page that was not what a resident expects (wrong status, no form)."""


class Resident:
    """One simulated phone walking one survey."""

    def __init__(
        self,
        host: str,
        port: int,
        token: str,
        *,
        source_ip: str,
        marker: str,
        rng: random.Random,
        recorder: Recorder,
        think: tuple[float, float] = (0.0, 0.0),
        retry: RetryPolicy | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.browser = Browser(host, port, source_ip=source_ip, timeout=timeout)
        self.token = token
        self.rng = rng
        self.recorder = recorder
        self.think = think
        self.retry = retry or RetryPolicy()
        self.should_stop = should_stop
        self.outcome = FlowOutcome(marker=marker, source_ip=source_ip, token=token)
        #: The next step: ("get", path, None, None) or ("post", path, form, body).
        self.pending: tuple[str, str, Form | None, list[tuple[str, str]] | None] | None = None

    async def _send(
        self,
        kind: str,
        method: str,
        path: str,
        form: Sequence[tuple[str, str]] | None = None,
        browser: Browser | None = None,
    ) -> Reply:
        started = self.recorder.now()
        clock = time.perf_counter()
        try:
            reply = await (browser or self.browser).request(method, path, form)
        except HttpError as error:
            self.recorder.add(kind, None, time.perf_counter() - clock, started, str(error))
            raise
        self.recorder.add(kind, reply, reply.seconds, started)
        return reply

    async def _pause(self) -> None:
        low, high = self.think
        if high > 0:
            await asyncio.sleep(self.rng.uniform(low, high))

    async def _get_form(self, path: str) -> Form:
        reply = await self._send("get", "GET", path)
        if reply.status != PAGE_OK:
            raise FlowError(f"GET {path} → {reply.status}")
        form = parse_post_form(reply.text())
        if form is None:
            raise FlowError(f"GET {path}: no form")
        return form

    async def _post(self, form: Form, body: list[tuple[str, str]]) -> Reply:
        """POST ``body`` (perhaps twice, see :class:`RetryPolicy`); return the reply the
        phone ends up with, after checking that a repeat led to the same place."""
        mode = ""
        if self.retry.fraction > 0 and self.rng.random() < self.retry.fraction:
            mode = "resend" if self.rng.random() < 0.5 else "twin"
        if mode == "twin":
            twin = self.browser.twin()
            try:
                first, second = await asyncio.gather(
                    self._send("post", "POST", form.action, body),
                    self._send("twin", "POST", form.action, body, twin),
                    return_exceptions=True,
                )
            finally:
                await twin.close()
            for reply in (first, second):
                if isinstance(reply, BaseException):
                    raise reply
            assert isinstance(first, Reply) and isinstance(second, Reply)
            self.browser.remember(second.set_cookies)  # the phone saw both replies
            self.outcome.resends += 1
            if (second.status, second.location) != (first.status, first.location):
                self.outcome.resend_mismatches += 1
            return first
        if mode == "resend":
            before = dict(self.browser.cookies)
            first = await self._send("post", "POST", form.action, body)
            self.browser.cookies = before  # the first reply was "lost": its cookies never arrived
            second = await self._send("resend", "POST", form.action, body)
            self.outcome.resends += 1
            if (second.status, second.location) != (first.status, first.location):
                self.outcome.resend_mismatches += 1
            return second
        return await self._send("post", "POST", form.action, body)

    async def run(self) -> FlowOutcome:
        """Walk the survey to the thank-you page (or until told to stop); never raises.

        After a failure (the server went away), :attr:`pending` says what was being
        done, and :meth:`resume` carries on from there, as a phone does when the
        resident taps again: the same GET, or the same POST with the same key.
        """
        try:
            await self._walk()
        except (HttpError, FlowError) as error:
            self.outcome.error = str(error)
        finally:
            await self.browser.close()
        return self.outcome

    async def resume(self) -> FlowOutcome:
        """Carry on after a failed request (see :meth:`run`); never raises."""
        if self.pending is None:
            return self.outcome
        self.outcome.error = ""
        return await self.run()

    async def _walk(self) -> None:
        outcome = self.outcome
        if self.pending is None:
            self.pending = ("get", f"/s/{self.token}", None, None)
        while self.pending is not None:
            if self.should_stop():
                return
            step, path, form, body = self.pending
            if step == "get":
                if path.endswith("/thanks"):
                    thanks = await self._send("get", "GET", path)
                    if thanks.status != PAGE_OK:
                        raise FlowError(f"GET {path} → {thanks.status}")
                    self.pending = None
                    return
                form = await self._get_form(path)
                if path == f"/s/{self.token}":
                    outcome.start_key = form.value("submission_key") or ""
                    body = list(form.hidden)
                else:
                    body = answer(form, self.rng, comment=outcome.marker)
                    if path.endswith("/services"):
                        outcome.services = chosen(body, "services_used")
                    if path.endswith("/final"):
                        outcome.final_key = form.value("submission_key") or ""
                await self._pause()
                self.pending = ("post", path, form, body)
                continue
            assert form is not None and body is not None
            start, final = path == f"/s/{self.token}", path.endswith("/final")
            if start:
                outcome.start_sent = True
            try:
                reply = await self._post(form, body)
            except HttpError:
                if final:
                    outcome.final_unanswered = True
                raise
            if reply.status != REDIRECT:
                raise FlowError(f"POST {form.action} → {reply.status}")
            target = reply.location
            if start:
                outcome.started = True
            else:
                outcome.pages_sent += 1
            if final:
                outcome.final_unanswered = False
                outcome.acknowledged = target.endswith("/thanks")
                if not outcome.acknowledged:
                    raise FlowError(f"final page sent but redirected to {target}")
            self.pending = ("get", target, None, None)


# --------------------------------------------------------------------------- runs

_address_numbers = itertools.count(1)


def next_source_ip() -> str:
    """A fresh loopback address (127.x.y.z, never .0 or .255) for the next phone."""
    number = next(_address_numbers)
    return f"127.{(number // 64516) % 250 + 1}.{(number // 254) % 254 + 1}.{number % 254 + 1}"


@dataclass
class LoadSpec:
    """What a run of simulated residents does."""

    host: str
    port: int
    tokens: Sequence[str]
    residents: int = 100
    duration_s: float | None = 60.0  # stop starting requests after this
    flows_per_resident: int | None = None  # or stop after this many surveys each
    think: tuple[float, float] = (0.0, 0.0)
    retry_fraction: float = 0.0
    seed: int = 7
    marker_prefix: str = "bench"
    timeout: float = REQUEST_TIMEOUT_S


async def run_residents(
    spec: LoadSpec, recorder: Recorder | None = None, *, stop: asyncio.Event | None = None
) -> Recorder:
    """``spec.residents`` concurrent residents, each walking surveys one after another
    (a fresh phone and address per survey) until the duration or flow count is reached
    or ``stop`` is set.  Residents who pause on pages (``spec.think``) also arrive at a
    random moment within the first pause, as people do; without pauses they all start
    at once (the saturated case)."""
    recorder = recorder or Recorder()
    stop = stop or asyncio.Event()
    deadline = recorder.now() + spec.duration_s if spec.duration_s else None

    def should_stop() -> bool:
        return stop.is_set() or (deadline is not None and recorder.now() >= deadline)

    async def resident(number: int) -> None:
        rng = random.Random(spec.seed * 100_003 + number)
        if spec.think[1] > 0:  # paced residents arrive spread out, not all in the same millisecond
            await asyncio.sleep(rng.uniform(0, spec.think[1]))
        for flow_number in itertools.count():
            if should_stop() or (spec.flows_per_resident is not None and flow_number >= spec.flows_per_resident):
                return
            token = spec.tokens[(number + flow_number) % len(spec.tokens)]
            walker = Resident(
                spec.host,
                spec.port,
                token,
                source_ip=next_source_ip(),
                marker=f"{spec.marker_prefix} r{number} f{flow_number}",
                rng=rng,
                recorder=recorder,
                think=spec.think,
                retry=RetryPolicy(spec.retry_fraction),
                should_stop=should_stop,
                timeout=spec.timeout,
            )
            recorder.flows.append(await walker.run())
            if walker.pending is not None:
                recorder.unfinished.append(walker)

    await asyncio.gather(*(resident(number) for number in range(spec.residents)))
    return recorder


async def run_bare(
    host: str,
    port: int,
    *,
    connections: int = 100,
    duration_s: float = 10.0,
    path: str = "/healthz",
    recorder: Recorder | None = None,
) -> Recorder:
    """``connections`` clients requesting ``path`` back to back for ``duration_s``."""
    recorder = recorder or Recorder()
    deadline = recorder.now() + duration_s

    async def client(number: int) -> None:
        browser = Browser(host, port, source_ip=next_source_ip())
        try:
            while recorder.now() < deadline:
                started, clock = recorder.now(), time.perf_counter()
                try:
                    reply = await browser.request("GET", path, cookies=False)
                except HttpError as error:
                    recorder.add("bare", None, time.perf_counter() - clock, started, str(error))
                    continue
                recorder.add("bare", reply, reply.seconds, started)
        finally:
            await browser.close()

    await asyncio.gather(*(client(number) for number in range(connections)))
    return recorder


@dataclass
class TrickleOutcome:
    """What the slow clients of :func:`run_tricklers` managed."""

    clients: int
    bytes_sent: list[int]
    #: Clients whose connection was still open when the run ended (nginx holds them).
    still_connected: int
    errors: list[str]


async def run_tricklers(
    host: str,
    port: int,
    path: str,
    *,
    clients: int,
    stop: asyncio.Event,
    every_s: float = 1.0,
    body_bytes: int = 60_000,
) -> TrickleOutcome:
    """``clients`` slow clients, each POSTing a ``body_bytes`` form to ``path`` one byte
    every ``every_s`` seconds from its own address, until ``stop`` is set (the security
    probe's attack: 60 KB, one byte every 2 s)."""
    sent = [0] * clients
    connected = [False] * clients
    errors: list[str] = []
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: manyi-bench-slow/1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {body_bytes}\r\n\r\n"
    ).encode("ascii")

    async def trickle(number: int) -> None:
        try:
            _reader, writer = await asyncio.open_connection(host, port, local_addr=(next_source_ip(), 0))
        except OSError as error:
            errors.append(f"connect: {error}")
            return
        connected[number] = True
        try:
            writer.write(head + b"c")
            await writer.drain()
            sent[number] = 1
            while sent[number] < body_bytes - 1:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_s)
                if stop.is_set():
                    return
                writer.write(b"c")
                await writer.drain()
                sent[number] += 1
        except (OSError, ConnectionError) as error:
            connected[number] = False
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    await asyncio.gather(*(trickle(number) for number in range(clients)))
    return TrickleOutcome(clients, sent, sum(connected), sorted(set(errors))[:5])
