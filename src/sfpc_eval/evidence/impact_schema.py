"""The registry schema for extrapolations: ``[claim.impact]`` tables and ``missing_inputs``.

An extrapolation claim applies an effect (another claim's published inputs) to a population, and
for money a unit cost over a horizon. Its ``[impact]`` table names the effect claim and holds the
inputs that were published; those that were not are named in the claim's ``missing_inputs``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sfpc_eval.errors import RegistryError

__all__ = [
    "IMPACT_OUTPUTS",
    "ImpactInputs",
    "check_fields",
    "check_impact_references",
    "parse_impact",
    "parse_missing",
]

NUM = (int, float)
_IMPACT_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "output": ((str,), True),
    "effect_claim": ((str,), True),
    "scale": ((str,), True),
    "population": (NUM, False),
    "population_source": ((str,), False),
    "unit_cost": (NUM, False),
    "unit_cost_unit": ((str,), False),
    "unit_cost_source": ((str,), False),
    "unit_cost_price_year": ((int,), False),
    "horizon": ((int,), False),
    "discount_rate": (NUM, False),
    "children_claim": ((str,), False),
}
_EFFECT_KINDS = {
    "risk_difference": "proportions",
    "risk_ratio": "proportions",
    "days_difference": "means",
    "rate_difference": "counts",
    "rate_ratio": "counts",
}
OUTPUT_METRIC = {"children": "count", "savings": "amount"}
IMPACT_OUTPUTS: dict[str, str] = {
    "children": "children a year (kept out of care, fewer with the outcome)",
    "savings": "savings in pounds over the horizon",
}
"""What an extrapolation claim (``[claim.impact]``) states."""


@dataclass(frozen=True)
class ImpactInputs:
    """The published inputs of an extrapolation: effect -> children (-> savings).

    Attributes
    ----------
    output : {"children", "savings"}
        What the claim states.
    effect_claim : str
        Id of the claim whose inputs give the effect (a trial's rates, say).
    scale : str
        The effect's scale (one of :data:`sfpc_eval.impact.SCALES`).
    values : mapping
        The other fields: ``population`` and ``population_source``; ``unit_cost``,
        ``unit_cost_unit``, ``unit_cost_source``, ``unit_cost_price_year``; ``horizon``,
        ``discount_rate``; ``children_claim`` (for savings: the claim stating the children).
        An input that was not published is absent, and named in the claim's
        ``missing_inputs``.
    """

    output: str
    effect_claim: str
    scale: str
    values: Mapping[str, Any]

    @property
    def complete(self) -> bool:
        """True when every input the output needs was published."""
        needed = ["population"]
        if self.output == "savings":
            needed += ["unit_cost", "unit_cost_source", "unit_cost_price_year"]
        return all(key in self.values for key in needed)


def check_fields(
    table: Mapping[str, Any],
    spec: Mapping[str, tuple[tuple[type, ...], bool]],
    where: str,
) -> None:
    """Raise :class:`RegistryError` for an unknown, missing or mistyped field of a table."""
    for key in table:
        if key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RegistryError(
                f"{where}: unknown field {key!r}.{hint} Allowed fields: {', '.join(spec)}."
            )
    for key, (types, required) in spec.items():
        if key not in table:
            if required:
                raise RegistryError(f"{where}: required field {key!r} is missing.")
            continue
        value = table[key]
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise RegistryError(
                f"{where}: field {key!r} must be {names}; got {value!r} ({type(value).__name__})."
            )


def parse_impact(table: Mapping[str, Any], where: str) -> ImpactInputs:
    """Validate a ``[claim.impact]`` table (scale, output, unit cost with source and year)."""
    from sfpc_eval.impact import SCALES

    check_fields(table, _IMPACT_FIELDS, where)
    if table["output"] not in IMPACT_OUTPUTS:
        raise RegistryError(
            f"{where}: field 'output' must be one of {', '.join(IMPACT_OUTPUTS)}; got "
            f"{table['output']!r}."
        )
    if table["scale"] not in SCALES:
        raise RegistryError(
            f"{where}: field 'scale' must be one of {', '.join(SCALES)} (the scales an effect can "
            f"be turned into children on); got {table['scale']!r}."
        )
    cost_keys = [k for k in table if k.startswith("unit_cost")]
    if cost_keys and table["output"] != "savings":
        raise RegistryError(f"{where}: a unit cost is used only by output 'savings'.")
    if cost_keys and not {"unit_cost", "unit_cost_source", "unit_cost_price_year"} <= set(table):
        raise RegistryError(
            f"{where}: a unit cost needs 'unit_cost', 'unit_cost_source' and "
            "'unit_cost_price_year' together; the library never invents a cost or its source."
        )
    if "population" in table and table["population"] < 0:
        raise RegistryError(f"{where}: field 'population' cannot be negative.")
    values = {k: v for k, v in table.items() if k not in ("output", "effect_claim", "scale")}
    return ImpactInputs(table["output"], table["effect_claim"], table["scale"], values)


def parse_missing(value: list[Any], where: str) -> tuple[str, ...]:
    """Validate ``missing_inputs``: a non-empty list of non-empty strings."""
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegistryError(
            f"{where}: field 'missing_inputs' must be a non-empty list of non-empty strings, each "
            "naming an input that was not published."
        )
    return tuple(value)


def check_impact_references(claims: Iterable[Any]) -> None:
    """Every ``[impact]`` names claims that exist, and an effect claim with the right inputs."""
    claims = tuple(claims)
    by_id = {c.id: c for c in claims}
    for claim in claims:
        if claim.impact is None:
            continue
        for key in ("effect_claim", "children_claim"):
            ref = (
                claim.impact.effect_claim if key == "effect_claim" else claim.impact.values.get(key)
            )
            if ref is None:
                continue
            if ref not in by_id:
                raise RegistryError(
                    f"claim {claim.id!r} [impact]: field {key!r} names {ref!r}, which is not in "
                    "the registry."
                )
        effect = by_id[claim.impact.effect_claim]
        kind = _EFFECT_KINDS[claim.impact.scale]
        if effect.inputs is None or effect.inputs.kind != kind:
            raise RegistryError(
                f"claim {claim.id!r} [impact]: a {claim.impact.scale} comes from {kind} inputs, "
                f"and the effect claim {effect.id!r} has none."
            )
