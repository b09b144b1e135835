"""Where the rows live: a DuckDB relation, a Parquet or CSV path, or a PySpark DataFrame.

:func:`source` wraps any of these in a :class:`Source`, which knows the column names and SQL
types without reading the data, and runs a SQL query against it, returning the (small) result
as a pandas DataFrame. ``duckdb`` and ``pyspark`` are imported only when such an input is used.
"""

from __future__ import annotations

import glob
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sfpc_eval.errors import DataFileError, FileColumnsError, InvalidValueError

__all__ = ["DEFAULT_MAX_CELLS", "Source", "is_engine_input", "source"]

DEFAULT_MAX_CELLS = 1_000_000
"""Most cells (or rows, for a row-level request) brought into memory from a remote source."""

_VIEW_COUNTER = itertools.count()


@dataclass(frozen=True, eq=False)
class Source:
    """Rows held by an engine, with the size limit for what comes back to Python.

    Build one with :func:`source`; estimators that accept engine inputs (``did``) take it in
    place of a DataFrame.

    Attributes
    ----------
    dialect : {"duckdb", "spark"}
        The SQL dialect of the engine.
    columns : tuple of str
        Column names.
    types : dict of str to str
        Lower-case SQL type of each column (``"bigint"``, ``"double"``, ``"varchar"``...).
    max_cells : int
        Most cells (or rows, for a request that needs rows) a query may bring back.
    label : str
        How messages name the source (the path, or the kind of object).
    """

    dialect: str
    columns: tuple[str, ...]
    types: dict[str, str] = field(repr=False)
    max_cells: int
    label: str
    _handle: Any = field(repr=False)

    def fetch(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` (which reads the table ``{table}``) and return its result as pandas.

        ``{table}`` in ``sql`` is replaced by the engine's name for the source.
        """
        if self.dialect == "duckdb":
            name = f"sfpc_eval_src_{next(_VIEW_COUNTER)}"
            return self._handle.query(name, sql.replace("{table}", name)).df()
        name = f"sfpc_eval_src_{os.getpid()}_{next(_VIEW_COUNTER)}"
        spark = self._handle.sparkSession
        self._handle.createOrReplaceTempView(name)
        try:
            result = spark.sql(sql.replace("{table}", name))
            rows = result.collect()
            return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(result.columns))
        finally:
            spark.catalog.dropTempView(name)


def is_engine_input(data: object) -> bool:
    """Tell whether :func:`source` accepts ``data`` (anything but a pandas DataFrame).

    Examples
    --------
    >>> is_engine_input("cells.parquet"), is_engine_input([1, 2])
    (True, False)
    """
    return (
        isinstance(data, Source | str | os.PathLike)
        or _is_duckdb_relation(data)
        or _is_spark_frame(data)
    )


def source(data: Any, *, max_cells: int = DEFAULT_MAX_CELLS, connection: Any = None) -> Source:
    """Wrap a DuckDB relation, a Parquet/CSV path or a PySpark DataFrame for the estimators.

    Parameters
    ----------
    data : duckdb.DuckDBPyRelation, str, os.PathLike, pyspark.sql.DataFrame or Source
        The rows. A path may be a Parquet file (``.parquet``/``.pq``), a CSV file (``.csv``,
        ``.csv.gz``), a folder of Parquet files, or a glob such as ``"data/*.parquet"``; it is
        read by an embedded DuckDB. A path that exists is read literally, even if its name
        holds ``*``, ``?`` or ``[``; only a path that does not exist is taken as a pattern.
    max_cells : int, default 1,000,000
        Most cells (or rows, when a request needs rows) brought back into memory. A request
        over the limit raises :class:`~sfpc_eval.errors.SizeLimitError` before the rows move.
    connection : duckdb.DuckDBPyConnection, optional
        DuckDB connection used to read a path (a new in-memory one by default).

    Returns
    -------
    Source

    Raises
    ------
    DataFileError
        A path that does not exist, or a file DuckDB cannot read.
    InvalidValueError
        An input of another kind, or a ``max_cells`` that is not a positive integer.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> rel = con.sql("SELECT 1 AS la, 2019 AS year, 0.5 AS y")
    >>> src = source(rel, max_cells=1000)
    >>> src.columns, src.types["y"]
    (('la', 'year', 'y'), 'decimal(2,1)')
    """
    if not isinstance(max_cells, int) or isinstance(max_cells, bool) or max_cells < 1:
        raise InvalidValueError(f"`max_cells` must be a positive integer; got {max_cells!r}.")
    if isinstance(data, Source):
        return Source(data.dialect, data.columns, data.types, max_cells, data.label, data._handle)
    if isinstance(data, str | os.PathLike):
        return _from_path(Path(data), max_cells, connection)
    if _is_duckdb_relation(data):
        types = {c: str(t).lower() for c, t in zip(data.columns, data.types, strict=True)}
        return Source("duckdb", tuple(data.columns), types, max_cells, "the DuckDB relation", data)
    if _is_spark_frame(data):
        fields = data.schema.fields
        types = {f.name: f.dataType.simpleString().lower() for f in fields}
        return Source(
            "spark", tuple(f.name for f in fields), types, max_cells, "the Spark DataFrame", data
        )
    raise InvalidValueError(
        "`data` must be a pandas DataFrame, a DuckDB relation, a Parquet/CSV path or a PySpark "
        f"DataFrame; got {type(data).__name__}."
    )


def _is_duckdb_relation(data: object) -> bool:
    return type(data).__name__ == "DuckDBPyRelation" and type(data).__module__.startswith("duckdb")


def _is_spark_frame(data: object) -> bool:
    module = type(data).__module__
    return module.startswith("pyspark.sql") and type(data).__name__ == "DataFrame"


def _from_literal_path(path: Path, max_cells: int, connection: Any) -> Source:
    """Read a file whose name holds glob characters (``data[1].parquet``) as that one file.

    DuckDB's readers expand ``*``, ``?`` and ``[...]`` in any path they are given, so such a
    name is opened through a lazy Arrow dataset instead, which takes paths literally.
    """
    import duckdb
    import pyarrow.dataset as ds

    suffixes = "".join(path.suffixes).lower()
    if path.is_dir() or suffixes.endswith((".parquet", ".pq")):
        fmt = "parquet"
    elif ".csv" in suffixes:
        fmt = "csv"
    else:
        raise DataFileError(
            f"cannot tell the format of {str(path)!r} from its name; use a .parquet or .csv "
            "file name, or read it yourself into a DuckDB relation and pass that.",
            path=path,
        )
    if path.is_dir():
        check_same_columns(sorted(path.glob("**/*.parquet")), str(path))
    con = connection if connection is not None else duckdb.connect()
    try:
        dataset = ds.dataset(str(path), format=fmt)
        relation = con.from_arrow(dataset)
        types = {c: str(t).lower() for c, t in zip(relation.columns, relation.types, strict=True)}
    except (duckdb.Error, OSError, ValueError) as err:
        raise DataFileError(f"cannot read {str(path)!r}: {err}", path=path) from err
    return Source("duckdb", tuple(relation.columns), types, max_cells, repr(str(path)), relation)


def check_same_columns(files: list[Path], where: str) -> None:
    """Raise :class:`FileColumnsError` unless every Parquet file has the same columns and types.

    Only the files' footers are read. DuckDB would otherwise fail halfway through a query
    with its own error (or, for types, cast silently); the message here names the files and
    the columns that differ from the first file.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     pd.DataFrame({"la": [1], "y": [2.0]}).to_parquet(f"{folder}/a.parquet")
    ...     pd.DataFrame({"la": [2], "y": [3.0]}).to_parquet(f"{folder}/b.parquet")
    ...     check_same_columns(sorted(Path(folder).glob("*.parquet")), folder)
    """
    import pyarrow.parquet as pq

    if len(files) < 2:
        return
    try:
        schemas = [pq.read_schema(f) for f in files]
    except (OSError, ValueError) as err:
        raise DataFileError(
            f"cannot read the Parquet footers in {where!r}: {err}", path=where
        ) from err
    reference = {n: schemas[0].field(n).type for n in schemas[0].names}
    problems = []
    for file, schema in zip(files[1:], schemas[1:], strict=True):
        names = set(schema.names)
        lacks = [n for n in reference if n not in names]
        extra = [n for n in schema.names if n not in reference]
        retyped = [
            f"{n} ({reference[n]} vs {schema.field(n).type})"
            for n in schema.names
            if n in reference and not _compatible(reference[n], schema.field(n).type)
        ]
        parts = [
            f"lacks {', '.join(map(repr, lacks))}" if lacks else "",
            f"has extra {', '.join(map(repr, extra))}" if extra else "",
            f"has other types for {', '.join(retyped)}" if retyped else "",
        ]
        if any(parts):
            problems.append(f"{file.name}: " + "; ".join(p for p in parts if p))
    if problems:
        shown = "\n  ".join(problems[:8]) + (
            f"\n  and {len(problems) - 8} more files" if len(problems) > 8 else ""
        )
        raise FileColumnsError(
            f"the Parquet files in {where!r} do not share their columns; compared with "
            f"{files[0].name} ({', '.join(reference)}):\n  {shown}\nRewrite them with one "
            "schema, or read them yourself (e.g. duckdb's read_parquet(..., union_by_name=true)) "
            "and pass the relation.",
            path=where,
            expected=list(reference),
            found=sorted({n for s in schemas for n in s.names}),
        )


def _compatible(a: Any, b: Any) -> bool:
    """Tell whether two Arrow types union safely (the same, both numeric or both text)."""
    import pyarrow.types as pt

    def numeric(t: Any) -> bool:
        return pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t)

    def text(t: Any) -> bool:
        return pt.is_string(t) or pt.is_large_string(t) or pt.is_dictionary(t)

    return a == b or (numeric(a) and numeric(b)) or (text(a) and text(b))


def _from_path(path: Path, max_cells: int, connection: Any) -> Source:
    import duckdb

    text = str(path)
    literal = path.exists()  # a file or folder of that very name is read as it is, never globbed
    if literal and any(ch in text for ch in "*?["):
        return _from_literal_path(path, max_cells, connection)
    if not literal and any(ch in text for ch in "*?["):
        matches = sorted(glob.glob(text, recursive=True))
        if not matches:
            raise DataFileError(
                f"no file matches the pattern {text!r}; check the folder and the pattern "
                "(e.g. 'data/*.parquet').",
                path=path,
            )
        first = Path(matches[0])
    elif path.is_dir():
        matches = sorted(glob.glob(str(path / "**" / "*.parquet"), recursive=True))
        if not matches:
            raise DataFileError(
                f"the folder {text!r} holds no .parquet files; point at a Parquet or CSV file, "
                "or a folder of Parquet files.",
                path=path,
            )
        first, text = Path(matches[0]), str(path / "**" / "*.parquet")
    elif not path.exists():
        near = sorted(p.name for p in path.parent.glob("*"))[:5] if path.parent.is_dir() else []
        hint = f" That folder has: {', '.join(near)}." if near else ""
        raise DataFileError(
            f"`data` names a file that does not exist: {text!r}.{hint} Check the path (it is "
            f"read relative to {os.getcwd()!r}).",
            path=path,
        )
    else:
        first = path
    suffixes = "".join(first.suffixes).lower()
    if (suffixes.endswith((".parquet", ".pq")) and not literal) or path.is_dir():
        check_same_columns([Path(m) for m in matches], str(path))
    con = connection if connection is not None else duckdb.connect()
    quoted = "'" + text.replace("'", "''") + "'"
    if suffixes.endswith((".parquet", ".pq")):
        reader = f"read_parquet({quoted}, hive_partitioning = false)"
    elif ".csv" in suffixes or ".tsv" in suffixes:
        reader = f"read_csv({quoted})"
    else:
        raise DataFileError(
            f"cannot tell the format of {text!r} from its name; use a .parquet or .csv file "
            "name, or read it yourself into a DuckDB relation and pass that.",
            path=path,
        )
    try:
        relation = con.sql(f"SELECT * FROM {reader}")
        types = {c: str(t).lower() for c, t in zip(relation.columns, relation.types, strict=True)}
    except duckdb.Error as err:
        raise DataFileError(f"DuckDB cannot read {text!r}: {err}", path=path) from err
    return Source("duckdb", tuple(relation.columns), types, max_cells, repr(text), relation)
