"""Compare sfpc_eval's numbers with R's.

Every expected number is read from the CSV fixtures in ``tests/fixtures/reference/``, written by
``tests/fixtures/reference/make_reference.R`` (base R, stats package only; R version and seeds
in each CSV's first line and in ``versions.txt``). Nothing expected is typed in by hand. To
regenerate the fixtures, run ``Rscript tests/fixtures/reference/make_reference.R`` from the
repository root.

Tolerances: ``rtol`` is relative; an expected value of exactly 0 is matched to within ``1e-12``
absolute; an expected NA (R could not compute it) must come back as NaN. P-values are compared
relative only, so tiny ones (5e-33) are really checked.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import SfpcEvalWarning, UndefinedEffectError

REFERENCE = Path(__file__).parent / "fixtures" / "reference"

RTOL = 1e-8
"""Closed-form or exactly inverted quantities: both sides are double-precision evaluations of
the same formulas, so only floating-point noise (and the root-finders' tolerance, far below this)
separates them."""

FISHER_RTOL = 1e-6
"""The conditional MLE and exact interval of the odds ratio are roots of monotone equations; a
root-finder stopping anywhere short of full precision still lands well within this."""

ZERO_ATOL = 1e-12
"""Absolute tolerance used only where the expected value is exactly 0."""

R_UNIROOT_TOL = np.finfo(float).eps ** 0.25
"""Default ``tol`` of R's ``uniroot()``, which ``fisher.test()`` uses (about 1.2e-4)."""


def read_reference(name: str) -> pd.DataFrame:
    """Read one fixture, giving back R's doubles exactly.

    R wrote 17 significant digits, which identify a double uniquely; the float columns are
    re-parsed with Python's correctly rounded ``float()`` so the result does not depend on the
    pandas version's C parser.
    """
    path = REFERENCE / name
    frame = pd.read_csv(path, comment="#")
    text = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    for column in frame.columns:
        if frame[column].dtype.kind == "f":
            frame[column] = [math.nan if v == "NA" else float(v) for v in text[column]]
    return frame


def rows(frame: pd.DataFrame, id_column: str) -> list[Any]:
    """One ``pytest.param`` per fixture row, with a readable id."""
    return [pytest.param(record, id=str(record[id_column])) for record in frame.to_dict("records")]


POISSON = read_reference("poisson_test.csv")
PROPORTIONS = read_reference("proportions.csv")
WELCH = read_reference("welch.csv")
WELCH_DATA = read_reference("welch_data.csv")
PAIRED = read_reference("paired.csv")
PAIRED_DATA = read_reference("paired_data.csv")


def _close(got: float, want: float, rtol: float) -> bool:
    got = float(got)
    want = float(want)
    if math.isnan(want):
        return math.isnan(got)
    if want == 0:
        return abs(got) <= ZERO_ATOL
    if math.isinf(want):
        return got == want
    return abs(got - want) <= rtol * abs(want)


def assert_term(term: Any, expected: dict[str, float], *, rtol: float = RTOL) -> None:
    """Check attributes of a Term against R's values, reporting every mismatch at once."""
    problems = [
        f"{attr}: sfpc_eval {getattr(term, attr)!r} vs R {want!r}"
        for attr, want in expected.items()
        if not _close(getattr(term, attr), want, rtol)
    ]
    assert not problems, f"term {term.term!r} differs from R (rtol={rtol}): " + "; ".join(problems)


def assert_interval(table: pd.DataFrame, name: str, low: float, high: float) -> None:
    """Check one row of a ``conf_int()`` table against R's interval."""
    got_low, got_high = table.loc[name, "conf_low"], table.loc[name, "conf_high"]
    assert _close(got_low, low, RTOL) and _close(got_high, high, RTOL), (
        f"conf_int()[{name!r}] = [{got_low!r}, {got_high!r}] vs R [{low!r}, {high!r}]"
    )


def other_level(level: float) -> float:
    """A confidence level different from ``level``, to fit at before calling ``conf_int``."""
    return 0.9 if level != 0.9 else 0.95


# ---------------------------------------------------------------------------------------------
# compare_counts vs poisson.test
# ---------------------------------------------------------------------------------------------


def fit_counts(row: dict[str, Any], conf_level: float | None = None) -> Any:
    """Bare counts when both exposures are 1, otherwise per-unit rates (``per=1``) like R's."""
    level = row["conf_level"] if conf_level is None else conf_level
    before, after = int(row["before"]), int(row["after"])
    if row["exposure_before"] == 1 and row["exposure_after"] == 1:
        return se.compare_counts(before=before, after=after, conf_level=level)
    return se.compare_counts(
        before=before,
        after=after,
        exposure=(row["exposure_before"], row["exposure_after"]),
        per=1,
        conf_level=level,
    )


@pytest.mark.parametrize("row", rows(POISSON, "label"))
def test_rate_ratio_matches_poisson_test(row: dict[str, Any]) -> None:
    """Rate ratio vs R ``poisson.test(c(after, before), c(exposure_after, exposure_before))``.

    Estimate, exact conditional interval and p-value, to rtol 1e-8: both sides invert the same
    binomial (Clopper-Pearson) tail exactly, so they agree to floating-point noise.
    """
    res = fit_counts(row)
    assert_term(
        res.term("rate_ratio"),
        {
            "estimate": row["rate_ratio"],
            "conf_low": row["conf_low"],
            "conf_high": row["conf_high"],
            "p_value": row["p_value"],
        },
    )


@pytest.mark.parametrize("row", rows(POISSON, "label"))
def test_single_counts_match_one_sample_poisson_test(row: dict[str, Any]) -> None:
    """Terms "before"/"after" vs R ``poisson.test(count, exposure)`` estimate and ``$conf.int``.

    Exact (Garwood) Poisson intervals from chi-square/gamma quantiles, to rtol 1e-8 (closed
    form on both sides); the lower limit of a zero count is exactly 0.
    """
    res = fit_counts(row)
    for name in ("before", "after"):
        assert_term(
            res.term(name),
            {
                "estimate": row[f"{name}_rate"],
                "conf_low": row[f"{name}_low"],
                "conf_high": row[f"{name}_high"],
            },
        )


@pytest.mark.parametrize("row", rows(POISSON, "label"))
def test_count_percent_change_is_scaled_rate_ratio(row: dict[str, Any]) -> None:
    """Term "percent_change" vs 100 * (ratio - 1) of R ``poisson.test()``'s estimate and CI.

    rtol 1e-8: a linear map of the rate-ratio numbers R computed.
    """
    res = fit_counts(row)
    assert_term(
        res.term("percent_change"),
        {
            "estimate": 100 * (row["rate_ratio"] - 1),
            "conf_low": 100 * (row["conf_low"] - 1),
            "conf_high": 100 * (row["conf_high"] - 1),
        },
    )


@pytest.mark.parametrize("row", rows(POISSON, "label"))
def test_count_conf_int_recomputed_at_other_level(row: dict[str, Any]) -> None:
    """``res.conf_int(level)`` vs R ``poisson.test(..., conf.level = level)``.

    The result is fitted at another level first (0.9 for rows at 0.95 and 0.99, 0.95 for the row
    at 0.9), so the recomputation path is what is checked. rtol 1e-8, as for the direct fit.
    """
    res = fit_counts(row, conf_level=other_level(row["conf_level"]))
    table = res.conf_int(row["conf_level"])
    assert_interval(table, "rate_ratio", row["conf_low"], row["conf_high"])
    assert_interval(table, "before", row["before_low"], row["before_high"])
    assert_interval(table, "after", row["after_low"], row["after_high"])


def test_zero_before_is_undefined() -> None:
    """R ``poisson.test(c(5, 0))`` gives an infinite rate ratio; sfpc_eval refuses instead.

    Not a numeric comparison: ``compare_counts(before=0, after=5)`` must raise
    ``UndefinedEffectError``.
    """
    with pytest.raises(UndefinedEffectError):
        se.compare_counts(before=0, after=5)


# ---------------------------------------------------------------------------------------------
# compare_proportions vs prop.test, fisher.test and the Newcombe/Katz/Woolf formulas
# ---------------------------------------------------------------------------------------------


def has_zero_cell(row: dict[str, Any]) -> bool:
    """True where one of the 2x2 cells is 0 (R's Katz/Woolf columns are then NA)."""
    cells = (row["x1"], row["n1"] - row["x1"], row["x0"], row["n0"] - row["x0"])
    return min(cells) == 0


def fit_proportions(
    row: dict[str, Any], *, conf_level: float | None = None, odds_ratio_method: str = "woolf"
) -> Any:
    """Fit one fixture row. Library warnings are silenced here: the numeric tests compare
    numbers only, and the zero-cell warning has a test of its own."""
    level = row["conf_level"] if conf_level is None else conf_level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SfpcEvalWarning)
        return se.compare_proportions(
            treated=(int(row["x1"]), int(row["n1"])),
            control=(int(row["x0"]), int(row["n0"])),
            conf_level=level,
            odds_ratio_method=odds_ratio_method,
        )


@pytest.mark.parametrize("row", rows(PROPORTIONS, "label"))
def test_single_proportions_match_wilson(row: dict[str, Any]) -> None:
    """Terms "treated"/"control" vs R ``prop.test(x, n, correct = FALSE)$conf.int`` (Wilson).

    rtol 1e-8: closed-form interval on both sides.
    """
    res = fit_proportions(row)
    for name, suffix in (("treated", "p1"), ("control", "p0")):
        assert_term(
            res.term(name),
            {
                "estimate": row[suffix],
                "conf_low": row[f"{suffix}_low"],
                "conf_high": row[f"{suffix}_high"],
            },
        )


@pytest.mark.parametrize("row", rows(PROPORTIONS, "label"))
def test_risk_difference_matches_newcombe_and_prop_test(row: dict[str, Any]) -> None:
    """Term "risk_difference" vs Newcombe (1998) method 10 computed in R from ``prop.test()``'s
    Wilson intervals, and its p-value vs
    ``prop.test(c(x1, x0), c(n1, n0), correct = FALSE)$p.value`` (Pearson chi-square).

    rtol 1e-8: closed form on both sides.
    """
    res = fit_proportions(row)
    assert_term(
        res.term("risk_difference"),
        {
            "estimate": row["rd"],
            "conf_low": row["rd_low"],
            "conf_high": row["rd_high"],
            "p_value": row["chisq_p"],
        },
    )


@pytest.mark.parametrize("row", rows(PROPORTIONS, "label"))
def test_risk_ratio_matches_katz(row: dict[str, Any]) -> None:
    """Term "risk_ratio" vs the Katz log interval and Wald p computed in R (``qnorm``/``pnorm``).

    rtol 1e-8: closed form. With a zero cell R's interval and p are NA, and sfpc_eval must give
    NaN.
    """
    res = fit_proportions(row)
    assert_term(
        res.term("risk_ratio"),
        {
            "estimate": row["rr"],
            "conf_low": row["rr_low"],
            "conf_high": row["rr_high"],
            "p_value": row["rr_p"],
        },
    )


@pytest.mark.parametrize("row", rows(PROPORTIONS, "label"))
def test_odds_ratio_matches_woolf(row: dict[str, Any]) -> None:
    """Term "odds_ratio" (default ``odds_ratio_method="woolf"``) vs the Woolf logit interval and
    Wald p computed in R with ``qnorm``/``pnorm``.

    rtol 1e-8: closed form. With a zero cell R's interval and p are NA, and sfpc_eval must give
    NaN.
    """
    res = fit_proportions(row)
    assert_term(
        res.term("odds_ratio"),
        {
            "estimate": row["or"],
            "conf_low": row["or_low"],
            "conf_high": row["or_high"],
            "p_value": row["or_p"],
        },
    )


@pytest.mark.parametrize("row", rows(PROPORTIONS, "label"))
def test_exact_odds_ratio_matches_fisher_test(row: dict[str, Any]) -> None:
    """``odds_ratio_method="exact"`` vs R ``fisher.test(matrix(...), conf.level = ...)``.

    The p-value (an exact sum of hypergeometric probabilities) is compared to
    ``fisher.test()$p.value`` at rtol 1e-8. The conditional MLE and interval are compared at
    rtol 1e-6 (root-finding) to the ``*_precise`` columns: the same equations solved in R to full
    precision by ``make_reference.R``. ``fisher.test()``'s own estimate and interval are only as
    precise as ``uniroot()``'s default tol (they are off by up to 0.5% in these fixtures), so
    they are checked by ``test_exact_odds_ratio_within_fisher_test_uniroot_tol``.
    """
    res = fit_proportions(row, odds_ratio_method="exact")
    term = res.term("odds_ratio")
    assert_term(term, {"p_value": row["fisher_p"]})
    assert_term(
        term,
        {
            "estimate": row["fisher_or_precise"],
            "conf_low": row["fisher_low_precise"],
            "conf_high": row["fisher_high_precise"],
        },
        rtol=FISHER_RTOL,
    )


@pytest.mark.parametrize("row", rows(PROPORTIONS, "label"))
def test_exact_odds_ratio_within_fisher_test_uniroot_tol(row: dict[str, Any]) -> None:
    """Exact odds ratio vs R ``fisher.test()``'s estimate and ``$conf.int`` as R reports them.

    ``fisher.test()`` finds each root with ``uniroot()`` at its default tol
    (``.Machine$double.eps^0.25``, about 1.2e-4), on the odds ratio when it is below 1 and on its
    reciprocal otherwise. The tolerance is that tol (plus 1%), applied on that same scale.
    """
    res = fit_proportions(row, odds_ratio_method="exact")
    term = res.term("odds_ratio")

    def root_scale(psi: float) -> float:
        return psi if psi <= 1 else 1 / psi

    for attr, column in (
        ("estimate", "fisher_or"),
        ("conf_low", "fisher_low"),
        ("conf_high", "fisher_high"),
    ):
        got, want = getattr(term, attr), row[column]
        assert abs(root_scale(got) - root_scale(want)) <= 1.01 * R_UNIROOT_TOL, (
            f"odds_ratio {attr}: sfpc_eval {got!r} vs fisher.test {want!r}"
        )


@pytest.mark.parametrize("row", rows(PROPORTIONS, "label"))
def test_proportions_conf_int_recomputed_at_other_level(row: dict[str, Any]) -> None:
    """``res.conf_int(level)`` vs the R intervals at ``level`` (``prop.test()`` Wilson, Newcombe,
    Katz, Woolf; NA stays NaN).

    The result is fitted at another level first, so the recomputation path is what is checked.
    rtol 1e-8, as for the direct fit.
    """
    res = fit_proportions(row, conf_level=other_level(row["conf_level"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SfpcEvalWarning)
        table = res.conf_int(row["conf_level"])
    assert_interval(table, "treated", row["p1_low"], row["p1_high"])
    assert_interval(table, "control", row["p0_low"], row["p0_high"])
    assert_interval(table, "risk_difference", row["rd_low"], row["rd_high"])
    assert_interval(table, "risk_ratio", row["rr_low"], row["rr_high"])
    assert_interval(table, "odds_ratio", row["or_low"], row["or_high"])


ZERO_CELL_ROWS = rows(
    PROPORTIONS[[has_zero_cell(r) for r in PROPORTIONS.to_dict("records")]], "label"
)


@pytest.mark.parametrize("row", ZERO_CELL_ROWS)
def test_zero_cell_warns_and_leaves_ratio_intervals_nan(row: dict[str, Any]) -> None:
    """With a zero cell R's Katz/Woolf intervals are NA (log of 0); sfpc_eval must warn with an
    ``SfpcEvalWarning``, return NaN intervals for "risk_ratio" and "odds_ratio", and say why in
    ``note``. No tolerance: NaN and a non-empty note are checked exactly.
    """
    assert math.isnan(row["rr_low"]) and math.isnan(row["or_low"])  # the fixture agrees
    with pytest.warns(SfpcEvalWarning):
        res = se.compare_proportions(
            treated=(int(row["x1"]), int(row["n1"])),
            control=(int(row["x0"]), int(row["n0"])),
            conf_level=row["conf_level"],
        )
    for name in ("risk_ratio", "odds_ratio"):
        term = res.term(name)
        assert math.isnan(term.conf_low) and math.isnan(term.conf_high), name
        assert term.note.strip(), f"{name} has no note explaining the missing interval"


def test_fixture_has_zero_cell_rows() -> None:
    """Guard: the zero-cell test above must not be silently parametrized over nothing."""
    assert ZERO_CELL_ROWS


# ---------------------------------------------------------------------------------------------
# compare_means vs t.test (Welch)
# ---------------------------------------------------------------------------------------------


def summary_stats(case: int, group: str) -> tuple[float, float, int]:
    """Mean, SD (ddof=1) and n of one group of one case of welch_data.csv."""
    values = WELCH_DATA.loc[
        (WELCH_DATA["case"] == case) & (WELCH_DATA["group"] == group), "value"
    ].to_numpy(dtype=float)
    return float(np.mean(values)), float(np.std(values, ddof=1)), int(values.size)


@pytest.mark.parametrize("row", rows(WELCH, "case"))
def test_compare_means_matches_welch_t_test(row: dict[str, Any]) -> None:
    """Term "difference" vs R ``t.test(treated, control)`` (Welch): estimate, statistic,
    Welch-Satterthwaite df, p-value and interval; "treated"/"control" vs ``t.test(x)$conf.int``.

    rtol 1e-8: closed form plus t quantiles; the summary statistics computed here from the same
    doubles differ from R's only in the last bits.
    """
    treated = summary_stats(row["case"], "treated")
    control = summary_stats(row["case"], "control")
    assert (treated[2], control[2]) == (row["n_treated"], row["n_control"])
    res = se.compare_means(treated=treated, control=control, conf_level=0.95)
    assert_term(
        res.term("difference"),
        {
            "estimate": row["difference"],
            "statistic": row["statistic"],
            "df": row["df"],
            "p_value": row["p_value"],
            "conf_low": row["conf_low"],
            "conf_high": row["conf_high"],
        },
    )
    for name in ("treated", "control"):
        assert_term(
            res.term(name),
            {
                "estimate": row[f"{name}_mean"],
                "conf_low": row[f"{name}_mean_low"],
                "conf_high": row[f"{name}_mean_high"],
            },
        )


# ---------------------------------------------------------------------------------------------
# paired_change vs t.test(paired = TRUE) and the delta-method ratio of totals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", rows(PAIRED, "case"))
def test_paired_change_matches_paired_t_test_and_ratio_of_totals(row: dict[str, Any]) -> None:
    """Term "mean_difference" vs R ``t.test(after, before, paired = TRUE)`` (estimate, statistic,
    df, p-value, interval); "ratio_of_totals" vs ``sum(after) / sum(before)`` with the delta-method
    interval on the log scale written out in R (``var``, ``cov``, ``qnorm``).

    rtol 1e-8: closed form plus t/normal quantiles on both sides.
    """
    data = PAIRED_DATA.loc[PAIRED_DATA["case"] == row["case"], ["child", "before", "after"]]
    data = data.reset_index(drop=True)
    assert len(data) == row["n"]
    res = se.paired_change(data, before="before", after="after", conf_level=row["conf_level"])
    assert_term(
        res.term("mean_difference"),
        {
            "estimate": row["estimate"],
            "statistic": row["statistic"],
            "df": row["df"],
            "p_value": row["p_value"],
            "conf_low": row["conf_low"],
            "conf_high": row["conf_high"],
        },
    )
    assert_term(
        res.term("ratio_of_totals"),
        {
            "estimate": row["ratio"],
            "conf_low": row["ratio_low"],
            "conf_high": row["ratio_high"],
        },
    )
