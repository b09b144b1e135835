"""examples/staggered_sfpc.py runs on the DfE files and writes what it promises."""

from __future__ import annotations

import pandas as pd
import pytest

from _examples import RAW, run_example, skip_without_raw


@pytest.mark.slow
def test_staggered_sfpc_example(tmp_path):
    skip_without_raw()
    run = run_example("staggered_sfpc.py", str(tmp_path), str(RAW))
    for name in ("staggered_sfpc.csv", "staggered_sfpc_cohorts.csv", "staggered_sfpc.png"):
        assert (tmp_path / name).stat().st_size > 0
    cohorts = pd.read_csv(tmp_path / "staggered_sfpc_cohorts.csv").set_index("la_name")
    # dates mapped to the DfE year ending 31 March that they fall in
    years = cohorts["first_dfe_year"].to_dict()
    assert years["Walsall"] == 2021  # 1 September 2020
    assert years["Lancashire"] == 2021  # 1 February 2021
    assert years["Warrington"] == 2022  # 1 April 2021
    assert years["Swindon"] == 2023  # 24 May 2022
    assert "first DfE year" in run.stdout
    tidy = pd.read_csv(tmp_path / "staggered_sfpc.csv")
    assert {"TWFE event study (CR1 by council)", "Sun & Abraham (CR1 by council)"} <= set(
        tidy["estimator"]
    )
    assert "SingleUnitCohortWarning" in run.stdout  # Swindon is a cohort of one, and says so
