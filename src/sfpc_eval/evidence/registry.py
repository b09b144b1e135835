"""The registry of published claims: a TOML data file, validated by a schema on load.

Each ``[[claim]]`` records one published figure: what was claimed, in which words, about which
measure, with which raw inputs (where they were published) and from which source. The schema
is strict: a missing required field, an unknown field, a value of the wrong type or a metric that
the inputs cannot produce raises :class:`~sfpc_eval.errors.RegistryError` naming the claim id
and the field.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sfpc_eval.errors import RegistryError
from sfpc_eval.evidence.arithmetic import ARITHMETIC
from sfpc_eval.evidence.impact_schema import (
    IMPACT_OUTPUTS,
    NUM,
    OUTPUT_METRIC,
    ImpactInputs,
    check_fields,
    check_impact_references,
    parse_impact,
    parse_missing,
)
from sfpc_eval.evidence.wording import FRACTION_LADDER, RULES, admissible

__all__ = [
    "IMPACT_OUTPUTS",
    "METRICS",
    "Claim",
    "ClaimInputs",
    "ImpactInputs",
    "Registry",
    "Source",
    "load_registry",
]

METRICS: dict[str, str] = {
    "percent_reduction": "percentage fall (positive = fewer)",
    "percent_change": "signed percentage change",
    "difference_pp": "difference in percentage points (treated minus control)",
    "difference": "difference on the outcome's own scale",
    "ratio": "ratio (treated/control or after/before)",
    "odds_ratio": "odds ratio",
    "percent": "a single share, in percent",
    "count": "a count",
    "amount": "an amount of money, in pounds",
}
"""Metrics a claim's number can quantify."""

GRADES = frozenset({"SEEN", "DERIVED", "INFERRED", "CODE"})

# Which metrics each kind of input can reproduce.
_METRICS_BY_KIND: dict[str, frozenset[str]] = {
    "counts": frozenset({"percent_reduction", "percent_change", "ratio", "difference"}),
    "proportions": frozenset(
        {"percent_reduction", "percent_change", "difference_pp", "ratio", "odds_ratio"}
    ),
    "means": frozenset({"percent_reduction", "percent_change", "difference", "ratio"}),
    "arithmetic": frozenset({"ratio", "amount", "count", "difference"}),
}

# field -> (accepted types, required)
_NUM = NUM
_CLAIM_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), True),
    "programme": ((str,), True),
    "place": ((str,), True),
    "measure": ((str,), True),
    "metric": ((str,), True),
    "period": ((str,), True),
    "population": ((str,), True),
    "statement": ((str,), True),
    "wording": ((str,), True),
    "rule": ((str,), True),
    "value": (_NUM, True),
    "decimals": ((int,), False),
    "grade": ((str,), True),
    "context": ((str,), False),
    "inputs": ((dict,), False),
    "impact": ((dict,), False),
    "missing_inputs": ((list,), False),
    "source": ((dict,), True),
}
_SOURCE_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "title": ((str,), True),
    "authors": ((str,), True),
    "publisher": ((str,), False),
    "year": ((int,), True),
    "url": ((str,), True),
}
_INPUT_FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "counts": {
        "before": ((int,), True),
        "after": ((int,), True),
        "exposure_before": (_NUM, False),
        "exposure_after": (_NUM, False),
        "per": (_NUM, False),
    },
    "proportions": {
        "treated": (_NUM, True),
        "control": (_NUM, True),
        "treated_n": ((int,), False),
        "control_n": ((int,), False),
        "treated_events": ((int,), False),
        "control_events": ((int,), False),
        "reconstructed": ((bool,), False),
    },
    "means": {
        "treated": (_NUM, True),
        "control": (_NUM, True),
        "treated_sd": (_NUM, False),
        "control_sd": (_NUM, False),
        "treated_n": ((int,), False),
        "control_n": ((int,), False),
    },
    "arithmetic": {
        "operation": ((str,), True),
        "first": (_NUM, True),
        "second": (_NUM, True),
        "first_is": ((str,), True),
        "second_is": ((str,), True),
    },
}


@dataclass(frozen=True)
class Source:
    """Where a claim was published."""

    title: str
    authors: str
    year: int
    url: str
    publisher: str = ""

    def cite(self) -> str:
        """One-line citation: authors (year) title. publisher. url."""
        who = f"{self.authors} " if self.authors else ""
        pub = f" {self.publisher}." if self.publisher else ""
        return f"{who}({self.year}) {self.title}.{pub} {self.url}"


@dataclass(frozen=True)
class ClaimInputs:
    """The published raw inputs of a claim.

    Attributes
    ----------
    kind : {"counts", "proportions", "means", "arithmetic"}
        Which estimator reproduces the claim (``arithmetic``: a product, ratio, sum or
        difference of two published totals, with no sampling uncertainty).
    values : mapping
        The fields of the ``[claim.inputs]`` table other than ``kind`` and ``note``.
    note : str
        Caveats about the inputs (e.g. reconstructed denominators).
    """

    kind: str
    values: Mapping[str, Any]
    note: str = ""

    @property
    def has_interval(self) -> bool:
        """True when the inputs allow a confidence interval (group sizes, SDs...)."""
        needed = {
            "counts": (),
            "proportions": ("treated_n", "control_n"),
            "means": ("treated_sd", "control_sd", "treated_n", "control_n"),
            "arithmetic": ("no interval: published totals",),
        }[self.kind]
        return all(key in self.values for key in needed)


@dataclass(frozen=True)
class Claim:
    """One published figure. Fields are described in the registry file's header."""

    id: str
    programme: str
    place: str
    measure: str
    metric: str
    period: str
    population: str
    statement: str
    wording: str
    rule: str
    value: float
    grade: str
    source: Source
    decimals: int = 0
    context: str = ""
    inputs: ClaimInputs | None = None
    impact: ImpactInputs | None = None
    missing_inputs: tuple[str, ...] = ()

    @property
    def stated_only(self) -> bool:
        """True when the raw inputs were not (all) published, so the figure cannot be recomputed."""
        if self.impact is not None:
            return not self.impact.complete
        return self.inputs is None


@dataclass(frozen=True)
class Registry:
    """All claims, in file order, with lookup by id.

    Examples
    --------
    >>> from sfpc_eval.evidence import load_registry
    >>> reg = load_registry()
    >>> reg["leeds_cpp_2011_2017"].inputs.values["before"]
    974
    """

    claims: tuple[Claim, ...]
    path: str = field(default="")

    def __iter__(self) -> Iterator[Claim]:
        return iter(self.claims)

    def __len__(self) -> int:
        return len(self.claims)

    def __getitem__(self, claim_id: str) -> Claim:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        close = difflib.get_close_matches(claim_id, [c.id for c in self.claims], n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no claim {claim_id!r} in the registry.{hint}")

    def ids(self) -> list[str]:
        """Claim ids in file order."""
        return [c.id for c in self.claims]


def _parse_inputs(table: Mapping[str, Any], where: str) -> ClaimInputs:
    kind = table.get("kind")
    if kind not in _INPUT_FIELDS:
        raise RegistryError(
            f"{where}: field 'kind' must be one of {', '.join(_INPUT_FIELDS)}; got {kind!r}."
        )
    values = {k: v for k, v in table.items() if k not in ("kind", "note")}
    check_fields(values, _INPUT_FIELDS[kind], where)
    note = table.get("note", "")
    if not isinstance(note, str):
        raise RegistryError(f"{where}: field 'note' must be str; got {note!r}.")
    if kind == "arithmetic":
        if values["operation"] not in ARITHMETIC:
            raise RegistryError(
                f"{where}: field 'operation' must be one of {', '.join(ARITHMETIC)}; got "
                f"{values['operation']!r}."
            )
        if values["operation"] == "ratio" and values["second"] == 0:
            raise RegistryError(f"{where}: a ratio needs a non-zero 'second'.")
    if kind == "proportions":
        for side in ("treated", "control"):
            if not 0 <= values[side] <= 1:
                raise RegistryError(
                    f"{where}: field {side!r} must be a proportion in [0, 1]; got "
                    f"{values[side]!r} (write 36.2% as 0.362)."
                )
            if f"{side}_events" in values and f"{side}_n" not in values:
                raise RegistryError(f"{where}: {side}_events needs {side}_n.")
    return ClaimInputs(kind=kind, values=values, note=note)


def _parse_claim(table: Mapping[str, Any], position: int) -> Claim:
    claim_id = table.get("id")
    where = f"claim {claim_id!r}" if isinstance(claim_id, str) else f"claim #{position + 1}"
    check_fields(table, _CLAIM_FIELDS, where)
    if table["metric"] not in METRICS:
        raise RegistryError(
            f"{where}: field 'metric' must be one of {', '.join(METRICS)}; got {table['metric']!r}."
        )
    if table["rule"] not in RULES:
        raise RegistryError(
            f"{where}: field 'rule' must be one of {', '.join(sorted(RULES))}; got "
            f"{table['rule']!r}."
        )
    if table["grade"] not in GRADES:
        raise RegistryError(
            f"{where}: field 'grade' must be one of {', '.join(sorted(GRADES))}; got "
            f"{table['grade']!r}."
        )
    if table["rule"] == "fraction":
        try:
            admissible("fraction", float(table["value"]))
        except ValueError:
            ladder = ", ".join(f"{f:.4g}" for f in FRACTION_LADDER)
            raise RegistryError(
                f"{where}: field 'value' must be on the fraction ladder ({ladder}) for rule "
                f"'fraction'; got {table['value']!r}."
            ) from None
    source_table = table["source"]
    check_fields(source_table, _SOURCE_FIELDS, f"{where} [source]")
    if "inputs" in table and "impact" in table:
        raise RegistryError(
            f"{where}: a claim has [inputs] (a comparison) or [impact] (an extrapolation), "
            "not both."
        )
    inputs = None
    if "inputs" in table:
        inputs = _parse_inputs(table["inputs"], f"{where} [inputs]")
        if table["metric"] not in _METRICS_BY_KIND[inputs.kind]:
            allowed = ", ".join(sorted(_METRICS_BY_KIND[inputs.kind]))
            raise RegistryError(
                f"{where}: field 'metric' is {table['metric']!r}, which {inputs.kind} inputs "
                f"cannot reproduce; use one of {allowed}, or drop [inputs]."
            )
    impact = None
    if "impact" in table:
        impact = parse_impact(table["impact"], f"{where} [impact]")
        if table["metric"] != OUTPUT_METRIC[impact.output]:
            raise RegistryError(
                f"{where}: an [impact] claim of output {impact.output!r} has metric "
                f"{OUTPUT_METRIC[impact.output]!r}; got {table['metric']!r}."
            )
    missing = parse_missing(table["missing_inputs"], where) if "missing_inputs" in table else ()
    if impact is not None and not impact.complete and not missing:
        raise RegistryError(
            f"{where}: the [impact] inputs are incomplete (no population, or for savings no unit "
            "cost with its source and price year); name what was not published in "
            "'missing_inputs'."
        )
    if table["rule"] == "significant" and not (inputs is not None and inputs.has_interval):
        raise RegistryError(
            f"{where}: rule 'significant' needs inputs that give an interval (counts, or group "
            "sizes for proportions, or SDs and sizes for means), so the statement can be tested."
        )
    return Claim(
        id=table["id"],
        programme=table["programme"],
        place=table["place"],
        measure=table["measure"],
        metric=table["metric"],
        period=table["period"],
        population=table["population"],
        statement=table["statement"],
        wording=table["wording"],
        rule=table["rule"],
        value=float(table["value"]),
        grade=table["grade"],
        decimals=table.get("decimals", 0),
        context=table.get("context", ""),
        inputs=inputs,
        impact=impact,
        missing_inputs=missing,
        source=Source(**source_table),
    )


def parse_registry(document: Mapping[str, Any], path: str = "") -> Registry:
    """Validate a parsed registry document and build a :class:`Registry`.

    Raises
    ------
    RegistryError
        Naming the claim id and field at fault.
    """
    extra = set(document) - {"schema_version", "claim"}
    if extra:
        raise RegistryError(f"registry {path}: unknown top-level key(s) {sorted(extra)}.")
    if document.get("schema_version") != 1:
        raise RegistryError(
            f"registry {path}: schema_version must be 1; got {document.get('schema_version')!r}."
        )
    tables = document.get("claim", [])
    if not isinstance(tables, list) or not tables:
        raise RegistryError(f"registry {path}: no [[claim]] entries.")
    claims = tuple(_parse_claim(t, i) for i, t in enumerate(tables))
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            raise RegistryError(f"claim {claim.id!r}: the id is used more than once.")
        seen.add(claim.id)
    check_impact_references(claims)
    return Registry(claims=claims, path=path)


def load_registry(path: str | Path | None = None) -> Registry:
    """Load and validate the registry of published claims.

    Parameters
    ----------
    path : str or Path, optional
        A registry TOML file. Defaults to the one shipped with the package.

    Returns
    -------
    Registry

    Raises
    ------
    RegistryError
        The file is not valid TOML or breaks the schema (the message names the claim id and
        field).

    Examples
    --------
    >>> from sfpc_eval.evidence import load_registry
    >>> len(load_registry()) > 30
    True
    """
    if path is None:
        ref = resources.files("sfpc_eval.evidence").joinpath("claims.toml")
        text, shown = ref.read_text(encoding="utf-8"), "claims.toml (bundled)"
    else:
        text, shown = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RegistryError(f"registry {shown} is not valid TOML: {err}") from None
    return parse_registry(document, shown)
