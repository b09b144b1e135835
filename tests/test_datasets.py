"""The shipped example data sets: what they hold, and that the readers reproduce them.

``sfpc_eval.datasets`` ships two panels computed by ``sfpc_eval.datasets.make`` from the DfE's
files. Where the files are present (../shared/data/raw) the panels are rebuilt here and must
equal the shipped CSV files byte for byte, and every source file's SHA-256 must be the one the
provenance records; the values are also checked against the published figures Leeds' claims
quote (974 and 515 children on plans in 2011 and 2017).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import sfpc_eval as se
from sfpc_eval import datasets
from sfpc_eval.datasets import make
from sfpc_eval.errors import InvalidValueError

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
HERE = Path(datasets.__file__).parent


def test_council_panel():
    panel = datasets.council_panel()
    assert panel.shape == (176, 9)
    assert panel["la"].nunique() == 11 and sorted(panel["year"].unique()) == list(range(2010, 2026))
    assert not panel.isna().any().any()
    leeds = panel[panel["la"] == "Leeds"].set_index("year")
    assert (leeds.loc[2011, "cpp"], leeds.loc[2017, "cpp"]) == (974, 515)  # the DfE's figures
    treated = panel.loc[panel["treated"] == 1]
    assert set(treated["la"]) == {"Leeds"} and treated["year"].min() == 2015
    rate = leeds["cpp"] / leeds["population_0_17"] * 10_000
    # the published rate is the count over the population: within 0.5%, as the DfE divides by
    # the unrounded ONS estimate (and some years' populations are rounded in the files)
    assert ((rate - leeds["cpp_rate"]).abs() / leeds["cpp_rate"]).max() < 0.005
    panel.loc[0, "cla"] = -1  # a fresh copy each call
    assert datasets.council_panel().loc[0, "cla"] != -1


def test_staggered_panel():
    panel = datasets.staggered_panel()
    assert panel["la"].nunique() == 143 and panel.groupby("la").size().eq(13).all()
    cohorts = panel.dropna(subset=["cohort"]).groupby("la")["cohort"].first()
    assert cohorts.to_dict() == {k: float(v) for k, v in make.SFPC_COHORTS.items()}
    assert not set(make.LEFT_OUT) & set(panel["la"])
    assert panel.attrs["licence"].startswith("Contains public sector information")


def test_provenance_records_the_files_and_the_shipped_bytes():
    record = datasets.provenance()
    for name in ("council_panel", "staggered_panel"):
        meta = datasets.provenance(name)
        shipped = hashlib.sha256((HERE / f"{name}.csv").read_bytes()).hexdigest()
        assert meta["sha256"] == shipped
        assert meta["rows"] == len(getattr(datasets, name)())
        assert meta["source_files"] and record["licence"]
    with pytest.raises(InvalidValueError, match="`name` 'panel' is not a data set"):
        datasets.provenance("panel")


@pytest.mark.skipif(not RAW.is_dir(), reason=f"the DfE files are not at {RAW}")
def test_the_readers_rebuild_the_shipped_files_exactly(tmp_path):
    record = make.write(RAW, tmp_path)
    for name in ("council_panel", "staggered_panel"):
        assert (tmp_path / f"{name}.csv").read_bytes() == (HERE / f"{name}.csv").read_bytes()
        for file, digest in record["datasets"][name]["source_files"].items():
            assert hashlib.sha256((RAW / file).read_bytes()).hexdigest() == digest
    shipped = json.loads((HERE / "PROVENANCE.json").read_text())
    assert record == shipped


def test_top_level_access():
    assert se.datasets.council_panel().equals(datasets.council_panel())
