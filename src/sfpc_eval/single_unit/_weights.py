"""Donor weights of a synthetic control: the simplex least-squares problem and the choice of V.

:func:`simplex_weights` solves ``min |A w - b|^2`` over the simplex (``w >= 0``, ``sum w = 1``)
exactly, by a primal active-set method: a starting support from non-negative least squares,
then the equality-constrained problem on the support (its KKT system), stepping back to the
feasible set when a weight would turn negative, and adding the donor whose Lagrange multiplier
is most negative until every multiplier is non-negative (the optimality conditions).

:func:`donor_weights` chooses the weights of one synthetic council:

- with the default predictors (the outcome in every pre-period) the ADH search over V has a
  known best answer, the weights that minimise the pre-period mean squared prediction error of
  the outcome itself; it is solved directly (``solution = "outcome matching"``), and the V that
  reproduces it on the scaled predictors (each period's variance) is reported;
- with other predictors, Nelder-Mead over V starts from equal weights and from the V suggested
  by the outcome-matching weights; the candidate with the lowest pre-period outcome MSPE is
  kept, and the outcome-matching weights themselves are a candidate, so the fit returned is
  never worse than direct outcome matching (``"V search"`` or ``"outcome matching"``);
- with V given, that V (``"given V"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["DonorFit", "donor_weights", "simplex_weights"]

_ADDING_UP = 1e8
SOLUTIONS = ("outcome matching", "V search", "given V")


def _nnls_start(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Feasible start: NNLS with the adding-up constraint as a heavily weighted extra row."""
    scale = max(float(np.max(np.abs(a))), 1.0) * _ADDING_UP
    stacked = np.vstack([a, np.full((1, a.shape[1]), scale)])
    w, _ = optimize.nnls(stacked, np.append(b, scale), maxiter=50 * a.shape[1])
    total = w.sum()
    if not np.isfinite(total) or total <= 0:  # pragma: no cover - nnls returns w >= 0
        return np.full(a.shape[1], 1 / a.shape[1])
    return w / total


def _on_support(a: np.ndarray, b: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Minimise ``|A_S z - b|^2`` subject to ``sum z = 1`` (no sign constraint): KKT system."""
    sub = a[:, support]
    k = len(support)
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = sub.T @ sub
    kkt[:k, k] = kkt[k, :k] = 1.0
    rhs = np.append(sub.T @ b, 1.0)
    return np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k]


def _active_set(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Primal active-set iterations from the feasible point ``w`` to the simplex optimum."""
    n = a.shape[1]
    w = w.copy()
    support = w > 0
    gram_scale = float(np.max(np.abs(a.T @ a))) + float(np.max(np.abs(a.T @ b))) + 1e-300
    tol = 1e-12 * gram_scale
    for _ in range(3 * n + 50):
        # inner loop: optimum on the support, stepping back while a weight would go negative
        for _ in range(n + 1):
            index = np.flatnonzero(support)
            z = _on_support(a, b, index)
            if not np.isfinite(z).all():
                return w
            if (z > 0).all():
                w = np.zeros(n)
                w[index] = z
                break
            current = w[index]
            shrinking = z <= 0
            steps = current[shrinking] / (current[shrinking] - z[shrinking])
            step = float(np.min(steps))
            moved = current + step * (z - current)
            moved[moved <= 1e-15] = 0.0
            w = np.zeros(n)
            w[index] = moved
            w = w / w.sum()
            support = w > 0
        # outer loop: a donor outside the support with a negative multiplier enters it
        gradient = a.T @ (a @ w - b)
        multiplier = gradient - gradient[support].mean()
        multiplier[support] = 0.0
        entering = int(np.argmin(multiplier))
        if multiplier[entering] >= -tol:
            return w
        support[entering] = True
    return w


def simplex_weights(x0: np.ndarray, x1: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Weights ``w >= 0``, ``sum(w) = 1`` minimising ``(x1 - x0 w)' diag(v) (x1 - x0 w)``.

    Exact: the optimality (KKT) conditions hold at the answer to rounding.

    Parameters
    ----------
    x0 : numpy.ndarray
        Predictors x donors.
    x1 : numpy.ndarray
        Predictors of the treated council.
    v : numpy.ndarray
        Non-negative predictor weights.

    Returns
    -------
    numpy.ndarray
        One weight per donor.

    Examples
    --------
    >>> x0 = np.array([[0.0, 2.0], [0.0, 2.0]])
    >>> simplex_weights(x0, np.array([1.0, 1.0]), np.ones(2)).round(6).tolist()
    [0.5, 0.5]
    """
    root = np.sqrt(np.asarray(v, dtype=float))
    a = root[:, None] * np.asarray(x0, dtype=float)
    b = root * np.asarray(x1, dtype=float)
    if a.shape[1] == 1:
        return np.ones(1)
    start = _nnls_start(a, b)
    refined = _active_set(a, b, start)
    loss_start = float(np.sum((b - a @ start) ** 2))
    loss_refined = float(np.sum((b - a @ refined) ** 2))
    return refined if loss_refined <= loss_start else start


@dataclass(frozen=True)
class DonorFit:
    """Weights of one synthetic council and how they were chosen.

    Attributes
    ----------
    weights : numpy.ndarray
        One weight per donor, on the simplex.
    v : numpy.ndarray or None
        Predictor weights (summing to one) that give ``weights``; None when the
        outcome-matching weights beat every V tried with other predictors.
    solution : str
        ``"outcome matching"``, ``"V search"`` or ``"given V"``.
    """

    weights: np.ndarray
    v: np.ndarray | None
    solution: str


def _scaled(x: np.ndarray, involved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = x[:, involved].std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    return x / sd[:, None], sd


def donor_weights(
    x: np.ndarray,
    z: np.ndarray,
    target: int,
    donors: np.ndarray,
    v: np.ndarray | None,
    outcome_predictors: bool,
) -> DonorFit:
    """Weights of ``donors`` (column indices) for council ``target``.

    Parameters
    ----------
    x : numpy.ndarray
        Predictors x councils.
    z : numpy.ndarray
        Pre-period outcomes x councils.
    target : int
        Column of the council to reproduce.
    donors : numpy.ndarray
        Columns of its donors.
    v : numpy.ndarray or None
        Given predictor weights, or None to choose them.
    outcome_predictors : bool
        True when ``x`` is the outcome in every pre-period (the default predictors).

    Returns
    -------
    DonorFit
    """
    involved = np.append(donors, target)
    scaled, sd = _scaled(x, involved)
    x0, x1 = scaled[:, donors], scaled[:, target]
    if v is not None:
        return DonorFit(simplex_weights(x0, x1, v), v, "given V")
    z0, z1 = z[:, donors], z[:, target]
    direct = simplex_weights(z0, z1, np.ones(len(z1)))
    if outcome_predictors:
        implied = sd**2 / np.sum(sd**2)
        return DonorFit(direct, implied, "outcome matching")
    if len(x1) == 1:
        one = np.ones(1)
        w = simplex_weights(x0, x1, one)
        return _best(z0, z1, [(w, one, "V search"), (direct, None, "outcome matching")])

    def to_v(raw: np.ndarray) -> np.ndarray:
        return np.abs(raw) / np.sum(np.abs(raw))

    def loss(raw: np.ndarray) -> float:
        w = simplex_weights(x0, x1, to_v(raw))
        return float(np.mean((z1 - z0 @ w) ** 2))

    misfit = (x1 - x0 @ direct) ** 2
    suggested = 1 / (misfit + 1e-6 * (misfit.mean() + 1e-12))
    candidates = [(direct, None, "outcome matching")]
    for start in (np.full(len(x1), 1 / len(x1)), suggested / suggested.sum()):
        found = optimize.minimize(loss, start, method="Nelder-Mead", options={"maxiter": 1000})
        chosen = to_v(found.x)
        candidates.append((simplex_weights(x0, x1, chosen), chosen, "V search"))
    return _best(z0, z1, candidates)


def _best(z0: np.ndarray, z1: np.ndarray, candidates: list) -> DonorFit:
    """Keep the candidate with the lowest pre-period outcome MSPE (V search wins ties)."""
    losses = [float(np.mean((z1 - z0 @ w) ** 2)) for w, _, _ in candidates]
    order = sorted(
        range(len(candidates)), key=lambda i: (losses[i], candidates[i][2] != "V search")
    )
    w, v, solution = candidates[order[0]]
    return DonorFit(w, v, solution)
