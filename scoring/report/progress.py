"""Progress bars on the terminal for the long steps of a report (stderr)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

__all__ = ["Progress"]


class Progress:
    """Progress bars on stderr for the long steps of a run.

    On a terminal a bar is redrawn in place; otherwise (logs, tests) one line is written
    when a step ends.  ``enabled=False`` writes nothing.
    """

    def __init__(self, *, stream: IO[str] | None = None, enabled: bool = True, width: int = 28):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.width = width
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def _draw(self, label: str, done: int, total: int, elapsed: float, final: bool) -> None:
        if not self.enabled:
            return
        # CJK characters take two terminal columns.
        padded = label + " " * max(0, 14 - sum(2 if ord(ch) > 0x2E80 else 1 for ch in label))
        if total > 0:
            filled = int(self.width * done / total)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"{padded} [{bar}] {done}/{total}  {elapsed:5.1f}s"
        else:
            text = f"{padded} {elapsed:5.1f}s"
        if self.interactive:
            self.stream.write("\r" + text + ("\n" if final else ""))
            self.stream.flush()
        elif final:
            self.stream.write(text + "\n")
            self.stream.flush()

    @contextmanager
    def step(self, label: str, total: int = 0) -> Iterator[Callable[..., None]]:
        """A step with ``total`` parts; yields ``advance(done, total)`` to report progress."""
        start = time.perf_counter()
        state = {"done": 0, "total": total}

        def advance(done: int, new_total: int | None = None) -> None:
            state["done"] = done
            if new_total is not None:
                state["total"] = new_total
            self._draw(label, state["done"], state["total"], time.perf_counter() - start, False)

        self._draw(label, 0, total, 0.0, False)
        yield advance
        self._draw(label, state["total"] or state["done"], state["total"], time.perf_counter() - start, True)
