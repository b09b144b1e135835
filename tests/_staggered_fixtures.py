"""Load the committed staggered event-study fixtures (tests/fixtures/staggered_es)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent / "fixtures" / "staggered_es"


@cache
def reference() -> dict:
    """The pyfixest reference values written by generate.py."""
    return json.loads((HERE / "reference.json").read_text())["cases"]


def panel(name: str) -> pd.DataFrame:
    """panel_a (years 2010-2019) or panel_b (periods 1-12); a fresh copy each call."""
    return pd.read_csv(HERE / f"panel_{name}.csv")


def max_abs_difference(result, case: str) -> float:
    """Largest |difference| of estimates and standard errors against a reference case."""
    expected = reference()[case]
    tidy = result.tidy().set_index("term")
    worst = 0.0
    for term, values in expected.items():
        if term.startswith("__"):
            continue
        worst = max(
            worst,
            abs(tidy.loc[term, "estimate"] - values["estimate"]),
            abs(tidy.loc[term, "std_error"] - values["std_error"]),
        )
    return worst
