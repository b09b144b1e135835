"""Plots return their Axes and draw what they say; PNGs are written for a look by eye."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.evidence import audit
from sfpc_eval.plotting import plot_claims


def test_comparison_plot_draws_both_periods_with_intervals(tmp_path):
    res = se.compare_counts(974, 515, labels=("2011", "2017"))
    fig, ax = plt.subplots()
    assert res.plot(ax=ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2011", "2017"]
    assert ax.get_title() == "2017 vs 2011: -47.1% [-52.6%, -41.1%]"
    line = ax.get_lines()[-1]
    assert np.allclose(line.get_ydata(), [974, 515])
    fig.savefig(tmp_path / "leeds.png")
    plt.close(fig)


@pytest.mark.parametrize(
    "result",
    [
        se.compare_proportions((52, 140), (25, 100), labels=("FDAC", "comparison")),
        se.compare_means((87.0, 120.0, 1200), (115.0, 130.0, 1250)),
        se.paired_change(pd.DataFrame({"before": [10, 20, 30], "after": [5, 25, 0]})),
        se.compare_counts(1020, 930, exposure=(160_000, 161_500)),
    ],
)
def test_every_two_group_result_plots(result):
    ax = result.plot()
    assert ax.get_title().endswith("]")
    plt.close(ax.figure)


def test_proportions_are_drawn_as_percentages_comparison_first():
    ax = se.compare_proportions((52, 140), (25, 100), labels=("FDAC", "comparison")).plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["comparison", "FDAC"]
    assert np.allclose(ax.get_lines()[-1].get_ydata(), [25.0, 100 * 52 / 140])
    plt.close(ax.figure)


def test_claims_plot_has_one_row_per_recomputed_percentage_claim(tmp_path):
    table = audit()
    ax = plot_claims(table)
    expected = table[
        table["metric"].isin(["percent_reduction", "percent_change", "difference_pp"])
        & table["recomputed"].notna()
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(expected["id"])
    ax.figure.savefig(tmp_path / "claims.png", bbox_inches="tight")
    plt.close(ax.figure)
