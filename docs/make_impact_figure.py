"""Draw the figure of the how-to "From effect to savings" (docs/impact.rst).

    python docs/make_impact_figure.py

Writes docs/_static/fgc_tornado.svg (deterministic SVG: the same bytes on every run; a test
checks the committed file is current). The inputs are those of the how-to, where each is
explained; the population and unit cost are illustrative, not published figures.
"""

from __future__ import annotations

from pathlib import Path

import sfpc_eval as se
from sfpc_eval.impact import (
    Population,
    PriceIndex,
    UnitCost,
    as_effect,
    estimate_savings,
    inflate,
)
from sfpc_eval.plotting import plot_tornado
from sfpc_eval.report.figures import render_svg

OUT = Path(__file__).resolve().parent / "_static" / "fgc_tornado.svg"


def worked_example():
    """The savings of the how-to, from the same inputs."""
    trial = se.compare_proportions((461, 1274), (571, 1274), labels=("FGC referral", "usual"))
    effect = as_effect(trial, label="looked after 12 months on")
    population = Population(
        23_000,
        "children entering pre-proceedings in England a year",
        source="assumption of this how-to (not published)",
        low=15_000,
        high=30_000,
    )
    index = PriceIndex(
        {2021: 100.0, 2022: 105.0, 2023: 112.0},
        "illustrative deflator",
        source="illustrative values: use the GDP deflator",
    )
    cost = UnitCost(
        "child looked after for a year",
        55_000,
        "per child kept out of care",
        source="illustrative figure for this how-to, not a published unit cost",
        price_year=2021,
        low=40_000,
        high=70_000,
    )
    return estimate_savings(
        effect,
        population,
        inflate(cost, 2023, index),
        horizon=2,
        discount_rate=0.035,
        discount_rates=(0.0, 0.07),
        rng=2023,
    )


def figure() -> bytes:
    """The tornado plot as SVG bytes."""
    result = worked_example()
    return render_svg(lambda ax: plot_tornado(result, ax=ax), size=(7.5, 3.4))


if __name__ == "__main__":
    OUT.write_bytes(figure())
    print(f"wrote {OUT}")
