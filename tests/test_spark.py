"""Spark (local mode) and DuckDB against pandas on the same 1,000,000 generated rows.

Acceptance test of issue 9: for every estimator that is exact on cells, did() on a PySpark
DataFrame, on the Parquet path (DuckDB) and on the rows in pandas give the same estimates,
variance matrices, degrees of freedom, p-values and intervals to 1e-10 (relative). The pandas
path is the reference (it is checked against R in test_did_against_r.py); the engines only move
the GROUP BY, and sums added in another order change the last bits only.

The Spark session is created once per test session with small memory settings
(``local[2]``, 1 GB driver, no UI). Without pyspark or Java the tests are skipped.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import sfpc_eval as se
from _engine_cases import DESIGN, assert_identical
from sfpc_eval.engines import source, write_national
from sfpc_eval.errors import InvalidValueError, MissingColumnError, SizeLimitError

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI has Java 17
    pytest.skip("Spark needs Java", allow_module_level=True)

pytestmark = pytest.mark.slow  # a Spark session takes 20-40 s to start on 2 shared cores


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("sfpc_eval-tests")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("national") / "small.parquet"
    write_national(path, 20_000, n_las=24, n_periods=8, seed=11)
    return str(path), pd.read_parquet(path)


def test_spark_equals_pandas_small(spark, small):
    """Fast check (20,000 rows): Spark's GROUP BY gives pandas' numbers, default CR2."""
    path, frame = small
    rows = spark.read.parquet(path)
    for kwargs in (
        dict(outcome="score", covariates=["age_band"]),
        dict(outcome="cpp", family="binomial", inference=se.ClusterRobust(kind="CR1")),
        dict(outcome="rereferrals", family="poisson", exposure="exposure", weights="weight"),
    ):
        assert_identical(se.did(rows, **DESIGN, **kwargs), se.did(frame, **DESIGN, **kwargs))


def test_spark_request_over_the_size_limit(spark, small):
    rows = spark.read.parquet(small[0])
    with pytest.raises(SizeLimitError) as err:
        se.did(source(rows, max_cells=2_000), outcome="score", covariates=["deprivation"], **DESIGN)
    message = str(err.value)
    assert "did() on the Spark DataFrame would bring more than max_cells=2,000 cells" in message
    assert "covariates[0] 'deprivation' (about" in message and "Bin continuous" in message


def test_spark_column_of_the_wrong_type(spark):
    rows = spark.createDataFrame(
        [(la, t, int(la < 2 and t > 1), f"{la + t}.5") for la in range(6) for t in range(4)],
        ["la", "period", "treated", "score"],
    )
    with pytest.raises(InvalidValueError) as err:
        se.did(rows, outcome="score", **DESIGN)
    message = str(err.value)
    assert "`outcome` column 'score' in the Spark DataFrame has type string" in message
    assert "must be numeric" in message and "CAST(score AS DOUBLE)" in message


def test_spark_missing_column_and_nulls(spark):
    rows = spark.createDataFrame(
        [
            (la, t, int(la < 2 and t > 1), None if (la, t) == (3, 2) else 1.0 * la * t)
            for la in range(6)
            for t in range(4)
        ],
        "la int, period int, treated int, score double",
    )
    with pytest.raises(MissingColumnError, match=r"`weights` names column\(s\) not in the data"):
        se.did(rows, outcome="score", weights="w", **DESIGN)
    with pytest.raises(
        InvalidValueError,
        match=r"missing values \(NULL\) in 1 row, in la x period cells '\(3, 2\)'",
    ):
        se.did(rows, outcome="score", **DESIGN)


# ---- 1,000,000 rows: pandas, DuckDB and Spark -------------------------------------------------

EXACT_ON_CELLS = {
    "gaussian-CR2": dict(outcome="score"),
    "gaussian-CR0-weights": dict(
        outcome="score", weights="weight", inference=se.ClusterRobust(kind="CR0")
    ),
    "gaussian-CR1-absorbed": dict(
        outcome="score", absorb=True, inference=se.ClusterRobust(kind="CR1")
    ),
    "gaussian-HC1-covariate": dict(
        outcome="score", covariates=["age_band"], inference=se.HeteroskedasticityRobust()
    ),
    "gaussian-classical": dict(outcome="score", inference=se.Classical()),
    "gaussian-wild-bootstrap": dict(
        outcome="score", inference=se.WildClusterBootstrap(n_resamples=199, rng=1)
    ),
    "gaussian-randomization": dict(
        outcome="score", inference=se.Randomization(n_resamples=99, rng=2)
    ),
    "binomial-CR2-covariate": dict(outcome="cpp", family="binomial", covariates=["age_band"]),
    "poisson-CR2-exposure": dict(outcome="rereferrals", family="poisson", exposure="exposure"),
}


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    path = tmp_path_factory.mktemp("national") / "national_1m.parquet"
    write_national(path, 1_000_000, seed=20261123)
    return str(path), pd.read_parquet(path)


def test_pandas_duckdb_and_spark_agree_on_a_million_rows(spark, million):
    path, frame = million
    rows = spark.read.parquet(path).cache()
    assert rows.count() == 1_000_000
    for name, kwargs in EXACT_ON_CELLS.items():
        want = se.did(frame, **DESIGN, **kwargs)
        for engine_input in (path, rows):
            try:
                assert_identical(se.did(engine_input, **DESIGN, **kwargs), want)
            except AssertionError as err:  # name the case and the engine
                raise AssertionError(f"{name} on {type(engine_input).__name__}: {err}") from err
    rows.unpersist()
