"""Recompute published claims with the library's own estimators, and audit the registry."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from sfpc_eval.comparisons import compare_counts, compare_means, compare_proportions
from sfpc_eval.evidence.arithmetic import combine
from sfpc_eval.evidence.extrapolation import reproduce_extrapolation
from sfpc_eval.evidence.registry import METRICS, Claim, ClaimInputs, Registry, load_registry
from sfpc_eval.evidence.wording import Admissible, admissible
from sfpc_eval.results import ResultMixin

__all__ = [
    "AUDIT_COLUMNS",
    "CONFLICT",
    "REPRODUCED",
    "STATED_ONLY",
    "WORDING_FAILS",
    "Reproduction",
    "audit",
    "reproduce",
]

REPRODUCED = "reproduced"
WORDING_FAILS = "wording does not hold"
STATED_ONLY = "stated only"
CONFLICT = "conflict"

AUDIT_COLUMNS: tuple[str, ...] = (
    "id",
    "programme",
    "place",
    "metric",
    "wording",
    "published_value",
    "recomputed",
    "percent_change",
    "conf_low",
    "conf_high",
    "admissible",
    "status",
    "conflicts_with",
    "missing_inputs",
    "grade",
    "source",
)

# Value of each metric that means "no difference", for significance statements.
_NULL = {
    "percent_reduction": 0.0,
    "percent_change": 0.0,
    "difference_pp": 0.0,
    "difference": 0.0,
    "ratio": 1.0,
    "odds_ratio": 1.0,
}


@dataclass(frozen=True)
class Reproduction:
    """A claim recomputed from its published inputs, and what that says about its wording.

    Attributes
    ----------
    claim : Claim
        The registry entry.
    status : str
        ``"reproduced"``, ``"wording does not hold"``, ``"stated only"`` or ``"conflict"``.
    value : float
        The recomputed value on the claim's metric (NaN when stated only).
    conf_low, conf_high : float
        Its confidence interval (NaN where the inputs allow none).
    admissible : Admissible
        The values the published wording allows.
    holds : bool or None
        Whether the wording holds for the recomputed value (None when stated only).
    conflicts_with : tuple of str
        Ids of claims about the same measure whose wording allows no common value.
    result : result object or None
        The estimator's full result (``tidy()``, ``summary()``...).
    explanation : str
        One sentence saying what was found.
    """

    claim: Claim
    status: str
    value: float
    conf_low: float
    conf_high: float
    admissible: Admissible
    holds: bool | None
    conflicts_with: tuple[str, ...]
    result: ResultMixin | None = field(repr=False)
    explanation: str

    def __str__(self) -> str:
        return f"{self.claim.id}: {self.status}. {self.explanation}"


def estimate_from_inputs(inputs: ClaimInputs, conf_level: float = 0.95) -> ResultMixin:
    """Run the estimator that matches a claim's published inputs.

    Proportions published with group sizes but no event counts are turned into counts as
    ``round(p * n)`` (the registry marks such inputs ``reconstructed``).

    Parameters
    ----------
    inputs : ClaimInputs
        The ``[claim.inputs]`` table.
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    CountComparison, ProportionComparison, MeanComparison or ArithmeticResult
    """
    v = inputs.values  # noqa: PD011 - a mapping, not a DataFrame
    if inputs.kind == "arithmetic":
        return combine(v["operation"], v["first"], v["second"], v["first_is"], v["second_is"])
    if inputs.kind == "counts":
        exposure = None
        if "exposure_before" in v or "exposure_after" in v:
            exposure = (v.get("exposure_before", 1.0), v.get("exposure_after", 1.0))
        return compare_counts(
            v["before"], v["after"], exposure=exposure, per=v.get("per"), conf_level=conf_level
        )
    if inputs.kind == "proportions":
        groups = []
        for side in ("treated", "control"):
            if f"{side}_n" in v:
                n = v[f"{side}_n"]
                events = v.get(f"{side}_events", round(v[side] * n))
                groups.append((events, n))
            else:
                groups.append(v[side])
        sizes_for_both = all(isinstance(g, tuple) for g in groups)
        if not sizes_for_both:
            groups = [v["treated"], v["control"]]
        return compare_proportions(groups[0], groups[1], conf_level=conf_level)
    groups = []
    for side in ("treated", "control"):
        keys = (side, f"{side}_sd", f"{side}_n")
        groups.append(tuple(v[k] for k in keys) if all(k in v for k in keys) else v[side])
    if not all(isinstance(g, tuple) for g in groups):
        groups = [v["treated"], v["control"]]
    return compare_means(groups[0], groups[1], conf_level=conf_level)


def metric_value(result: ResultMixin, metric: str) -> tuple[float, float, float]:
    """Read a claim metric (value, low, high) off an estimator result.

    Examples
    --------
    >>> import sfpc_eval as se
    >>> value, low, high = metric_value(se.compare_counts(974, 515), "percent_reduction")
    >>> round(value, 2)
    47.13
    """
    names = {t.term for t in result.terms}
    if "value" in names:  # arithmetic on published totals: no interval
        return result.term("value").estimate, math.nan, math.nan
    if metric in ("percent_change", "percent_reduction"):
        term = result.term("percent_change")
    elif metric == "ratio":
        ratio_name = next(n for n in ("rate_ratio", "risk_ratio", "ratio") if n in names)
        term = result.term(ratio_name)
    elif metric == "difference_pp":
        t = result.term("risk_difference")
        return 100 * t.estimate, 100 * t.conf_low, 100 * t.conf_high
    elif metric == "difference":
        term = result.term("difference")
    else:
        term = result.term(metric)
    if metric == "percent_reduction":
        return -term.estimate, -term.conf_high, -term.conf_low
    return term.estimate, term.conf_low, term.conf_high


def _percent_change(result: ResultMixin | None) -> float:
    if result is None or "percent_change" not in {t.term for t in result.terms}:
        return math.nan
    return result.percent_change.estimate


def _admissible(claim: Claim) -> Admissible:
    return admissible(claim.rule, claim.value, decimals=claim.decimals)


def _conflicts(registry: Registry) -> dict[str, tuple[str, ...]]:
    """Map each claim id to the ids of claims on the same measure and metric it cannot meet."""
    groups: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    for claim in registry:
        groups[(claim.measure, claim.metric)].append(claim)
    found: dict[str, list[str]] = defaultdict(list)
    for claims in groups.values():
        for i, a in enumerate(claims):
            for b in claims[i + 1 :]:
                if not _admissible(a).overlaps(_admissible(b)):
                    found[a.id].append(b.id)
                    found[b.id].append(a.id)
    return {k: tuple(v) for k, v in found.items()}


def _reproduce(
    claim: Claim, conflicts: tuple[str, ...], conf_level: float, registry: Registry
) -> Reproduction:
    allowed = _admissible(claim)
    nan = math.nan
    if claim.impact is not None:
        source = registry[claim.impact.effect_claim].inputs
        effect_result = estimate_from_inputs(source, conf_level)  # type: ignore[arg-type]
        found = reproduce_extrapolation(
            claim, allowed, conflicts, conf_level, registry, effect_result
        )
        return Reproduction(claim, admissible=allowed, conflicts_with=conflicts, **found)
    if claim.inputs is None:
        status = CONFLICT if conflicts else STATED_ONLY
        explanation = "No raw inputs were published, so the figure cannot be recomputed."
        if claim.missing_inputs:
            explanation += f" Not published: {'; '.join(claim.missing_inputs)}."
        if conflicts:
            explanation += (
                f" Its wording ({claim.wording!r}, allowing {allowed}) cannot be reconciled "
                f"with {', '.join(conflicts)} on the same measure."
            )
        return Reproduction(
            claim, status, nan, nan, nan, allowed, None, conflicts, None, explanation
        )
    result = estimate_from_inputs(claim.inputs, conf_level)
    value, low, high = metric_value(result, claim.metric)
    if claim.rule == "significant":
        null = _NULL[claim.metric]
        holds = not math.isnan(low) and not (low <= null <= high)
        check = f"the {conf_level:.0%} interval [{low:.4g}, {high:.4g}] " + (
            "excludes" if holds else "includes"
        )
        check += f" {null:g}"
    else:
        holds = allowed.contains(value)
        check = f"the wording {claim.wording!r} allows {allowed}"
    status = REPRODUCED if holds else WORDING_FAILS
    explanation = f"Recomputed {METRICS[claim.metric]}: {value:.4g}; {check}."
    if conflicts and not holds:
        status = CONFLICT
        explanation += f" It also conflicts with {', '.join(conflicts)}."
    elif conflicts:
        explanation += f" Claims {', '.join(conflicts)} on the same measure do not agree with it."
    return Reproduction(
        claim, status, value, low, high, allowed, holds, conflicts, result, explanation
    )


def reproduce(
    claim_id: str, *, registry: Registry | None = None, conf_level: float = 0.95
) -> Reproduction:
    """Recompute one published claim from its raw inputs and check its wording.

    Parameters
    ----------
    claim_id : str
        Registry id, e.g. ``"leeds_cpp_2011_2017"``.
    registry : Registry, optional
        Defaults to the bundled registry.
    conf_level : float, default 0.95
        Confidence level of the recomputed interval.

    Returns
    -------
    Reproduction

    Raises
    ------
    KeyError
        Unknown id (the message suggests the closest ids).

    Examples
    --------
    >>> from sfpc_eval.evidence import reproduce
    >>> rep = reproduce("leeds_cpp_2011_2017")
    >>> rep.status, round(rep.value, 1), rep.holds
    ('reproduced', 47.1, True)
    """
    reg = load_registry() if registry is None else registry
    claim = reg[claim_id]
    return _reproduce(claim, _conflicts(reg).get(claim.id, ()), conf_level, reg)


def audit(*, registry: Registry | None = None, conf_level: float = 0.95) -> pd.DataFrame:
    """Reproduce every claim in the registry; one row per claim.

    Parameters
    ----------
    registry : Registry, optional
        Defaults to the bundled registry.
    conf_level : float, default 0.95
        Confidence level of recomputed intervals.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AUDIT_COLUMNS`. ``recomputed`` is on the claim's own metric (a fall of
        47.1% is 47.1 on ``percent_reduction``); ``percent_change`` is the signed change
        (-47.1) whatever the metric, where the inputs give one. ``status`` is one of
        ``reproduced``, ``wording does not hold``, ``stated only`` (no raw inputs published) or
        ``conflict`` (its wording cannot be reconciled with another claim about the same
        measure). ``missing_inputs`` names the inputs that were not published, for claims that
        stay stated only because of them.

    Examples
    --------
    >>> from sfpc_eval.evidence import audit
    >>> table = audit()
    >>> table.set_index("id").loc["leeds_cpp_2011_2017", "status"]
    'reproduced'
    """
    reg = load_registry() if registry is None else registry
    conflicts = _conflicts(reg)
    rows = []
    for claim in reg:
        rep = _reproduce(claim, conflicts.get(claim.id, ()), conf_level, reg)
        rows.append(
            {
                "id": claim.id,
                "programme": claim.programme,
                "place": claim.place,
                "metric": claim.metric,
                "wording": claim.wording,
                "published_value": claim.value,
                "recomputed": rep.value,
                "percent_change": _percent_change(rep.result),
                "conf_low": rep.conf_low,
                "conf_high": rep.conf_high,
                "admissible": str(rep.admissible),
                "status": rep.status,
                "conflicts_with": ", ".join(rep.conflicts_with),
                "missing_inputs": "; ".join(claim.missing_inputs),
                "grade": claim.grade,
                "source": claim.source.cite(),
            }
        )
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
