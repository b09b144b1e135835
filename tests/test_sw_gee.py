"""Exchangeable logistic GEE on cells against geepack and the small-sample sandwiches.

``make_reference.R`` fits ``geepack::geeglm(corstr = "exchangeable")`` (geepack 1.3-9, with
``epsilon = 1e-12`` so that its fixed point is converged) and computes the Mancl-DeRouen and
Kauermann-Carroll variances by direct row-level matrix algebra (n_i x n_i matrices per cluster,
``solve(I - H_ii)`` and the principal root of ``I - H_ii`` by eigendecomposition): an independent
route to the same formulas, which ``gee.py`` evaluates in p x p algebra on cells.
Measured: coefficients 1.4e-12, SEs 1.7e-13 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.gee import fit_gee
from test_sw_glmm import cells

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
REF = json.loads((HERE / "reference.json").read_text())


@pytest.mark.parametrize("trial", ["fs", "nwd"])
def test_gee_matches_geepack_and_formulas(trial):
    z, y, n, cl = cells(trial)
    fit = fit_gee(z, tuple(map(str, range(z.shape[1]))), y, n, cl)
    ref = REF[trial]["gee"]
    np.testing.assert_allclose(fit.beta, list(ref["beta"].values()), rtol=1e-8)
    assert fit.rho == pytest.approx(ref["alpha"], rel=1e-8)
    assert fit.scale == pytest.approx(ref["scale"], rel=1e-8)
    for kind, key in [("robust", "se_geepack"), ("MD", "se_md"), ("KC", "se_kc")]:
        np.testing.assert_allclose(fit.std_errors(kind), list(ref[key].values()), rtol=1e-6)


def test_corrections_inflate_in_the_known_order():
    """MD over-corrects relative to KC: robust < KC < MD for the treatment effect."""
    z, y, n, cl = cells("fs")
    fit = fit_gee(z, tuple(map(str, range(z.shape[1]))), y, n, cl)
    j = 6
    assert fit.std_errors("robust")[j] < fit.std_errors("KC")[j] < fit.std_errors("MD")[j]


def test_stepped_wedge_gee_reports_chosen_sandwich():
    import pandas as pd

    data = pd.read_csv(HERE / "trial_nwd.csv")
    covs = ["age", "female", "disability", "prev_plan"]
    res = stepped_wedge(
        data, "looked_after", "cluster", "period", "treated", covs, model="gee", gee_variance="KC"
    )
    assert res.estimate.std_error == pytest.approx(REF["nwd"]["gee"]["se_kc"]["treated"], rel=1e-6)
    assert res.estimate.df == 3  # G - 1 for a corrected sandwich
    with pytest.raises(InvalidValueError, match=r"`gee_variance` must be one of robust, MD, KC"):
        stepped_wedge(
            data, "looked_after", "cluster", "period", "treated", model="gee", gee_variance="HC3"
        )


def test_corrections_undefined_when_one_cluster_identifies_a_term():
    """Exposure 4 periods after the switch is seen only in the first council (fs trial)."""
    import pandas as pd

    from sfpc_eval.errors import DesignError

    data = pd.read_csv(HERE / "trial_fs.csv")
    with pytest.raises(
        DesignError,
        match=r"cluster 0 alone identifies 'exposure\[4\]'.*"
        r"gee_variance='robust'",
    ):
        stepped_wedge(
            data, "looked_after", "cluster", "period", "treated", model="gee", exposure_time=True
        )
    res = stepped_wedge(
        data,
        "looked_after",
        "cluster",
        "period",
        "treated",
        model="gee",
        exposure_time=True,
        gee_variance="robust",
    )
    assert res.estimate.df == float("inf")
