"""Regression difference-in-differences: cells equal rows, bad inputs, known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError, InvalidValueError, MissingColumnError
from sfpc_eval.inference import Classical, ClusterRobust

KINDS = ["CR0", "CR1", "CR2", "CR3"]


def children(n: int = 100_000, seed: int = 3) -> pd.DataFrame:
    """Child-level rows: 12 LAs x 6 periods, 5 LAs treated from period 3, two covariates."""
    rng = np.random.default_rng(seed)
    la = rng.integers(0, 12, n)
    period = rng.integers(0, 6, n)
    treated = ((la < 5) & (period >= 3)).astype(int)
    age = rng.integers(0, 18, n)
    female = rng.integers(0, 2, n)
    eta = -2 + 0.1 * la / 12 - 0.3 * treated + 0.03 * age + 0.2 * female + 0.05 * period
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame(
        {"la": la, "period": period, "treated": treated, "age": age, "female": female, "y": y}
    )


@pytest.fixture(scope="module")
def child_rows() -> pd.DataFrame:
    return children()


def _assert_same(cells, rows):
    assert cells.n_cells < rows.n_cells
    np.testing.assert_allclose(cells._fit.beta, rows._fit.beta, rtol=0, atol=1e-10)
    scale = np.abs(rows._var.vcov).max()
    np.testing.assert_allclose(cells._var.vcov, rows._var.vcov, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(cells._var.df[:3], rows._var.df[:3], rtol=1e-10)


INFERENCES = {
    "CR0": se.ClusterRobust(kind="CR0", df="satterthwaite"),
    "CR1": se.ClusterRobust(kind="CR1", df="satterthwaite"),
    "CR2": se.ClusterRobust(kind="CR2", root="whitened"),
    "HC1": se.HeteroskedasticityRobust(),
    "classical": Classical(),
}


@pytest.mark.slow
@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson"])
@pytest.mark.parametrize("kind", list(INFERENCES))
def test_cells_equal_rows_for_every_variance(child_rows, family, kind):
    """100,000 child rows collapse to 2,592 cells; coefficients and the whole variance matrix
    agree to 1e-10 (relative to its largest entry), Satterthwaite df to 1e-10 relative.
    (For the Gaussian family the whitened and symmetric CR2 roots coincide.)"""
    kwargs = dict(
        outcome="y",
        unit="la",
        time="period",
        treated="treated",
        covariates=["age", "female"],
        family=family,
        inference=INFERENCES[kind],
    )
    cells = se.did(child_rows, **kwargs)
    rows = se.did(child_rows, **kwargs, collapse_rows=False)
    assert rows.n_cells == 100_000
    _assert_same(cells, rows)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_cells_equal_rows_for_the_symmetric_cr2_root(child_rows, family):
    """clubSandwich's (symmetric) CR2 root for GLMs needs a dense eigendecomposition per
    cluster at row level, so this check uses the first 3,600 rows (about 300 per LA)."""
    sample = child_rows.iloc[:3_600]
    kwargs = dict(
        outcome="y",
        unit="la",
        time="period",
        treated="treated",
        covariates=["age", "female"],
        family=family,
        inference=se.ClusterRobust(),
    )
    _assert_same(se.did(sample, **kwargs), se.did(sample, **kwargs, collapse_rows=False))


@pytest.mark.slow
@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_cells_equal_rows_for_cr3_clustered_by_family(child_rows, family):
    """CR3 needs clusters that nest no fixed effect: families of 3 children in an LA-period."""
    position = child_rows.groupby(["la", "period"]).cumcount()
    frame = child_rows[position < 30].copy()
    within = frame.groupby(["la", "period"]).cumcount() // 3
    frame["family"] = (
        frame["la"].astype(str) + "-" + frame["period"].astype(str) + "-" + within.astype(str)
    )
    kwargs = dict(
        outcome="y",
        unit="la",
        time="period",
        treated="treated",
        covariates=["age"],
        family=family,
        inference=se.ClusterRobust("family", kind="CR3"),
    )
    _assert_same(se.did(frame, **kwargs), se.did(frame, **kwargs, collapse_rows=False))


def test_classical_variance_also_survives_collapsing(child_rows):
    sample = child_rows.iloc[:20_000]
    kwargs = dict(
        outcome="y",
        unit="la",
        time="period",
        treated="treated",
        covariates=["age"],
        inference=Classical(),
    )
    a, b = se.did(sample, **kwargs), se.did(sample, **kwargs, collapse_rows=False)
    np.testing.assert_allclose(a._var.vcov, b._var.vcov, rtol=1e-10)


def la_panel(seed: int = 7, n_la: int = 20, effect: float = -5.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(la, year) for la in range(n_la) for year in range(2012, 2022)]
    panel = pd.DataFrame(rows, columns=["la", "year"])
    panel["treated"] = ((panel["la"] < n_la // 2) & (panel["year"] >= 2017)).astype(int)
    la_effect = rng.normal(0, 10, n_la)[panel["la"]]
    year_effect = rng.normal(0, 3, 10)[panel["year"] - 2012]
    panel["rate"] = 60 + la_effect + year_effect + effect * panel["treated"]
    panel["rate"] += rng.normal(0, 2, len(panel))
    panel["pop"] = rng.integers(20_000, 90_000, n_la)[panel["la"]].astype(float)
    panel["count"] = rng.poisson(
        panel["rate"] * panel["pop"] / 10_000 * np.exp(-0.1 * panel["treated"])
    )
    return panel


def test_recovers_a_known_effect():
    """Known truth: effect -5 on the rate; 100 seeded panels, mean estimate within 0.1."""
    estimates = [
        se.did(
            la_panel(seed), outcome="rate", unit="la", time="year", treated="treated"
        ).estimate.estimate
        for seed in range(100)
    ]
    assert np.mean(estimates) == pytest.approx(-5.0, abs=0.1)


def test_poisson_reads_the_effect_as_a_percentage_change():
    res = se.did(
        la_panel(),
        outcome="count",
        unit="la",
        time="year",
        treated="treated",
        exposure="pop",
        family="poisson",
    )
    b = res.estimate.estimate
    assert res.term("rate_ratio").estimate == pytest.approx(np.exp(b))
    assert res.percent_change.estimate == pytest.approx(100 * (np.exp(b) - 1))


def test_with_inference_changes_only_the_standard_errors():
    res = se.did(la_panel(), outcome="rate", unit="la", time="year", treated="treated")
    cr1 = res.with_inference(ClusterRobust(kind="CR1"))
    assert cr1.estimate.estimate == res.estimate.estimate
    assert cr1.estimate.std_error != res.estimate.std_error
    assert cr1.estimate.df == res.n_clusters - 1
    assert isinstance(res.vcov, pd.DataFrame)


def test_does_not_modify_the_callers_data():
    panel = la_panel()
    snapshot = panel.copy(deep=True)
    se.did(panel, outcome="rate", unit="la", time="year", treated="treated")
    pd.testing.assert_frame_equal(panel, snapshot)


def _bad(change):
    panel = la_panel()
    change(panel)
    return panel


@pytest.mark.parametrize(
    ("panel", "kwargs", "error", "words"),
    [
        (
            pd.concat([la_panel(), la_panel().iloc[[0]].assign(treated=1)], ignore_index=True),
            {},
            DesignError,
            ["varies within", "(0, 2012)"],
        ),
        (_bad(lambda p: p.__setitem__("treated", 0)), {}, DesignError, ["no treated units"]),
        (_bad(lambda p: p.__setitem__("treated", 1)), {}, DesignError, ["no comparison"]),
        (
            _bad(
                lambda p: p.__setitem__(
                    "treated", ((p["la"] < 5) & (p["year"].between(2015, 2017))).astype(int)
                )
            ),
            {},
            DesignError,
            ["switches off", "allow_switching_off=True"],
        ),
        (
            _bad(lambda p: p.__setitem__("region", "North")),
            {"inference": ClusterRobust("region")},
            DesignError,
            ["one cluster"],
        ),
        (la_panel().query("year == 2017"), {}, DesignError, ["one period"]),
        (
            _bad(lambda p: p.__setitem__("x", p["year"] * 2.0)),
            {"covariates": ["x"]},
            DesignError,
            ["collinear", "'x'"],
        ),
        (
            _bad(lambda p: p.__setitem__("w", -1.0)),
            {"weights": "w"},
            InvalidValueError,
            ["`weights`", "negative"],
        ),
        (
            _bad(lambda p: p.__setitem__("w", np.nan)),
            {"weights": "w"},
            InvalidValueError,
            ["`weights`", "missing"],
        ),
        (
            _bad(lambda p: p.__setitem__("region", np.where(p["la"] < 3, None, "N"))),
            {"inference": ClusterRobust("region")},
            InvalidValueError,
            ["`cluster`", "missing"],
        ),
        (
            _bad(lambda p: p.__setitem__("count", -p["count"])),
            {"outcome": "count", "family": "poisson"},
            InvalidValueError,
            ["`outcome`", "negative"],
        ),
        (
            _bad(lambda p: p.__setitem__("rate", p["la"] * 1.0)),
            {},
            DesignError,
            ["constant within every la", "nothing can be identified"],
        ),
        (la_panel(), {"outcome": "rates"}, MissingColumnError, ["'rates'", "la, year"]),
        (la_panel(), {"family": "gamma"}, InvalidValueError, ["`family`"]),
    ],
)
def test_bad_inputs(panel, kwargs, error, words):
    args = dict(outcome="rate", unit="la", time="year", treated="treated") | kwargs
    with pytest.raises(error) as info:
        se.did(panel, **args)
    for word in words:
        assert word in str(info.value)


def test_switching_off_is_allowed_when_asked():
    panel = la_panel()
    panel["treated"] = ((panel["la"] < 5) & panel["year"].between(2015, 2017)).astype(int)
    res = se.did(
        panel, outcome="rate", unit="la", time="year", treated="treated", allow_switching_off=True
    )
    assert np.isfinite(res.estimate.std_error)


def test_one_treated_cluster_warns_and_names_it():
    panel = la_panel()
    panel["treated"] = ((panel["la"] == 3) & (panel["year"] >= 2017)).astype(int)
    with pytest.warns(se.FewTreatedClustersWarning, match="3"):
        se.did(panel, outcome="rate", unit="la", time="year", treated="treated")


def test_binomial_outcome_must_be_zero_or_one():
    panel = la_panel()
    with pytest.raises(InvalidValueError, match=r"must be 0 or 1.*rows"):
        se.did(panel, outcome="rate", unit="la", time="year", treated="treated", family="binomial")


@pytest.mark.parametrize("inference", [ClusterRobust(kind="CR1"), ClusterRobust("la", kind="CR0")])
def test_panel_in_grid_order_takes_the_short_path_with_the_same_numbers(inference):
    """A balanced panel sorted by unit and period is fitted without coding its cells: its unit
    clusters are summed by reshaping and its row counts are not stored (zero-stride ones).
    The same rows in shuffled order take the general path; every number must agree."""
    panel = la_panel(n_la=30).sort_values(["la", "year"], ignore_index=True)
    shuffled = panel.sample(frac=1, random_state=3)
    kwargs = dict(outcome="rate", unit="la", time="year", treated="treated", absorb=True)
    fast = se.did(panel, inference=inference, **kwargs)
    general = se.did(shuffled, inference=inference, **kwargs)
    assert fast._fit.cluster_run == panel["year"].nunique()
    assert general._fit.cluster_run == 0
    assert fast._cells.sums["n"].to_numpy().strides == (0,)
    for name in ("estimate", "std_error", "p_value", "conf_low", "conf_high"):
        expected = getattr(general.estimate, name)
        assert getattr(fast.estimate, name) == pytest.approx(expected, rel=1e-12, abs=1e-14)
