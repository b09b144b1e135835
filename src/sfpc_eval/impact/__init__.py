"""From effects to children and money: impact and savings estimates with their uncertainty.

This package takes an effect the library has estimated (a risk difference, a rate ratio or
rate difference per 10,000, a difference in days in care) and turns it into the two sentences an
evaluation ends with: how many children a year would this change, and what would it save.

- :func:`impact_in_children`: children (or days) a year in a :class:`Population`, with a
  delta-method interval and a simulated one from the effect's sampling distribution, and the
  number needed to treat for changes in risk;
- :class:`UnitCost`, :func:`read_unit_costs`, :class:`PriceIndex`, :func:`inflate`,
  :func:`discount_factors`: costs the user supplies, each with its source, price year and
  uncertainty (the library never invents one);
- :func:`estimate_savings`: savings a year and over a discounted horizon, with intervals that
  combine the effect's and the costs' uncertainty, an assumptions table, a sensitivity table and
  a tornado plot.

It sits above the design packages (it takes their results) and below ``evidence``, which uses
it to re-derive published extrapolations.

Examples
--------
>>> from sfpc_eval.impact import Effect, Population, impact_in_children
>>> res = impact_in_children(Effect(-0.086, 0.019, "risk_difference"),
...                          Population(10_000, "children in pre-proceedings"), rng=3)
>>> round(res.change.estimate)
-860
"""

from sfpc_eval.impact.children import ChildrenImpact, impact_in_children, number_needed_to_treat
from sfpc_eval.impact.costs import (
    DISTRIBUTIONS,
    PriceIndex,
    UnitCost,
    discount_factors,
    inflate,
    read_unit_costs,
)
from sfpc_eval.impact.effects import SCALES, Effect, as_effect
from sfpc_eval.impact.population import Population, population_from_file
from sfpc_eval.impact.savings import (
    ASSUMPTION_COLUMNS,
    SENSITIVITY_COLUMNS,
    SavingsResult,
    estimate_savings,
)

__all__ = [
    "ASSUMPTION_COLUMNS",
    "DISTRIBUTIONS",
    "SCALES",
    "SENSITIVITY_COLUMNS",
    "ChildrenImpact",
    "Effect",
    "Population",
    "PriceIndex",
    "SavingsResult",
    "UnitCost",
    "as_effect",
    "discount_factors",
    "estimate_savings",
    "impact_in_children",
    "inflate",
    "number_needed_to_treat",
    "population_from_file",
    "read_unit_costs",
]
