"""The one-problem-at-a-time synthetic DiD of sfpc_eval before the batched solver (commit
bd85904, ``single_unit/synthdid.py``), kept as the oracle for tests/test_synthdid_fast.py.

It is R ``synthdid``'s algorithm written directly: Frank-Wolfe in data form (``A w`` kept up
to date), sparsify between two rounds, and the placebo and bootstrap loops one replication at
a time. It agreed with synthdid-py to 1e-9 (tests/test_synthdid.py).
"""

from __future__ import annotations

import math

import numpy as np


def frank_wolfe(y, zeta, *, intercept=True, start=None, min_decrease=1e-3, max_iter=1000):
    rows, k = y.shape[0], y.shape[1] - 1
    if intercept:
        y = y - y.mean(axis=0)
    a, b = y[:, :k], y[:, k]
    w = np.full(k, 1 / k) if start is None else np.asarray(start, dtype=float).copy()
    eta, zeta2, threshold = rows * zeta**2, zeta**2, min_decrease**2
    fitted = a @ w
    previous = current = math.inf
    for iteration in range(max_iter):
        if iteration >= 2 and previous - current <= threshold:
            break
        half_grad = (fitted - b) @ a + eta * w
        vertex = int(np.argmin(half_grad))
        direction = -w
        direction[vertex] += 1.0
        if direction.any():
            moved = a[:, vertex] - fitted
            step = -(half_grad @ direction) / (moved @ moved + eta * (direction @ direction))
            step = min(1.0, max(0.0, step))
            w = w + step * direction
            fitted = fitted + step * moved
        err = fitted - b
        previous, current = current, zeta2 * (w @ w) + (err @ err) / rows
    return w


def sparsify(w):
    kept = np.where(w <= w.max() / 4, 0.0, w)
    return kept / kept.sum()


def normalise(w):
    total = w.sum()
    return w / total if total != 0 else np.full(len(w), 1 / len(w))


def collapse(y, n0, t0):
    top = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    bottom = np.append(y[n0:, :t0].mean(axis=0), y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def solve(y_collapsed, zeta, start, min_decrease):
    first = frank_wolfe(y_collapsed, zeta, start=start, min_decrease=min_decrease, max_iter=100)
    return frank_wolfe(
        y_collapsed, zeta, start=sparsify(first), min_decrease=min_decrease, max_iter=10_000
    )


def tuning(y, n0, t0):
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    diffs = np.diff(y[:n0, :t0], axis=1)
    sigma = float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0
    return (n1 * t1) ** 0.25 * sigma, 1e-6 * sigma, 1e-5 * sigma


def estimate(y, n0, t0, tune, omega=None, lam=None, update=True):
    zeta_omega, zeta_lambda, min_decrease = tune
    collapsed = collapse(y, n0, t0)
    if update:
        lam = solve(collapsed[:n0, :], zeta_lambda, lam, min_decrease)
        omega = solve(collapsed[:, :t0].T, zeta_omega, omega, min_decrease)
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    units = np.concatenate([-omega, np.full(n1, 1 / n1)])
    times = np.concatenate([-lam, np.full(t1, 1 / t1)])
    return float(units @ y @ times), omega, lam


def placebo(y, n0, t0, replications, seed):
    """(estimate, omega, lambda, placebo replicates) as the loop of Algorithm 4."""
    tune = tuning(y, n0, t0)
    tau, omega, lam = estimate(y, n0, t0, tune)
    n1 = y.shape[0] - n0
    generator = np.random.default_rng(seed)
    draws = []
    for _ in range(replications):
        order = generator.permutation(n0)
        kept = normalise(omega[order[: n0 - n1]])
        draws.append(estimate(y[order], n0 - n1, t0, tune, kept, lam.copy())[0])
    return tau, omega, lam, np.asarray(draws)


def bootstrap(y, n0, t0, replications, seed):
    """Bootstrap replicates (Algorithm 2) one draw at a time."""
    tune = tuning(y, n0, t0)
    _, omega, lam = estimate(y, n0, t0, tune)
    n = y.shape[0]
    generator = np.random.default_rng(seed)
    out = []
    for _ in range(replications):
        while True:
            draw = np.sort(generator.integers(0, n, size=n))
            n0_draw = int((draw < n0).sum())
            if 0 < n0_draw < n:
                break
        w = normalise(omega[draw[draw < n0]])
        out.append(estimate(y[draw], n0_draw, t0, tune, w, lam.copy())[0])
    return np.asarray(out)
