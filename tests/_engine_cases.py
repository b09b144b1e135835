"""What the engine tests share: did() on an engine must give pandas' numbers to rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd

import sfpc_eval as se

RTOL = 1e-10  # sums added in another order change the last bits only
NUMBERS = ["estimate", "std_error", "statistic", "df", "p_value", "conf_low", "conf_high"]
DESIGN = dict(unit="la", time="period", treated="treated")


def assert_identical(got: se.DidResult, want: se.DidResult) -> None:
    """Same rows, cells, coefficients, variance matrix and every tidy number (1e-10 rel)."""
    assert (got.n_obs, got.n_cells, got.n_units, got.n_periods, got.n_clusters) == (
        want.n_obs,
        want.n_cells,
        want.n_units,
        want.n_periods,
        want.n_clusters,
    )
    pd.testing.assert_frame_equal(
        got._cells.sums, want._cells.sums, check_exact=False, rtol=1e-12, atol=1e-9
    )
    np.testing.assert_allclose(got._fit.beta, want._fit.beta, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(got.vcov.to_numpy(), want.vcov.to_numpy(), rtol=RTOL, atol=1e-18)
    a, b = got.tidy(), want.tidy()
    assert a["term"].tolist() == b["term"].tolist()
    np.testing.assert_allclose(
        a[NUMBERS].to_numpy(float), b[NUMBERS].to_numpy(float), rtol=RTOL, atol=1e-14
    )
