"""One benchmark session's scratch space: a temp folder, one Redis, one PostgreSQL
server, and one seeded instance per database kind, all started lazily and stopped by
:meth:`Workspace.close` (also on error: use it as a context manager).

Every scenario gets its own copy of the seed (:meth:`Workspace.site`), so scenarios
never see each other's responses.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from benchmarks.servers import RedisServer, Site, copy_site, remove_postgres, seed_instance, start_postgres

DATABASE_KINDS = ("sqlite", "postgresql")


class Workspace:
    """Lazily started servers and seeded instances for a benchmark session."""

    def __init__(self, root: Path | None = None, *, seed_responses: int = 1000, keep: bool = False) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="manyi-bench-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.seed_responses = seed_responses
        self.keep = keep
        self._redis: RedisServer | None = None
        self._postgres: Any = None
        self._seeds: dict[str, Site] = {}
        self._names = 0

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def redis(self) -> RedisServer:
        if self._redis is None:
            self._redis = RedisServer().start()
        return self._redis

    @property
    def postgres(self) -> Any:
        if self._postgres is None:
            self._postgres = start_postgres()
        return self._postgres

    def redis_pids(self) -> list[int]:
        """The Redis server's process, if it runs."""
        if self._redis is None or self._redis.process is None:
            return []
        return [self._redis.process.pid]

    def postgres_pids(self) -> list[int]:
        """The PostgreSQL server's processes (postmaster and backends), if it runs."""
        from benchmarks.figures import process_tree

        if self._postgres is None:
            return []
        pid_file = self._postgres.data_dir / "postmaster.pid"
        try:
            return process_tree(int(pid_file.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            return []

    def seed(self, kind: str) -> Site:
        """The seeded instance of ``kind`` (``manyi demo --no-serve``), made once."""
        if kind not in DATABASE_KINDS:
            raise ValueError(f"unknown database kind {kind!r}; use one of {', '.join(DATABASE_KINDS)}")
        if kind not in self._seeds:
            folder = self.root / f"seed-{kind}"
            url = None
            if kind == "postgresql":
                from benchmarks.servers import create_postgres_database

                url = create_postgres_database(self.postgres, "manyi_seed")
            self._seeds[kind] = seed_instance(folder, url, responses=self.seed_responses)
        return self._seeds[kind]

    def site(self, kind: str, name: str) -> Site:
        """A fresh copy of the seed of ``kind`` for one scenario."""
        self._names += 1
        label = f"{name}_{self._names}"
        seed = self.seed(kind)
        return copy_site(seed, self.root / label, postgres=self._postgres if kind == "postgresql" else None, name=label)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.stop()
            self._redis = None
        if self._postgres is not None:
            remove_postgres(self._postgres)
            self._postgres = None
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
