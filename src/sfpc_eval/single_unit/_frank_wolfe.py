"""Frank-Wolfe on the simplex for many small ridge problems at once (synthetic DiD's weights).

Each problem is ``min_w zeta^2 |w|^2 + |A w - b|^2 / n`` over the simplex, given by its Gram
form: ``G = A'A``, ``q = A'b`` and ``n`` (the rows of ``A``). The iteration is the one of
:func:`~sfpc_eval.single_unit.synthdid.frank_wolfe_weights` (and of R ``synthdid``): move
towards the vertex with the smallest gradient by exact line search, stop when an iteration
lowers the objective by at most ``min_decrease^2`` or after ``max_iter`` iterations. In Gram
form an iteration costs ``O(k)`` (one row of ``G``) instead of ``O(n k)``: with
``h = (G + eta I) w - q`` (half the gradient, ``eta = n zeta^2``) and a step ``s`` towards
vertex ``v``,

``h <- (1 - s) h + s ((G + eta I)_v - q)``, ``s = (h.w - h_v) / (d' (G + eta I) d)``,
``d = e_v - w``, ``d' (G + eta I) d = G_vv + eta - 2 (h_v + q_v) + h.w + q.w``,

and ``n`` times the objective is ``h.w - q.w + b.b``, so the stopping rule needs only the
scalars ``h.w`` and ``q.w`` (updated in ``O(1)``).

Two kernels solve a batch: a compiled one (numba, used when it is installed: the ``fast``
extra), which runs each problem to its own stopping point, and a numpy one that runs all
problems in lockstep, one vectorised iteration for the whole batch at a time (problems that
have stopped are frozen). Both give the same numbers as the one-problem Python loop to rounding
(tests/test_synthdid_fast.py compares them with it to 1e-10). Set the environment variable
``SFPC_EVAL_NUMBA=0`` to use the numpy kernel.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["fit_weights", "gram_problems", "solve_batch", "sparsify"]

PAD = 1e300
"""Half-gradient of the padding columns of a ragged batch: never the smallest, never moves."""


def _numba_kernel():
    """Return the compiled kernel, or None without numba (or with SFPC_EVAL_NUMBA=0)."""
    if os.environ.get("SFPC_EVAL_NUMBA", "1") == "0":
        return None
    try:
        import numba  # noqa: F401
    except ImportError:
        return None
    from sfpc_eval.single_unit._frank_wolfe_numba import solve_batch_compiled

    return solve_batch_compiled


def gram_problems(stack: np.ndarray, intercept: bool = True):
    """Gram form of a stack of problems ``y`` (B x rows x (k + 1)); last column is ``b``.

    Returns ``(gram, linear, rows)``: ``A'A`` (B x k x k), ``A'b`` (B x k) and the rows, after
    demeaning every column over the rows when ``intercept``.
    """
    if intercept:
        stack = stack - stack.mean(axis=1, keepdims=True)
    a, b = stack[..., :-1], stack[..., -1]
    gram = np.matmul(a.transpose(0, 2, 1), a)
    linear = np.einsum("brk,br->bk", a, b)
    return gram, linear, np.full(stack.shape[0], float(stack.shape[1]))


def solve_batch(
    gram: np.ndarray,
    linear: np.ndarray,
    rows: np.ndarray,
    zeta: float,
    start: np.ndarray,
    *,
    min_decrease: float,
    max_iter: int,
    sizes: np.ndarray | None = None,
) -> np.ndarray:
    """Run Frank-Wolfe on every problem of a batch from ``start``; return the weights (B x k).

    ``sizes`` gives each problem's number of columns when the batch is ragged (the rest of
    its row of ``start`` must be zero; ``gram`` and ``linear`` beyond it are ignored).
    """
    batch, k = linear.shape
    sizes = np.full(batch, k, dtype=np.int64) if sizes is None else np.asarray(sizes, np.int64)
    gram = np.ascontiguousarray(gram, dtype=float)
    linear = np.ascontiguousarray(linear, dtype=float)
    rows = np.ascontiguousarray(np.broadcast_to(np.asarray(rows, dtype=float), (batch,)))
    weights = np.array(start, dtype=float, order="C")
    kernel = _numba_kernel()
    if kernel is not None:
        kernel(gram, linear, rows, float(zeta) ** 2, weights, sizes, min_decrease**2, max_iter)
        return weights
    return _lockstep(gram, linear, rows, float(zeta) ** 2, weights, sizes, min_decrease, max_iter)


def _lockstep(gram, linear, rows, zeta2, w, sizes, min_decrease, max_iter) -> np.ndarray:
    """All problems advance together, one vectorised Frank-Wolfe iteration per loop pass."""
    batch, k = linear.shape
    eta = rows * zeta2
    diag = np.arange(k)
    g_eta = gram.copy()
    g_eta[:, diag, diag] += eta[:, None]
    q = linear.copy()
    padded = diag[None, :] >= sizes[:, None]
    if padded.any():  # padding: zero rows and columns, h = PAD that stays PAD
        g_eta[padded] = 0.0
        g_eta.transpose(0, 2, 1)[padded] = 0.0
        q[padded] = -PAD
        w[padded] = 0.0
    table = (g_eta - q[:, None, :]).reshape(batch * k, k)  # row v: (G + eta I)_v - q
    gvv_2q = (g_eta[:, diag, diag] - 2 * q).ravel()
    gvv_q = (g_eta[:, diag, diag] - q).ravel()
    q_flat = q.ravel()
    h = np.einsum("bij,bj->bi", g_eta, w) - q
    hw = np.einsum("bi,bi->b", h, w)
    wq = np.einsum("bi,bi->b", w, q)
    threshold = min_decrease**2 * rows
    base = np.arange(batch) * k
    h_flat, w_flat = h.reshape(-1), w.reshape(-1)
    previous = np.full(batch, np.inf)
    live = np.ones(batch)
    row = np.empty((batch, k))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for iteration in range(max_iter):
            current = hw - wq
            if iteration >= 2:
                stop = (previous - current) <= threshold
                if stop.any():
                    live[stop] = 0.0
                    if not live.any():
                        break
            previous = current
            v = h.argmin(axis=1)
            idx = base + v
            hv, wv = h_flat[idx], w_flat[idx]
            den = gvv_2q[idx] - 2 * hv + hw + wq
            step = (hw - hv) / np.maximum(den, 1e-300)
            step = np.fmax(np.fmin(step, 1.0), 0.0)
            step *= live
            step *= wv < 1.0  # w is the vertex already: no direction, no step
            keep = 1.0 - step
            qv = q_flat[idx]
            np.take(table, idx, axis=0, out=row)
            row -= h
            row *= step[:, None]
            h += row
            w *= keep[:, None]
            w_flat[idx] = wv * keep + step
            hw = keep * keep * hw + step * keep * (2 * hv + qv - wq) + step * step * gvv_q[idx]
            wq = keep * wq + step * qv
    return w


def sparsify(weights: np.ndarray) -> np.ndarray:
    """Zero weights at most a quarter of their row's largest and renormalise (R ``synthdid``)."""
    kept = np.where(weights <= weights.max(axis=1, keepdims=True) / 4, 0.0, weights)
    return kept / kept.sum(axis=1, keepdims=True)


def fit_weights(gram, linear, rows, zeta, start, min_decrease, sizes=None) -> np.ndarray:
    """Solve as R synthdid does: 100 iterations, sparsify, then up to 10,000 more."""
    first = solve_batch(
        gram, linear, rows, zeta, start, min_decrease=min_decrease, max_iter=100, sizes=sizes
    )
    return solve_batch(
        gram,
        linear,
        rows,
        zeta,
        sparsify(first),
        min_decrease=min_decrease,
        max_iter=10_000,
        sizes=sizes,
    )
