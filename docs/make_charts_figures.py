"""Draw the figures of the how-to "Charts in the house style" (docs/charts.rst).

    python docs/make_charts_figures.py

Writes docs/_static/charts_rates.svg and docs/_static/charts_forest.svg (deterministic SVG:
the same bytes on every run; tests/test_plotting.py checks the committed files are current).
The data are the packaged council panel (:func:`sfpc_eval.datasets.council_panel`).
"""

from __future__ import annotations

from pathlib import Path

import sfpc_eval as se
from sfpc_eval import datasets
from sfpc_eval.plotting import plot_forest, plot_rates
from sfpc_eval.report.figures import render_svg

STATIC = Path(__file__).resolve().parent / "_static"


def rates() -> bytes:
    """Leeds and two neighbours against the other neighbours, lockdowns shaded."""
    panel = datasets.council_panel()
    others = sorted(set(panel["la"]) - {"Leeds", "Kirklees", "Wirral"})
    return render_svg(
        lambda ax: plot_rates(
            panel,
            ["Leeds", "Kirklees", "Wirral"],
            "cpp_rate",
            starts={"Leeds": 2015},
            comparison=others,
            title="Leeds's child protection rate fell after Family Valued began in 2015",
            ax=ax,
        ),
        size=(7.0, 4.2),
    )


def forest() -> bytes:
    """One DiD estimate under three inference methods."""
    panel = datasets.council_panel()
    methods = {
        "CR2": se.ClusterRobust("la", kind="CR2"),
        "wild_bootstrap": se.WildClusterBootstrap(n_resamples=199, rng=1),
        "randomization": se.Randomization(n_resamples=199, rng=1),
    }
    results = {
        name: se.did(
            panel, outcome="cpp_rate", unit="la", time="year", treated="treated", inference=how
        )
        for name, how in methods.items()
    }
    return render_svg(
        lambda ax: plot_forest(
            results,
            labels={"treated": "Change in children on plans per 10,000 (DiD)"},
            title="With one treated council, the interval depends on the inference method",
            ax=ax,
        ),
        size=(7.0, 3.6),
    )


FIGURES = {"charts_rates.svg": rates, "charts_forest.svg": forest}


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    for name, draw in FIGURES.items():
        (STATIC / name).write_bytes(draw())
        print(f"wrote {STATIC / name}")
