"""Every public plot function, and every result's ``.plot()``, in the house style.

The checks are made from what matplotlib drew, with code independent of the layout module that
placed the words (:mod:`sfpc_eval.plotting.layout` samples segments; here matplotlib's own
``Path.intersects_bbox`` and window extents decide):

- no legend covers plotted data: the legend's box (display coordinates) against every data
  line (as a path), marker (its centre grown by its radius), band, bar and cell;
- the legend lies inside the figure;
- a source line ("Source: ...") is under the chart, and a main-message title above it;
- axis labels are words from the vocabulary: no underscore, no input column name, no code name
  the vocabulary would translate, a capital first letter (or a digit: "95% ...");
- every colour drawn (lines, markers, bands, bars, cells, shading) is in the house palette;
- the figure has alt text.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_hex, to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

import sfpc_eval as se
from _every_result import every_result
from sfpc_eval import datasets, plotting
from sfpc_eval.errors import InvalidValueError, LabelError, UnknownAreaError
from sfpc_eval.evidence import CONFLICT, WORDING_FAILS, audit, reading_order
from sfpc_eval.labels import has_label, label
from sfpc_eval.plotting.over_time import LOCKDOWNS
from sfpc_eval.plotting.style import (
    CATEGORICAL,
    CONTEXT_GID,
    HOUSE_COLOURS,
    SOURCE_GID,
    alt_text,
    new_axes,
)
from sfpc_eval.trials.design import SteppedWedgeDesign

PANEL_COLUMNS = set(datasets.council_panel().columns) | {"time", "group", "mean", "estimate"}


@cache
def _synthetic():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return se.synthetic_control(
            datasets.council_panel(),
            outcome="cpp_rate",
            unit="la",
            time="year",
            treated_unit="Leeds",
            start=2015,
            placebo=True,
            leave_one_out=True,
        )


def _savings():
    from sfpc_eval.impact import Effect, UnitCost, estimate_savings

    cost = UnitCost(
        "care", 60_000, "per child per year", source="analyst", price_year=2023, low=5e4, high=7e4
    )
    return estimate_savings(Effect(-0.086, 0.019, "risk_difference"), 23_000, cost, rng=1)


def _design():
    return SteppedWedgeDesign.from_switch_dates(
        {"Leeds": "2020-04-01", "Bradford": "2020-07-01", "Kirklees": "2020-10-01"},
        start="2020-01-01",
        end="2021-01-01",
        children_per_cluster={"Leeds": 400, "Bradford": 300, "Kirklees": 200},
    )


def _rates():
    panel = datasets.council_panel()
    others = sorted(set(panel["la"]) - {"Leeds", "Kirklees", "Wirral"})
    return plotting.plot_rates(
        panel,
        ["Leeds", "Kirklees", "Wirral"],
        "cpp_rate",
        starts={"Leeds": 2015, "Kirklees": 2018},
        comparison=others,
    )


@cache
def _imputed():
    """A small trial with a categorical and a numeric covariate, 20% missing, imputed."""
    from sfpc_eval.trials.imputation import impute

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"la": np.repeat(range(4), 60), "period": np.tile(range(5), 48)})
    df["treated"] = (df["period"] > df["la"]).astype(int)
    df["y"] = rng.binomial(1, 0.3, 240)
    df["ethnicity"] = np.where(
        rng.random(240) < 0.2, None, rng.choice(["White", "Mixed", "Asian"], 240)
    )
    df["age"] = np.where(rng.random(240) < 0.2, np.nan, rng.normal(8, 4, 240))
    return impute(
        df,
        ["ethnicity", "age"],
        outcome="y",
        cluster="la",
        period="period",
        treated="treated",
        m=3,
        seed=1,
        iterations=4,
        progress=False,
    )


def _balance_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variable": ["Age band", "Age band", "Disability", "Ethnicity"],
            "level": ["0-4", "5-9", "Yes", "Mixed"],
            "smd": [0.05, -0.12, 0.02, 0.3],
        }
    )


PLOTS: dict[str, Callable[[], object]] = {
    "plot_balance": lambda: plotting.plot_balance(_balance_table()),
    "plot_imputation_trace": lambda: plotting.plot_imputation_trace(_imputed(), "ethnicity"),
    "plot_observed_imputed": lambda: plotting.plot_observed_imputed(
        _imputed(), "ethnicity", by="treated"
    ),
    "plot_aggregate": lambda: plotting.plot_aggregate(every_result()["cs_dynamic"]),
    "plot_bacon": lambda: plotting.plot_bacon(
        every_result()["bacon"].comparisons, overall=every_result()["bacon"].estimate
    ),
    "plot_claims": lambda: plotting.plot_claims(audit()),
    "plot_conformal": lambda: plotting.plot_conformal(every_result()["conformal"]),
    "plot_comparison": lambda: plotting.plot_comparison(every_result()["proportions"]),
    "plot_design": lambda: plotting.plot_design(_design()),
    "plot_event_study": lambda: plotting.plot_event_study(
        every_result()["event_study"].event_table(), reference=-1
    ),
    "plot_forest": lambda: plotting.plot_forest(
        {
            "CR2": every_result()["did_cr2"],
            "wild_bootstrap": every_result()["did_wild"],
            "randomization": every_result()["did_randomization"],
        }
    ),
    "plot_honest_did": lambda: plotting.plot_honest_did(every_result()["honest_rm"]),
    "plot_impact": lambda: plotting.plot_impact(_savings()),
    "plot_its": lambda: plotting.plot_its(
        se.its(
            datasets.council_panel().query("la == 'Leeds'"),
            outcome="cpp_rate",
            time="year",
            start=2015,
        )
    ),
    "plot_leave_one_out": lambda: plotting.plot_leave_one_out(_synthetic()),
    "plot_placebo_gaps": lambda: plotting.plot_placebo_gaps(_synthetic()),
    "plot_pretrends": lambda: plotting.plot_pretrends(
        every_result()["did_cr2"].pretrends(placebo_shift=2)
    ),
    "plot_rates": _rates,
    "plot_synthetic": lambda: plotting.plot_synthetic(_synthetic()),
    "plot_terms": lambda: plotting.plot_terms(every_result()["did_from_counts"]),
    "plot_tornado": lambda: plotting.plot_tornado(_savings()),
    "plot_trends": lambda: plotting.plot_trends(
        every_result()["did_cr2"].trends(),
        outcome="cpp_rate",
        time="year",
        start=2015,
        shade=LOCKDOWNS,
    ),
}


# ---------------------------------------------------------------- independent checks


def _drawn(artist) -> bool:
    return artist.get_visible() and artist.get_gid() != CONTEXT_GID


def _covered(ax, box) -> list[str]:
    """The data artists of ``ax`` that touch the display box ``box`` (matplotlib's geometry)."""
    hits = []
    grown = box.padded(1.0)
    for artist in [*ax.lines, *ax.collections, *ax.patches]:
        if not _drawn(artist):
            continue
        if isinstance(artist, Line2D):
            if artist.get_linestyle() not in ("None", "none", "", " "):
                path = artist.get_transform().transform_path(artist.get_path())
                if path.intersects_bbox(grown, filled=False):
                    hits.append(f"line {artist.get_label()!r}")
                    continue
            if artist.get_marker() not in (None, "None", "none", "", " "):
                radius = artist.get_markersize() / 2 * ax.figure.dpi / 72
                xy = artist.get_transform().transform(artist.get_xydata())
                xy = xy[np.isfinite(xy).all(axis=1)]
                inside = (
                    (xy[:, 0] >= grown.x0 - radius)
                    & (xy[:, 0] <= grown.x1 + radius)
                    & (xy[:, 1] >= grown.y0 - radius)
                    & (xy[:, 1] <= grown.y1 + radius)
                )
                if inside.any():
                    hits.append(f"markers {artist.get_label()!r}")
        elif isinstance(artist, PathCollection):
            xy = artist.get_offset_transform().transform(artist.get_offsets())
            if any(grown.contains(x, y) for x, y in xy):
                hits.append("scatter")
        elif isinstance(artist, Patch):
            if artist.get_window_extent().overlaps(grown):
                hits.append("patch")
        else:
            filled = not isinstance(artist, LineCollection)
            transform = artist.get_transform()
            if any(
                transform.transform_path(p).intersects_bbox(grown, filled=filled)
                for p in artist.get_paths()
            ):
                hits.append(type(artist).__name__)
    return hits


def _colours(ax) -> set[str]:
    """Every colour drawn on ``ax`` (lower-case hex, alpha ignored, transparent skipped)."""
    found = set()

    def add(colour):
        for c in np.atleast_2d(to_rgba_array(colour)):
            if c[3] > 0:
                found.add(to_hex(c[:3]).lower())

    for line in ax.lines:
        if line.get_visible():
            add(line.get_color())
            add(line.get_markerfacecolor())
            add(line.get_markeredgecolor())
    for artist in [*ax.collections, *ax.patches]:
        if artist.get_visible():
            add(artist.get_facecolor())
            add(artist.get_edgecolor())
    return found


def to_rgba_array(colour):
    if isinstance(colour, str) and colour.lower() == "none":
        return np.zeros((1, 4))
    array = np.asarray(colour, dtype=object)
    if array.ndim == 2:
        return np.array([to_rgba(tuple(c)) for c in array]) if len(array) else np.zeros((0, 4))
    return np.array([to_rgba(colour)])


def _is_words(text: str) -> bool:
    flat = " ".join(text.split())
    if not flat:
        return True
    code_like = has_label(flat) and label(flat) != flat
    return (
        "_" not in flat
        and flat not in PANEL_COLUMNS
        and not code_like
        and (flat[0].isupper() or flat[0].isdigit())
    )


def check_house_style(ax) -> None:
    """Assert every rule of the house style on a drawn figure."""
    figure = ax.figure
    figure.canvas.draw()
    legend = ax.get_legend()
    if legend is not None:
        box = legend.get_window_extent()
        assert not _covered(ax, box), f"legend covers {_covered(ax, box)}"
        whole = figure.bbox.padded(2.0)
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1, "legend outside the figure"
        assert whole.y0 <= box.y0 and box.y1 <= whole.y1, "legend outside the figure"
    sources = [t.get_text() for t in ax.texts if t.get_gid() == SOURCE_GID]
    assert len(sources) == 1 and sources[0].startswith("Source: ")
    assert ax.get_title(loc="left").strip()
    for text in (ax.get_xlabel(), ax.get_ylabel()):
        assert _is_words(text), f"axis label {text!r} is not vocabulary words"
    outside = _colours(ax) - HOUSE_COLOURS
    assert not outside, f"colours outside the house palette: {sorted(outside)}"
    assert len(alt_text(figure)) > 30


# ---------------------------------------------------------------- every public plot function


def test_every_public_plot_function_is_drawn_here():
    assert set(PLOTS) == set(plotting.__all__)


def test_a_numeric_imputed_column_draws_its_mean_per_chain():
    ax = plotting.plot_imputation_trace(_imputed(), "age")
    assert len(ax.get_lines()) == 3 and ax.get_ylabel() == "Imputed mean"
    check_house_style(ax)
    plt.close("all")
    with pytest.raises(InvalidValueError, match=r"`column` 'sex' was not imputed"):
        plotting.plot_imputation_trace(_imputed(), "sex")
    with pytest.raises(InvalidValueError, match=r"`statistic` must be one of"):
        plotting.plot_imputation_trace(_imputed(), "age", statistic="median")


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_every_public_plot_function_is_in_the_house_style(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = PLOTS[name]()
    try:
        check_house_style(ax)
    finally:
        plt.close("all")


@pytest.mark.parametrize("name", sorted(every_result()))
def test_every_result_plots_in_the_house_style_with_caller_words(name):
    """Every result's .plot() takes the main message and the source from the caller."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = every_result()[name].plot(title="The main message", source="DfE statistics")
    try:
        assert ax.get_title(loc="left") == "The main message"
        sources = [" ".join(t.get_text().split()) for t in ax.texts if t.get_gid() == SOURCE_GID]
        # a forest of terms adds its dagger note to the source line
        assert len(sources) == 1 and sources[0].startswith("Source: DfE statistics")
        check_house_style(ax)
    finally:
        plt.close("all")


def test_the_legend_moves_above_the_plot_when_data_fill_every_corner():
    """Lines through all four corners and the edges' middles: no inside place is free."""
    ax = new_axes()
    x = np.linspace(0, 1, 50)
    for y in (x, 1 - x, np.full(50, 0.5), np.full(50, 0.02), np.full(50, 0.98)):
        ax.plot(x, y, color=CATEGORICAL[0], label="a series")
    ax.plot([0.5, 0.5], [0, 1], color=CATEGORICAL[0], label="another")
    from sfpc_eval.plotting.layout import finish

    finish(ax, title="Crowded", xlabel="Year", ylabel="Rate", source=None)
    try:
        legend = ax.get_legend()
        assert legend is not None and not _covered(ax, legend.get_window_extent())
        assert legend.get_window_extent().y0 >= ax.bbox.y1 - 1  # above the plot
    finally:
        plt.close("all")


# ---------------------------------------------------------------- labels and percentages


def test_result_plot_takes_labels_and_rejects_unknown_names():
    res = every_result()["did_cr2"]
    ax = res.plot(labels={"treated": "Leeds", "comparison": "Statistical neighbours"})
    try:
        names = {t.get_text() for t in ax.texts} | set(ax.get_legend_handles_labels()[1])
        assert {"Leeds", "Statistical neighbours"} <= names
    finally:
        plt.close("all")
    with pytest.raises(LabelError, match=r"cpp_rte.*Did you mean 'cpp_rate'"):
        res.plot(labels={"cpp_rte": "Rate"})


@pytest.mark.parametrize(
    ("draw", "bad"),
    [
        (
            lambda labels: plotting.plot_rates(
                datasets.council_panel(), ["Leeds"], "cla_rate", labels=labels
            ),
            "cla_rte",
        ),
        (
            lambda labels: plotting.plot_forest({"CR2": every_result()["did_cr2"]}, labels=labels),
            "CR3",
        ),
        (lambda labels: every_result()["event_study"].plot(labels=labels), "evnt_time"),
        (lambda labels: plotting.plot_design(_design(), labels=labels), "Leds"),
        (lambda labels: every_result()["proportions"].plot(labels=labels), "treatd"),
    ],
)
def test_a_label_mapping_naming_an_unknown_column_is_a_label_error(draw, bad):
    with pytest.raises(LabelError) as caught:
        draw({bad: "Words"})
    assert bad in str(caught.value) and caught.value.unknown == [bad]
    assert "can relabel" in str(caught.value)
    plt.close("all")


def test_proportions_are_drawn_as_percentages():
    ax = se.compare_proportions((52, 140), (25, 100), labels=("FDAC", "comparison")).plot()
    try:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["comparison", "FDAC"]
        points = [line for line in ax.get_lines() if line.get_marker() == "o"]
        ys = sorted(float(line.get_ydata()[0]) for line in points)
        assert ys == pytest.approx(sorted([25.0, 100 * 52 / 140]), rel=1e-12)
        ax.figure.canvas.draw()
        ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert ticks and all(t.endswith("%") for t in ticks)
    finally:
        plt.close("all")


@pytest.mark.parametrize("name", ["glmm", "did_binomial"])
def test_shares_over_time_are_percentages(name):
    res = every_result()[name]
    ax = res.plot()
    try:
        shares = res.trends()["mean"].to_numpy()
        drawn = np.concatenate([line.get_ydata() for line in ax.get_lines()[:2]])
        assert sorted(drawn) == pytest.approx(sorted(100 * shares), rel=1e-12)
        ax.figure.canvas.draw()
        assert all(t.get_text().endswith("%") for t in ax.get_yticklabels() if t.get_text())
    finally:
        plt.close("all")


def test_comparison_title_says_the_change_in_words():
    ax = se.compare_counts(974, 515, labels=("2011", "2017")).plot()
    try:
        title = " ".join(ax.get_title(loc="left").split())
        assert title == "2017 compared with 2011: down 47.1% (95% CI 41.1% to 52.6%)"
    finally:
        plt.close("all")


def test_columns_the_vocabulary_does_not_know_are_worded_not_shown_as_code():
    frame = pd.DataFrame({"month_index": np.arange(24), "days_in_care": np.arange(24.0) % 5})
    ax = se.its(frame, outcome="days_in_care", time="month_index", start=12).plot()
    try:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("Month index", "Days in care")
    finally:
        plt.close("all")


# ---------------------------------------------------------------- councils over time


def test_each_council_start_is_marked_on_its_own_line():
    ax = _rates()
    try:
        starts = [line for line in ax.get_lines() if line.get_marker() == "D"]
        at = {float(line.get_xdata()[0]): to_hex(line.get_color()) for line in starts}
        assert set(at) == {2015.0, 2018.0}  # Leeds from 2015, Kirklees from 2018
        panel = datasets.council_panel()
        for year, council in ((2015.0, "Leeds"), (2018.0, "Kirklees")):
            line = next(x for x in starts if float(x.get_xdata()[0]) == year)
            rows = panel[(panel["la"] == council) & (panel["year"] == year)]
            expected = rows["cpp_rate"].item()
            assert float(line.get_ydata()[0]) == pytest.approx(expected, rel=1e-12)
        assert not [
            line
            for line in ax.lines
            if line.get_linestyle() == "--" and line.get_gid() == CONTEXT_GID
        ]  # no single "treatment starts" line
    finally:
        plt.close("all")


def test_starts_read_from_a_cohort_column():
    panel = datasets.staggered_panel()
    cohorts = panel.groupby("la")["cohort"].first().dropna()
    chosen = list(cohorts.sort_values().index[[0, -1]])
    ax = plotting.plot_rates(panel, chosen, "cla_rate", starts="cohort")
    try:
        marks = sorted(float(x.get_xdata()[0]) for x in ax.get_lines() if x.get_marker() == "D")
        assert marks == sorted(float(cohorts[c]) for c in chosen)
    finally:
        plt.close("all")


def test_a_council_not_in_the_panel_suggests_the_closest_names():
    with pytest.raises(UnknownAreaError, match=r"'Leds'.*Closest: 'Leeds'") as caught:
        plotting.plot_rates(datasets.council_panel(), ["Leds"], "cpp_rate")
    assert caught.value.suggestions[0] == "Leeds"
    with pytest.raises(UnknownAreaError, match="Closest: 'Kirklees'"):
        plotting.plot_rates(datasets.council_panel(), ["Leeds"], "cpp_rate", comparison=["Kirklee"])


def _shaded_spans(ax) -> list[tuple[float, float]]:
    spans = []
    for patch in ax.patches:
        if patch.get_gid() != CONTEXT_GID:
            continue
        verts = patch.get_patch_transform().transform(patch.get_path().vertices)
        spans.append((float(verts[:, 0].min()), float(verts[:, 0].max())))
    return spans


def test_a_lockdown_outside_the_data_is_clipped_not_refused():
    panel = datasets.council_panel().query("year <= 2020")
    periods = (
        ("2005-01-01", "2012-03-31", "Before the data"),  # starts before: clipped at 2010
        *LOCKDOWNS,  # the first ends after 2020 (31 March 2020): clipped; the others beyond
    )
    ax = plotting.plot_rates(panel, ["Leeds"], "cpp_rate", shade=periods)
    try:
        spans = sorted(_shaded_spans(ax))
        first = 2020 + (pd.Timestamp("2020-03-23") - pd.Timestamp("2020-03-31")).days / 365.25
        assert spans == [pytest.approx((2010.0, 2012.0)), pytest.approx((first, 2020.0))]
        assert "COVID-19 lockdowns in England" in alt_text(ax)
    finally:
        plt.close("all")
    with pytest.raises(InvalidValueError, match=r"ends .* before it starts"):
        plotting.plot_rates(panel, ["Leeds"], "cpp_rate", shade=[(2015, 2012, "Backwards")])


# ---------------------------------------------------------------- one comparison line


def test_the_comparison_line_is_the_mean_of_councils_own_rates():
    """By hand: each comparison council's own rate, averaged with equal weight per year."""
    panel = datasets.council_panel()
    others = sorted(set(panel["la"]) - {"Leeds"})
    ax = plotting.plot_rates(panel, ["Leeds"], "cpp_rate", comparison=others)
    try:
        line = next(x for x in ax.get_lines() if x.get_linestyle() == "--")
        own = panel[panel["la"].isin(others)].set_index(["year", "la"])["cpp_rate"]
        by_hand = own.groupby(level="year").mean()
        assert line.get_xdata() == pytest.approx(by_hand.index.to_numpy(dtype=float))
        assert line.get_ydata() == pytest.approx(by_hand.to_numpy(), rel=1e-12)
        # the DiD result's comparison line is the same line (one definition everywhere)
        trends = every_result()["did_cr2"].trends().query("group == 'comparison'")
        assert trends["mean"].to_numpy() == pytest.approx(by_hand.to_numpy(), rel=1e-12)
    finally:
        plt.close("all")


def test_did_estimate_is_the_change_in_the_treated_line_minus_the_comparison_line():
    """Closed form: with one start, a balanced panel and no weights, the two-way fixed-effects
    estimate is the difference of the lines' before-to-after changes (to rounding)."""
    res = every_result()["did_cr2"]
    lines = res.trends().pivot_table(index="time", columns="group", values="mean")
    after = lines.index >= 2015
    change = lines[after].mean() - lines[~after].mean()
    assert change["treated"] - change["comparison"] == pytest.approx(
        res.estimate.estimate, rel=1e-10
    )


# ---------------------------------------------------------------- forest and design


def test_forest_rows_are_the_methods_estimates_and_intervals():
    results = {n: every_result()[n] for n in ("glmm", "gee", "glm")}
    ax = plotting.plot_forest(results, term="odds_ratio")
    try:
        names = [" ".join(t.get_text().split()) for t in ax.get_yticklabels()]
        assert names == [label("glmm"), label("gee"), label("glm")]
        points = [x for x in ax.get_lines() if x.get_marker() == "o"]
        for line, res in zip(points, results.values(), strict=True):
            assert float(line.get_xdata()[0]) == pytest.approx(res.term("odds_ratio").estimate)
        assert ax.get_xscale() == "log"
    finally:
        plt.close("all")


def test_design_diagram_has_dates_and_cell_sizes():
    design = _design()
    ax = plotting.plot_design(design)
    try:
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks[0] == "Jan 2020\nto Mar 2020" and ticks[-1] == "Oct 2020\nto Dec 2020"
        sizes = [t.get_text() for t in ax.texts if t.get_gid() == "sfpc-design-size"]
        expected = [f"{m:,.0f}" for row in design.cluster_period_sizes for m in row]
        assert sizes == expected
        # Leeds' 400 children over 366 days: 91 days (Jan-Mar) hold 400 * 91 / 366 = 99.5
        assert sizes[0] == f"{400 * 91 / 366:,.0f}"
    finally:
        plt.close("all")


# ---------------------------------------------------------------- claims


def test_claims_figure_shows_every_conflict_and_failed_wording_first():
    table = audit()
    ax = plotting.plot_claims(table)
    try:
        rows = [" ".join(t.get_text().split()) for t in ax.get_yticklabels()]
        must = reading_order(table[table["status"].isin([CONFLICT, WORDING_FAILS])])
        assert rows[: len(must)] == list(must["label"])
        assert not any("_" in r for r in rows)  # labels, not registry ids
        assert len(rows) == int((table["status"] != "stated only").sum())
    finally:
        plt.close("all")


def test_claims_figure_refuses_an_unknown_status():
    with pytest.raises(InvalidValueError, match="not statuses"):
        plotting.plot_claims(audit(), statuses=["wrong"])
