"""``python -m scoring`` — see :mod:`scoring.cli`."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
