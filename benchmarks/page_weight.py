"""Page weight: bytes, raw and gzip, of every resident and public page, with everything
it loads (stylesheets, scripts, images of the same site).

    .venv/bin/python benchmarks/page_weight.py

A client walks a survey through the app (Flask's test client on a copy of the demo
instance, published results included), ticking every service so that all twelve domain
pages are shown, and fetches the public pages.  For each page: the HTML's bytes, the
subresources it references and their bytes, the total raw and gzip (level 6, what a
typical server sends) and, for the resident pages, the budget of issue 3 (≤ 30 KB gzip,
≤ 100 KB raw, everything included; read strictly, KB = 1,000 bytes).  No request leaves
the machine: a reference to another host (a CDN) is listed as external and fails the
budget.  Prints and writes
``benchmarks/output/page_weight.json``; never fails a test run.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.client import answer, parse_post_form
from benchmarks.figures import write_json
from benchmarks.servers import Site, instance_environment
from benchmarks.workspace import Workspace

BUDGET_GZIP = 30_000
BUDGET_RAW = 100_000
_SUBRESOURCE = re.compile(
    r"""<(?:link[^>]*\brel=["']?(?:stylesheet|icon|preload|modulepreload)["']?[^>]*\bhref|script[^>]*\bsrc|img[^>]*\bsrc)"""
    r"""=["']([^"']+)["']""",
    re.IGNORECASE,
)


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


class Weigher:
    """Fetches pages through a Flask test client and adds up what each one loads."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cache: dict[str, bytes] = {}

    def subresources(self, html: str) -> list[str]:
        found = []
        for url in _SUBRESOURCE.findall(html):
            if url.startswith("data:"):
                continue
            found.append(url)
        return list(dict.fromkeys(found))

    def fetch(self, url: str) -> bytes:
        if url not in self.cache:
            parts = urlsplit(url)
            reply = self.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
            self.cache[url] = reply.get_data()
        return self.cache[url]

    def weigh(self, name: str, reply: Any, *, resident: bool) -> dict[str, Any]:
        body = reply.get_data()
        entry: dict[str, Any] = {
            "page": name,
            "status": reply.status_code,
            "html_raw": len(body),
            "html_gzip": gzip_size(body),
            "subresources": [],
        }
        raw, packed, external = len(body), entry["html_gzip"], []
        if "html" in (reply.content_type or ""):
            for url in self.subresources(body.decode("utf-8", errors="replace")):
                if urlsplit(url).netloc:
                    external.append(url)
                    continue
                data = self.fetch(url)
                entry["subresources"].append({"url": url, "raw": len(data), "gzip": gzip_size(data)})
                raw += len(data)
                packed += gzip_size(data)
        entry.update({"total_raw": raw, "total_gzip": packed, "external": external})
        if resident:
            entry["within_budget"] = packed <= BUDGET_GZIP and raw <= BUDGET_RAW and not external
        return entry


def weigh_site(site: Site) -> dict[str, Any]:
    """Every resident page (all 12 domains), the error pages, and the public pages."""
    with instance_environment(site.instance):
        return _weigh_site(site)


def _weigh_site(site: Site) -> dict[str, Any]:
    import random

    from survey import create_app
    from survey.db import get_session
    from survey.services import waves

    app = create_app({"DATABASE_URL": site.database_url})
    with app.app_context():
        session = get_session()
        draft_wave = waves.find_wave(session, "2099") or waves.create_wave(session, "2099")
        closed_point = waves.add_point(session, draft_wave, code="closed-01", town="xicheng", place="区政务服务中心")
        closed_token = closed_point.token
        session.commit()
    token = next(iter(site.tokens.values()))
    pages: list[dict[str, Any]] = []
    rng = random.Random(3)
    for language in ("zh", "en"):
        client = app.test_client()
        weigher = Weigher(client)
        suffix = "" if language == "zh" else " (en)"
        query = "" if language == "zh" else "?lang=en"
        reply = client.get(f"/s/{token}{query}")
        pages.append(weigher.weigh(f"landing{suffix}", reply, resident=True))
        form = parse_post_form(reply.get_data(as_text=True))
        assert form is not None, "the landing page has no form"
        reply = client.post(form.action, data=MultiDict(form.hidden))
        path = reply.headers["Location"]
        shown_invalid = False
        while not path.endswith("/thanks"):
            reply = client.get(path)
            page_id = path.rsplit("/", 1)[-1]
            if language == "zh" or page_id in ("services", "final"):
                pages.append(weigher.weigh(f"{page_id}{suffix}", reply, resident=True))
            form = parse_post_form(reply.get_data(as_text=True))
            assert form is not None, f"{path} has no form"
            body = answer(form, rng, comment="希望增加社区医院的夜间门诊。")
            if page_id == "services":
                body = [(name, value) for name, value in body if name != "services_used"]
                body += [("services_used", option) for option in form.checkboxes["services_used"]]
            if not shown_invalid and language == "zh" and page_id not in ("services",):
                shown_invalid = True
                kept = [(name, value) for name, value in body if name in dict(form.hidden) or name == "go"]
                missing = client.post(form.action, data=MultiDict(kept))
                pages.append(weigher.weigh(f"{page_id}, answers missing", missing, resident=True))
            reply = client.post(form.action, data=MultiDict(body))
            path = reply.headers["Location"]
        pages.append(weigher.weigh(f"thanks{suffix}", client.get(path), resident=True))
        if language == "zh":
            stale = [
                (name, "unknown-key-" + "x" * 20 if name == "submission_key" else value) for name, value in form.hidden
            ]
            pages.append(
                weigher.weigh("stale form (409)", client.post(form.action, data=MultiDict(stale)), resident=True)
            )
            pages.append(weigher.weigh("unknown point (404)", client.get("/s/not-a-real-token-123"), resident=True))
            pages.append(weigher.weigh("survey closed", client.get(f"/s/{closed_token}"), resident=True))
            for name, url in (
                ("home", "/"),
                ("results index", "/results"),
                ("results 2025", "/results/2025"),
                ("results 2025 JSON", "/results/2025.json"),
                ("results 2025 (en)", "/results/2025?lang=en"),
                ("admin sign-in", "/admin/login"),
                ("results: unknown year (404)", "/results/1999"),
            ):
                pages.append(weigher.weigh(name, client.get(url), resident=False))
    app.extensions["manyi_db"].engine.dispose()
    resident = [page for page in pages if "within_budget" in page]
    heaviest = max(resident, key=lambda page: page["total_gzip"])
    return {
        "budget": {"gzip_bytes": BUDGET_GZIP, "raw_bytes": BUDGET_RAW},
        "pages": pages,
        "resident_pages": len(resident),
        "resident_within_budget": sum(page["within_budget"] for page in resident),
        "heaviest_resident_page": {key: heaviest[key] for key in ("page", "total_raw", "total_gzip")},
        "max_resident_raw": max(page["total_raw"] for page in resident),
        "ok": all(page["within_budget"] for page in resident),
    }


def run(workspace: Workspace) -> dict[str, Any]:
    try:
        return weigh_site(workspace.site("sqlite", "weight"))
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}", "ok": False}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with Workspace() as workspace:
        results = run(workspace)
    for page in results.get("pages", []):
        budget = {True: "ok", False: "OVER", None: ""}[page.get("within_budget")]
        print(
            f"{page['page']:<34} {page['status']:>3} {page['total_raw']:>8,} raw {page['total_gzip']:>7,} gzip  {budget}"
        )
    if "error" in results:
        print(results["error"])
    write_json("page_weight", results, options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
