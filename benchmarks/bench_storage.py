"""Answer storage: insert N responses into SQLite (or $MANYI_DATABASE_URL) and time the export
to the scoring engine's DataFrame (``survey.adapter.wave_responses_frame``).

    .venv/bin/python benchmarks/bench_storage.py --responses 100000

Prints the figures; never fails a test run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_frame(n: int, codes_by_domain: dict[str, list[str]], seed: int = 0) -> pd.DataFrame:
    """Random responses: each resident answers 3 of the 12 domains and the overall item."""
    rng = np.random.default_rng(seed)
    towns = ["xicheng", "dongcheng", "chengnan", "jinan", "mashan", "libu"]
    frame = {
        "response_id": [f"r{i}" for i in range(n)],
        "wave": "bench",
        "channel": "qr",
        "point": "",
        "town": rng.choice(towns, n),
        "sex": rng.choice(["male", "female"], n),
        "age_group": rng.choice(["18-29", "30-44", "45-59", "60+"], n),
        "duration_s": rng.lognormal(5, 0.4, n).round(1),
        "submitted_at": "2025-06-01T08:00:00+00:00",
    }
    domains = list(codes_by_domain)
    chosen = np.argsort(rng.random((n, len(domains))), axis=1)[:, :3]
    for index, domain in enumerate(domains):
        uses = (chosen == index).any(axis=1)
        for code in codes_by_domain[domain]:
            values = rng.integers(1, 6, n).astype(float)
            values[~uses | (rng.random(n) < 0.05)] = np.nan
            frame[code] = values
    frame["overall"] = rng.integers(1, 6, n).astype(float)
    return pd.DataFrame(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="write the figures here")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="manyi-bench-storage-") as folder:
        figures = measure(options.responses, Path(folder))
    print(json.dumps(figures, indent=2))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))


def measure(responses: int, workdir: Path) -> dict[str, object]:
    """Insert ``responses`` synthetic responses under ``workdir`` and time the export."""
    os.environ.setdefault("MANYI_INSTANCE_PATH", str(workdir))
    from survey import create_app
    from survey.adapter import wave_responses_frame
    from survey.db import get_session
    from survey.services.responses import insert_frame
    from survey.services.setup import initialise
    from survey.services.waves import create_wave

    url = os.environ.get("MANYI_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        initialise(app)
        session = get_session()
        wave = create_wave(session, f"bench{int(time.time())}")
        codes: dict[str, list[str]] = {}
        for wq in wave.questionnaires:
            if wq.questionnaire_id != "common":
                codes[wq.questionnaire_id] = list(wq.version.likert_codes)
        frame = make_frame(responses, codes)
        started = time.perf_counter()
        insert_frame(session, wave, frame, channel="qr")
        session.commit()
        insert_seconds = time.perf_counter() - started

        started = time.perf_counter()
        exported = wave_responses_frame(session, wave)
        export_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "database": url.split(":")[0],
        "responses": responses,
        "items": int(sum(len(c) for c in codes.values()) + 1),
        "insert_seconds": round(insert_seconds, 2),
        "export_seconds": round(export_seconds, 2),
        "export_rows": len(exported),
        "peak_rss_mb": round(peak_mb),
    }
    app.extensions["manyi_db"].engine.dispose()
    return figures


if __name__ == "__main__":
    main()
