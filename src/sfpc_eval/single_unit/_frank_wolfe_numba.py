"""Compiled Frank-Wolfe kernel (numba): the algebra of :mod:`._frank_wolfe`, one problem at a time.

Imported only when synthetic DiD weights are solved and numba is installed (the ``fast``
extra); compiled once and cached on disk.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # without numba the module is never used; importing it stays harmless

    def njit(*args, **kwargs):
        return lambda function: function


__all__ = ["solve_batch_compiled"]


@njit(cache=True, nogil=True)
def _solve_one(g, q, rows, zeta2, w, k, threshold, max_iter, h):  # pragma: no cover - compiled
    eta = rows * zeta2
    for i in range(k):
        acc = 0.0
        for j in range(k):
            acc += g[i, j] * w[j]
        h[i] = acc + eta * w[i] - q[i]
    hw = 0.0
    wq = 0.0
    for i in range(k):
        hw += h[i] * w[i]
        wq += w[i] * q[i]
    previous = np.inf
    current = np.inf
    for iteration in range(max_iter):
        if iteration >= 2 and previous - current <= threshold:
            break
        v = 0
        hv = h[0]
        for i in range(1, k):
            if h[i] < hv:
                hv = h[i]
                v = i
        wv = w[v]
        gvv = g[v, v] + eta
        qv = q[v]
        den = gvv - 2.0 * qv - 2.0 * hv + hw + wq
        if wv < 1.0 and den > 0.0:
            step = (hw - hv) / den
            step = min(1.0, max(0.0, step))
            keep = 1.0 - step
            for i in range(k):
                h[i] = keep * h[i] + step * (g[v, i] - q[i])
                w[i] *= keep
            h[v] += step * eta
            w[v] += step
            hw = keep * keep * hw + step * keep * (2.0 * hv + qv - wq) + step * step * (gvv - qv)
            wq = keep * wq + step * qv
        previous = current
        current = (hw - wq) / rows
    return w


@njit(cache=True, nogil=True)
def _solve_all(gram, linear, rows, zeta2, weights, sizes, threshold, max_iter):  # pragma: no cover
    h = np.empty(linear.shape[1])
    for b in range(linear.shape[0]):
        _solve_one(gram[b], linear[b], rows[b], zeta2, weights[b], sizes[b], threshold, max_iter, h)


def solve_batch_compiled(gram, linear, rows, zeta2, weights, sizes, threshold, max_iter) -> None:
    """Solve every problem in place in ``weights`` (see :func:`._frank_wolfe.solve_batch`)."""
    _solve_all(gram, linear, rows, zeta2, weights, sizes, float(threshold), int(max_iter))
