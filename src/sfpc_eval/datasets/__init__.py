"""Small example data sets shipped with the package, for the README, the docs and tests.

Both are computed by this package's own readers from the DfE's official files (not copies of
them) by :mod:`sfpc_eval.datasets.make`; ``PROVENANCE.json`` beside them lists every file read
with its SHA-256, the settings, and the licence (Open Government Licence v3.0). The package
builds on :mod:`sfpc_eval.data` only to regenerate them; loading reads the CSV files.

- :func:`council_panel`: Leeds and its ten statistical neighbours, 2010-2025, with a
  ``treated`` column for Leeds from 2015 (a difference-in-differences with one treated
  council);
- :func:`staggered_panel`: 143 English councils, 2012-2024, with the SFPC adoption year of the
  twelve adopting councils in ``cohort`` (a staggered adoption).

Examples
--------
>>> from sfpc_eval import datasets
>>> panel = datasets.council_panel()
>>> panel.shape, panel["la"].nunique()
((176, 9), 11)
>>> int(panel.query("la == 'Leeds' and year == 2011")["cpp"].iloc[0])
974
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd

__all__ = ["council_panel", "provenance", "staggered_panel"]

HERE = Path(__file__).resolve().parent


@cache
def _provenance() -> dict:
    return json.loads((HERE / "PROVENANCE.json").read_text())


def provenance(name: str | None = None) -> dict:
    """How the data sets were made: source files (SHA-256), settings, licence.

    Parameters
    ----------
    name : {"council_panel", "staggered_panel"}, optional
        One data set's record; all of it by default.

    Examples
    --------
    >>> provenance("council_panel")["rows"]
    176
    """
    record = _provenance()
    if name is None:
        return json.loads(json.dumps(record))
    if name not in record["datasets"]:
        from sfpc_eval.errors import InvalidValueError

        raise InvalidValueError(
            f"`name` {name!r} is not a data set; choose one of {', '.join(record['datasets'])}."
        )
    return json.loads(json.dumps(record["datasets"][name]))


def _read(name: str, dtypes: dict[str, str]) -> pd.DataFrame:
    frame = pd.read_csv(HERE / f"{name}.csv", dtype=dtypes)
    record = provenance(name)
    frame.attrs["description"] = record["description"]
    frame.attrs["licence"] = _provenance()["licence"]
    return frame


def council_panel() -> pd.DataFrame:
    """Leeds and its ten DfE statistical neighbours, years ending 31 March 2010-2025.

    Returns
    -------
    pandas.DataFrame
        176 rows, one per council and year: ``la`` (council), ``la_code`` (ONS code),
        ``year`` (ending 31 March), ``population_0_17`` (ONS mid-year estimate the DfE
        divides by), ``cla`` and ``cpp`` (children looked after, and on child protection
        plans, at 31 March), ``cla_rate`` and ``cpp_rate`` (per 10,000 children aged 0-17),
        and ``treated`` (1 for Leeds from 2015). A fresh copy each call.

    Examples
    --------
    >>> council_panel().groupby("treated")["la"].nunique().to_dict()
    {0: 11, 1: 1}
    """
    return _read(
        "council_panel",
        {"population_0_17": "int64", "cla": "int64", "cpp": "int64", "treated": "int64"},
    )


def staggered_panel() -> pd.DataFrame:
    """English councils, years ending 31 March 2012-2024, with the SFPC adoption years.

    Returns
    -------
    pandas.DataFrame
        One row per council and year: ``la``, ``la_code``, ``year``, ``population_0_17``,
        ``cla`` (children looked after at 31 March), ``cla_rate`` (per 10,000 aged 0-17) and
        ``cohort`` (first year under the programme for the twelve SFPC councils; missing for
        councils never in it). Councils that ran these models before SFPC, and the Isles of
        Scilly (rate missing), are left out. A fresh copy each call.

    Examples
    --------
    >>> panel = staggered_panel()
    >>> sorted(panel["cohort"].dropna().unique().tolist())
    [2020.0, 2021.0, 2022.0, 2023.0]
    """
    return _read(
        "staggered_panel", {"population_0_17": "int64", "cla": "int64", "cohort": "float64"}
    )
