"""Small generated inputs for the property-based suite: council x period panels (with the
damage real files carry), child-level stepped-wedge trials, scalars and inference options.

Sizes stay small (2-7 councils, 2-7 periods) so each example runs in milliseconds.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
from hypothesis import strategies as st

import sfpc_eval as se
from sfpc_eval import _terms, _validate

DAMAGE = (
    "nan_outcome",
    "inf_outcome",
    "duplicate_row",
    "drop_row",
    "constant_outcome",
    "string_periods",
    "suppressed_symbol",
    "duplicate_column",
    "huge_outcome",
    "tiny_outcome",
    "negative_outcome",
    "nan_unit",
    "bool_treated",
    "float_periods",
    "gappy_periods",
)

CONF_LEVELS = st.sampled_from(
    [0.95, 0.9, 0.8, 0.5, 0.99, 0.999] * 9 + [0.0, 1.0, 1.5, 95, -0.1, float("nan")]
)
"""Confidence levels: nine in ten valid, the rest ones that must be refused."""

SEEDS_CHECKED = "minimum" in inspect.signature(_validate.check_resamples).parameters
"""Whether every entry checks seeds and resample counts (issue 19's hardening). Until then the
suite generates valid ones only; afterwards bad ones too (they must be typed errors)."""

SCALARS_BOUNDED = hasattr(_validate, "MAX_MAGNITUDE")
"""Whether scalar arguments have stated bounds (issue 19's hardening): then the before/after
functions get magnitudes up to 1e308 and down to 5e-324 too."""

WALD_SAFE = hasattr(_terms, "welch_df")
"""Whether Wald terms survive zero and overflowing standard errors (issue 19's hardening):
until then the mean comparisons get group sizes of 30 or more, whose ratio intervals stay in
range."""

SEEDS = st.one_of(
    st.integers(0, 2**32 - 1),
    st.sampled_from([-1, 2**70, 1.5, "seven", None] if SEEDS_CHECKED else [None]),
)


@st.composite
def panels(draw, *, min_units: int = 2, max_units: int = 7, damage: bool = True):
    """A council x period panel with columns ``la``, ``year``, ``y`` (outcome), ``x``
    (covariate), ``w`` (weights), ``cohort`` (first treated year, NaN never) and ``treated``.

    Returns ``(frame, info)``; ``info`` holds the treated councils, their start, the periods
    and the damage applied.
    """
    n_units = draw(st.integers(min_units, max_units))
    n_periods = draw(st.integers(2, 7))
    first = draw(st.sampled_from([2010, 2015, 1, 0]))
    periods = list(range(first, first + n_periods))
    units = [f"LA{i}" for i in range(n_units)]
    starts = [*periods[1:], periods[-1] + 1] if n_periods > 1 else periods
    # never treated, adopting within the panel, and rarely the edge cases: treated from the
    # first period, or adopting after the last
    later = periods[1:] or periods
    cohort_choice = st.sampled_from([None] * len(later) + later * 2 + [periods[0], periods[-1] + 1])
    cohorts = draw(st.lists(cohort_choice, min_size=n_units, max_size=n_units))
    if draw(st.booleans()):  # the common SFPC shape: some treated, some never
        cohorts[0] = draw(st.sampled_from(starts))
        cohorts[-1] = None
    kind = draw(st.sampled_from(["gaussian", "counts", "binary", "rates"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    unit_effect = rng.normal(0, 2, n_units)
    time_effect = rng.normal(0, 1, n_periods)
    unit_weight = rng.uniform(0.5, 2, n_units)
    effect = draw(st.sampled_from([0.0, -1.0, 3.0]))
    rows = []
    for u, name in enumerate(units):
        for t, period in enumerate(periods):
            c = cohorts[u]
            treated = int(c is not None and period >= c)
            mean = 5 + unit_effect[u] + time_effect[t] + effect * treated
            if kind == "counts":
                y = float(rng.poisson(max(mean, 0.1) * 10))
            elif kind == "binary":
                y = float(rng.random() < 1 / (1 + np.exp(-(mean - 5))))
            elif kind == "rates":
                y = float(max(mean, 0.0) * 10 + rng.gamma(2.0))
            else:
                y = float(mean + rng.normal(0, draw(st.sampled_from([0.0, 0.1, 1.0]))))
            rows.append(
                {
                    "la": name,
                    "year": period,
                    "y": y,
                    "x": float(rng.normal()),
                    "w": float(unit_weight[u]),  # sampling weights are the unit's
                    "cohort": float("nan") if c is None else float(c),
                    "treated": treated,
                }
            )
    frame = pd.DataFrame(rows)
    applied = []
    if damage:
        # half the panels are clean, so that most examples reach the estimator's arithmetic
        applied = draw(st.lists(st.sampled_from(DAMAGE), max_size=2, unique=True))
        applied = applied if draw(st.booleans()) else []
        frame = _damage(draw, frame, applied)
    info = {
        "treated_units": sorted({u for u, c in zip(units, cohorts, strict=True) if c is not None}),
        "cohorts": cohorts,
        "periods": periods,
        "start": draw(st.sampled_from(periods[1:] or periods)),
        "units": units,
        "damage": applied,
        "kind": kind,
    }
    return frame, info


def _damage(draw, frame: pd.DataFrame, applied: list[str]) -> pd.DataFrame:
    n = len(frame)
    row = draw(st.integers(0, n - 1))
    numeric = {"huge_outcome", "tiny_outcome", "negative_outcome", "gappy_periods", "float_periods"}
    # damage that needs numbers first, then damage that makes a column text
    for what in sorted(applied, key=lambda w: w not in numeric):
        if what == "nan_outcome":
            frame.loc[row, "y"] = np.nan
        elif what == "inf_outcome":
            frame.loc[row, "y"] = draw(st.sampled_from([np.inf, -np.inf]))
        elif what == "duplicate_row":
            frame = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
        elif what == "drop_row" and n > 1:
            frame = frame.drop(index=frame.index[row % len(frame)]).reset_index(drop=True)
        elif what == "constant_outcome":
            frame["y"] = draw(st.sampled_from([0.0, 1.0, 7.5]))
        elif what == "string_periods":
            frame["year"] = frame["year"].astype(str)
        elif what == "suppressed_symbol":
            frame["y"] = frame["y"].astype(object)
            frame.loc[row % len(frame), "y"] = draw(st.sampled_from(["c", "x", "[z]", ""]))
        elif what == "duplicate_column":
            frame = pd.concat([frame, frame[["y"]]], axis=1)
        elif what == "huge_outcome":
            frame["y"] = frame["y"] * draw(st.sampled_from([1e12, 1e150, 1e300]))
        elif what == "tiny_outcome":
            frame["y"] = frame["y"] * draw(st.sampled_from([1e-12, 1e-150, 1e-300]))
        elif what == "negative_outcome":
            frame["y"] = -frame["y"].astype(float).abs() - 1
        elif what == "nan_unit":
            frame["la"] = frame["la"].astype(object)
            frame.loc[row % len(frame), "la"] = None
        elif what == "bool_treated":
            frame["treated"] = frame["treated"].astype(bool)
        elif what == "float_periods":
            frame["year"] = frame["year"].astype(float) + draw(st.sampled_from([0.0, 0.5]))
        elif what == "gappy_periods":
            frame["year"] = frame["year"] * 2
    return frame


def inference_options(*, allow_bootstrap: bool = True):
    """``inference=`` values for the panel estimators (small resample counts)."""
    options = [
        st.none(),
        st.just(se.ClusterRobust()),
        st.just(se.ClusterRobust(kind="CR1")),
        st.just(se.HeteroskedasticityRobust()),
        st.just(se.Classical()),
        st.just(se.ClusterRobust(kind="CR3", df="G-1")),
    ]
    if allow_bootstrap:
        options.append(
            st.builds(lambda s: se.WildClusterBootstrap(n_resamples=99, rng=s), st.integers(0, 100))
        )
        options.append(
            st.builds(lambda s: se.Randomization(n_resamples=99, rng=s), st.integers(0, 100))
        )
    return st.one_of(options)


@st.composite
def trials(draw):
    """A child-level stepped-wedge trial: 3-6 clusters crossing over one step at a time,
    2-12 children per cluster-period, a 0/1 outcome and a covariate."""
    n_clusters = draw(st.integers(3, 6))
    n_periods = draw(st.integers(3, 5))
    per_cell = draw(st.integers(2, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    base = draw(st.sampled_from([0.02, 0.2, 0.5, 0.9]))
    effect = draw(st.sampled_from([0.0, -0.1, 0.1]))
    steps = sorted(
        draw(st.lists(st.integers(1, n_periods - 1), min_size=n_clusters, max_size=n_clusters))
    )
    cluster_sd = draw(st.sampled_from([0.0, 0.3, 1.0]))
    rows = []
    for c in range(n_clusters):
        shift = rng.normal(0, cluster_sd)
        for period in range(n_periods):
            treated = int(period >= steps[c])
            p = 1 / (1 + np.exp(-(np.log(base / (1 - base)) + shift + 4 * effect * treated)))
            for _ in range(per_cell):
                rows.append((f"C{c}", period, treated, int(rng.random() < p), rng.normal()))
    frame = pd.DataFrame(rows, columns=["cluster", "period", "treated", "outcome", "age"])
    applied = draw(
        st.lists(
            st.sampled_from(
                ["all_zero", "all_one", "nan_outcome", "drop_cluster_period", "never_switch"]
            ),
            max_size=1,
        )
    )
    for what in applied:
        if what == "all_zero":
            frame["outcome"] = 0
        elif what == "all_one":
            frame["outcome"] = 1
        elif what == "nan_outcome":
            frame["outcome"] = frame["outcome"].astype(float)
            frame.loc[0, "outcome"] = np.nan
        elif what == "drop_cluster_period":
            keep = ~((frame["cluster"] == "C0") & (frame["period"] == 0))
            frame = frame[keep].reset_index(drop=True)
        elif what == "never_switch":
            frame["treated"] = 0
    return frame
