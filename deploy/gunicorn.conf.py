"""gunicorn settings for Manyi in production, behind the nginx of ``deploy/nginx/``.

``deploy/systemd/manyi-web.service`` starts::

    gunicorn --config /opt/manyi/deploy/gunicorn.conf.py survey.wsgi:app

Every value can be changed from the environment file (``/etc/manyi/manyi.env``, see
``deploy/manyi.env.example``); command-line options override this file.

nginx reads every request in full before it passes it on (request buffering) and takes
every reply in full (response buffering), so a sync worker only ever sees complete
requests from a fast local peer: a slow or hostile phone holds an nginx connection,
never a worker.  That is why plain sync workers are right here, and why gunicorn must
not be reachable except through nginx (a unix socket that only nginx's group may open).

Before the workers start, :func:`on_starting` refuses a multi-worker server whose
rate-limit counters would live in each worker's memory (``memory://``): each worker
would count on its own and let through N times the limit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: Where nginx connects (``proxy_pass`` in deploy/nginx/manyi.conf).  systemd creates
#: /run/manyi (RuntimeDirectory=manyi).
bind = [os.environ.get("MANYI_BIND", "unix:/run/manyi/gunicorn.sock")]
#: Socket mode 0660: the service's user and group (nginx's www-data is added to the
#: group, docs/deploy.md); the database and secret files set their own 0600.
umask = 0o007

#: Sync workers: the requests are short CPU work (3–7 ms) and nginx buffers the slow
#: clients.  2 × cores + 1 is gunicorn's advice; MANYI_WEB_WORKERS overrides.
workers = int(os.environ.get("MANYI_WEB_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
worker_class = "sync"
#: A request that computes for longer than this is killed and logged.  Office work that
#: takes longer (scoring, publishing, large imports) belongs outside the request.
timeout = int(os.environ.get("MANYI_WEB_TIMEOUT") or 60)
graceful_timeout = 20
#: Recycle workers now and then (a slow leak never grows for weeks).
max_requests = 5000
max_requests_jitter = 500
#: The heartbeat files on tmpfs: a busy disk never makes the master think a worker hangs.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

#: X-Forwarded-Proto is believed from these peers only (a unix-socket peer — nginx — is
#: always believed).  The client's address comes from ProxyFix in the app, driven by
#: MANYI_TRUSTED_PROXIES (1 for this nginx), never from gunicorn.
forwarded_allow_ips = "127.0.0.1,::1"

#: Same limits as nginx's, so that a request nginx passes is never refused here.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

proc_name = "manyi-web"
#: Errors to stderr (the journal); nginx keeps the access log.
errorlog = "-"
loglevel = os.environ.get("MANYI_WEB_LOG_LEVEL", "info")
accesslog = None

#: Set to 1 to run several workers with per-worker rate-limit counters anyway.
ACCEPT_PER_WORKER_LIMITS = "MANYI_ACCEPT_PER_WORKER_LIMITS"


def instance_setting(name: str) -> object:
    """``name`` from the instance folder's ``config.py``, read as Flask reads it (or None)."""
    instance = Path(os.environ.get("MANYI_INSTANCE_PATH") or Path.cwd() / "instance")
    path = instance / "config.py"
    if not path.is_file():
        return None
    namespace: dict[str, object] = {"__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # as Flask's from_pyfile does
    return namespace.get(name)


def limiter_storage_problem(*, workers: int, storage_uri: str, accept_per_worker: bool) -> str | None:
    """Why ``workers`` workers must not start with ``storage_uri``, or None when they may."""
    if workers <= 1 or not storage_uri.startswith("memory://") or accept_per_worker:
        return None
    return (
        f"{workers} workers with rate-limit counters in each worker's memory ({storage_uri}) would each count "
        f"on their own and let through {workers} times every limit (logins, resident pages). Set "
        "MANYI_RATELIMIT_STORAGE_URI to a shared store, e.g. redis://127.0.0.1:6379/0 "
        "(apt-get install redis-server; pip install -e '.[redis]'), or run one worker (MANYI_WEB_WORKERS=1), "
        f"or accept per-worker counters knowingly with {ACCEPT_PER_WORKER_LIMITS}=1."
    )


def on_starting(server: Any) -> None:  # gunicorn's Arbiter
    """Refuse to start several workers without shared rate-limit storage (issue 12)."""
    storage = os.environ.get("MANYI_RATELIMIT_STORAGE_URI") or instance_setting("RATELIMIT_STORAGE_URI") or "memory://"
    accept = os.environ.get(ACCEPT_PER_WORKER_LIMITS, "").strip().lower() in ("1", "true", "yes")
    problem = limiter_storage_problem(workers=server.cfg.workers, storage_uri=str(storage), accept_per_worker=accept)
    if problem:
        raise RuntimeError("Manyi will not start: " + problem)
    if accept and server.cfg.workers > 1 and str(storage).startswith("memory://"):
        server.log.warning(
            "%s=1: %d workers count rate limits each on their own (%s)",
            ACCEPT_PER_WORKER_LIMITS,
            server.cfg.workers,
            storage,
        )
