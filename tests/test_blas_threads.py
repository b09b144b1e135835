"""BLAS thread cap around the small dense linear algebra (sfpc_eval/_blas.py).

Checks the environment setting is read and refused when malformed, that the cap is in force
inside the calls (through threadpoolctl, when installed), and that results do not depend on it
(the same CR2 fit with the cap and with BLAS left alone, to 1e-12 relative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval._blas import blas_thread_limit, limited_blas, small_blas
from sfpc_eval.errors import InvalidValueError


@pytest.mark.parametrize(("setting", "expected"), [("1", 1), (" 3 ", 3), ("inherit", None)])
def test_setting_is_read(monkeypatch, setting, expected):
    monkeypatch.setenv("SFPC_EVAL_BLAS_THREADS", setting)
    assert blas_thread_limit() == expected


def test_default_is_one_thread(monkeypatch):
    monkeypatch.delenv("SFPC_EVAL_BLAS_THREADS", raising=False)
    assert blas_thread_limit() == 1


@pytest.mark.parametrize("setting", ["0", "-2", "two", "1.5"])
def test_bad_setting_is_refused(monkeypatch, setting):
    monkeypatch.setenv("SFPC_EVAL_BLAS_THREADS", setting)
    with pytest.raises(InvalidValueError, match="SFPC_EVAL_BLAS_THREADS"):
        blas_thread_limit()


def test_cap_is_in_force_inside_and_lifted_after(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setenv("SFPC_EVAL_BLAS_THREADS", "1")

    def blas_threads():
        return [
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        ]

    before = blas_threads()
    inside = limited_blas(blas_threads)()
    assert inside and all(n == 1 for n in inside)
    assert blas_threads() == before
    with small_blas():
        assert all(n == 1 for n in blas_threads())


def test_results_do_not_depend_on_the_cap(monkeypatch):
    data = pd.read_csv(Path(__file__).parent / "fixtures" / "did" / "panel_g5.csv", comment="#")
    args = {
        "outcome": "count",
        "exposure": "pop",
        "family": "poisson",
        "time": "year",
        "unit": "la",
        "treated": "treated",
    }
    monkeypatch.setenv("SFPC_EVAL_BLAS_THREADS", "1")
    capped = se.did(data, **args).tidy()
    monkeypatch.setenv("SFPC_EVAL_BLAS_THREADS", "inherit")
    free = se.did(data, **args).tidy()
    np.testing.assert_allclose(
        capped[["estimate", "std_error", "df"]], free[["estimate", "std_error", "df"]], rtol=1e-12
    )
