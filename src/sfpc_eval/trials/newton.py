"""Damped Newton polish of a minimised objective, shared by the mixed-model fitters."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["damped_newton"]


def damped_newton(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    hessian: Callable[[np.ndarray], np.ndarray],
    params: np.ndarray,
    value: float,
    grad: np.ndarray,
    *,
    max_steps: int,
    min_step: float,
    rise: float,
) -> tuple[np.ndarray, float, np.ndarray, int, bool]:
    """Take Newton steps, halved until the objective does not rise, from a nearby optimum.

    Parameters
    ----------
    fun : callable
        ``params -> (value, gradient)`` of the objective.
    hessian : callable
        ``params -> Hessian`` of the objective.
    params, value, grad
        Where to start, with the objective and its gradient there.
    max_steps : int
        Newton steps at most.
    min_step : float
        Smallest step fraction tried before stopping.
    rise : float
        A step is taken when the objective rises by at most ``rise`` times its size.

    Returns
    -------
    params, value, grad, steps, converged
        The polished point, its objective and gradient, the steps taken, and whether the last
        step moved every parameter by at most 1e-10 (relative to the largest, at least 1).

    Examples
    --------
    Minimise ``(x - 3)^4 + x^2`` (minimum at x = 2) from x = 0:

    >>> def f(x):
    ...     return float((x[0] - 3) ** 4 + x[0] ** 2), np.array([4 * (x[0] - 3) ** 3 + 2 * x[0]])
    >>> def h(x):
    ...     return np.array([[12 * (x[0] - 3) ** 2 + 2.0]])
    >>> x0 = np.array([0.0])
    >>> params, value, grad, steps, converged = damped_newton(
    ...     f, h, x0, *f(x0), max_steps=50, min_step=1e-8, rise=1e-12)
    >>> round(float(params[0]), 10), steps, converged
    (2.0, 8, True)
    """
    for steps in range(max_steps):
        try:
            step = np.linalg.solve(hessian(params), grad)
        except np.linalg.LinAlgError:
            return params, value, grad, steps, False
        size = 1.0
        while size > min_step:
            candidate = params - size * step
            new_value, new_grad = fun(candidate)
            if new_value <= value + rise * abs(value):
                break
            size /= 2
        else:
            return params, value, grad, steps, False
        params, value, grad = candidate, new_value, new_grad
        if np.max(np.abs(size * step)) <= 1e-10 * max(1.0, float(np.max(np.abs(params)))):
            return params, value, grad, steps + 1, True
    return params, value, grad, max_steps, False
