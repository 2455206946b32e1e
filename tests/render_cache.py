"""The test run draws each distinct chart once.

A chart is a pure function of its :class:`scoring.report.render.ChartJob` (the builder's
name and its plain-data arguments; matplotlib's settings are fixed by ``chart_style``), and
the suite publishes the same demo wave many times: every publication draws the same 19
charts (about 7 s of matplotlib each time).  :func:`install` wraps
:func:`scoring.report.render.render_charts` so that a job already drawn in this test run,
by this pytest-xdist worker or the other, is read back instead of drawn again.

The first publication of each distinct wave draws for real; what later ones get are the
bytes matplotlib produced for exactly the same job (the key is a SHA-256 of the pickled
job, less the run's generation time).  A test about drawing itself can ask for the
``uncached_charts`` fixture.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ORIGINAL: dict[str, Callable[..., Any]] = {}


def _without_generation_time(value: Any) -> Any:
    """``results`` without ``report.generated``, the one field that differs between two
    publications of the same data; no chart reads it (``tests/scoring/test_charts.py``
    ``test_no_chart_depends_on_the_generation_time``)."""
    report = value.get("report") if isinstance(value, Mapping) else getattr(value, "report", None)
    if isinstance(report, Mapping) and "generated" in report:
        return {**value, "report": {k: v for k, v in report.items() if k != "generated"}}
    if dataclasses.is_dataclass(report) and getattr(report, "generated", None) is not None:
        return dataclasses.replace(value, report=dataclasses.replace(report, generated=None))
    return value


def _key(job: Any) -> str:
    content = (
        job.name,
        job.title,
        job.builder,
        tuple(_without_generation_time(arg) for arg in job.args),
        sorted((name, _without_generation_time(arg)) for name, arg in job.kwargs.items()),
    )
    return hashlib.sha256(pickle.dumps(content, protocol=5)).hexdigest()


def install(folder: Path) -> None:
    """Wrap ``render_charts`` with a cache of drawn charts in ``folder`` (shared by workers)."""
    from scoring.report import render

    if "render_charts" in ORIGINAL:
        return
    original = render.render_charts
    ORIGINAL["render_charts"] = original
    folder.mkdir(parents=True, exist_ok=True)

    def render_charts(
        jobs: Sequence[Any], *, workers: int = 1, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        keys = {job.name: _key(job) for job in jobs}
        found: dict[str, Any] = {}
        for job in jobs:
            path = folder / keys[job.name]
            if path.exists():
                found[job.name] = pickle.loads(path.read_bytes())
        missing = [job for job in jobs if job.name not in found]
        done = len(found)
        for step in range(1, done + 1):
            if progress:
                progress(step, len(jobs))

        def advance(step: int, _total: int) -> None:
            if progress:
                progress(done + step, len(jobs))

        drawn = original(missing, workers=workers, progress=advance) if missing else {}
        for name, chart in drawn.items():
            target = folder / keys[name]
            scratch = target.with_name(f"{target.name}.{os.getpid()}")
            scratch.write_bytes(pickle.dumps(chart, protocol=5))
            os.replace(scratch, target)  # atomic: the other worker reads whole files only
        return {job.name: found.get(job.name) or drawn[job.name] for job in jobs}

    render.render_charts = render_charts


def uninstalled() -> Callable[..., Any]:
    """The real ``render_charts``."""
    from scoring.report import render

    return ORIGINAL.get("render_charts", render.render_charts)


# --------------------------------------------------------------------------- a stand-in for WeasyPrint

_STAND_IN: list[bytes] = []


def stand_in_pdf() -> bytes:
    """A real one-page PDF (WeasyPrint, once per process) that says it stands in for a report."""
    if not _STAND_IN:
        from weasyprint import HTML

        _STAND_IN.append(bytes(HTML(string="<p>Stand-in PDF of the test suite (pdf_stand_in)</p>").write_pdf()))
    return _STAND_IN[0]


def install_pdf_stand_in(monkeypatch: Any) -> None:
    """Replace the report's and the bulletins' PDF rendering by :func:`stand_in_pdf`.

    The report still builds its HTML and every other file; the bulletins' file names are
    the real ones (``bulletins/summary.pdf``, ``bulletins/<unit>.pdf``), only their bytes
    are the stand-in.
    """
    from scoring.report import render

    def pdf_bytes(_html: str) -> bytes:
        return stand_in_pdf()

    monkeypatch.setattr(render, "pdf_bytes", pdf_bytes)
    install_bulletin_stand_in(monkeypatch)


def install_bulletin_stand_in(monkeypatch: Any) -> None:
    """Only the bulletins' PDFs (``bulletins/summary.pdf``, ``bulletins/<unit>.pdf``) are the
    stand-in: for tests of the report's own PDF, which is rendered for real."""
    from scoring.report import accountability
    from scoring.report.bulletin import SUMMARY_NAME, bulletin_name

    def bulletin_files(results: Mapping[str, Any], **_options: Any) -> dict[str, bytes]:
        units = results.get("lead_units") or {}
        if not units:
            return {}
        return {SUMMARY_NAME: stand_in_pdf(), **{bulletin_name(code): stand_in_pdf() for code in units}}

    monkeypatch.setattr(accountability, "bulletin_files", bulletin_files)


def install_chart_stand_in(monkeypatch: Any) -> None:
    """Replace every chart's drawing by a stand-in PNG and SVG under the chart's real name
    and title (the report's HTML and the publication's file list keep their shape)."""
    from scoring.charts import Chart
    from scoring.report import render

    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000b49444154789c63f80f040009fb03fdfb5e6b2b0000000049454e44ae426082"
    )
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><title>stand-in</title></svg>'

    def render_charts(
        jobs: Sequence[Any], *, workers: int = 1, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        for step in range(1, len(jobs) + 1):
            if progress:
                progress(step, len(jobs))
        return {
            job.name: Chart(name=job.name, title=job.title, png=png, svg=svg, description=job.title) for job in jobs
        }

    monkeypatch.setattr(render, "render_charts", render_charts)
