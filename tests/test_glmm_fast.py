"""The exact gradient of lme4's Laplace deviance and the Hessian built from it.

:mod:`sfpc_eval.trials.glmm_lme4_grad` differentiates lme4's PIRLS deviance in reverse mode so
that a fit needs ``2 p`` gradients instead of ``deriv12``'s ``2 p^2`` deviances. Checked here at
glmer's own optimum and from glmer's own stage-1 linear predictor (``glmer_hessian.json``,
written by ``make_glmer_hessian.R``) on the two simulated test trials:

- the deviance equals :func:`~sfpc_eval.trials.glmm_lme4._pirls_deviance` to 1e-10 absolute
  (the same loop);
- the gradient equals central differences of that deviance (step 1e-6, whose own error is about
  1e-7 on these deviances of 800-1,600) to 1e-6 absolute;
- the Hessian equals ``deriv12``'s (:func:`~sfpc_eval.trials.glmm_lme4._derivatives`) to 1e-7
  of its largest entry (measured 1.4e-8 and 4.7e-9), and lme4's stored Hessian to 1e-6 (the
  bound ``test_sw_glmm`` sets for deriv12 itself), so the standard errors agree with deriv12's
  to 1e-5 relative (measured 1e-6 and 4e-6), far inside glmer's own noise of 1e-4.
"""

from __future__ import annotations

import numpy as np
import pytest

from sfpc_eval.trials.glmm_lme4 import _derivatives, _pirls_deviance
from sfpc_eval.trials.glmm_lme4_grad import SortedCells, lme4_gradient, lme4_hessian
from test_sw_glmm import HESS, cells, lme4_numbers


@pytest.fixture(params=["fs", "nwd"])
def problem(request):
    trial = request.param
    lme4 = lme4_numbers(trial, 1)
    z, y, n, cl, lp0 = cells(trial, np.array(HESS[trial]["lp0"], dtype=float))
    g = int(cl.max()) + 1
    par = np.asarray(lme4["par"], dtype=float)

    def devfun(x):
        return _pirls_deviance(x, z, y, n, cl, g, lp0)[0]

    sorted_cells = SortedCells.build(z, y, n, cl, g)
    return devfun, par, sorted_cells, lp0[sorted_cells.order], lme4


def test_gradient_is_the_derivative_of_lme4s_deviance(problem):
    devfun, par, sorted_cells, lp0, _ = problem
    value, grad = lme4_gradient(par, sorted_cells, lp0)
    assert value == pytest.approx(devfun(par), abs=1e-10)
    steps = np.eye(len(par)) * 1e-6
    numeric = np.array([(devfun(par + e) - devfun(par - e)) / 2e-6 for e in steps])
    np.testing.assert_allclose(grad, numeric, atol=1e-6)
    # away from the optimum too, where the gradient is not small
    moved = par + 0.05
    steps_value = [(devfun(moved + e) - devfun(moved - e)) / 2e-6 for e in steps]
    np.testing.assert_allclose(
        lme4_gradient(moved, sorted_cells, lp0)[1], steps_value, atol=1e-5, rtol=1e-6
    )


def test_hessian_equals_deriv12(problem):
    devfun, par, sorted_cells, lp0, lme4 = problem
    hess = lme4_hessian(par, sorted_cells, lp0)
    _, deriv12 = _derivatives(devfun, par, devfun(par))
    scale = np.max(np.abs(deriv12))
    assert np.max(np.abs(hess - deriv12)) < 1e-7 * scale
    assert np.max(np.abs(hess - np.asarray(lme4["hessian"]))) < 1e-6 * scale
    se = np.sqrt(np.diag(2 * np.linalg.inv(hess))[1:])
    se_deriv12 = np.sqrt(np.diag(2 * np.linalg.inv(deriv12))[1:])
    np.testing.assert_allclose(se, se_deriv12, rtol=1e-5)
