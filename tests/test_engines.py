"""DuckDB engine: did() on a relation, a Parquet or CSV path equals did() on the same rows in
pandas; bad inputs fail with typed errors; the national generator is seeded and chunk-free.

The reference for every number here is the pandas path of did(), which is itself checked
against R (clubSandwich, sandwich, stats::glm) in test_did_against_r.py: the engine only moves
the GROUP BY that builds the cells, so the two must agree to rounding. Tolerance: 1e-10
relative (the sums are added in a different order, which changes the last bits only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sfpc_eval as se
from _engine_cases import DESIGN, NUMBERS, assert_identical
from sfpc_eval.engines import national, source, write_national
from sfpc_eval.engines.sql import cell_query
from sfpc_eval.errors import (
    DataFileError,
    DesignError,
    InvalidValueError,
    MissingColumnError,
    SizeLimitError,
)

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[str, pd.DataFrame]:
    """30,000 child-period rows, 30 councils x 8 quarters, as Parquet and as pandas."""
    path = tmp_path_factory.mktemp("national") / "small.parquet"
    write_national(path, 30_000, n_las=30, n_periods=8, seed=7, chunk_rows=7_000)
    return str(path), pd.read_parquet(path)


CASES = {
    "gaussian-CR2": dict(outcome="score"),
    "gaussian-CR0-cov": dict(
        outcome="score", covariates=["age_band"], inference=se.ClusterRobust(kind="CR0")
    ),
    "gaussian-CR1-weights": dict(
        outcome="score", weights="weight", inference=se.ClusterRobust(kind="CR1")
    ),
    "gaussian-CR2-weights": dict(outcome="score", weights="weight", covariates=["male"]),
    "gaussian-CR3-age-clusters": dict(
        outcome="score", inference=se.ClusterRobust("age_band", kind="CR3")
    ),
    "gaussian-HC1": dict(outcome="score", inference=se.HeteroskedasticityRobust()),
    "gaussian-classical": dict(outcome="score", inference=se.Classical()),
    "gaussian-absorbed-CR1": dict(
        outcome="score", absorb=True, inference=se.ClusterRobust(kind="CR1")
    ),
    "gaussian-wild": dict(
        outcome="score", inference=se.WildClusterBootstrap(n_resamples=199, rng=3)
    ),
    "gaussian-randomization": dict(
        outcome="score", inference=se.Randomization(n_resamples=99, rng=4)
    ),
    "binomial-CR2-cov": dict(outcome="cpp", family="binomial", covariates=["age_band"]),
    "binomial-HC1": dict(outcome="cpp", family="binomial", inference=se.HeteroskedasticityRobust()),
    "binomial-CR0": dict(outcome="cpp", family="binomial", inference=se.ClusterRobust(kind="CR0")),
    "binomial-randomization": dict(
        outcome="cpp", family="binomial", inference=se.Randomization(n_resamples=99, rng=6)
    ),
    "poisson-CR2-exposure": dict(outcome="rereferrals", family="poisson", exposure="exposure"),
    "poisson-CR3-age-clusters": dict(
        outcome="rereferrals", family="poisson", inference=se.ClusterRobust("age_band", kind="CR3")
    ),
    "binomial-CR3-age-clusters": dict(
        outcome="cpp", family="binomial", inference=se.ClusterRobust("age_band", kind="CR3")
    ),
    "poisson-randomization": dict(
        outcome="rereferrals",
        family="poisson",
        exposure="exposure",
        inference=se.Randomization(n_resamples=99, rng=5),
    ),
    "poisson-CR1-weights": dict(
        outcome="rereferrals",
        family="poisson",
        exposure="exposure",
        weights="weight",
        inference=se.ClusterRobust(kind="CR1"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_parquet_path_equals_pandas(small, case):
    path, frame = small
    kwargs = {**DESIGN, **CASES[case]}
    assert_identical(se.did(path, **kwargs), se.did(frame, **kwargs))


def test_relation_csv_and_folder_equal_pandas(small, tmp_path):
    path, frame = small
    kwargs = dict(DESIGN, outcome="score", inference=se.ClusterRobust(kind="CR1"))
    want = se.did(frame, **kwargs)
    con = duckdb.connect()
    assert_identical(se.did(con.read_parquet(path), **kwargs), want)
    csv = tmp_path / "small.csv"
    frame.to_csv(csv, index=False)
    assert_identical(se.did(str(csv), **kwargs), want)
    folder = tmp_path / "parts"
    folder.mkdir()
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 10_000), folder / "a.parquet")
    pq.write_table(table.slice(10_000), folder / "b.parquet")
    assert_identical(se.did(folder, **kwargs), want)
    assert_identical(se.did(str(folder / "*.parquet"), **kwargs), want)


def test_a_path_that_exists_is_read_literally_not_as_a_pattern(small, tmp_path):
    # issue 19: "data[1].parquet" was globbed, matched "data1.parquet" and read the wrong file
    path, frame = small
    kwargs = dict(DESIGN, outcome="score", inference=se.ClusterRobust(kind="CR1"))
    table = pq.read_table(path)
    literal = tmp_path / "data[1].parquet"
    pq.write_table(table, literal)
    other = frame.assign(score=frame["score"] + 100 * frame["treated"])
    other.to_parquet(tmp_path / "data1.parquet")
    assert_identical(se.did(str(literal), **kwargs), se.did(frame, **kwargs))
    csv = tmp_path / "rows[2].csv"
    frame.to_csv(csv, index=False)
    assert_identical(se.did(str(csv), **kwargs), se.did(frame, **kwargs))
    # a path that does not exist is still a pattern, when asked for
    globbed = se.did(str(tmp_path / "data[0-9].parquet"), **kwargs)
    assert_identical(globbed, se.did(other, **kwargs))


def test_string_units_and_dates_sort_as_in_pandas():
    """Cells are put in the order pandas would give (string LA names, dates as periods)."""
    rng = np.random.default_rng(5)
    names = ["Leeds", "Bury", "Wigan", "Hull", "York", "Derby"]
    rows = pd.DataFrame(
        {
            "la": rng.choice(names, 3_000),
            "month": pd.to_datetime("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 6, 3_000) * 31, "D"),
        }
    )
    rows["month"] = rows["month"].dt.to_period("M").dt.to_timestamp()
    rows["treated"] = (rows["la"].isin(["Leeds", "Hull"]) & (rows["month"] >= "2020-04-01")) * 1
    rows["y"] = rng.normal(0, 1, 3_000) - 0.5 * rows["treated"]
    con = duckdb.connect()
    con.register("rows_view", rows)
    relation = con.sql("SELECT * FROM rows_view")
    kwargs = dict(outcome="y", unit="la", time="month", treated="treated")
    got, want = se.did(relation, **kwargs), se.did(rows, **kwargs)
    assert_identical(got, want)
    assert got._cells.keys["la"].tolist() == want._cells.keys["la"].tolist()


def test_row_level_request_under_the_limit_runs_on_rows(small):
    path, frame = small
    kwargs = dict(DESIGN, outcome="score", collapse_rows=False, inference=se.Classical())
    got = se.did(source(path, max_cells=50_000), **kwargs)
    want = se.did(frame, **kwargs)
    assert got.n_cells == got.n_obs == 30_000
    np.testing.assert_allclose(
        got.tidy()[NUMBERS].to_numpy(float), want.tidy()[NUMBERS].to_numpy(float), rtol=1e-9
    )


def test_caller_relation_is_left_as_it_was(small):
    path, _ = small
    con = duckdb.connect()
    relation = con.read_parquet(path)
    before = (relation.columns, relation.types, relation.aggregate("count(*)").fetchall())
    se.did(relation, **DESIGN, outcome="score", inference=se.ClusterRobust(kind="CR1"))
    assert (relation.columns, relation.types, relation.aggregate("count(*)").fetchall()) == before


# ---- bad inputs -----------------------------------------------------------------------------


def test_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere" / "national.parquet"
    with pytest.raises(DataFileError, match=r"does not exist: .*national\.parquet.*Check the path"):
        se.did(str(missing), outcome="score", **DESIGN)
    with pytest.raises(DataFileError, match=r"no file matches the pattern"):
        se.did(str(tmp_path / "*.parquet"), outcome="score", **DESIGN)


def test_parquet_missing_a_column(small):
    path, _ = small
    with pytest.raises(MissingColumnError) as err:
        se.did(path, outcome="wellbeing", **DESIGN)
    message = str(err.value)
    assert "`outcome`" in message and "'wellbeing'" in message
    assert "la, region, period" in message and "Pass one of them" in message


def test_column_of_the_wrong_type():
    relation = duckdb.sql(
        "SELECT i % 6 AS la, i % 4 AS period, CAST(i % 6 < 2 AND i % 4 > 1 AS INTEGER) "
        "AS treated, CAST(i AS VARCHAR) AS y, i % 2 = 0 AS flag FROM range(48) t(i)"
    )
    with pytest.raises(InvalidValueError, match=r"`outcome` column 'y' .* type varchar.*CAST"):
        se.did(relation, outcome="y", **DESIGN)
    with pytest.raises(InvalidValueError, match=r"`treated` column 'flag' .* is boolean; pass 0/1"):
        se.did(relation, outcome="la", unit="la", time="period", treated="flag")


@pytest.mark.parametrize(
    ("select", "kwargs", "error", "words"),
    [
        (
            "CASE WHEN i = 7 THEN NULL ELSE i * 0.1 END AS y",
            {},
            InvalidValueError,
            r"`outcome` column 'y' .* missing values \(NULL\) in 1 row, in la x period cells "
            r"'\(1, 3\)' \(1 value\)\. Fix or filter",
        ),
        (
            "CASE WHEN i = 7 THEN 'NaN'::DOUBLE ELSE i * 0.1 END AS y",
            {},
            InvalidValueError,
            r"missing values \(NaN\) in some rows of la x period cells '\(1, 3\)'",
        ),
        (
            "CASE WHEN i = 7 THEN 'inf'::DOUBLE ELSE i * 0.1 END AS y",
            {},
            InvalidValueError,
            r"infinite values in some rows of la x period cells '\(1, 3\)'",
        ),
        (
            "i % 3 AS y",
            {"family": "binomial"},
            InvalidValueError,
            r"must be 0 or 1; other values in 16 rows",
        ),
        (
            "i % 3 - 1 AS y",
            {"family": "poisson"},
            InvalidValueError,
            r"holds counts and cannot be negative; negative \(down to -1\)",
        ),
        (
            "i * 0.1 AS y, CASE WHEN i = 7 THEN 0 ELSE 1.0 END AS e",
            {"family": "poisson", "exposure": "e"},
            InvalidValueError,
            r"`exposure` column 'e' .* is 0 in some rows of la x period cells '\(1, 3\)'.*positive",
        ),
        (
            "i * 0.1 AS y, CASE WHEN i = 7 THEN -1 ELSE 1.0 END AS w",
            {"weights": "w"},
            InvalidValueError,
            r"`weights` column 'w' .* cannot be negative",
        ),
        (
            "i * 0.1 AS y, CASE WHEN i < 3 THEN NULL ELSE i END AS age",
            {"covariates": ["age"]},
            InvalidValueError,
            r"`covariates\[0\]` column 'age' .* missing values \(NULL or NaN\) in 3 rows",
        ),
        ("i * 0.1 AS y", {"family": "gamma"}, InvalidValueError, r"`family` must be one of"),
    ],
)
def test_bad_values_name_the_column_rows_and_fix(select, kwargs, error, words):
    """48 rows: 6 LAs x 4 periods x 2; row i = 7 is LA 1, period 3."""
    relation = duckdb.sql(
        "SELECT i % 6 AS la, i % 4 AS period, CAST(i % 6 < 2 AND i % 4 > 1 AS INTEGER) AS treated, "
        f"{select} FROM range(48) t(i)"
    )
    with pytest.raises(error, match=words):
        se.did(relation, outcome="y", **DESIGN, **kwargs)


def test_null_unit_and_non_binary_treatment():
    base = "SELECT i % 4 AS period, i * 0.1 AS y, "
    relation = duckdb.sql(
        base + "CASE WHEN i = 5 THEN NULL ELSE i % 6 END AS la, "
        "CAST(i % 6 < 2 AND i % 4 > 1 AS INTEGER) AS treated FROM range(48) t(i)"
    )
    with pytest.raises(
        InvalidValueError,
        match=r"`unit` column 'la' .* \(NULL\) in 1 row\(s\); every row needs a unit",
    ):
        se.did(relation, outcome="y", **DESIGN)
    relation = duckdb.sql(base + "i % 6 AS la, (i % 6) / 2 AS treated FROM range(48) t(i)")
    with pytest.raises(
        InvalidValueError,
        match=r"`treated` .* must be 0 or 1; other values 0.5, 1.5, 2.0, 2.5 \(4 values\) in 32",
    ):
        se.did(relation, outcome="y", **DESIGN)


def test_design_errors_match_the_pandas_path():
    """The probe (min and max outcome per cell) gives pandas' verdicts and messages."""
    rows = pd.DataFrame({"la": np.repeat(np.arange(4), 6), "period": np.tile(np.arange(3), 8)})
    rows["treated"] = ((rows["la"] == 0) & (rows["period"] >= 1)).astype(int)
    rows.loc[0, "treated"] = 1  # varies within (0, 0)
    rows["y"] = np.arange(24.0)
    relation = duckdb.sql("SELECT * FROM rows")
    with pytest.raises(DesignError) as remote:
        se.did(relation, outcome="y", **DESIGN)
    with pytest.raises(DesignError) as local:
        se.did(rows, outcome="y", **DESIGN)
    assert str(remote.value) == str(local.value)
    assert "varies within la x period cells '(0, 0)'" in str(remote.value)
    rows["treated"] = 0
    relation = duckdb.sql("SELECT * FROM rows")
    with pytest.raises(DesignError, match="no treated units"):
        se.did(relation, outcome="y", **DESIGN)
    rows["treated"] = ((rows["la"] < 2) & (rows["period"] >= 1)).astype(int)
    rows["y"] = rows["la"] * 1.0  # constant within units
    relation = duckdb.sql("SELECT * FROM rows")
    with pytest.raises(DesignError, match="constant within every la"):
        se.did(relation, outcome="y", **DESIGN)


def test_continuous_covariate_over_the_size_limit(small):
    path, _ = small
    with pytest.raises(SizeLimitError) as err:
        se.did(source(path, max_cells=5_000), outcome="score", covariates=["deprivation"], **DESIGN)
    message = str(err.value)
    assert "did() on" in message and "max_cells=5,000" in message
    assert "covariates[0] 'deprivation' (about" in message
    assert "Bin continuous covariates" in message and "source(data, max_cells=...)" in message


def test_row_by_row_request_over_the_size_limit(small):
    path, _ = small
    with pytest.raises(SizeLimitError) as err:
        se.did(source(path, max_cells=1_000), outcome="score", collapse_rows=False, **DESIGN)
    message = str(err.value)
    assert "did(collapse_rows=False) fits row by row" in message
    assert "30,000 rows" in message and "Use collapse_rows=True" in message


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_max_cells_must_be_a_positive_integer(bad):
    with pytest.raises(InvalidValueError, match="`max_cells` must be a positive integer"):
        source("x.parquet", max_cells=bad)


def test_other_inputs_are_refused():
    with pytest.raises(InvalidValueError, match="must be a pandas DataFrame, a DuckDB relation"):
        se.did([1, 2, 3], outcome="y", **DESIGN)


# ---- SQL and the generator ------------------------------------------------------------------


def test_cell_query_runs_in_duckdb_and_quotes_names():
    rows = pd.DataFrame({"local authority": [1, 1, 2], "y y": [0.5, 1.5, 2.0], "e": [1, 2, 3]})
    con = duckdb.connect()
    con.register("t", rows)
    sql = cell_query(
        keys=["local authority"],
        outcome="y y",
        exposure="e",
        binary=False,
        limit=10,
        dialect="duckdb",
    ).replace("{table}", "t")
    out = con.sql(f"SELECT * FROM ({sql}) ORDER BY k0").df()
    assert out["n"].tolist() == [2, 1]
    assert out["sum_y"].tolist() == [2.0, 2.0] and out["sum_y2"].tolist() == [2.5, 4.0]
    assert out["sum_ey"].tolist() == [3.5, 6.0] and out["sum_e2"].tolist() == [5.0, 9.0]


def test_generator_is_seeded_and_independent_of_chunk_size(tmp_path):
    a = pa.concat_tables(
        national.national_chunks(20_000, n_las=12, n_periods=8, seed=3, chunk_rows=1_000)
    )
    b = pa.concat_tables(
        national.national_chunks(20_000, n_las=12, n_periods=8, seed=3, chunk_rows=50_000)
    )
    assert a.equals(b) and a.num_rows == 20_000 and a.schema == national.SCHEMA
    c = pa.concat_tables(national.national_chunks(20_000, n_las=12, n_periods=8, seed=4))
    assert not a.equals(c)
    frame = a.to_pandas()
    by_la = frame.groupby("la").agg(cohort=("cohort", "first"))
    adopters = frame.loc[frame["treated"] == 1].groupby("la")["period"].min()
    assert sorted(adopters.unique().tolist()) == [3, 5, 6]  # waves at 40/60/80% of 8 periods
    assert len(adopters) == 6 and by_la["cohort"].notna().sum() == 6  # 3 x (12 // 5) adopters
    assert (frame.loc[frame["cohort"].isna(), "treated"] == 0).all()


def test_generator_rejects_bad_sizes():
    with pytest.raises(InvalidValueError, match="`n_las` must be at least 4"):
        national.national_layout(100, n_las=2)


def test_generator_truth_is_recovered(small):
    """Known truth: the Gaussian effect is -2 (sd 5 noise); 30,000 rows give SE ~ 0.1."""
    _, frame = small
    res = se.did(frame, outcome="score", covariates=["age_band", "male"], **DESIGN)
    assert abs(res.estimate.estimate - national.TRUE_EFFECTS["score"]) < 4 * res.estimate.std_error


def test_columns_named_like_the_sums_do_not_clash():
    rows = pd.DataFrame({"la": np.repeat(np.arange(6), 40), "period": np.tile(np.arange(4), 60)})
    rows["sum_y"] = ((rows["la"] < 2) & (rows["period"] >= 2)).astype(int)
    rows["n"] = np.tile(np.arange(3), 80)
    rows["min_y"] = np.sin(np.arange(240.0)) + rows["n"] - rows["sum_y"]
    relation = duckdb.sql("SELECT * FROM rows")
    kwargs = dict(outcome="min_y", unit="la", time="period", treated="sum_y", covariates=["n"])
    assert_identical(se.did(relation, **kwargs), se.did(rows, **kwargs))


def test_poisson_cr2_with_exposure_varying_within_cells_is_exact(tmp_path):
    """Exposure is part of the cell key (a row's GLM working variance depends on it), so the
    symmetric CR2 on cells equals CR2 on the rows (collapse_rows=False); with exposure left out
    of the key the two differed by 0.3% of the SE. Reference: the row-level fit, 1e-9."""
    path = write_national(tmp_path / "rates.parquet", 4_000, n_las=12, n_periods=6, seed=2)
    frame = pd.read_parquet(path)
    kwargs = dict(DESIGN, outcome="rereferrals", family="poisson", exposure="exposure")
    rows = se.did(frame, collapse_rows=False, **kwargs)
    cells = se.did(frame, **kwargs)
    assert cells.n_cells < rows.n_cells / 5
    np.testing.assert_allclose(
        cells.tidy()[NUMBERS].to_numpy(float), rows.tidy()[NUMBERS].to_numpy(float), rtol=1e-9
    )
    assert_identical(se.did(str(path), **kwargs), cells)
