"""What the database must hold after a run of simulated residents.

Checked by keys, not only by counts:

* every **acknowledged** survey (its final page answered with the redirect to
  ``/thanks``) is stored **exactly once**, as ``submitted``: exactly one response carries
  the survey's marker (its comment), that response's public id is the one its landing
  page's one-time key turns into (:func:`survey.respond.drafts.uid_for_start_key`), and
  the final page's submission key is marked used and belongs to it;
* no survey created more than one response: the responses created during the run are
  exactly the ones named by the start keys of the surveys that tapped "start" (one
  each), plus none from nowhere;
* nothing **half-written is visible as submitted**: a submitted response has its
  demographics, its submission time, an answer set for each service it says was used
  and for the common block, and nothing else; every stored byte is a valid answer;
* SQLite: ``PRAGMA integrity_check`` says ``ok`` and ``PRAGMA foreign_key_check`` finds
  nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.client import FlowOutcome

#: Byte values a stored Likert answer may take: 0 (not answered), 1..10, 255 (不适用/不清楚).
VALID_ANSWER_BYTES = frozenset([*range(0, 11), 255])


@dataclass
class Verification:
    """The result of :func:`verify_run` (``ok`` is the verdict)."""

    acknowledged: int = 0
    stored_exactly_once: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    key_mismatches: list[str] = field(default_factory=list)
    #: Surveys stored as submitted although the phone never saw the acknowledgement
    #: (the reply was lost in a crash): allowed, counted.
    stored_unacknowledged: int = 0
    incomplete_submitted: list[str] = field(default_factory=list)
    invalid_bytes: int = 0
    responses_created: int = 0
    responses_expected: int = 0
    unexpected_responses: int = 0
    surveys_with_two_responses: int = 0
    integrity_check: str = "n/a"
    foreign_key_violations: int = 0

    @property
    def ok(self) -> bool:
        return (
            not self.missing
            and not self.duplicated
            and not self.key_mismatches
            and not self.incomplete_submitted
            and self.invalid_bytes == 0
            and self.unexpected_responses == 0
            and self.surveys_with_two_responses == 0
            and self.integrity_check in ("ok", "n/a")
            and self.foreign_key_violations == 0
        )

    def problems(self) -> list[str]:
        found = []
        for name in ("missing", "duplicated", "key_mismatches", "incomplete_submitted"):
            values = getattr(self, name)
            if values:
                found.append(f"{name}: {len(values)} (e.g. {values[:3]})")
        for name in ("invalid_bytes", "unexpected_responses", "surveys_with_two_responses", "foreign_key_violations"):
            if getattr(self, name):
                found.append(f"{name}: {getattr(self, name)}")
        if self.integrity_check not in ("ok", "n/a"):
            found.append(f"integrity_check: {self.integrity_check}")
        return found

    def summary(self) -> dict[str, object]:
        return {
            "acknowledged": self.acknowledged,
            "stored_exactly_once": self.stored_exactly_once,
            "missing": len(self.missing),
            "duplicated": len(self.duplicated),
            "key_mismatches": len(self.key_mismatches),
            "stored_unacknowledged": self.stored_unacknowledged,
            "incomplete_submitted": len(self.incomplete_submitted),
            "invalid_bytes": self.invalid_bytes,
            "responses_created": self.responses_created,
            "responses_expected": self.responses_expected,
            "unexpected_responses": self.unexpected_responses,
            "surveys_with_two_responses": self.surveys_with_two_responses,
            "integrity_check": self.integrity_check,
            "foreign_key_violations": self.foreign_key_violations,
            "ok": self.ok,
        }


def max_response_id(database_url: str) -> int:
    """The highest response id now (responses created later have larger ids)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM responses")).scalar_one())
    finally:
        engine.dispose()


def expected_uids(instance: Path, start_keys: Iterable[str]) -> dict[str, str]:
    """Start key → the public response id it becomes (keyed with the instance's secret)."""
    from flask import Flask

    from survey.respond.drafts import uid_for_start_key

    app = Flask("manyi-verify")
    app.config["SECRET_KEY"] = (instance / "secret_key").read_text(encoding="ascii").strip()
    with app.app_context():
        return {key: uid_for_start_key(key) for key in start_keys if key}


def verify_run(
    database_url: str,
    instance: Path,
    flows: list[FlowOutcome],
    *,
    first_new_id: int,
    crashed: bool = False,
) -> Verification:
    """Check the database against the surveys of one run (see the module docstring).

    ``first_new_id`` is :func:`max_response_id` before the run + 1.  With ``crashed``,
    a "start" or final POST whose reply was lost may or may not have been stored; the
    exact-set check then allows those (and only those) to be present or absent.
    """
    result = Verification()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            versions = dict(connection.execute(text("SELECT id, questionnaire_id FROM questionnaire_versions")).all())
            rows = connection.execute(
                text(
                    "SELECT id, uid, state, comment, services_used, sex, age_group, town_code, submitted_at "
                    "FROM responses WHERE id >= :first"
                ),
                {"first": first_new_id},
            ).all()
            answer_rows = connection.execute(
                text("SELECT response_id, version_id, answers FROM answer_sets WHERE response_id >= :first"),
                {"first": first_new_id},
            ).all()
            final_keys = [flow.final_key for flow in flows if flow.final_key]
            key_rows = {}
            for chunk_start in range(0, len(final_keys), 500):
                chunk = final_keys[chunk_start : chunk_start + 500]
                params = {f"k{index}": key for index, key in enumerate(chunk)}
                placeholders = ", ".join(f":k{index}" for index in range(len(chunk)))
                for key, response_id, page, used_at in connection.execute(
                    text(f"SELECT key, response_id, page, used_at FROM submission_keys WHERE key IN ({placeholders})"),
                    params,
                ):
                    key_rows[key] = (response_id, page, used_at)
            if database_url.startswith("sqlite"):
                result.integrity_check = "; ".join(
                    row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")
                )
                result.foreign_key_violations = len(connection.exec_driver_sql("PRAGMA foreign_key_check").all())
    finally:
        engine.dispose()

    sets_of: dict[int, set[str]] = defaultdict(set)
    for response_id, version_id, answers in answer_rows:
        sets_of[response_id].add(versions.get(version_id, "?"))
        result.invalid_bytes += sum(1 for byte in bytes(answers) if byte not in VALID_ANSWER_BYTES)

    by_marker: dict[str, list] = defaultdict(list)
    for row in rows:
        if row.comment:
            by_marker[row.comment].append(row)
        if row.state == "submitted":
            services = {domain for domain in (row.services_used or "").split(";") if domain}
            complete = (
                bool(services)
                and row.sex
                and row.age_group
                and row.town_code
                and row.submitted_at is not None
                and sets_of[row.id] == services | {"common"}
            )
            if not complete:
                result.incomplete_submitted.append(row.uid)

    uids = expected_uids(instance, [flow.start_key for flow in flows if flow.start_sent])
    by_uid = {row.uid: row for row in rows}
    for flow in flows:
        if not flow.acknowledged:
            continue
        result.acknowledged += 1
        stored = [row for row in by_marker.get(flow.marker, []) if row.state == "submitted"]
        if not stored:
            result.missing.append(flow.marker)
            continue
        if len(stored) > 1:
            result.duplicated.append(flow.marker)
            continue
        row = stored[0]
        key = key_rows.get(flow.final_key)
        if (
            row.uid != uids.get(flow.start_key)
            or key is None
            or key[0] != row.id
            or key[1] != "final"
            or key[2] is None
        ):
            result.key_mismatches.append(flow.marker)
            continue
        result.stored_exactly_once += 1
    acknowledged_markers = {flow.marker for flow in flows if flow.acknowledged}
    result.stored_unacknowledged = sum(
        1
        for marker, stored in by_marker.items()
        if marker not in acknowledged_markers and any(row.state == "submitted" for row in stored)
    )
    # The exact set of responses created: one per survey that tapped "start".
    certain = {uids[flow.start_key] for flow in flows if flow.started and flow.start_key in uids}
    possible = {uids[flow.start_key] for flow in flows if flow.start_sent and flow.start_key in uids}
    result.responses_created = len(rows)
    result.responses_expected = len(certain)
    created = Counter(row.uid for row in rows)
    result.surveys_with_two_responses = sum(1 for count in created.values() if count > 1)
    allowed = possible if crashed else certain
    result.unexpected_responses = sum(1 for uid in created if uid not in allowed)
    result.missing += [f"start:{uid}" for uid in certain if uid not in by_uid]
    return result
