"""SQL text for the cell ``GROUP BY``, in the common subset of DuckDB and Spark SQL.

The only dialect difference the queries meet is how identifiers are quoted (``"x"`` in DuckDB,
`` `x` `` in Spark); everything else (``CAST(... AS DOUBLE)``, ``SUM``, ``MIN``, ``MAX``,
``COUNT``, ``CASE``, ``LIMIT``, ``approx_count_distinct``) is spelled the same in both.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "NUMERIC_TYPES",
    "cell_query",
    "distinct_query",
    "is_numeric_type",
    "quote",
    "rows_query",
]

NUMERIC_TYPES = (
    "tinyint",
    "smallint",
    "integer",
    "int",
    "bigint",
    "hugeint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "uhugeint",
    "float",
    "real",
    "double",
)


def is_numeric_type(sql_type: str) -> bool:
    """Tell whether ``sql_type`` is an integer, floating-point or decimal type (DuckDB or Spark).

    Examples
    --------
    >>> is_numeric_type("bigint"), is_numeric_type("decimal(10,2)"), is_numeric_type("varchar")
    (True, True, False)
    """
    sql_type = sql_type.lower()
    return sql_type in NUMERIC_TYPES or sql_type.startswith(("decimal", "numeric"))


def quote(name: str, dialect: str) -> str:
    """Quote an identifier for ``dialect`` ("duckdb" or "spark").

    Examples
    --------
    >>> print(quote("age band", "duckdb"), quote("age band", "spark"))
    "age band" `age band`
    """
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def _double(name: str, dialect: str) -> str:
    return f"CAST({quote(name, dialect)} AS DOUBLE)"


def cell_query(
    *,
    keys: Sequence[str],
    outcome: str,
    exposure: str | None,
    binary: bool,
    limit: int,
    dialect: str,
) -> str:
    """Build the one-pass ``GROUP BY`` that returns each cell's sums and the checks on the rows.

    Output columns: the ``keys`` (as ``k0, k1, ...``) and, per cell, ``n`` (rows), ``n_y``
    (non-missing outcomes), ``sum_y``, ``sum_y2``, ``min_y``, ``max_y``; with ``binary``,
    ``bad_y`` (outcomes other than 0 and 1); with ``exposure``, ``n_e``, ``sum_e``, ``sum_ey``,
    ``sum_e2``, ``min_e``, ``max_e``. Weights are part of the key, so their sums follow from these
    in Python. At most ``limit`` cells are returned.

    Examples
    --------
    >>> print(cell_query(keys=["la"], outcome="y", exposure=None, binary=False, limit=10,
    ...                  dialect="spark"))  # doctest: +ELLIPSIS
    SELECT `la` AS k0, COUNT(*) AS n, COUNT(`y`) AS n_y, SUM(CAST(`y` AS DOUBLE)) AS sum_y, ...
    """
    y = _double(outcome, dialect)
    parts = [f"{quote(k, dialect)} AS k{i}" for i, k in enumerate(keys)]
    parts += [
        "COUNT(*) AS n",
        f"COUNT({quote(outcome, dialect)}) AS n_y",
        f"SUM({y}) AS sum_y",
        f"SUM({y} * {y}) AS sum_y2",
        f"MIN({y}) AS min_y",
        f"MAX({y}) AS max_y",
    ]
    if binary:
        parts.append(f"SUM(CASE WHEN {y} = 0 OR {y} = 1 OR {y} IS NULL THEN 0 ELSE 1 END) AS bad_y")
    if exposure is not None:
        e = _double(exposure, dialect)
        parts += [
            f"COUNT({quote(exposure, dialect)}) AS n_e",
            f"SUM({e}) AS sum_e",
            f"SUM({e} * {y}) AS sum_ey",
            f"SUM({e} * {e}) AS sum_e2",
            f"MIN({e}) AS min_e",
            f"MAX({e}) AS max_e",
        ]
    group = ", ".join(quote(k, dialect) for k in keys)
    return f"SELECT {', '.join(parts)} FROM {{table}} GROUP BY {group} LIMIT {int(limit)}"


def distinct_query(columns: Sequence[str], dialect: str) -> str:
    """Approximate distinct counts of ``columns`` and the row count, in one pass.

    Examples
    --------
    >>> distinct_query(["age"], "duckdb")
    'SELECT COUNT(*) AS n, approx_count_distinct("age") AS d0 FROM {table}'
    """
    parts = ["COUNT(*) AS n"]
    parts += [f"approx_count_distinct({quote(c, dialect)}) AS d{i}" for i, c in enumerate(columns)]
    return f"SELECT {', '.join(parts)} FROM {{table}}"


def rows_query(columns: Sequence[str], limit: int, dialect: str) -> str:
    """Select ``columns`` of at most ``limit`` rows.

    Examples
    --------
    >>> rows_query(["la", "y"], 5, "duckdb")
    'SELECT "la", "y" FROM {table} LIMIT 5'
    """
    return f"SELECT {', '.join(quote(c, dialect) for c in columns)} FROM {{table}} LIMIT {limit}"
