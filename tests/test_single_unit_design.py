"""Single-council designs: the optimal default fit, donor exclusions, conformal inversion and bad
inputs. Peers are in test_single_unit_peers.py; coverage in validation/conformal_coverage.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import sfpc_eval as se
from sfpc_eval.errors import (
    DesignError,
    DonorExclusionWarning,
    InvalidValueError,
    TooFewPeriodsError,
)
from sfpc_eval.single_unit._conformal_core import _slot_p_value, invert_slot, sc_residuals
from sfpc_eval.single_unit.augmented import augmented_synthetic_control
from sfpc_eval.single_unit.conformal import conformal_inference, sdid_residuals
from sfpc_eval.single_unit.donors import donor_pool, excluded_donors
from sfpc_eval.single_unit.placebo_time import placebo_in_time


def random_panel(rng: np.random.Generator) -> tuple[pd.DataFrame, int]:
    """A factor-model panel with a random shape; the treated council inside or outside the
    donors' range. Returns the long frame and the start."""
    periods = int(rng.integers(5, 31))
    donors = int(rng.integers(3, 41))
    start = int(rng.integers(3, periods))
    factors = rng.normal(0, 1, (periods, 3)).cumsum(axis=0)
    loadings = rng.uniform(0, 2, (donors + 1, 3))
    level = rng.normal(50, 10, donors + 1)
    level[-1] += rng.choice([0.0, 0.0, 30.0])  # sometimes no convex combination reaches it
    noise = rng.choice([0.0, 0.1, 1.0, 5.0])
    y = level + factors @ loadings.T + rng.normal(0, noise, (periods, donors + 1))
    rows = [
        (f"LA{j:02d}" if j < donors else "T", t, y[t, j])
        for t in range(periods)
        for j in range(donors + 1)
    ]
    return pd.DataFrame(rows, columns=["la", "year", "rate"]), start


def _pre_matrices(frame: pd.DataFrame, start: int) -> tuple[np.ndarray, np.ndarray]:
    wide = frame.pivot(index="year", columns="la", values="rate")  # noqa: PD010
    pre = wide[wide.index < start]
    return pre["T"].to_numpy(), pre.drop(columns="T").to_numpy()


def direct_rmspe(frame: pd.DataFrame, start: int) -> float:
    """Pre-period RMSPE of direct outcome matching, solved independently (SLSQP, ftol 1e-10,
    analytic gradient, from equal weights; its answer put back on the simplex)."""
    z1, z0 = _pre_matrices(frame, start)
    k = z0.shape[1]

    def loss(w):
        r = z0 @ w - z1
        return r @ r, 2 * z0.T @ r

    found = optimize.minimize(
        loss,
        np.full(k, 1 / k),
        jac=True,
        method="SLSQP",
        bounds=[(0, 1)] * k,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(k)}],
        options={"ftol": 1e-10, "maxiter": 100},
    )
    w = np.clip(found.x, 0, None)
    w /= w.sum()
    return math.sqrt(float(np.mean((z1 - z0 @ w) ** 2)))


def kkt_violation(frame: pd.DataFrame, start: int, weights: np.ndarray) -> float:
    """Largest violation of the optimality conditions of ``min |z1 - Z0 w|^2`` on the simplex,
    relative to the gradient's scale: with ``g = Z0'(Z0 w - z1)`` and ``mu`` its mean on the
    support, ``g_j = mu`` on the support and ``g_j >= mu`` off it. For this convex problem they
    certify the global optimum."""
    z1, z0 = _pre_matrices(frame, start)
    gradient = z0.T @ (z0 @ weights - z1)
    support = weights > 0
    multiplier = gradient - gradient[support].mean()
    scale = float(np.abs(z0.T @ z0).max() + np.abs(z0.T @ z1).max())
    on = np.abs(multiplier[support]).max()
    off = max(0.0, -multiplier[~support].min()) if (~support).any() else 0.0
    return max(on, off) / scale


def _fit(frame, start, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.PoorPreFitWarning)
        return se.synthetic_control(
            frame,
            outcome="rate",
            unit="la",
            time="year",
            treated_unit="T",
            start=start,
            placebo=False,
            leave_one_out=False,
            **kwargs,
        )


def _floor(frame: pd.DataFrame) -> float:
    # exact fits: both RMSPEs are rounding noise, compared on the scale of the data
    return 1e-10 * float(frame["rate"].abs().max())


def test_default_fit_never_worse_than_direct_outcome_matching():
    """Property, 200 random panels (5-30 periods, 3-40 donors, noise 0 to 5, treated inside and
    outside the donors' range): the default synthetic control's pre-period RMSPE is never above
    that of direct outcome matching solved by an independent solver (SLSQP), to 1e-9 relative
    (plus 1e-10 of the data's scale for exact fits), and its weights satisfy the optimality
    conditions to 1e-9 of the gradient's scale (so they are the optimum). The old default (a
    Nelder-Mead V search from equal weights) fails this on Prop 99 (RMSPE 1.65706 against
    1.65640)."""
    rng = np.random.default_rng(20260618)
    worse = []
    for case in range(200):
        frame, start = random_panel(rng)
        res = _fit(frame, start)
        reference = direct_rmspe(frame, start)
        assert res.solution == "outcome matching"
        if res.pre_rmspe > reference * (1 + 1e-9) + _floor(frame):
            worse.append((case, res.pre_rmspe, reference))
        assert kkt_violation(frame, start, res.weights.to_numpy()) < 1e-9, case
    assert not worse


def test_other_predictors_never_worse_than_direct_outcome_matching():
    """With other predictors (every second pre-period and the mean of the rest), the V search
    keeps the outcome-matching weights as a candidate: never a worse outcome fit (30 panels),
    and it says which solution it kept."""
    rng = np.random.default_rng(7)
    solutions = set()
    for _ in range(30):
        frame, start = random_panel(rng)
        if start < 4:
            continue
        pre = list(range(start))
        predictors = [*pre[::2], ("rate", pre[1::2])]
        res = _fit(frame, start, predictors=predictors)
        solutions.add(res.solution)
        assert res.pre_rmspe <= direct_rmspe(frame, start) * (1 + 1e-9) + _floor(frame)
        if res.solution == "outcome matching":
            assert res.v is None
    assert solutions <= {"V search", "outcome matching"}


def test_default_v_reproduces_the_weights():
    """The V reported with the default predictors (each period's variance) gives the same
    weights as the direct solve when passed back as a given V."""
    frame, start = random_panel(np.random.default_rng(3))
    res = _fit(frame, start)
    again = _fit(frame, start, v=res.v)
    assert again.solution == "given V"
    np.testing.assert_allclose(again.weights, res.weights, atol=1e-8)


COUNCILS = ["Leeds", "Bradford", "York", "Wakefield", "Barnsley", "Kirklees", "Calderdale"]


def council_panel(effect: float = -5.0) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    factor = rng.normal(0, 1, 16).cumsum()
    rows = []
    for i, name in enumerate(COUNCILS):
        for t, year in enumerate(range(2006, 2022)):
            value = 40 + 4 * i + (1 + i / 4) * factor[t] + rng.normal(0, 0.3)
            rows.append((name, year, value + effect * (name == "Wakefield") * (year >= 2015)))
    return pd.DataFrame(rows, columns=["la_name", "year", "cla_rate"])


DESIGN = {"outcome": "cla_rate", "unit": "la_name", "time": "year", "start": 2015}


def test_packaged_exclusions_resolve_and_have_sources():
    """Every council in the data file is an English council (resolved when read) with a
    programme, a reason and a web source."""
    table = excluded_donors()
    assert len(table) > 60 and table["la_name"].nunique() > 50
    assert table[["programme", "reason", "source", "url"]].ne("").all().all()
    assert table["url"].str.startswith("http").all()
    assert {"Leeds", "Hertfordshire", "North Yorkshire", "Walsall", "Darlington"} <= set(
        table["la_name"]
    )
    with pytest.raises(InvalidValueError, match="kinds"):
        excluded_donors(["Troubled Families"])


def test_default_exclusions_are_applied_and_reported():
    res = se.synthetic_control(council_panel(), **DESIGN, treated_unit="Wakefield")
    # Leeds (Family Valued, FDAC) and Bradford (No Wrong Door) ran similar programmes
    assert set(res.excluded_donors["unit"]) == {"Leeds", "Bradford"}
    assert "Leeds" not in res.weights.index and "York" in res.weights.index
    assert "excluded donors" in str(res)
    kept = se.synthetic_control(
        council_panel(), **DESIGN, treated_unit="Wakefield", exclude_donors=None
    )
    assert "Leeds" in kept.weights.index and kept.excluded_donors.empty


def test_caller_exclusions_and_codes():
    pool, gone = donor_pool(
        ["383", "E08000032", "York", "Kirklees"], [], None, exclude={"Kirklees": "pilot site"}
    )
    assert pool == ["383", "E08000032", "York"] and list(gone["reason"]) == ["pilot site"]
    pool, gone = donor_pool(["383", "E08000032", "York"], [], None)  # DfE and ONS codes
    assert pool == ["York"] and set(gone["unit"]) == {"383", "E08000032"}
    with pytest.raises(InvalidValueError, match="exclude_donors"):
        donor_pool(["York"], [], None, exclude="everyone")


def test_named_donors_that_are_excluded_warn():
    with pytest.warns(DonorExclusionWarning, match="Bradford"):
        res = se.synthetic_control(
            council_panel(),
            **DESIGN,
            treated_unit="Wakefield",
            donors=["Bradford", "York", "Barnsley", "Kirklees"],
        )
    assert list(res.weights.index) == ["York", "Barnsley", "Kirklees"]


def test_donor_list_that_excludes_every_donor_is_an_error():
    with pytest.raises(DesignError, match="remove every one of the 2 candidate donors"):
        se.synthetic_control(
            council_panel(), **DESIGN, treated_unit="Wakefield", donors=["Leeds", "Bradford"]
        )
    with pytest.raises(DesignError, match="exclude_donors=None"):
        conformal_inference(
            council_panel(),
            **DESIGN,
            treated_unit="Wakefield",
            exclude_donors=[u for u in COUNCILS if u != "Wakefield"],
            conf_level=0.8,
        )


def test_treated_council_with_missing_pre_period_years_is_an_error():
    panel = council_panel()
    gappy = panel[~((panel["la_name"] == "Wakefield") & panel["year"].isin([2008, 2011]))]
    for call in (se.synthetic_control, conformal_inference, augmented_synthetic_control):
        with pytest.raises(DesignError, match=r"treated council 'Wakefield'.*'2008', '2011'"):
            call(gappy, **DESIGN, treated_unit="Wakefield")


def test_conformal_with_too_few_pre_periods_states_the_minimum():
    panel = council_panel()  # 9 pre-periods, 7 post
    with pytest.raises(TooFewPeriodsError, match="at least 19 pre-periods for per-period"):
        conformal_inference(panel, **DESIGN, treated_unit="Wakefield", conf_level=0.95)
    with pytest.raises(
        TooFewPeriodsError, match=r"and 28 \(7 x 4\) for the interval of the avg"[:40]
    ):
        conformal_inference(panel, **DESIGN, treated_unit="Wakefield", conf_level=0.8)
    res = conformal_inference(
        panel, **DESIGN, treated_unit="Wakefield", conf_level=0.8, average=False
    )
    assert len(res.periods) == 7


def test_placebo_start_outside_the_pre_period_is_an_error():
    for bad in (2015, 2018, 2006, 2007, 2003):
        with pytest.raises(DesignError, match="outside the pre-period"):
            placebo_in_time(council_panel(), **DESIGN, treated_unit="Wakefield", placebo_start=bad)
    with pytest.raises(DesignError, match="Possible placebo starts: 2009"):
        placebo_in_time(
            council_panel(),
            **DESIGN,
            treated_unit="Wakefield",
            placebo_start=[2010, 2014],
            method="its",
        )
    with pytest.raises(InvalidValueError, match="method"):
        placebo_in_time(
            council_panel(),
            **DESIGN,
            treated_unit="Wakefield",
            placebo_start=2010,
            method="did",
        )


def test_placebo_in_time_for_every_method_finds_no_effect_before_the_start():
    """A panel with a true effect of -5 from 2015 and none before: the synthetic designs'
    placebos at 2010 and 2012 are small and their actual estimate near -5. The ITS placebos
    run on the right windows (the council's random-walk trend makes them noisy: that is what
    the check is for)."""
    panel = council_panel(-5.0)
    for method, options in (
        ("synthetic_control", {}),
        ("synthetic_did", {"replications": 20, "rng": 1}),
        ("its", {"hac_lags": 1}),
    ):
        res = placebo_in_time(
            panel,
            **DESIGN,
            treated_unit="Wakefield",
            placebo_start=[2010, 2012],
            method=method,
            **options,
        )
        table = res.table
        assert list(table["kind"]) == ["actual", "placebo", "placebo"]
        assert table["n_pre"].tolist() == [9, 4, 6] and table["n_post"].tolist() == [7, 5, 3]
        assert res.tidy()["term"].tolist() == ["actual@2015", "placebo@2010", "placebo@2012"]
        if method == "its":
            assert table[["estimate", "conf_low", "conf_high"]].notna().all().all()
            continue
        assert table.iloc[0]["estimate"] == pytest.approx(-5, abs=1.0)
        assert (table.iloc[1:]["estimate"].abs() < 1.5).all(), (method, table)


@pytest.mark.parametrize("proxy_name", ["synthetic_control", "synthetic_did"])
def test_inversion_endpoints_separate_accepted_from_rejected(proxy_name):
    """The interval's ends are where the p-value crosses alpha: just inside accepted, just
    outside rejected (checked by direct p-values, for the SC and the SDID proxies)."""
    rng = np.random.default_rng(5)
    t, j = 24, 12
    factor = rng.normal(0, 1, (t, 2))
    y0 = 30 + factor @ rng.uniform(0, 2, (2, j)) + rng.normal(0, 0.5, (t, j))
    y1 = y0[:, :4].mean(axis=1) + rng.normal(0, 0.5, t)
    proxy = sc_residuals if proxy_name == "synthetic_control" else sdid_residuals(0.1, 1e-6)
    found = invert_slot(proxy, y1, y0, t - 1, 0.1, 0.0, 0.5)
    assert math.isfinite(found.low) and math.isfinite(found.high) and found.contiguous
    width = found.high - found.low
    for end, outward in ((found.low, -1), (found.high, 1)):
        assert _slot_p_value(proxy, y1, y0, t - 1, end - outward * 1e-4 * width) > 0.1
        assert _slot_p_value(proxy, y1, y0, t - 1, end + outward * 1e-4 * width) <= 0.1 + 1e-9


def test_conformal_for_synthetic_did_recovers_a_known_effect():
    """Synthetic DiD proxy (intercept: the treated council sits 15 above every donor), 16
    pre-periods, an effect of -4 in 4 post periods: every 80% interval holds -4 and excludes 0;
    so does the interval for the average."""
    rng = np.random.default_rng(8)
    rows = []
    for u in range(8):
        for t in range(20):
            value = 20 + 3 * u + np.sin(t / 3) * (1 + u / 10) + rng.normal(0, 0.2)
            rows.append((u, t, value - 4.0 * (u == 0) * (t >= 16) + 15 * (u == 0)))
    panel = pd.DataFrame(rows, columns=["la", "t", "y"])
    design = {"outcome": "y", "unit": "la", "time": "t", "treated_unit": 0, "start": 16}
    res = conformal_inference(panel, **design, method="synthetic_did", conf_level=0.8)
    assert (res.periods["conf_low"] < -4).all() and (res.periods["conf_high"] > -4).all()
    assert (res.periods["conf_high"] < 0).all()
    average = res.term("average")
    assert average.conf_low < -4 < average.conf_high < 0
    with pytest.raises(InvalidValueError, match="method"):
        conformal_inference(panel, **design, method="ols")


def test_conformal_refit_at_another_level():
    panel = council_panel()
    res = conformal_inference(
        panel, **DESIGN, treated_unit="Wakefield", conf_level=0.8, average=False
    )
    wider = res.conf_int(0.5)
    assert (
        wider["conf_high"] - wider["conf_low"]
        <= res.tidy().set_index("term")["conf_high"]
        - res.tidy().set_index("term")["conf_low"]
        + 1e-9
    ).all()
    with pytest.raises(TooFewPeriodsError):
        res.conf_int(0.95)


def test_augmented_bad_penalty():
    with pytest.raises(InvalidValueError, match="ridge_penalty"):
        augmented_synthetic_control(
            council_panel(), **DESIGN, treated_unit="Wakefield", ridge_penalty=-1
        )


def test_leave_one_out_is_drawn_by_default():
    import matplotlib

    matplotlib.use("Agg")
    res = se.synthetic_control(council_panel(), **DESIGN, treated_unit="Wakefield")
    assert res.leave_one_out is not None
    ax = res.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    dropped = res.leave_one_out["dropped"].nunique()
    assert "Refitted leaving one donor out" in labels
    assert len(ax.get_lines()) >= dropped + 2


def test_summary_rows_are_the_designs_own_numbers():
    """Each row of the side-by-side table is what that design returns on its own, on the same
    donors; the before/after row is the plain change of means with a Welch interval (checked
    by hand) and is marked not valid; each pre-period fit is recomputed here."""
    from scipy import stats

    from sfpc_eval.single_unit import single_council_summary

    panel = council_panel()
    design = dict(DESIGN, treated_unit="Wakefield")
    with pytest.warns(se.UndefinedIntervalWarning, match="no conformal interval"):
        res = single_council_summary(panel, **design, replications=20, rng=3, hac_lags=1)
    table = res.table.set_index("design")
    assert list(table.index) == ["before_after", "its", "synthetic_control", "synthetic_did"]
    assert set(res.excluded_donors["unit"]) == {"Leeds", "Bradford"}
    sc = se.synthetic_control(panel, **design)
    assert table.loc["synthetic_control", "estimate"] == sc.term("mean_post_gap").estimate
    assert table.loc["synthetic_control", "pre_rmspe"] == pytest.approx(sc.pre_rmspe)
    sdid = se.synthetic_did(panel, **design, donors=list(sc.weights.index), replications=20, rng=3)
    assert table.loc["synthetic_did", "estimate"] == pytest.approx(sdid.estimate)
    assert table.loc["synthetic_did", "std_error"] == pytest.approx(sdid.term("att").std_error)
    series = panel[panel["la_name"] == "Wakefield"].set_index("year")["cla_rate"]
    pre, post = series[series.index < 2015], series[series.index >= 2015]
    welch = stats.ttest_ind(post, pre, equal_var=False)
    row = table.loc["before_after"]
    assert row["estimate"] == pytest.approx(post.mean() - pre.mean())
    assert row["p_value"] == pytest.approx(welch.pvalue)
    assert not row["valid"]
    assert row["pre_rmspe"] == pytest.approx(np.sqrt(np.mean((pre - pre.mean()) ** 2)))
    its = se.its(series.reset_index(), outcome="cla_rate", time="year", start=2015, hac_lags=1)
    assert table.loc["its", "estimate"] == pytest.approx(its.projection["effect"].mean())
    assert "no conformal interval" in table.loc["synthetic_control", "note"]


def factor_panel() -> pd.DataFrame:
    """7 councils x 25 periods from one factor; council 3 is 2 lower from period 22."""
    rng = np.random.default_rng(12)
    factor = rng.normal(0, 1, 25)
    rows = [
        (u, t, 10 * u + (1 + u / 4) * factor[t] + rng.normal(0, 0.2) - 2 * (u == 3) * (t >= 22))
        for u in range(7)
        for t in range(25)
    ]
    return pd.DataFrame(rows, columns=["la", "t", "y"])


def test_summary_adds_the_conformal_interval_when_the_pre_period_allows():
    panel = factor_panel()
    from sfpc_eval.single_unit import single_council_summary

    res = single_council_summary(
        panel, outcome="y", unit="la", time="t", treated_unit=3, start=22, replications=10, rng=1
    )
    row = res.table.set_index("design").loc["synthetic_control_conformal"]
    direct = conformal_inference(
        panel, outcome="y", unit="la", time="t", treated_unit=3, start=22, conf_level=0.8
    ).term("average")
    assert (row["conf_low"], row["conf_high"]) == (direct.conf_low, direct.conf_high)
    assert "at 80%" in row["note"]  # 22 pre-periods, 3 post: 90% needs 27, 80% needs 12
    with pytest.raises(TooFewPeriodsError):
        single_council_summary(
            panel,
            outcome="y",
            unit="la",
            time="t",
            treated_unit=3,
            start=22,
            replications=10,
            rng=1,
            conformal_level=0.95,
        )


def test_conformal_plot_draws_every_period():
    import matplotlib

    matplotlib.use("Agg")
    res = conformal_inference(
        council_panel(), **DESIGN, treated_unit="Wakefield", conf_level=0.8, average=False
    )
    ax = res.plot()
    assert len(ax.containers[0].lines[0].get_xdata()) == len(res.periods) == 7
    assert "No effect in any period" in ax.get_title(loc="left")


def test_summary_is_the_side_by_side_table_of_the_designs():
    """summary() is the library's side-by-side table: one column per design, labelled by the
    vocabulary; its cells hold the tidy table's numbers (the engine's term view rounds to 12
    decimal places: 1e-11 relative on values near 1) (estimate, interval,
    councils, periods, pre-period fit); the invalid before/after cell carries the dagger; a
    conformal interval at a lower level than the table's is quoted in a note, not a column."""
    from sfpc_eval.labels import label
    from sfpc_eval.single_unit import single_council_summary

    panel = factor_panel()
    design = dict(outcome="y", unit="la", time="t", treated_unit=3, start=22, rng=1)
    res = single_council_summary(panel, **design, replications=10)
    table = res.summary()
    four = ["before_after", "its", "synthetic_control", "synthetic_did"]
    assert list(table.columns[1:]) == [label(d) for d in four]
    tidy = res.table.set_index("design")
    effect = table.cells[table.row("average_effect")]
    interval = table.cells[table.row("average_effect:ci")]
    for j, name in enumerate(four, start=1):
        assert effect[j].value == pytest.approx(tidy.loc[name, "estimate"], rel=1e-11)
        low, high = tidy.loc[name, "conf_low"], tidy.loc[name, "conf_high"]
        if np.isfinite(low):
            assert interval[j].value == pytest.approx((low, high), rel=1e-11)
    assert effect[1].mark == "\u2020" and not effect[3].mark
    fits = table.cells[table.row("fact:pre_rmspe")]
    assert [c.value for c in fits[1:]] == pytest.approx(list(tidy.loc[four, "pre_rmspe"]))
    assert [c.value for c in table.cells[table.row("fact:n_units")][1:]] == [1, 1, 7, 7]
    assert {c.value for c in table.cells[table.row("fact:n_periods")][1:]} == {25}
    conformal = tidy.loc["synthetic_control_conformal"]
    assert conformal["conf_level"] == 0.8
    assert f"[{conformal['conf_low']:.4g}, {conformal['conf_high']:.4g}]" in "\n".join(table.notes)
    # at the conformal interval's own level it is a fifth column, read from the same numbers
    at_80 = single_council_summary(panel, **design, replications=10, conf_level=0.8).summary()
    assert at_80.columns[-1] == label("synthetic_control_conformal")
    cell = at_80.cells[at_80.row("average_effect:ci")][-1]
    assert cell.value == pytest.approx((conformal["conf_low"], conformal["conf_high"]), rel=1e-11)
    assert "80% confidence intervals" in at_80.notes[0]
    text = at_80.as_text()
    assert "Pre-period RMSPE" in text and "synthetic_control" not in text


def test_summary_writes_the_pre_period_fit_with_the_effects_decimals():
    """The pre-period RMSPE is in the outcome's units, like the effects: one number of
    decimals for both rows (the report's rule for a column)."""
    from sfpc_eval.single_unit import single_council_summary

    with pytest.warns(se.UndefinedIntervalWarning, match="no conformal interval"):
        res = single_council_summary(
            council_panel(), **DESIGN, treated_unit="Wakefield", replications=20, rng=3
        )
    table = res.summary()
    effect = {c.format.decimals for c in table.cells[table.row("average_effect")][1:]}
    fit = {c.format.decimals for c in table.cells[table.row("fact:pre_rmspe")][1:]}
    assert len(effect) == 1 and fit == effect
    short = res.summary(facts=("pre_rmspe",))
    assert [k for k in short.row_keys if k.startswith("fact:")] == ["fact:pre_rmspe"]
