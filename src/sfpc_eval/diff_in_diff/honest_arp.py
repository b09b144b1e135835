"""Conditional and hybrid moment-inequality tests (Andrews, Roth & Pakes 2023) for Delta^RM.

Rambachan & Roth (2023), Section 3.2, invert the test of ``H0: theta = l'tau_post = theta0``
when the differential trend ``delta`` lies in a polyhedron ``{A delta <= d}``. With
``Y = A betahat - d`` and the post-period part of ``tau`` split into ``theta0`` and a
nuisance ``xi`` in the null space of ``l'``, the null says ``E[Y] - a theta0 - X xi <= 0`` for
some ``xi``. The test statistic is

``eta = min_{eta, xi} eta  s.t.  Y - a theta0 - X xi <= eta * sd(Y)``,

whose dual is ``max gamma'(Y - a theta0)`` over ``{gamma >= 0, X'gamma = 0, sd'gamma = 1}``.
That set is a polytope, so ``eta`` is the largest ``gamma_v'(Y - a theta0)`` over its vertices.
This module enumerates the vertices once per polyhedron (they do not depend on ``theta0``),
which makes the test, its truncation points and the least-favourable critical value exact
and vectorised over candidate values of ``theta0``:

* conditional test: given the optimal vertex ``gamma*``, ``eta`` is normal with variance
  ``gamma*' Sigma_Y gamma*`` truncated to ``[v_lo, v_up]``, the range of ``gamma*'y`` over
  which ``gamma*`` stays optimal with ``(I - c gamma*') y`` held fixed; reject when
  ``eta / sigma_B`` exceeds ``max(0, q)``, ``q`` the ``1 - alpha`` quantile of that
  truncated normal;
* least-favourable hybrid ("C-LF", R HonestDiD's default for Delta^RM): reject at once if
  ``eta`` exceeds ``c_LF``, the ``1 - kappa`` quantile of ``eta`` under ``E[Y] = 0``
  (simulated, ``kappa = alpha / 10``); otherwise run the conditional test at level
  ``(alpha - kappa) / (1 - kappa)`` with ``v_up`` capped at ``c_LF``. With a single post
  period R does not cap ``v_up`` (``.testInIdentifiedSet_LF_Hybrid``); this module follows R.

Delta^RM(Mbar) is a union over the location ``s`` and sign of the largest pre-period first
difference of polyhedra ``{|delta_{t+1} - delta_t| <= Mbar (+/-)(delta_{s+1} - delta_s), t >= 0}``;
a value of ``theta`` is in the confidence set when any polyhedron's test accepts it (R's
``computeConditionalCS_DeltaRM``, with its default of using only moments that involve
post-period coefficients).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np
from scipy import stats

from sfpc_eval.errors import DesignError

__all__ = ["MAX_VERTEX_SUBSETS", "MomentPolyhedron", "rm_polyhedra"]

MAX_VERTEX_SUBSETS = 250_000
"""Largest number of candidate supports enumerated for one polyhedron (10 post periods)."""


def first_difference_rows(n_pre: int, n_post: int) -> np.ndarray:
    """Return the first-difference operator of the differential trend.

    Row ``r`` gives ``delta_t - delta_{t-1}`` for ``t = -n_pre + 1, ..., n_post`` in the
    coordinates of the event-study coefficients (reference period, ``delta_0 = 0``, dropped).
    """
    full = np.zeros((n_pre + n_post, n_pre + n_post + 1))
    for r in range(n_pre + n_post):
        full[r, r] = -1.0
        full[r, r + 1] = 1.0
    return np.delete(full, n_pre, axis=1)


def rm_constraints(n_pre: int, n_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """Return ``A`` of one Delta^RM polyhedron, post-period rows only (``d = 0``).

    ``s`` in ``-(n_pre - 1) .. 0`` marks the pre-period first difference
    ``delta_s - delta_{s-1}`` taken to be the largest, with sign ``+`` or ``-``.
    """
    diffs = first_difference_rows(n_pre, n_post)
    pivot = diffs[n_pre - 1 + s] * (1.0 if positive else -1.0)
    post = diffs[n_pre:]
    return np.vstack([post - mbar * pivot, -post - mbar * pivot])


def _null_basis(l_vec: np.ndarray) -> np.ndarray:
    """Orthonormal basis of ``{x : l'x = 0}`` (columns)."""
    _, _, vt = np.linalg.svd(l_vec[None, :])
    return vt[1:].T


def dual_vertices(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Vertices of ``{gamma >= 0 : x'gamma = 0, sd'gamma = 1}`` (rows of the result)."""
    m, p = x.shape
    k = np.linalg.matrix_rank(x) + 1 if p else 1
    n_subsets = comb(m, k)
    if n_subsets > MAX_VERTEX_SUBSETS:
        raise DesignError(
            f"the relative-magnitude test would enumerate {n_subsets:,} candidate vertices "
            f"({m} moments, {k - 1} nuisance dimensions); use at most 10 post-periods "
            "(a shorter event window) for restriction='relative_magnitude'."
        )
    system = np.vstack([x.T, sd[None, :]])  # (p + 1) x m
    rhs = np.zeros(system.shape[0])
    rhs[-1] = 1.0
    found = []
    subsets = np.array(list(combinations(range(m), k)), dtype=int)
    for start in range(0, len(subsets), 20_000):
        chunk = subsets[start : start + 20_000]
        blocks = system[:, chunk].transpose(1, 0, 2)  # n x (p+1) x k
        if blocks.shape[1] != k:  # rank-deficient x: least squares, then verify
            sol = np.array([np.linalg.lstsq(b, rhs, rcond=None)[0] for b in blocks])
        else:
            det = np.linalg.det(blocks)
            ok = np.abs(det) > 1e-12 * np.abs(blocks).max(axis=(1, 2)) ** k
            sol = np.full((len(chunk), k), np.nan)
            if ok.any():
                rhs_stack = np.broadcast_to(rhs[:, None], (int(ok.sum()), k, 1))
                sol[ok] = np.linalg.solve(blocks[ok], rhs_stack)[..., 0]
        scale = np.nanmax(np.abs(sol), axis=1, initial=0.0)
        feasible = np.all(sol >= -1e-10 * np.maximum(scale, 1.0)[:, None], axis=1)
        for idx in np.flatnonzero(feasible & np.isfinite(sol).all(axis=1)):
            gamma = np.zeros(m)
            gamma[chunk[idx]] = np.clip(sol[idx], 0.0, None)
            if np.allclose(system @ gamma, rhs, atol=1e-9):
                found.append(gamma)
    if not found:
        return np.zeros((0, m))
    verts = np.array(found)
    keys = np.round(verts / np.abs(verts).max(), 10)
    _, unique = np.unique(keys, axis=0, return_index=True)
    return verts[np.sort(unique)]


@dataclass(frozen=True)
class MomentPolyhedron:
    """The test of ``theta = theta0`` for one polyhedron ``{A delta <= 0}``, ready to invert."""

    y: np.ndarray  # A betahat (d = 0)
    a: np.ndarray  # direction of theta0 in moment space
    sigma_y: np.ndarray
    vertices: np.ndarray  # dual vertices (rows)
    gram: np.ndarray  # vertices Sigma_Y vertices'

    @classmethod
    def build(  # noqa: D102 (a constructor, documented on the class)
        cls,
        a_mat: np.ndarray,
        betahat: np.ndarray,
        sigma: np.ndarray,
        n_pre: int,
        l_vec: np.ndarray,
    ) -> MomentPolyhedron:
        post = a_mat[:, n_pre:]
        direction = l_vec / float(l_vec @ l_vec)  # any u with l'u = 1 gives the same test
        a = post @ direction
        x = post @ _null_basis(l_vec) if len(l_vec) > 1 else np.zeros((len(a_mat), 0))
        sigma_y = a_mat @ sigma @ a_mat.T
        sd = np.sqrt(np.clip(np.diag(sigma_y), 0.0, None))
        if np.any(sd <= 0):
            raise DesignError(
                "a moment of the relative-magnitude test has zero variance: the covariance "
                "of the event-study coefficients is singular in a direction the test needs."
            )
        verts = dual_vertices(x, sd)
        return cls(a_mat @ betahat, a, sigma_y, verts, verts @ sigma_y @ verts.T)

    def lf_critical_value(self, kappa: float, draws: int, seed: int) -> float:
        """``1 - kappa`` quantile of ``eta`` when ``E[Y] = 0`` (least-favourable), simulated."""
        if len(self.vertices) == 0:
            return np.inf
        rng = np.random.default_rng(seed)
        vals, vecs = np.linalg.eigh(self.sigma_y)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))
        eta = np.empty(draws)
        for start in range(0, draws, 2000):
            z = rng.standard_normal((min(2000, draws - start), len(self.y)))
            eta[start : start + len(z)] = (z @ root.T @ self.vertices.T).max(axis=1)
        return float(np.quantile(eta, 1.0 - kappa))

    def accepts(
        self,
        theta: np.ndarray,
        alpha: float,
        *,
        lf_cv: float | None,
        cap_at_lf: bool,
        kappa: float,
    ) -> np.ndarray:
        """Whether the (hybrid) conditional test accepts each value in ``theta``."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        if len(self.vertices) == 0:  # eta = -inf: every value is consistent
            return np.ones(len(theta), dtype=bool)
        yt = self.y[:, None] - self.a[:, None] * theta[None, :]  # m x n
        values = self.vertices @ yt  # vertices x n
        best = values.argmax(axis=0)
        cols = np.arange(len(theta))
        eta = values[best, cols]
        var_b = self.gram[best, best]
        reject = np.zeros(len(theta), dtype=bool)
        size = alpha
        undecided = np.ones(len(theta), dtype=bool)
        if lf_cv is not None:
            reject |= eta > lf_cv
            undecided &= ~reject
            size = (alpha - kappa) / (1.0 - kappa)
        tiny = var_b <= np.finfo(float).eps * max(1.0, float(np.abs(self.gram).max()))
        reject |= undecided & tiny & (eta > 0)
        undecided &= ~tiny
        if not undecided.any():
            return ~reject
        idx = np.flatnonzero(undecided)
        b = best[idx]
        vb = var_b[idx]
        gc = self.gram[:, b] / vb  # gamma_v' c for c = Sigma_Y gamma* / var
        num = values[:, idx] - gc * eta[idx]  # gamma_v' S
        den = 1.0 - gc
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = num / den
        pos = den > 1e-10
        neg = den < -1e-10
        vlo = np.where(pos, ratio, -np.inf).max(axis=0)
        vup = np.where(neg, ratio, np.inf).min(axis=0)
        if lf_cv is not None and cap_at_lf:
            vup = np.minimum(vup, lf_cv)
        sd_b = np.sqrt(vb)
        zlo, zup, stat = vlo / sd_b, vup / sd_b, eta[idx] / sd_b
        inside = (zlo <= stat) & (stat <= zup)
        cval = np.zeros(len(idx))
        if inside.any():
            cval[inside] = np.maximum(
                0.0, truncated_normal_quantile(1.0 - size, zlo[inside], zup[inside])
            )
        reject[idx] = inside & (stat > cval)
        return ~reject


def truncated_normal_quantile(p: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``p`` quantile of a standard normal truncated to ``[lower, upper]`` (tail-accurate)."""
    return stats.truncnorm.ppf(p, lower, upper)


def rm_polyhedra(
    betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray, mbar: float
) -> list[MomentPolyhedron]:
    """Return the ``2 n_pre`` polyhedra whose union is Delta^RM(Mbar)."""
    n_post = len(l_vec)
    out = []
    for s in range(-(n_pre - 1), 1):
        for positive in (True, False):
            a_mat = rm_constraints(n_pre, n_post, mbar, s, positive)
            out.append(MomentPolyhedron.build(a_mat, betahat, sigma, n_pre, l_vec))
    return out
