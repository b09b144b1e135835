"""Run the estimators where the data live: DuckDB (embedded) and Spark.

``sfpc_eval.did`` accepts, besides a pandas DataFrame, a DuckDB relation, a Parquet or CSV path
(read by an embedded DuckDB) and a PySpark DataFrame. One ``GROUP BY`` collapses the rows into
the weighted cells the fit needs (:mod:`sfpc_eval.cells.collapse`), and only the cells come
back into Python. :func:`source` sets the size limit on what comes back; :func:`write_national`
writes synthetic national child-level data to Parquet for trying this at scale.

Examples
--------
>>> import duckdb
>>> import sfpc_eval as se
>>> from sfpc_eval.engines import source
>>> rows = duckdb.sql(
...     "SELECT la, year, CAST(la < 3 AND year >= 2016 AS INTEGER) AS treated, "
...     "la + 0.5 * year - 5 * CAST(la < 3 AND year >= 2016 AS INTEGER) + (la * year) % 3 AS y "
...     "FROM range(8) AS a(la), range(2012, 2020) AS b(year)"
... )
>>> res = se.did(source(rows, max_cells=10_000), outcome="y", unit="la", time="year",
...              treated="treated")
>>> res.n_obs, res.n_cells
(64, 64)
"""

from sfpc_eval.engines.national import national_chunks, write_national
from sfpc_eval.engines.remote import did_input, remote_cells
from sfpc_eval.engines.sources import DEFAULT_MAX_CELLS, Source, is_engine_input, source

__all__ = [
    "DEFAULT_MAX_CELLS",
    "Source",
    "did_input",
    "is_engine_input",
    "national_chunks",
    "remote_cells",
    "source",
    "write_national",
]
