"""Trial tables (issue 23, item 9): baseline characteristics by arm and the flow table.

Counts and percentages are checked against pandas' crosstab of the same rows, standardised mean
differences against their closed form (Austin 2009), and the publication rules (rounding to 5,
``[c]``, ``[z]``, percentages from rounded figures) against the rule applied by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfpc_eval.errors import InvalidValueError, MissingColumnError
from sfpc_eval.trials.balance import baseline_table, flow_table, rounded_count, rounded_share

HERE = Path(__file__).parent / "fixtures" / "trial_workflow"


@pytest.fixture(scope="module")
def trial():
    return pd.read_csv(HERE / "trial.csv", dtype={"previous_plans": str})


def test_baseline_counts_and_smds_equal_crosstab_and_closed_form(trial):
    before = trial.copy()
    bt = baseline_table(trial, ["ethnicity", "uasc"], arm="treated", by="council")
    pd.testing.assert_frame_equal(trial, before)
    table = bt.table.set_index(["variable", "level"])
    eth = trial["ethnicity"].fillna("Missing")
    counts = pd.crosstab(eth, trial["treated"])
    for level in counts.index:
        row = table.loc[("ethnicity", level)]
        assert row["n[control]"] == counts.loc[level, 0]
        assert row["n[intervention]"] == counts.loc[level, 1]
        p1 = counts.loc[level, 1] / counts[1].sum()
        p0 = counts.loc[level, 0] / counts[0].sum()
        assert row["pct[intervention]"] == pytest.approx(100 * p1, rel=1e-12)
        smd = (p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
        assert row["smd"] == pytest.approx(smd, rel=1e-12)
    by_council = pd.crosstab(eth, trial["council"])
    for council in by_council.columns:
        assert (
            table.loc[("ethnicity", "Black"), f"n[{council}]"] == by_council.loc["Black", council]
        )


def test_numeric_smd_is_the_pooled_sd_difference():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"t": np.repeat([0, 1], 200), "age": rng.normal(8, 4, 400)})
    df.loc[[3, 250], "age"] = np.nan
    bt = baseline_table(df, ["age"], arm="t")
    a0 = df.loc[df["t"] == 0, "age"].dropna()
    a1 = df.loc[df["t"] == 1, "age"].dropna()
    expected = (a1.mean() - a0.mean()) / math.sqrt((a1.var() + a0.var()) / 2)
    row = bt.table.iloc[0]
    assert row["level"] == "mean (SD)" and row["smd"] == pytest.approx(expected, rel=1e-12)
    missing = bt.table[bt.table["level"] == "Missing"].iloc[0]
    assert (missing["n[control]"], missing["n[intervention]"]) == (1, 1)


def test_publication_rounding_and_suppression():
    assert [rounded_count(c) for c in (0, 1, 4, 5, 7, 8, 1234)] == [
        "0",
        "[c]",
        "[c]",
        "5",
        "5",
        "10",
        "1,235",
    ]
    assert rounded_count(9, threshold=10) == "[c]"
    # 3 of 797 children: the exact 0.4% would give the 3 back; it is suppressed
    assert rounded_share(3, 797) == "[c]"
    # percentages of rounded counts in rounded totals: 12 -> 10, 797 -> 795
    assert rounded_share(12, 797) == f"{100 * 10 / 795:.1f}%"
    assert rounded_share(0, 0) == "[z]"


def test_published_table_reveals_no_small_count():
    df = pd.DataFrame({"t": [0] * 103 + [1] * 97, "g": ["a"] * 100 + ["b"] * 3 + ["a"] * 97})
    bt = baseline_table(df, ["g"], arm="t")
    frame = bt.published.to_frame()
    row = frame[frame.iloc[:, 1] == "b"].iloc[0]
    assert row.iloc[2] == "[c]" and row.iloc[3] == "[c]"
    text = bt.published.as_text()
    assert "2.9%" not in text and " 3 " not in text  # 3/103
    total = frame[frame.iloc[:, 0] == "Children"].iloc[0]
    assert total.iloc[2] == "105" and total.iloc[4] == "95"


def test_smds_that_would_give_a_small_count_back_are_suppressed():
    """3 of 20,000 children under intervention, none under control: the SMD is
    sqrt(2 p / (1 - p)) = 0.0173, and only a count of 3 gives 0.017 to three decimals; the other
    level's SMD is exactly minus it. Both are [c] in the table and absent from the love plot;
    a characteristic with no small count keeps its SMDs."""
    import matplotlib

    matplotlib.use("Agg")
    n0, n1 = 15_000, 20_000
    df = pd.DataFrame(
        {
            "t": [0] * n0 + [1] * n1,
            "g": ["a"] * (n0 + n1 - 3) + ["b"] * 3,
            "h": (["x"] * 700 + ["y"] * 300) * 35,
        }
    )
    bt = baseline_table(df, ["g", "h"], arm="t", threshold=10)
    g = bt.table[bt.table["variable"] == "g"].set_index("level")
    p = 3 / n1
    assert g.loc["b", "smd"] == pytest.approx(math.sqrt(2 * p / (1 - p)), rel=1e-12)
    assert g.loc["a", "smd"] == pytest.approx(-g.loc["b", "smd"], rel=1e-12)
    assert g["smd_suppressed"].all()
    h = bt.table[bt.table["variable"] == "h"]
    assert not h["smd_suppressed"].any()
    frame = bt.published.to_frame()
    assert (frame[frame.iloc[:, 0] == "g"].iloc[:, -1] == "[c]").all()
    text = bt.published.as_text()
    assert "0.017" not in text and "-0.017" not in text
    shown = bt.shown_smds()
    assert shown.loc[shown["variable"] == "g", "smd"].isna().all()
    ax = bt.plot()
    drawn = ax.collections[0].get_offsets()[:, 0]
    assert len(drawn) == int(np.isfinite(shown["smd"]).sum())
    assert not np.any(np.isclose(drawn, abs(g.loc["b", "smd"])))


def test_flow_table_equals_groupby(trial):
    counts, table = flow_table(
        trial, cluster="council", period="period", outcome="looked_after", treated="treated"
    )
    ref = trial.groupby(["council", "period"])["looked_after"].agg(["size", "sum"]).reset_index()
    np.testing.assert_array_equal(counts["children"], ref["size"])
    np.testing.assert_array_equal(counts["events"], ref["sum"])
    frame = table.to_frame().set_index("council")
    walsall = counts[(counts["cluster"] == "Walsall") & (counts["period"] == 0)].iloc[0]
    n, e = int(walsall["children"]), int(walsall["events"])
    assert frame.loc["Walsall", "period 0"] == (
        f"{rounded_count(n)} / {rounded_count(e)} ({rounded_share(e, n)})"
    )
    assert frame.loc["Walsall", "period 5"].endswith("*")


def test_bad_inputs(trial):
    with pytest.raises(InvalidValueError, match=r"must be 0 .control. or 1"):
        baseline_table(trial.assign(arm=2), ["sex"], arm="arm")
    with pytest.raises(MissingColumnError):
        baseline_table(trial, ["not_there"], arm="treated")
    with pytest.raises(InvalidValueError, match="0/1 with no missing"):
        flow_table(trial.assign(y=np.nan), cluster="council", period="period", outcome="y")


def test_love_plot_and_imputation_figures(trial):
    import matplotlib

    matplotlib.use("Agg")
    from sfpc_eval.trials.imputation import impute

    bt = baseline_table(trial, ["age_band", "sex"], arm="treated")
    ax = bt.plot()
    finite = (np.isfinite(bt.table["smd"]) & ~bt.table["smd_suppressed"]).sum()
    assert len(ax.collections[0].get_offsets()) == finite
    imp = impute(
        trial,
        ["sex", "uasc"],
        outcome="looked_after",
        cluster="council",
        period="period",
        treated="treated",
        m=2,
        seed=3,
        iterations=3,
        progress=False,
    )
    for column in dict.fromkeys(imp.trace["column"]):
        ax = imp.plot_trace(column)
        chains = imp.trace.loc[imp.trace["column"] == column, "imputation"].nunique()
        levels = imp.trace.loc[imp.trace["column"] == column, "statistic"].nunique()
        numeric = levels == 2 and set(
            imp.trace.loc[imp.trace["column"] == column, "statistic"]
        ) == {
            "mean",
            "sd",
        }
        assert len(ax.get_lines()) == chains * (1 if numeric else levels)
        compare = imp.plot_compare(column, by="treated")
        assert len(compare.containers) >= 2  # observed bars and imputed points for each arm
