"""Publication: a wave's scoring run frozen as an immutable snapshot.

A publisher publishes a wave; :func:`publish_wave` runs the statistician's pipeline
(:func:`survey.score.score_wave`: the database → the scoring engine → the report, all in
memory: earlier waves' results go in as values, the report's files come back as bytes)
and stores exactly what it produced — ``results.json`` verbatim, the report files, the
run's configuration (``config["settings"]``: the wave's analysis settings the run used,
the object ``results.json["settings"]["analysis"]`` records) and the hash of every input —
as a new
:class:`~survey.models.Publication` revision with its
:class:`~survey.models.PublicationFile` rows.  No temporary file is involved.

Rules:

* published rows never change: the ORM refuses to update or delete them;
* re-publishing a wave needs a reason, and the earlier revisions stay listed and
  downloadable;
* residents' comments never reach a publication: the responses given to the pipeline
  are built without them;
* the public JSON (:func:`public_results`) withholds the values of suppressed subgroup
  cells, as the report's tables do, and names network addresses only by counts (never
  their keyed hashes).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from scoring.vocabulary import json_safe
from survey.models import Publication, PublicationFile, User, Wave
from survey.services import audit

if TYPE_CHECKING:  # pragma: no cover - typing only
    from scoring.planning import SettingDifference
    from scoring.report import ReportFiles

#: Largest reason text stored with a revision.
MAX_REASON_LENGTH = 2000

_CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


class PublicationError(ValueError):
    """A publication that cannot be made (the message says why and how to fix it)."""


# --------------------------------------------------------------------------- immutability


@event.listens_for(Publication, "before_update")
@event.listens_for(PublicationFile, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: Any) -> None:
    raise PublicationError(
        f"published results are immutable ({type(target).__name__}); publish a new revision with a reason instead"
    )


@event.listens_for(Publication, "before_delete")
@event.listens_for(PublicationFile, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: Any) -> None:
    raise PublicationError(
        f"published results are never deleted ({type(target).__name__}); publish a new revision instead"
    )


# --------------------------------------------------------------------------- reading


def content_type(name: str) -> str:
    """The content type a publication file is served with."""
    suffix = Path(name).suffix.lower()
    return _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def latest_publication(session: Session, wave: Wave) -> Publication | None:
    return session.scalar(
        select(Publication).where(Publication.wave_id == wave.id).order_by(Publication.revision.desc()).limit(1)
    )


def get_publication(session: Session, wave_code: str, revision: int | None = None) -> Publication | None:
    """A revision of a wave's publication (the newest when ``revision`` is None)."""
    query = select(Publication).join(Wave, Publication.wave_id == Wave.id).where(Wave.code == wave_code)
    if revision is not None:
        query = query.where(Publication.revision == revision)
    return session.scalar(query.order_by(Publication.revision.desc()).limit(1))


def revisions(session: Session, wave: Wave) -> list[Publication]:
    """Every revision of ``wave``'s publication, newest first."""
    return list(
        session.scalars(select(Publication).where(Publication.wave_id == wave.id).order_by(Publication.revision.desc()))
    )


def published(session: Session) -> list[Publication]:
    """The newest revision of every published wave, newest wave first."""
    newest = (
        select(Publication.wave_id, func.max(Publication.revision).label("revision"))
        .group_by(Publication.wave_id)
        .subquery()
    )
    rows = session.scalars(
        select(Publication).join(
            newest, (Publication.wave_id == newest.c.wave_id) & (Publication.revision == newest.c.revision)
        )
    ).all()
    return sorted(rows, key=lambda publication: publication.wave.code, reverse=True)


def file_names(session: Session, publication: Publication) -> list[str]:
    """Names of a publication's files (without loading their bytes)."""
    return list(
        session.scalars(
            select(PublicationFile.name)
            .where(PublicationFile.publication_id == publication.id)
            .order_by(PublicationFile.name)
        )
    )


def get_file(session: Session, publication: Publication, name: str) -> PublicationFile | None:
    return session.get(PublicationFile, (publication.id, name))


def results_of(publication: Publication) -> dict[str, Any]:
    """The frozen results.json of ``publication``, parsed."""
    return json.loads(publication.results_json)


def public_results(results: Mapping[str, Any]) -> dict[str, Any]:
    """The open-data version of a results.json: suppressed subgroup cells, plan tasks, lead
    units and their items keep their ``n`` and the ``suppressed`` flag but lose their
    figures (as in the report's tables);
    a missing figure (NaN) is ``null``."""
    from scoring.accountability import withhold_suppressed

    public = json_safe(dict(results))  # a new copy; NaN and infinities become None
    withhold_suppressed(public)  # tasks, lead units and their items: as the subgroup cells below
    for levels in (public.get("subgroups") or {}).values():
        for cells in (levels or {}).values():
            for cell in (cells or {}).values():
                if isinstance(cell, dict) and cell.get("suppressed"):
                    for key in list(cell):
                        if key not in ("n", "suppressed"):
                            cell[key] = None
    _withhold_addresses(public.get("integrity"))
    return public


def _withhold_addresses(integrity: Any) -> None:
    """Network addresses are published as counts only: the integrity section keeps each
    flagged or excluded address's counts and reasons but not its (keyed-hash) label."""
    if not isinstance(integrity, dict):
        return
    for finding in integrity.get("flagged_addresses") or []:
        if isinstance(finding, dict):
            finding["address"] = None
    for exclusion in integrity.get("exclusions") or []:
        if isinstance(exclusion, dict) and exclusion.get("kind") == "address":
            exclusion["target"] = None


def public_json(publication: Publication) -> str:
    """The open data of ``publication`` as JSON text, with the revision's facts."""
    data = public_results(results_of(publication))
    data["publication"] = {
        "wave": publication.wave.code,
        "revision": publication.revision,
        "published_at": publication.published_at.isoformat() if publication.published_at else None,
        "reason": publication.reason,
    }
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class ScoringRun:
    """What a scoring run produced, ready to freeze.

    ``results`` is the dict ``results_json`` encodes, when the caller has it (the report
    returns both): it is then not parsed again.
    """

    results_json: str
    files: dict[str, bytes]
    config: dict[str, Any]
    input_hashes: dict[str, str]
    results: Mapping[str, Any] | None = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def collect_run(report: ReportFiles, *, config: Mapping[str, Any], input_hashes: Mapping[str, str]) -> ScoringRun:
    """A finished report (files as bytes) as a run to freeze: results.json verbatim beside
    every other file it produced."""
    if "results.json" not in report.files or "overall" not in report.results:
        raise PublicationError(
            "the scoring run produced no results.json with an 'overall' section; nothing was published"
        )
    hashes = dict(input_hashes)
    for name, value in (report.results.get("inputs") or {}).items():
        hashes.setdefault(f"scoring:{name}", str(value))
    return ScoringRun(
        results_json=report.results_json.decode("utf-8"),
        files=report.without("results.json"),
        config=dict(config),
        input_hashes=hashes,
        results=report.results,
    )


def publish_run(
    session: Session,
    wave: Wave,
    run: ScoringRun,
    *,
    actor: User | str,
    reason: str = "",
) -> Publication:
    """Freeze ``run`` as the next revision of ``wave``'s publication (the caller commits).

    Raises
    ------
    PublicationError
        When the wave was published before and no reason is given.
    """
    check_can_publish(session, wave, reason)
    reason = (reason or "").strip()
    previous = latest_publication(session, wave)
    revision = (previous.revision + 1) if previous is not None else 1
    publication = Publication(
        wave_id=wave.id,
        revision=revision,
        published_by=actor.username if isinstance(actor, User) else actor,
        reason=reason,
        results_json=run.results_json,
        config=run.config,
        input_hashes=run.input_hashes,
    )
    for name, data in run.files.items():
        publication.files.append(
            PublicationFile(name=name, content_type=content_type(name), sha256=_sha256(data), data=data)
        )
    session.add(publication)
    session.flush()
    results = run.results if run.results is not None else json.loads(run.results_json)
    overall = results.get("overall") or {}
    audit.record(
        session,
        "publication",
        **({"user": actor} if isinstance(actor, User) else {"username": actor}),
        target=f"wave {wave.code} revision {revision}",
        detail={
            "reason": reason,
            "overall_index": overall.get("index"),
            "files": len(run.files),
            "results_sha256": _sha256(run.results_json.encode("utf-8")),
        },
    )
    return publication


@dataclass(frozen=True)
class PublishOptions:
    """How a publication's report is made, besides the wave's analysis settings.

    The figures come from the wave's analysis settings (margins, benchmarks, target and
    metric, mapping, design, variance, screening, assumed SE, illustrative:
    :mod:`survey.services.settings`), never from options chosen at publishing time.

    Attributes
    ----------
    draws
        Rank simulation draws (≥ 10,000).
    pdf
        Render report.pdf (WeasyPrint).
    compare_other_years
        Also compare with published figures of earlier years (default: the survey's year only).
    """

    draws: int = 10_000
    pdf: bool = True
    compare_other_years: bool = False


def scoring_inputs(questionnaires_dir: str | Path) -> tuple[list[str], list[str]]:
    """Names of the margins and benchmarks files the office keeps beside the
    questionnaires (``margins/*.csv``, ``benchmarks/*.csv``)."""
    base = Path(questionnaires_dir)
    margins = sorted(path.name for path in (base / "margins").glob("*.csv"))
    benchmarks = sorted(path.name for path in (base / "benchmarks").glob("*.csv"))
    return margins, benchmarks


def input_path(questionnaires_dir: str | Path, kind: str, name: str) -> Path:
    """The path of a margins or benchmarks file chosen by name (only files that exist
    in that folder: a name is never a path)."""
    folder = Path(questionnaires_dir) / kind
    path = folder / name
    if Path(name).name != name or path.suffix != ".csv" or not path.is_file():
        available = ", ".join(sorted(p.name for p in folder.glob("*.csv"))) or "none"
        raise PublicationError(f"no {kind} file {name!r} in {folder}; available: {available}")
    return path


def check_can_publish(session: Session, wave: Wave, reason: str) -> None:
    """Raise PublicationError when publishing ``wave`` now would be refused."""
    reason = (reason or "").strip()
    previous = latest_publication(session, wave)
    if previous is not None and not reason:
        raise PublicationError(
            f"wave {wave.code} was published before (revision {previous.revision}); re-publishing needs a reason, "
            'e.g. --reason "corrected the town margins" — the reason is shown on the public page'
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise PublicationError(f"the reason is {len(reason)} characters long; keep it under {MAX_REASON_LENGTH}")


def settings_change(session: Session, wave: Wave) -> tuple[str, list[SettingDifference] | None] | None:
    """How the wave's settings differ from those of the publication its results will be
    compared with (the newest earlier wave's), before publishing.

    Returns
    -------
    None when there is no earlier publication; else ``(wave code, differences)``, the
    differences as :func:`scoring.planning.settings_differences` names them (empty: the
    change is comparable) or None when the earlier results record no settings.
    """
    from scoring.planning import settings_differences
    from survey.score import earlier_publications
    from survey.services.questionnaires import wave_questionnaires
    from survey.services.settings import wave_settings

    previous = earlier_publications(session, wave)
    if not previous:
        return None
    code, _, results = previous[-1]
    current = {
        "settings": {
            "analysis": wave_settings(session, wave).settings.to_dict(),
            "questionnaires": {q.id: q.version for q in wave_questionnaires(wave)},
        }
    }
    found = settings_differences(current, results)
    return code, None if found is None else list(found)


def _score(session: Session, wave: Wave, options: PublishOptions) -> ScoringRun:
    """Run the statistician's pipeline (:func:`survey.score.score_wave`, as ``manyi score``)
    with the wave's analysis settings on its stored responses (built without comments), in
    memory, and return the run ready to freeze."""
    from survey.adapter import wave_responses_frame
    from survey.score import earlier_publications, score_wave
    from survey.services.settings import wave_settings

    # With the keyed paradata, as manyi score reads it (survey.score.score_wave): the same results.
    frame = wave_responses_frame(session, wave, include_comments=False, design_columns=True, paradata=True)
    if frame.empty:
        raise PublicationError(f"wave {wave.code} has no submitted responses yet; nothing was published")
    stored = wave_settings(session, wave)
    input_hashes = {"responses": _sha256(frame.to_csv(index=False).encode("utf-8")), **stored.input_names()}
    previous = earlier_publications(session, wave)
    for code, text, _ in previous:
        input_hashes[f"previous/{code}"] = _sha256(text.encode("utf-8"))
    for link in wave.questionnaires:
        input_hashes[f"questionnaire/{link.questionnaire_id}"] = link.version.content_hash
    report = score_wave(
        session,
        wave,
        frame=frame,
        settings=stored,
        previous=previous,
        draws=options.draws,
        compare_other_years=options.compare_other_years,
        allow_differences=True,
        pdf=options.pdf,
        command=f"manyi publish {wave.code}",
        source=f"数据库（期次 {wave.code}），发布时冻结",
    )
    analysis = report.results["settings"]["analysis"]
    config = {
        # The settings object the run used, as it recorded it (results.json["settings"]["analysis"]).
        "settings": analysis,
        "settings_digest": report.results["settings"]["digest"],
        "settings_stored": stored.stored,
        "margins": stored.margins_source.name if stored.margins_source and stored.settings.margins else None,
        "benchmarks": [source.name for source in stored.benchmarks_sources] if stored.settings.benchmarks else [],
        "previous": [code for code, _, _ in previous],
        "draws": options.draws,
        "compare_other_years": options.compare_other_years,
        "year": report.results.get("report", {}).get("year"),
        "comments": "excluded",
    }
    return collect_run(report, config=config, input_hashes=input_hashes)


def publish_wave(
    session: Session,
    wave: Wave,
    *,
    actor: User | str,
    reason: str = "",
    options: PublishOptions = PublishOptions(),
) -> Publication:
    """Score ``wave`` from the database with its analysis settings and freeze the run as its
    next revision.

    When the previous wave's publication was made with other settings, the publication
    still goes ahead: its ``change`` says ``comparable: false`` and names the differences
    (:func:`settings_change` tells the publisher before publishing).  The caller commits.  Nothing is stored when the scoring refuses its input
    (:class:`PublicationError` carries its message).
    """
    from scoring.errors import ScoringInputError
    from scoring.questionnaire import QuestionnaireError

    check_can_publish(session, wave, reason)
    try:
        run = _score(session, wave, options)
    except (ScoringInputError, QuestionnaireError) as error:
        raise PublicationError(
            f"the scoring refused the data of wave {wave.code}, nothing was published: {error}"
        ) from None
    return publish_run(session, wave, run, actor=actor, reason=reason)


def preview_wave(session: Session, wave: Wave, *, options: PublishOptions = PublishOptions()) -> dict[str, Any]:
    """Score ``wave`` as :func:`publish_wave` would (its analysis settings), without freezing
    anything (and without the PDF): the statistician's and the publisher's check before publishing."""
    from dataclasses import replace

    from scoring.errors import ScoringInputError
    from scoring.questionnaire import QuestionnaireError

    try:
        run = _score(session, wave, replace(options, pdf=False))
    except (ScoringInputError, QuestionnaireError) as error:
        raise PublicationError(f"the scoring refused the data of wave {wave.code}: {error}") from None
    return dict(run.results or json.loads(run.results_json))
