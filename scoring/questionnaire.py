"""Questionnaire model: load, validate and version the survey's YAML files.

The questionnaires are data (``questionnaires/*.yaml``): one file per domain, named by
its fixed domain id, plus ``common.yaml`` (screening, demographics, the global
``overall`` item, the comment and the answer scales).  This module turns a folder of
such files into frozen objects, rejecting anything it does not understand with a
message that names the file, the line and the item.

The folder also holds ``plan.yaml``, the district plan as data (:mod:`scoring.plan`):
it is loaded with the questionnaires (``QuestionnaireSet.plan``), every item's
``plan_task`` must be one of its tasks, and every task must be measured by an item or
say why not.

It is pure: no Flask, no SQLAlchemy, no database.  The web app stores what
:func:`load_questionnaires` returns; the scoring engine reads item weights, scale
lengths and labels from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .plan import PLAN_FILE_NAME, PLAN_ID, Plan, load_plan

# Re-exported: the domain vocabulary and the error type are part of this module's interface.
from .vocabulary import DOMAIN_IDS as DOMAIN_IDS
from .vocabulary import DOMAIN_LABELS_ZH as DOMAIN_LABELS_ZH
from .yaml_files import (
    LANGUAGES,
    Choice,
    Problem,
    Text,
    _Checker,
    _plain,
    _read_yaml,
    content_version,
)
from .yaml_files import (
    QuestionnaireError as QuestionnaireError,
)

COMMON_ID = "common"
#: The demographic answer 不愿回答 (prefer not to say) to sex or age group: kept, and given
#: the margin's mean adjustment by raking (scoring.weighting, docs/statistics.md).
REFUSED = "refused"
#: The town of residence 不在荆州区居住 (does not live in the district): counted, and excluded
#: from the district's estimates (screening reason ``outside_district``).  Never a town of the
#: ``towns`` table: no collection point stands "outside".
OUTSIDE_DISTRICT = "outside"
ITEM_KINDS: tuple[str, ...] = ("likert", "choice", "multi_choice", "text")
COMMON_PAGES: tuple[str, ...] = ("screening", "demographics", "final")
DEFAULT_SCALE = "satisfaction"
#: Aspect items per domain, inclusive bounds.
MIN_ASPECTS, MAX_ASPECTS = 4, 8

_CODE_PART = r"[a-z][a-z0-9_]*"
_DOMAIN_CODE = re.compile(rf"^(?P<domain>{_CODE_PART})\.(?P<item>{_CODE_PART})$")
_COMMON_CODE = re.compile(rf"^{_CODE_PART}$")

_DOMAIN_FILE_KEYS = {"id", "title", "plan_section", "intro", "service_examples", "items"}
_COMMON_FILE_KEYS = {"id", "title", "intro", "scales", "items"}
_ITEM_KEYS = {
    "likert": {"code", "kind", "label", "help", "plan_task", "weight", "required", "scale", "page"},
    "choice": {"code", "kind", "label", "help", "required", "choices", "page"},
    "multi_choice": {"code", "kind", "label", "help", "required", "choices", "page"},
    "text": {"code", "kind", "label", "help", "required", "max_length", "page"},
}


@dataclass(frozen=True)
class Scale:
    """An ordered answer scale: stored codes 1..K with labels, plus a 'not applicable'."""

    name: str
    points: tuple[Choice, ...]
    not_applicable: Text

    @property
    def length(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class Item:
    """One question.

    ``role`` is ``"aspect"`` for a domain's aspect items (they make the domain score),
    ``"overall"`` for ``<domain>.overall`` and the global ``overall``, and ``"common"``
    for the other common items.
    """

    code: str
    kind: str
    label: Text
    questionnaire: str
    role: str
    required: bool = True
    help: Text | None = None
    plan_tasks: tuple[int, ...] = ()
    weight: float = 1.0
    scale: str | None = None
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    page: str | None = None


@dataclass(frozen=True)
class Questionnaire:
    """One file: a domain questionnaire or the common block, with its content version."""

    id: str
    title: Text
    items: tuple[Item, ...]
    version: str
    definition: Mapping[str, Any] = field(repr=False, compare=False, hash=False)
    source: str = ""
    intro: Text | None = None
    plan_section: str | None = None
    service_examples: Text | None = None

    @property
    def is_domain(self) -> bool:
        return self.id != COMMON_ID

    @property
    def service_label(self) -> Text:
        """The domain as the services list shows it: its title and, when given, examples.

        ``公用事业（供水、供电、燃气、环卫、公厕、公园、垃圾处理）``, so that a resident knows
        which services the domain covers.
        """
        if self.service_examples is None:
            return self.title
        return Text(
            zh=f"{self.title.zh}（{self.service_examples.zh}）",
            en=f"{self.title.en} ({self.service_examples.en})",
        )

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.items)

    @property
    def aspect_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.role == "aspect")

    def item(self, code: str) -> Item:
        for candidate in self.items:
            if candidate.code == code:
                return candidate
        raise KeyError(f"no item {code!r} in questionnaire {self.id!r}")


@dataclass(frozen=True)
class QuestionnaireSet:
    """The common block and the domain questionnaires, as loaded from one folder."""

    common: Questionnaire
    domains: Mapping[str, Questionnaire]
    scales: Mapping[str, Scale]
    #: The district plan (``plan.yaml``) when loaded from a folder; None when rebuilt from stored versions.
    plan: Plan | None = None

    def __iter__(self) -> Iterator[Questionnaire]:
        yield self.common
        yield from self.domains.values()

    @property
    def domain_ids(self) -> tuple[str, ...]:
        return tuple(self.domains)

    def item(self, code: str) -> Item:
        prefix = code.split(".", 1)[0] if "." in code else COMMON_ID
        questionnaire = self.common if prefix == COMMON_ID else self.domains.get(prefix)
        if questionnaire is None:
            raise KeyError(f"no questionnaire for item {code!r}")
        return questionnaire.item(code)

    def all_items(self) -> Iterable[Item]:
        for questionnaire in self:
            yield from questionnaire.items

    def scale_length(self, code: str) -> int:
        item = self.item(code)
        return self.scales[item.scale or DEFAULT_SCALE].length

    def service_labels(self) -> dict[str, Text]:
        """Each domain's label in the services list (title and examples), by domain id."""
        return {domain: questionnaire.service_label for domain, questionnaire in self.domains.items()}


def _validate_scales(checker: _Checker, raw: Any, node: Any) -> dict[str, Scale]:
    scales: dict[str, Scale] = {}
    if not isinstance(raw, dict) or not raw:
        checker.add("'scales' must map scale names to {points, not_applicable}", node)
        return scales
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            checker.add(f"scale {name!r} must be a mapping", raw)
            continue
        unknown = set(spec) - {"points", "not_applicable"}
        if unknown:
            checker.add(f"scale {name!r} has unknown key(s) {sorted(unknown)}", spec)
        points = spec.get("points")
        if not isinstance(points, list) or len(points) < 2:
            checker.add(f"scale {name!r} needs a list of at least 2 points", spec)
            continue
        parsed = []
        for position, point in enumerate(points, start=1):
            if not isinstance(point, dict) or point.get("value") != position:
                checker.add(
                    f"scale {name!r} point {position} must have value: {position} (codes run 1..K)",
                    point if isinstance(point, dict) else spec,
                )
                continue
            unknown = set(point) - {"value", *LANGUAGES}
            if unknown:
                checker.add(f"scale {name!r} point {position} has unknown key(s) {sorted(unknown)}", point)
            label = checker.text({k: point.get(k) for k in LANGUAGES}, f"scale {name!r} point {position}", point, None)
            if label:
                parsed.append(Choice(str(position), label))
        na = checker.text(spec.get("not_applicable"), f"scale {name!r} not_applicable", spec, None)
        if len(parsed) == len(points) and na:
            scales[name] = Scale(name, tuple(parsed), na)
    return scales


def _validate_item(
    checker: _Checker,
    raw: Any,
    questionnaire_id: str,
    scales: Mapping[str, Scale],
    domain_ids: tuple[str, ...],
    *,
    plan: Plan | None = None,
) -> Item | None:
    if not isinstance(raw, dict):
        checker.add("each item must be a mapping with at least code, kind and label")
        return None
    code = raw.get("code")
    label_code = code if isinstance(code, str) else None
    is_domain = questionnaire_id != COMMON_ID
    if not isinstance(code, str):
        checker.add("item has no 'code'", raw)
        return None
    if is_domain:
        match = _DOMAIN_CODE.match(code)
        if not match:
            checker.add(
                f"code must look like '{questionnaire_id}.<item>' in lower-case ASCII (a-z, 0-9, _)", raw, label_code
            )
            return None
        if match["domain"] != questionnaire_id:
            checker.add(f"code must start with the file's domain id '{questionnaire_id}.'", raw, label_code)
            return None
    elif not _COMMON_CODE.match(code):
        checker.add("common item codes are lower-case ASCII without a domain prefix (a-z, 0-9, _)", raw, label_code)
        return None

    kind = raw.get("kind")
    if kind not in ITEM_KINDS:
        checker.add(f"unknown kind {kind!r}; use one of {', '.join(ITEM_KINDS)}", raw, code)
        return None
    unknown = set(raw) - _ITEM_KEYS[kind]
    if unknown:
        checker.add(
            f"unknown key(s) {sorted(unknown)} for a {kind} item; allowed: {', '.join(sorted(_ITEM_KEYS[kind]))}",
            raw,
            code,
        )

    label = checker.text(raw.get("label"), "label", raw, code)
    help_text = checker.text(raw["help"], "help", raw, code) if "help" in raw else None

    overall_code = f"{questionnaire_id}.overall" if is_domain else "overall"
    if is_domain:
        role = "overall" if code == overall_code else "aspect"
    else:
        role = "overall" if code == "overall" else "common"

    page = raw.get("page")
    if is_domain and page is not None:
        checker.add("'page' is only used in common.yaml; domain items are all on the domain's page", raw, code)
    if not is_domain and page not in COMMON_PAGES:
        checker.add(f"common items need page: one of {', '.join(COMMON_PAGES)}", raw, code)

    required = raw.get("required", kind != "text")
    if not isinstance(required, bool):
        checker.add("required must be true or false", raw, code)
        required = True

    plan_tasks: tuple[int, ...] = ()
    if "plan_task" in raw:
        task = raw["plan_task"]
        tasks = task if isinstance(task, list) else [task]
        if not tasks or not all(isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 45 for t in tasks):
            checker.add(
                f"plan_task must be a task number 1–45 of the plan (or a list of them), got {task!r}", raw, code
            )
        elif plan is not None and not set(tasks) <= set(plan.task_numbers):
            unknown_tasks = sorted(set(tasks) - set(plan.task_numbers))
            checker.add(
                f"plan_task {unknown_tasks} is not a task of {Path(plan.file).name or 'the plan'}; "
                "use the number of the plan task this item asks about",
                raw,
                code,
            )
        else:
            plan_tasks = tuple(tasks)
        if role != "aspect":
            checker.add("only aspect items trace to a plan task; remove plan_task", raw, code)
    elif role == "aspect":
        checker.add("aspect item must name the plan task it traces to (plan_task: N)", raw, code)

    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
        checker.add(f"weight must be a positive number, got {weight!r}", raw, code)
        weight = 1
    elif "weight" in raw and role != "aspect":
        checker.add("weight only applies to aspect items (they make the domain score)", raw, code)

    scale = None
    if kind == "likert":
        scale = raw.get("scale", DEFAULT_SCALE)
        if scales and scale not in scales:
            checker.add(f"unknown scale {scale!r}; scales defined in common.yaml: {', '.join(scales)}", raw, code)

    choices: tuple[Choice, ...] = ()
    if kind in ("choice", "multi_choice"):
        if raw.get("choices") == "domains":
            choices = tuple(Choice(d, Text(DOMAIN_LABELS_ZH[d], d.replace("_", " ").capitalize())) for d in domain_ids)
        else:
            choices = checker.choices(raw.get("choices"), raw, code)

    max_length = None
    if kind == "text":
        max_length = raw.get("max_length", 500)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= 5000:
            checker.add(f"max_length must be an integer 1–5000, got {max_length!r}", raw, code)
            max_length = 500

    if label is None:
        return None
    return Item(
        code=code,
        kind=kind,
        label=label,
        questionnaire=questionnaire_id,
        role=role,
        required=required,
        help=help_text,
        plan_tasks=plan_tasks,
        weight=float(weight),
        scale=scale,
        choices=choices,
        max_length=max_length,
        page=page,
    )


def _build(
    checker: _Checker,
    data: Any,
    expected_id: str,
    scales: Mapping[str, Scale],
    domain_ids: tuple[str, ...],
    source: str,
    *,
    plan: Plan | None = None,
) -> Questionnaire | None:
    if not isinstance(data, dict):
        checker.add("the file must be a YAML mapping with id, title and items")
        return None
    is_domain = expected_id != COMMON_ID
    allowed = _DOMAIN_FILE_KEYS if is_domain else _COMMON_FILE_KEYS
    unknown = set(data) - allowed
    if unknown:
        checker.add(f"unknown top-level key(s) {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}", data)
    if data.get("id") != expected_id:
        checker.add(f"id is {data.get('id')!r} but the file name says {expected_id!r}; they must match", data)
    title = checker.text(data.get("title"), "title", data, None)
    intro = checker.text(data["intro"], "intro", data, None) if "intro" in data else None
    plan_section = data.get("plan_section")
    if is_domain and (not isinstance(plan_section, str) or not plan_section.strip()):
        checker.add("plan_section must name the plan's section heading, e.g. '（三）开展医疗服务质量提升行动'", data)
    elif is_domain and plan is not None and isinstance(plan_section, str):
        heading = plan.section_for_domain(expected_id).heading
        if plan_section.strip() != heading:
            checker.add(
                f"plan_section is {plan_section.strip()!r} but {Path(plan.file).name or 'the plan'} gives "
                f"{heading!r} for {expected_id}; make them the same",
                data,
            )
    service_examples = None
    if is_domain and "service_examples" in data:
        service_examples = checker.text(data["service_examples"], "service_examples", data, None)

    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        checker.add("items must be a non-empty list", data)
        return None
    items: list[Item] = []
    seen: dict[str, int | None] = {}
    for raw in raw_items:
        item = _validate_item(checker, raw, expected_id, scales, domain_ids, plan=plan)
        code = raw.get("code") if isinstance(raw, dict) else None
        if isinstance(code, str):
            if code in seen:
                checker.add(f"duplicate code (first used on line {seen[code]})", raw, code)
                continue
            seen[code] = getattr(raw, "line", None)
        if item:
            items.append(item)

    if is_domain:
        overall = f"{expected_id}.overall"
        if overall not in seen:
            checker.add(f"the domain needs one '{overall}' item (overall satisfaction with the domain)", data)
        aspects = [code for code in seen if code != overall]
        if not MIN_ASPECTS <= len(aspects) <= MAX_ASPECTS:
            checker.add(f"a domain needs {MIN_ASPECTS}–{MAX_ASPECTS} aspect items, found {len(aspects)}", data)
        for item in items:
            if item.kind != "likert":
                checker.add("domain items must be likert items", None, item.code)
    else:
        for required_code in ("services_used", "sex", "age_group", "town", "overall"):
            if required_code not in seen:
                checker.add(f"common.yaml must define the '{required_code}' item", data)

    if checker.problems or title is None:
        return None
    definition = _plain(data)
    return Questionnaire(
        id=expected_id,
        title=title,
        items=tuple(items),
        version=content_version(definition),
        definition=definition,
        source=source,
        intro=intro,
        plan_section=plan_section if is_domain else None,
        service_examples=service_examples,
    )


def load_questionnaires(directory: str | Path) -> QuestionnaireSet:
    """Load and validate ``common.yaml``, the 12 domain files and ``plan.yaml`` of ``directory``.

    The plan (:func:`scoring.plan.load_plan`) is checked with the questionnaires: every
    item's ``plan_task`` must be one of its tasks, every domain's ``plan_section`` its
    section heading, and every task measured by an item or marked
    ``measured_by_survey: false`` with a reason.

    Parameters
    ----------
    directory : str or Path
        The questionnaire folder.

    Returns
    -------
    QuestionnaireSet
        With ``plan`` set.

    Raises
    ------
    QuestionnaireError
        Listing every problem in every file (file, line, item or task, what is wrong).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise QuestionnaireError(
            [Problem(str(folder), "not a folder; give the questionnaires folder, e.g. 'questionnaires'")]
        )
    problems: list[Problem] = []

    expected = {COMMON_ID, PLAN_ID, *DOMAIN_IDS}
    present = {p.stem: p for p in sorted(folder.glob("*.yaml"))}
    for stem, path in present.items():
        if stem not in expected:
            problems.append(
                Problem(
                    str(path),
                    f"unknown questionnaire file; file names are the domain ids ({', '.join(DOMAIN_IDS)}), "
                    f"common or {PLAN_ID}",
                )
            )
    for stem in [COMMON_ID, *DOMAIN_IDS]:
        if stem not in present:
            problems.append(
                Problem(str(folder / f"{stem}.yaml"), "file is missing; every domain and the common block need one")
            )

    plan: Plan | None = None
    if PLAN_ID in present:
        try:
            plan = load_plan(present[PLAN_ID])
        except QuestionnaireError as error:
            problems.extend(error.problems)
    else:
        problems.append(
            Problem(
                str(folder / PLAN_FILE_NAME),
                "file is missing; the plan's tasks are checked against every item's plan_task",
            )
        )

    scales: dict[str, Scale] = {}
    common: Questionnaire | None = None
    if COMMON_ID in present:
        path = present[COMMON_ID]
        checker = _Checker(str(path))
        data = _read_yaml(path, checker)
        if isinstance(data, dict):
            scales = _validate_scales(checker, data.get("scales"), data)
            common = _build(checker, data, COMMON_ID, scales, DOMAIN_IDS, str(path))
        elif data is not None:
            checker.add("the file must be a YAML mapping with id, title, scales and items")
        problems.extend(checker.problems)

    domains: dict[str, Questionnaire] = {}
    for domain_id in DOMAIN_IDS:
        domain_path = present.get(domain_id)
        if domain_path is None:
            continue
        checker = _Checker(str(domain_path))
        data = _read_yaml(domain_path, checker)
        if data is not None:
            questionnaire = _build(checker, data, domain_id, scales, DOMAIN_IDS, str(domain_path), plan=plan)
            if questionnaire:
                domains[domain_id] = questionnaire
        problems.extend(checker.problems)

    if plan is not None and len(domains) == len(DOMAIN_IDS):
        aspect_items = [item for questionnaire in domains.values() for item in questionnaire.aspect_items]
        problems.extend(plan_coverage_problems(plan, aspect_items))

    if problems or common is None:
        raise QuestionnaireError(problems or [Problem(str(folder), "no valid common.yaml")])
    return QuestionnaireSet(common=common, domains=domains, scales=scales, plan=plan)


def questionnaire_from_definition(
    definition: Mapping[str, Any], scales: Mapping[str, Scale] | None = None
) -> Questionnaire:
    """Rebuild a :class:`Questionnaire` from a stored definition (as saved by the app)."""
    expected_id = str(definition.get("id"))
    checker = _Checker(f"<stored {expected_id}>")
    if scales is None:
        scales = _validate_scales(checker, definition.get("scales"), definition) if expected_id == COMMON_ID else {}
    questionnaire = _build(checker, definition, expected_id, scales, DOMAIN_IDS, "")
    if questionnaire is None:
        raise QuestionnaireError(checker.problems)
    return questionnaire


def scales_from_definition(common_definition: Mapping[str, Any]) -> dict[str, Scale]:
    """The answer scales declared in a stored common.yaml definition."""
    checker = _Checker("<stored common>")
    scales = _validate_scales(checker, common_definition.get("scales"), common_definition)
    if checker.problems:
        raise QuestionnaireError(checker.problems)
    return scales


def plan_coverage_problems(plan: Plan, items: Iterable[Item]) -> list[Problem]:
    """Tasks no item measures (and not marked so), and tasks marked unmeasured that items measure.

    Parameters
    ----------
    plan : Plan
    items : iterable of Item
        The aspect items of every domain questionnaire (``Item.plan_tasks`` names the tasks).

    Returns
    -------
    list of Problem
        Empty when every task is measured by at least one item or says
        ``measured_by_survey: false`` with a reason, and no such task is measured after all.
    """
    measured_by: dict[int, list[str]] = {}
    for item in items:
        for number in item.plan_tasks:
            measured_by.setdefault(number, []).append(item.code)
    problems = []
    for task in plan.tasks:
        codes = measured_by.get(task.number, [])
        where = f"task {task.number}"
        if task.measured_by_survey and not codes:
            problems.append(
                Problem(
                    plan.file,
                    f"no questionnaire item measures task {task.number} ({task.title.zh}); add 'plan_task: "
                    f"{task.number}' to the item(s) that ask about it, or mark the task 'measured_by_survey: false' "
                    "with a 'reason'",
                    task.line,
                    where,
                )
            )
        elif not task.measured_by_survey and codes:
            problems.append(
                Problem(
                    plan.file,
                    f"task {task.number} says measured_by_survey: false, but {', '.join(codes)} measure(s) it; "
                    "remove 'measured_by_survey' and 'reason', or the plan_task from those items",
                    task.line,
                    where,
                )
            )
    return problems
