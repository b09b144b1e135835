"""SteppedWedgeDesign: construction, exposure, dates, randomisation, plot and bad inputs."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from sfpc_eval.errors import DesignError, InvalidValueError, MissingColumnError
from sfpc_eval.trials.design import SteppedWedgeDesign

FS_SWITCHES = {
    "Walsall": "2020-09-01",
    "Lancashire": "2021-02-01",
    "Telford and Wrekin": "2021-06-28",
    "Wandsworth": "2022-01-24",
    "Swindon": "2022-05-24",
}


def five():
    return SteppedWedgeDesign(list("ABCDE"), [1, 2, 3, 4, 5], 6)


# ------------------------------------------------------------------ construction
def test_exposure_matrix_is_a_staircase():
    x = five().exposure_matrix()
    assert x.shape == (5, 6)
    expected = (np.arange(6)[None, :] >= np.arange(1, 6)[:, None]).astype(float)
    np.testing.assert_array_equal(x, expected)


def test_transition_periods_excluded_or_partial():
    d = SteppedWedgeDesign(list("ABC"), [1, 2, 3], 5, transition_periods=1)
    x = d.exposure_matrix()
    assert np.isnan(x[0, 1]) and x[0, 2] == 1 and x[0, 0] == 0
    assert not d.is_complete
    p = SteppedWedgeDesign(
        list("ABC"), [1, 2, 3], 5, transition_periods=[1, 2, 0], transition_exposure=0.5
    )
    np.testing.assert_array_equal(p.exposure_matrix()[1], [0, 0, 0.5, 0.5, 1])
    np.testing.assert_array_equal(p.exposure_matrix()[2], [0, 0, 0, 1, 1])


def test_unobserved_cells_by_label_or_index():
    d = SteppedWedgeDesign(
        list("ABC"), [1, 2, 3], ["p1", "p2", "p3", "p4"], unobserved=[("A", "p4"), (2, 0)]
    )
    x = d.exposure_matrix()
    assert np.isnan(x[0, 3]) and np.isnan(x[2, 0])
    assert np.isnan(x).sum() == 2


def test_sizes_forms():
    d = SteppedWedgeDesign(list("ABC"), [1, 2, 3], 4, cluster_period_sizes=[10, 20, 30])
    np.testing.assert_array_equal(d.sizes()[:, 0], [10, 20, 30])
    assert d.sizes(5).sum() == 60
    with pytest.raises(InvalidValueError, match="no cluster-period sizes"):
        SteppedWedgeDesign(list("ABC"), [1, 2, 3], 4).sizes()


def test_complete_mirrors_swdsn():
    d = SteppedWedgeDesign.complete([6, 6, 6, 6])
    assert d.n_clusters == 24 and d.n_periods == 5 and d.n_sequences == 4
    d2 = SteppedWedgeDesign.complete([1, 2], extra_periods=2)
    assert d2.n_periods == 5 and d2.switch_periods == (1, 2, 2)


def test_from_switch_dates_family_safeguarding():
    d = SteppedWedgeDesign.from_switch_dates(FS_SWITCHES, start="2020-03-01", end="2022-11-24")
    assert d.periods == (
        "2020-03-01",
        "2020-09-01",
        "2021-02-01",
        "2021-06-28",
        "2022-01-24",
        "2022-05-24",
    )
    assert d.switch_periods == (1, 2, 3, 4, 5)
    assert d.is_complete
    assert d.period_end == pd.Timestamp("2022-11-24")


def test_from_switch_dates_grid_marks_mid_period_switch_as_transition():
    d = SteppedWedgeDesign.from_switch_dates(
        {"A": "2020-04-01", "B": "2020-08-15", "C": "2021-01-01"},
        start="2020-01-01",
        end="2021-07-01",
        freq="QS",
    )
    # quarters: 2020-01, 04, 07, 10, 2021-01, 04
    assert d.switch_periods == (1, 2, 4)
    assert d.transition_periods == (0, 1, 0)
    assert np.isnan(d.exposure_matrix()[1, 2]) and d.exposure_matrix()[1, 3] == 1


def test_children_per_cluster_spread_by_period_length():
    d = SteppedWedgeDesign.from_switch_dates(
        {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
        start="2020-01-01",
        end="2020-05-01",
        children_per_cluster=[121, 121, 121],
    )
    # periods of 31, 29, 31 and 30 days (2020 is a leap year)
    np.testing.assert_allclose(d.sizes()[0], [31, 29, 31, 30])


def test_from_exposure_and_from_data_round_trip():
    x = five().exposure_matrix()
    d = SteppedWedgeDesign.from_exposure(x, clusters=list("ABCDE"))
    assert d.switch_periods == (1, 2, 3, 4, 5)
    rows = [(c, t, x[i, t]) for i, c in enumerate("ABCDE") for t in range(6) for _ in range(3)]
    df = pd.DataFrame(rows, columns=["la", "period", "treated"])
    before = df.copy()
    d2 = SteppedWedgeDesign.from_data(df, cluster="la", period="period", treated="treated")
    pd.testing.assert_frame_equal(df, before)  # caller's frame untouched
    assert d2.switch_periods == (1, 2, 3, 4, 5)
    assert d2.sizes().sum() == 90


# ------------------------------------------------------------------ randomisation
def test_five_clusters_unstratified_have_120_orders():
    d = five()
    orders = d.admissible_orders()
    assert d.n_admissible_orders() == 120
    assert orders.shape == (120, 5)
    assert len({tuple(r) for r in orders}) == 120
    assert tuple(d.switch_periods) in {tuple(r) for r in orders}


def test_family_safeguarding_strata_give_12_orders():
    d = SteppedWedgeDesign.from_switch_dates(
        FS_SWITCHES,
        start="2020-03-01",
        end="2022-11-24",
        strata={
            "Walsall": "high",
            "Lancashire": "high",
            "Telford and Wrekin": "other",
            "Wandsworth": "other",
            "Swindon": "other",
        },
    )
    orders = d.admissible_orders()
    assert orders.shape == (12, 5)  # 2! x 3!
    # high-readiness councils always take steps 1 and 2
    assert set(map(tuple, np.sort(orders[:, :2], axis=1))) == {(1, 2)}


def test_repeated_sequences_are_counted_once():
    d = SteppedWedgeDesign.complete([2, 2])  # 4 clusters, 2 per sequence
    assert d.n_admissible_orders() == math.comb(4, 2)
    assert len(d.admissible_orders()) == 6


def test_randomise_is_seeded_and_respects_strata():
    d = five()
    a = d.randomise(strata="HHLLL", rng=7)
    b = d.randomise(strata="HHLLL", rng=7)
    assert a.switch_periods == b.switch_periods
    assert sorted(a.switch_periods[:2]) == [1, 2]
    assert a.strata == tuple("HHLLL")
    assert d.switch_periods == (1, 2, 3, 4, 5)  # unchanged
    seen = {d.randomise(rng=s).switch_periods for s in range(200)}
    assert len(seen) > 50  # unstratified draws explore the 120 orders


def test_with_switch_periods_carries_transition_with_the_sequence():
    d = SteppedWedgeDesign(list("ABC"), [1, 2, 3], 5, transition_periods=[1, 0, 0])
    e = d.with_switch_periods([2, 1, 3])
    assert e.transition_periods == (0, 1, 0)


# ------------------------------------------------------------------ plot
def test_plot_returns_axes_with_one_cell_per_cluster_period():
    d = SteppedWedgeDesign(
        list("ABCD"),
        [1, 2, 3, 4],
        6,
        transition_periods=1,
        unobserved=[(0, 5)],
        cluster_period_sizes=10,
        strata="HHLL",
    )
    ax = d.plot(show_sizes=True)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert len(ax.patches) == 4 * 6
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 4  # one transition cell per cluster
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["control", "intervention", "transition", "unobserved"]
    matplotlib.pyplot.close("all")


# ------------------------------------------------------------------ bad inputs
def test_fewer_than_three_clusters():
    with pytest.raises(
        DesignError,
        match=r"at least 3 clusters; got 2 \(A, B\).*not "
        r"estimable.*randomization inference",
    ):
        SteppedWedgeDesign(["A", "B"], [1, 2], 3)


def test_cluster_never_switches():
    with pytest.raises(
        DesignError,
        match=r"never switch.*'C \(switch period 4\)'.*not a "
        r"stepped wedge",
    ):
        SteppedWedgeDesign(list("ABC"), [1, 2, 4], 4)


def test_never_switching_from_exposure():
    x = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    with pytest.raises(DesignError, match=r"never switch.*'3 \(switch period 3\)'"):
        SteppedWedgeDesign.from_exposure(x)


def test_all_clusters_switch_at_once():
    with pytest.raises(
        DesignError,
        match=r"all 3 clusters switch.*same period \('2'\).*not "
        r"a stepped wedge",
    ):
        SteppedWedgeDesign(list("ABC"), [1, 1, 1], 3)


def test_all_at_once_from_switch_dates():
    with pytest.raises(DesignError, match="not a stepped wedge"):
        SteppedWedgeDesign.from_switch_dates(
            dict.fromkeys("ABC", "2021-01-01"), start="2020-01-01", end="2022-01-01"
        )


def test_treatment_switching_off():
    x = [[0, 1, 0, 1], [0, 0, 1, 1], [0, 0, 0, 1]]
    with pytest.raises(
        DesignError,
        match=r"switches off in 1 cluster.*'1 \(exposed from "
        r"period index 1, control again at 2\)'",
    ):
        SteppedWedgeDesign.from_exposure(x)


def test_treatment_switching_off_in_data():
    df = pd.DataFrame(
        {"la": list("AAABBBCCC"), "t": [1, 2, 3] * 3, "d": [0, 1, 0, 0, 1, 1, 0, 0, 1]}
    )
    with pytest.raises(DesignError, match="switches off"):
        SteppedWedgeDesign.from_data(df, cluster="la", period="t", treated="d")


def test_mixed_treatment_within_cluster_period():
    df = pd.DataFrame({"la": list("AABBCC"), "t": [1, 1, 2, 2, 2, 2], "d": [0, 1, 0, 0, 1, 1]})
    with pytest.raises(DesignError, match=r"varies within cluster-period\(s\) \('A', 1\)"):
        SteppedWedgeDesign.from_data(df, cluster="la", period="t", treated="d")


def test_from_data_missing_column_and_missing_values():
    df = pd.DataFrame({"la": list("ABC"), "t": [1, 2, 3], "d": [0, 1, np.nan]})
    with pytest.raises(MissingColumnError, match=r"'period'.*The data has these columns"):
        SteppedWedgeDesign.from_data(df, cluster="la", period="period", treated="d")
    with pytest.raises(
        InvalidValueError,
        match=r"1 row\(s\) have a missing la, t or d value "
        r"\(rows 2 \(1 value\)\)",
    ):
        SteppedWedgeDesign.from_data(df, cluster="la", period="t", treated="d")


def test_exposure_values_must_be_0_1_nan():
    with pytest.raises(InvalidValueError, match=r"0 \(control\), 1 \(exposed\) or NaN.*'2\[1\]=2'"):
        SteppedWedgeDesign.from_exposure([[0, 1, 1], [0, 2, 1], [0, 0, 1]])
    with pytest.raises(InvalidValueError, match="2-D clusters x periods"):
        SteppedWedgeDesign.from_exposure([0, 1, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"clusters": list("ABB"), "switch_periods": [1, 2, 3], "periods": 4},
            r"`clusters` must name each one once; repeated: 'B'",
        ),
        (
            {"clusters": list("ABC"), "switch_periods": [1, 2], "periods": 4},
            "`switch_periods` has 2 entries but there are 3 clusters",
        ),
        (
            {"clusters": list("ABC"), "switch_periods": [1, -2, 3], "periods": 4},
            r"non-negative integers.*B=-2",
        ),
        (
            {"clusters": list("ABC"), "switch_periods": [1, 2.5, 3], "periods": 4},
            r"non-negative integers.*B=2.5",
        ),
        (
            {"clusters": list("ABC"), "switch_periods": [1, 2, 3], "periods": 1},
            "`periods` must be at least 2",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "transition_periods": [1, 2],
            },
            "`transition_periods` has 2 entries for 3",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "transition_periods": -1,
            },
            "`transition_periods` must be non-negative",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "transition_exposure": 1.5,
            },
            r"strictly between 0 and 1 \(partial exposure\)",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "unobserved": [("Z", 1)],
            },
            r"unknown cluster 'Z' in `unobserved`",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "unobserved": [(0, 9)],
            },
            "period index 9 is out of range",
        ),
        (
            {"clusters": list("ABC"), "switch_periods": [1, 2, 3], "periods": 4, "unobserved": [5]},
            r"\(cluster, period\) pairs; got 5",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "cluster_period_sizes": [1, 2],
            },
            "2 values for 3 clusters",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "cluster_period_sizes": -5,
            },
            r"finite and non-negative; bad cells.*\(0, 0\)",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "cluster_period_sizes": np.ones((2, 2)),
            },
            r"shape \(2, 2\).*must be \(3, 4\)",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "strata": ["H", "L"],
            },
            "`strata` has 2 entries for 3 clusters",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "strata": {"A": "H", "B": "L", "Q": "L"},
            },
            r"missing: 'C'.*unknown clusters: 'Q'",
        ),
        (
            {
                "clusters": list("ABC"),
                "switch_periods": [1, 2, 3],
                "periods": 4,
                "unobserved": [(0, 0), (0, 1), (0, 2), (0, 3)],
            },
            r"no analysable cluster-period: 'A'",
        ),
    ],
)
def test_constructor_bad_inputs(kwargs, match):
    with pytest.raises((InvalidValueError, DesignError), match=match):
        SteppedWedgeDesign(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"switch_dates": {"A": "2020-02-01", "B": "not a date", "C": "2020-04-01"}},
            r"`switch_dates\['B'\]` must be a date",
        ),
        (
            {"switch_dates": {"A": "2019-02-01", "B": "2020-03-01", "C": "2020-04-01"}},
            r"within the trial.*outside: 'A=2019-02-01'",
        ),
        (
            {
                "switch_dates": {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
                "freq": "MS",
                "period_starts": ["2020-01-01"],
            },
            "either `period_starts` or `freq`",
        ),
        (
            {
                "switch_dates": {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
                "period_starts": ["2020-02-01", "2020-03-01"],
            },
            "first of `period_starts` must equal",
        ),
        (
            {
                "switch_dates": {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
                "period_starts": ["2020-01-01", "2020-03-01", "2020-02-01"],
            },
            "strictly increasing",
        ),
        (
            {
                "switch_dates": {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
                "freq": "fortnightly-ish",
            },
            "`freq` must be a pandas offset alias",
        ),
        (
            {
                "switch_dates": {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
                "children_per_cluster": [1, 2],
            },
            "one number per cluster",
        ),
        (
            {
                "switch_dates": {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
                "children_per_cluster": {"A": 1, "B": 2},
            },
            r"lacks cluster\(s\) 'C'",
        ),
        (
            {
                "switch_dates": {"A": "2020-02-01", "B": "2020-03-01", "C": "2020-04-01"},
                "children_per_cluster": [1, 2, 3],
                "cluster_period_sizes": 5,
            },
            "either `cluster_period_sizes` or `children_per_cluster`",
        ),
    ],
)
def test_from_switch_dates_bad_inputs(kwargs, match):
    kwargs = {"start": "2020-01-01", "end": "2021-01-01", **kwargs}
    with pytest.raises(InvalidValueError, match=match):
        SteppedWedgeDesign.from_switch_dates(**kwargs)


def test_end_before_start():
    with pytest.raises(InvalidValueError, match=r"`end` \(2019-01-01\) must be after `start`"):
        SteppedWedgeDesign.from_switch_dates(
            {"A": "2020-01-01"}, start="2020-01-01", end="2019-01-01"
        )


def test_complete_bad_input():
    with pytest.raises(InvalidValueError, match="`clusters_per_sequence` must be positive"):
        SteppedWedgeDesign.complete([2, 0, 1])


def test_with_switch_periods_must_rearrange():
    with pytest.raises(
        InvalidValueError,
        match=r"rearrange the design's own switch periods "
        r"\[1, 2, 3, 4, 5\]",
    ):
        five().with_switch_periods([1, 1, 3, 4, 5])


def test_size_zero_in_analysed_cell():
    d = SteppedWedgeDesign(
        list("ABC"), [1, 2, 3], 4, cluster_period_sizes=[[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 1, 1]]
    )
    with pytest.raises(InvalidValueError, match=r"size is 0 in analysed cell\(s\) 'B/2'"):
        d.sizes()


def test_too_many_orders_to_enumerate():
    d = SteppedWedgeDesign([f"c{i}" for i in range(12)], list(range(1, 13)), 13)
    with pytest.raises(DesignError, match=r"too many to enumerate.*randomise"):
        d.admissible_orders()


def test_orders_with_a_mid_period_switch_sharing_a_period():
    # A switches at the start of Q2, B in the middle of Q2 (a transition period): one switch
    # period, two transition lengths; orders count switch periods (3!/2! = 3) and the
    # transition lengths are kept as a multiset when clusters are reassigned
    d = SteppedWedgeDesign.from_switch_dates(
        {"A": "2020-04-01", "B": "2020-05-15", "C": "2020-10-01"},
        start="2020-01-01",
        end="2021-01-01",
        freq="QS",
    )
    assert d.switch_periods == (1, 1, 3) and d.transition_periods == (0, 1, 0)
    assert d.n_admissible_orders() == 3 == len(d.admissible_orders())
    e = d.with_switch_periods([3, 1, 1])
    assert e.switch_periods == (3, 1, 1)
    assert sorted(e.transition_periods) == [0, 0, 1]
