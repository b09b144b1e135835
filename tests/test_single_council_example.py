"""examples/single_council.py runs on the DfE data and writes what it promises (skipped when the
data folder is absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from _examples import RAW, run_example, skip_without_raw


@pytest.mark.slow
def test_single_council_example(tmp_path):
    skip_without_raw()
    run = run_example("single_council.py", str(tmp_path), str(RAW), "--quick")
    for council in ("leeds", "hertfordshire", "north_yorkshire"):
        for outcome in ("cpp", "cla"):
            assert (tmp_path / f"single_council_{council}_{outcome}.png").stat().st_size > 0
            book = tmp_path / f"single_council_{council}_{outcome}.xlsx"
            side = pd.read_excel(book, header=None, engine="openpyxl")
            assert "Synthetic difference-in-differences" in side.astype(str).to_numpy()
    table = pd.read_csv(tmp_path / "single_council.csv")
    # three councils x two outcomes x three designs
    assert table.groupby(["council", "outcome", "design"]).ngroups == 18
    sc = table[(table["design"] == "synthetic_control") & (table["term"] == "mean_post_gap")]
    assert sc["p_value"].between(0, 1).all()
    claims = pd.read_csv(tmp_path / "single_council_claims.csv").set_index("claim")
    assert claims.loc["leeds_cpp_2011_2017", "registry_status"] == "reproduced"
    # the before/after column is the plain change in Leeds's CPP rate, 2011-14 vs 2015-19
    # (Leeds's rates per 10,000 in the DfE files, as la_panel reads them: 64.0, 57.5, 62.7,
    # 47.1, then 38.1, 34.7, 31.2, 31.4, 23.7)
    before, after = (64.0 + 57.5 + 62.7 + 47.1) / 4, (38.1 + 34.7 + 31.2 + 31.4 + 23.7) / 5
    expected = round(100 * (after / before - 1), 1)
    assert claims.loc["leeds_cpp_2011_2017", "before_after_change_pct"] == pytest.approx(
        expected, abs=0.051
    )
    assert "Excluded from the donor pool" in run.stdout
