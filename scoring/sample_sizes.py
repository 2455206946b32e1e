"""Sample sizes: how many residents each domain and the district need for a given margin of
error, with the design effect of clustering at the points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

#: Assumed standard deviation of respondent domain scores (0–100) without a previous wave.
DEFAULT_SD = 20.0


#: Assumed design effect without a previous wave (clustering at collection points + weighting).
DEFAULT_DEFF = 1.5


def _domain_label(domain: str) -> str:
    from .questionnaire import DOMAIN_LABELS_ZH

    return DOMAIN_LABELS_ZH.get(domain, domain)


@dataclass(frozen=True)
class DomainPlan:
    """Respondents a domain needs, and the responses that yields them.

    Attributes
    ----------
    sd, deff : float
        Standard deviation of respondent domain scores and design effect used.
    answer_share : float
        Share of responses that answer the domain (residents who used the service).
    respondents : int
        Respondents answering the domain needed for the half-width.
    responses : int
        Total responses needed to get them: ``respondents / answer_share``.
    """

    domain: str
    label: str
    sd: float
    deff: float
    answer_share: float
    respondents: int
    responses: int


@dataclass(frozen=True)
class SamplePlan:
    """Responses needed for a 95% interval of a given half-width.

    Attributes
    ----------
    half_width : float
        Wanted half-width of the 95% interval, in index points.
    overall : int
        Responses needed for the overall index.
    domains : tuple of DomainPlan
    towns : dict
        Town code → responses needed in that town for its own overall index.
    total : int
        Responses needed for every district-level index: the largest of ``overall``
        and the domains' ``responses``.
    total_with_towns : int
        The larger of ``total`` and the sum over towns (every town's own index too).
    source : str
        ``"assumed"`` or the results file the SDs and deffs came from.
    """

    half_width: float
    confidence: float
    z: float
    overall: int
    domains: tuple[DomainPlan, ...]
    towns: Mapping[str, int]
    total: int
    total_with_towns: int
    source: str
    notes: tuple[str, ...] = field(default=())

    def to_targets(self, *, include_towns: bool = True) -> dict[str, Any]:
        """The wave targets the admin screens store: ``{"total", "domains", "towns"}``."""
        return {
            "total": self.total_with_towns if include_towns else self.total,
            "domains": {plan.domain: plan.respondents for plan in self.domains},
            "towns": dict(self.towns) if include_towns else {},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "half_width": self.half_width,
            "confidence": self.confidence,
            "overall": self.overall,
            "total": self.total,
            "total_with_towns": self.total_with_towns,
            "source": self.source,
            "domains": {
                plan.domain: {
                    "sd": plan.sd,
                    "deff": plan.deff,
                    "answer_share": plan.answer_share,
                    "respondents": plan.respondents,
                    "responses": plan.responses,
                }
                for plan in self.domains
            },
            "towns": dict(self.towns),
            "notes": list(self.notes),
        }


def _validate_positive(value: float | None, name: str) -> None:
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _floor_deff(value: float, what: str, notes: list[str]) -> float:
    """A design effect below 1 (a thin domain, luck) is not planned on: floored at 1."""
    if value < 1.0:
        notes.append(
            f"{what}: design effect {value:.2f} below 1 floored at 1 (clustered, weighted samples rarely beat SRS)"
        )
        return 1.0
    return value


def _needed(effective_variance: float, z: float, half_width: float) -> int:
    return max(2, math.ceil(effective_variance * (z / half_width) ** 2 - 1e-9))


def plan_sample_sizes(
    *,
    half_width: float,
    confidence: float = 0.95,
    deff: float | None = None,
    sd: float | None = None,
    results: Mapping[str, Any] | None = None,
    results_name: str = "results",
    domains: tuple[str, ...] | None = None,
    towns: tuple[str, ...] | None = None,
) -> SamplePlan:
    """Responses needed per domain, per town and in total for a wanted precision.

    Parameters
    ----------
    half_width : float
        Half-width of the 95% interval, in index points (e.g. 2 → "± 2 points").
    confidence : float
        Interval level (0.95).
    deff : float, optional
        Design effect; overrides the one measured in ``results``.
    sd : float, optional
        SD of respondent domain scores (0–100); overrides the one from ``results``.
    results : mapping, optional
        A previous wave's results (estimate contract).  Its domain ``n``, ``se`` and
        ``deff`` give each domain's SD, deff and answer share; its town subgroups give
        each town's effective variance.
    results_name : str
        Name of the results file, for the plan's ``source``.
    domains, towns : tuple of str, optional
        Domains and towns to plan for when there are no results (default: the 12
        domains; no towns).

    Returns
    -------
    SamplePlan

    Notes
    -----
    With ``n`` respondents and standard error ``SE`` in the previous wave, the effective
    variance per respondent is ``n SE² = deff σ²``; the plan needs
    ``n_new = deff σ² (z/h)²``.  Without results, σ = 20 and deff = 1.5 are assumed and
    every response is assumed to answer every domain.  Normal quantiles are used (the
    next wave's df is not known yet).
    """
    from .questionnaire import DOMAIN_IDS

    if not (isinstance(half_width, (int, float)) and math.isfinite(half_width) and half_width > 0):
        raise ValueError(f"half_width must be a positive number of index points, got {half_width!r}")
    if not (0 < confidence < 1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    _validate_positive(deff, "deff")
    _validate_positive(sd, "sd")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    notes: list[str] = []
    plans: list[DomainPlan] = []
    town_needs: dict[str, int] = {}
    if results is None:
        use_sd = DEFAULT_SD if sd is None else float(sd)
        use_deff = DEFAULT_DEFF if deff is None else _floor_deff(float(deff), "the given deff", notes)
        if sd is None or deff is None:
            notes.append(
                f"no previous results: assumed SD {use_sd:g} and deff {use_deff:g}; give --from-results for measured values"
            )
        notes.append("assumed that every response answers every domain")
        respondents = _needed(use_deff * use_sd**2, z, half_width)
        for domain in domains or DOMAIN_IDS:
            plans.append(DomainPlan(domain, _domain_label(domain), use_sd, use_deff, 1.0, respondents, respondents))
        overall = respondents
        for town in towns or ():
            town_needs[town] = respondents
        source = "assumed"
    else:
        overall_results = results.get("overall") or {}
        total_n = overall_results.get("n")
        if not total_n:
            raise ValueError(f"{results_name} has no overall.n; is it a results.json of 'python -m scoring estimate'?")
        default_deff = (results.get("weights") or {}).get("deff") or DEFAULT_DEFF
        for domain, values in (results.get("domains") or {}).items():
            if domains and domain not in domains:
                continue
            n_d, se_d = values.get("n"), values.get("se")
            if not n_d or se_d is None or not math.isfinite(se_d):
                notes.append(f"{domain}: no n or se in {results_name}; skipped")
                continue
            measured_deff = values.get("deff") or default_deff
            if values.get("unstable"):
                notes.append(
                    f"{domain}: unstable in {results_name} ({n_d} respondents): its SD and deff are rough; "
                    "consider --deff and --sd"
                )
            use_deff = _floor_deff(float(deff) if deff is not None else float(measured_deff), domain, notes)
            measured_sd = math.sqrt(n_d * se_d**2 / float(measured_deff))
            use_sd = float(sd) if sd is not None else measured_sd
            share = min(1.0, float(n_d) / float(total_n))
            respondents = _needed(use_deff * use_sd**2, z, half_width)
            plans.append(
                DomainPlan(
                    domain,
                    _domain_label(domain),
                    use_sd,
                    use_deff,
                    share,
                    respondents,
                    math.ceil(respondents / share - 1e-9),
                )
            )
        se_o = overall_results.get("se")
        if se_o is None:
            raise ValueError(f"{results_name} has no overall.se")
        overall_variance = total_n * se_o**2
        if deff is not None or sd is not None:
            weights_deff = float(default_deff)
            use_deff = _floor_deff(float(deff) if deff is not None else weights_deff, "overall", notes)
            use_sd = float(sd) if sd is not None else math.sqrt(overall_variance / weights_deff)
            overall_variance = use_deff * use_sd**2
        overall = _needed(overall_variance, z, half_width)
        town_groups = (results.get("subgroups") or {}).get("town") or {}
        for town, cells in town_groups.items():
            cell = (cells or {}).get("overall") or {}
            n_t, se_t = cell.get("n"), cell.get("se")
            if n_t and se_t is not None and math.isfinite(se_t) and not (deff is not None or sd is not None):
                town_needs[town] = _needed(n_t * se_t**2, z, half_width)
            else:
                town_needs[town] = overall
        source = results_name
    total = max([overall, *(plan.responses for plan in plans)])
    total_with_towns = max(total, sum(town_needs.values()))
    return SamplePlan(
        half_width=float(half_width),
        confidence=float(confidence),
        z=z,
        overall=overall,
        domains=tuple(plans),
        towns=town_needs,
        total=total,
        total_with_towns=total_with_towns,
        source=source,
        notes=tuple(notes),
    )


def format_plan(plan: SamplePlan) -> str:
    """A plain-text table of the plan for the terminal."""
    lines = [
        f"Responses needed for a {plan.confidence:.0%} interval of ± {plan.half_width:g} index points"
        f" (SD and deff: {plan.source})",
        "",
        f"{'domain':<22}{'SD':>7}{'deff':>7}{'answer share':>14}{'respondents':>13}{'responses':>11}",
    ]
    for item in plan.domains:
        lines.append(
            f"{item.domain:<22}{item.sd:>7.1f}{item.deff:>7.2f}{item.answer_share:>14.0%}"
            f"{item.respondents:>13,}{item.responses:>11,}"
        )
    lines.append(f"{'overall index':<22}{'':>7}{'':>7}{'':>14}{plan.overall:>13,}{plan.overall:>11,}")
    if plan.towns:
        lines += ["", f"{'town':<22}{'responses':>11}"]
        for town, needed in plan.towns.items():
            lines.append(f"{town:<22}{needed:>11,}")
    lines += [
        "",
        f"total for the district's indices: {plan.total:,}",
    ]
    if plan.towns:
        lines.append(f"total with every town's own index: {plan.total_with_towns:,}")
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines)
