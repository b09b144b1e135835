"""stepped_wedge(): GLM CR2 against clubSandwich, effect readings, randomization, bad inputs.

CR2 standard errors and Satterthwaite df come from ``make_reference.R`` (clubSandwich 0.5.8,
``coef_test(glm, vcov = "CR2", test = "Satterthwaite")``); tolerance 1e-6 relative, measured
2.6e-8 (SE) and 1.2e-7 (df, absolute). The randomization test, the exposure-time model and the
average marginal effect are checked against independent row-level computations with
statsmodels.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    MissingColumnError,
    SeparationError,
    SingularFitWarning,
)
from sfpc_eval.inference.cluster import ClusterRobust
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
REF = json.loads((HERE / "reference.json").read_text())
COVARIATES = ["age", "female", "disability", "prev_plan"]
ARGS = ("looked_after", "cluster", "period", "treated")


def load(trial: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"trial_{trial}.csv")


@pytest.mark.parametrize("effects", [True, False])
@pytest.mark.parametrize("trial", ["fs", "nwd"])
def test_glm_cr2_matches_clubsandwich(trial, effects):
    data = load(trial)
    before = data.copy()
    res = stepped_wedge(data, *ARGS, COVARIATES, model="glm", cluster_effects=effects)
    pd.testing.assert_frame_equal(data, before)  # the caller's frame is untouched
    ref = REF[trial]["glm_cr2_cluster_effects" if effects else "glm_cr2"]
    rename = {"(Intercept)": "(intercept)"}
    for key in ("beta", "se", "df"):  # R names -> ours, in our order
        values = {
            rename.get(
                k,
                k.replace("factor(period)", "period[").replace("factor(cluster)", "cluster[")
                + ("]" if k.startswith("factor(") else ""),
            ): v
            for k, v in ref[key].items()
        }
        ref[key] = {name: values[name] for name in res.coef.index}
    np.testing.assert_allclose(res.coef, list(ref["beta"].values()), rtol=1e-8)
    se = np.sqrt(np.diag(res.vcov))
    np.testing.assert_allclose(se, list(ref["se"].values()), rtol=1e-6)
    np.testing.assert_allclose(res.df_complete, list(ref["df"].values()), rtol=1e-6)
    treated = res.estimate
    assert treated.std_error == pytest.approx(ref["se"]["treated"], rel=1e-6)
    assert treated.df == pytest.approx(ref["df"]["treated"], rel=1e-6)
    assert res.odds_ratio.estimate == pytest.approx(math.exp(ref["beta"]["treated"]), rel=1e-8)


def test_average_marginal_effect_by_rows():
    """AME = mean over children of p(treated) - p(control); SE by a numerical delta method."""
    data = load("nwd")
    res = stepped_wedge(data, *ARGS, COVARIATES, model="glm", cluster_effects=False)
    x = pd.get_dummies(data["period"].astype(str), prefix="p", drop_first=True, dtype=float)
    design = pd.concat([x, data[["treated", *COVARIATES]].astype(float)], axis=1)
    design = sm.add_constant(design)
    beta = res.coef.to_numpy()

    def ame(b):
        d1, d0 = design.copy(), design.copy()
        d1["treated"], d0["treated"] = 1.0, 0.0
        expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        return float(np.mean(expit(d1.to_numpy() @ b) - expit(d0.to_numpy() @ b)))

    grad = np.array(
        [(ame(beta + 1e-6 * e) - ame(beta - 1e-6 * e)) / 2e-6 for e in np.eye(len(beta))]
    )
    se = math.sqrt(grad @ res.vcov.to_numpy() @ grad)
    term = res.average_marginal_effect
    assert term.estimate == pytest.approx(ame(beta), rel=1e-10)
    assert term.std_error == pytest.approx(se, rel=1e-6)
    assert term.df == res.estimate.df


def _cell_fit(cells: pd.DataFrame, treated: np.ndarray) -> float:
    """Binomial GLM on cluster-period counts with statsmodels (independent of our IRLS)."""
    x = pd.get_dummies(cells["period"].astype(str), prefix="p", drop_first=True, dtype=float)
    x["treated"] = treated
    endog = np.column_stack([cells["events"], cells["rows"] - cells["events"]])
    fit = sm.GLM(endog, sm.add_constant(x), family=sm.families.Binomial()).fit(tol=1e-12)
    return float(fit.params["treated"])


def test_randomization_enumerates_120_orders_and_matches_brute_force():
    data = load("fs")
    spec = SteppedWedgeRandomization()
    res = stepped_wedge(data, *ARGS, model="glm", inference=spec, cluster_effects=False)
    assert "all 120 rollout orders" in res.method
    cells = data.groupby(["cluster", "period"], as_index=False).agg(
        events=("looked_after", "sum"), rows=("looked_after", "size"), treated=("treated", "max")
    )
    clusters = sorted(cells["cluster"].unique())
    switch = {
        c: cells.loc[(cells.cluster == c) & (cells.treated == 1), "period"].min() for c in clusters
    }
    observed = _cell_fit(cells, cells["treated"].to_numpy(float))
    stats = []
    for perm in itertools.permutations([switch[c] for c in clusters]):
        new = dict(zip(clusters, perm, strict=True))
        status = (cells["period"] >= cells["cluster"].map(new)).to_numpy(float)
        stats.append(_cell_fit(cells, status))
    expected = np.mean(np.abs(stats) >= abs(observed) * (1 - 1e-10))
    assert res.estimate.p_value == pytest.approx(expected, abs=1e-12)
    assert res.estimate.estimate == pytest.approx(observed, rel=1e-8)


def test_randomization_within_strata_and_design():
    data = load("fs")
    data["readiness"] = data["cluster"].map(
        {"LA1": "high", "LA2": "high", "LA3": "low", "LA4": "low", "LA5": "low"}
    )
    res = stepped_wedge(
        data, *ARGS, model="glm", inference=SteppedWedgeRandomization(strata="readiness")
    )
    assert "all 12 rollout orders" in res.method  # 2! x 3!
    from sfpc_eval.trials.design import SteppedWedgeDesign

    design = SteppedWedgeDesign(
        ["LA1", "LA2", "LA3", "LA4", "LA5"],
        [1, 2, 3, 4, 5],
        6,
        strata=["high", "high", "low", "low", "low"],
    )
    other = stepped_wedge(
        data, *ARGS, model="glm", inference=SteppedWedgeRandomization(design=design)
    )
    assert other.estimate.p_value == res.estimate.p_value
    data.loc[0, "readiness"] = "low"
    with pytest.raises(InvalidValueError, match=r"`strata` column 'readiness' varies within"):
        stepped_wedge(
            data, *ARGS, model="glm", inference=SteppedWedgeRandomization(strata="readiness")
        )


def test_exposure_time_matches_row_level_glm():
    data = load("fs")
    res = stepped_wedge(
        data,
        *ARGS,
        model="glm",
        exposure_time=True,
        inference=ClusterRobust(kind="CR2"),
        cluster_effects=False,
    )
    first = data.loc[data.treated == 1].groupby("cluster")["period"].min()
    exposure = np.where(data.treated == 1, data["period"] - data["cluster"].map(first), -1)
    x = pd.get_dummies(data["period"].astype(str), prefix="p", drop_first=True, dtype=float)
    for e in range(5):
        x[f"e{e}"] = (exposure == e).astype(float)
    fit = sm.GLM(
        data["looked_after"].to_numpy(), sm.add_constant(x), family=sm.families.Binomial()
    ).fit(tol=1e-12)
    for e in range(5):
        assert res.term(f"exposure[{e}]").estimate == pytest.approx(fit.params[f"e{e}"], rel=1e-7)
    mean = np.mean([fit.params[f"e{e}"] for e in range(5)])
    assert res.estimate.estimate == pytest.approx(mean, rel=1e-7)


def test_glmm_and_summary_readings():
    data = load("nwd")
    res = stepped_wedge(data, *ARGS, COVARIATES, nagq=10)
    ref = REF["nwd"]["glmer_nagq10"]
    assert res.estimate.estimate == pytest.approx(ref["beta"]["treated"], rel=1e-4)
    assert res.random_sd == pytest.approx(ref["theta"], rel=1e-3)
    table = res.tidy()
    assert list(table["term"][:3]) == ["treated", "odds_ratio", "average_marginal_effect"]
    wide = res.conf_int(0.99)
    assert wide.loc["treated", "conf_low"] < table.set_index("term").loc["treated", "conf_low"]
    assert "random-intercept SD" in str(res)
    trends = res.trends()
    data["arm"] = np.where(data["treated"] == 1, "treated", "comparison")
    direct = data.groupby(["period", "arm"])["looked_after"].mean()
    for row in trends.itertuples():
        assert row.mean == pytest.approx(direct[(row.time, row.group)], rel=1e-12)
    import matplotlib.pyplot as plt

    ax = res.plot()
    assert len(ax.get_lines()) == 2
    plt.close(ax.figure)


# ---------------------------------------------------------------- bad inputs


def small(n_clusters=5, per=30, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (f"C{c}", t) for c in range(n_clusters) for t in range(n_clusters + 1) for _ in range(per)
    ]
    df = pd.DataFrame(rows, columns=["cluster", "period"])
    df["treated"] = (df["period"] > df["cluster"].str[1:].astype(int)).astype(int)
    df["looked_after"] = rng.binomial(1, 0.3, len(df))
    df["age"] = rng.integers(12, 18, len(df))
    return df


def test_switching_off():
    df = small()
    df.loc[(df.cluster == "C0") & (df.period == 5), "treated"] = 0
    with pytest.raises(DesignError, match=r"switches off \(1 then 0\) in cluster 'C0'"):
        stepped_wedge(df, *ARGS)


def test_cluster_that_never_switches():
    df = small()
    df.loc[df.cluster == "C4", "treated"] = 0
    with pytest.raises(DesignError, match=r"not a stepped wedge: cluster 'C4' .* never switch"):
        stepped_wedge(df, *ARGS)


def test_all_clusters_switch_at_once():
    df = small()
    df["treated"] = (df["period"] >= 3).astype(int)
    with pytest.raises(
        DesignError,
        match=r"not a stepped wedge: every cluster switches in the "
        r"same period \(3\)",
    ):
        stepped_wedge(df, *ARGS)


def test_fewer_than_three_clusters_for_glmm():
    df = small(n_clusters=2)
    with pytest.raises(
        DesignError,
        match=r"at least 3 clusters.*have 2.*"
        r"SteppedWedgeRandomization",
    ):
        stepped_wedge(df, *ARGS)
    # the advice works: GLM with randomization inference runs with 2 clusters
    res = stepped_wedge(df, *ARGS, model="glm", inference=SteppedWedgeRandomization())
    assert "all 2 rollout orders" in res.method


def test_perfect_separation():
    df = small()
    df.loc[df.treated == 1, "looked_after"] = 0
    with pytest.raises(SeparationError, match=r"outcome is 0 for all .* rows with treated = 1"):
        stepped_wedge(df, *ARGS, model="gee")


def test_missing_covariates_counted_and_named():
    df = small()
    df["age"] = df["age"].astype(float)
    df.loc[[3, 8, 40], "age"] = np.nan
    df["female"] = 1.0
    df.loc[[8, 9], "female"] = np.nan
    with pytest.raises(
        InvalidValueError,
        match=r"missing values in 4 of 900 rows: 'age' "
        r"\(3 rows\), 'female' \(2 rows\).*pool",
    ):
        stepped_wedge(df, *ARGS, ["age", "female"])


def test_non_binary_outcome():
    df = small()
    df.loc[5, "looked_after"] = 2
    with pytest.raises(
        InvalidValueError,
        match=r"`outcome` column 'looked_after' must be 0 or "
        r"1; other values 2.0",
    ):
        stepped_wedge(df, *ARGS)


def test_treatment_varying_within_cluster_period():
    df = small()
    df.loc[0, "treated"] = 1
    with pytest.raises(
        DesignError,
        match=r"`treated` varies within cluster x period cells "
        r"'\(C0, 0\)'",
    ):
        stepped_wedge(df, *ARGS)


def test_missing_column_and_unknown_model():
    df = small()
    with pytest.raises(MissingColumnError, match=r"`covariates\[0\]` names column"):
        stepped_wedge(df, *ARGS, ["sex"])
    with pytest.raises(InvalidValueError, match=r"`model` must be one of glmm, gee, glm"):
        stepped_wedge(df, *ARGS, model="lmer")
    with pytest.raises(InvalidValueError, match=r"`inference` for model='glmm' must be None"):
        stepped_wedge(df, *ARGS, inference=ClusterRobust(kind="CR2"))
    with pytest.raises(InvalidValueError, match=r"exposure_time=False with SteppedWedge"):
        stepped_wedge(
            df, *ARGS, model="glm", exposure_time=True, inference=SteppedWedgeRandomization()
        )
    with pytest.raises(InvalidValueError, match=r"`cluster_effects=True` is for model='glm'"):
        stepped_wedge(df, *ARGS, model="gee", cluster_effects=True)


def test_singular_glmm_warns():
    df = small(per=60, seed=8)
    with pytest.warns(SingularFitWarning, match=r"estimated as .* \(SD"):
        res = stepped_wedge(df, *ARGS)
    assert res.random_sd < 1e-4
