r"""clubSandwich's symmetric CR2 root for GLMs, applied without forming a cells x cells matrix.

In one cluster, in cell coordinates (see :mod:`sfpc_eval.inference.cluster`), the CR2
adjustment of the inverse-variance working model is

.. math:: A = \Theta^{1/2} G^{+1/2} \Theta^{1/2}, \qquad
          G = \Theta (I - L L') \Theta = \Theta^2 - P P', \quad P = \Theta L,

with :math:`\Theta = \mathrm{diag}(\theta)` (the working variances) and :math:`L` the
:math:`c \times k` square-root factor of the cluster's leverage. When :math:`\theta` varies
within the cluster, :math:`A - I` is *not* of low rank (on a 60-cell cluster with
:math:`k = 3` it has 21 singular values above :math:`10^{-10}`; with constant :math:`\theta` it
has exactly 3), so there is no exact finite low-rank form. But only a few products with
:math:`A` are needed (the residuals, and :math:`k` columns for the Satterthwaite degrees of
freedom), and :math:`G` is diagonal minus rank :math:`k`, so each resolvent
:math:`(t^2 I + G)^{-1}` applies in :math:`O(c k)` by the Woodbury identity. The root comes
from

.. math:: G^{-1/2} = \frac{2}{\pi} \int_0^\infty (t^2 I + G)^{-1} \, dt,

computed by the midpoint rule after the substitution :math:`t = \sqrt{m}\,
\mathrm{sn}(u)/\mathrm{cn}(u)` (Jacobi elliptic functions with parameter :math:`1 - m/M`,
where :math:`[m, M]` bounds the spectrum of :math:`G`: Hale, Higham and Trefethen, 2008). The
transformed integrand is periodic and analytic in a strip, so the error falls geometrically:
10-60 nodes give :math:`\lambda^{-1/2}` to :math:`10^{-13}` relative for every
:math:`\lambda \in [m, M]`, which the rule checks on a grid before it is used.

Bounds: :math:`M = \max \theta^2`; by Ostrowski's theorem every non-zero eigenvalue of
:math:`G` is at least :math:`\min \theta^2` times the smallest non-zero eigenvalue of
:math:`I - LL'` (``1 - s^2`` over the singular values ``s < 1`` of :math:`L`, or 1).

Zero eigenvalues (a fixed effect nested in the cluster makes :math:`LL'` have eigenvalue 1)
are handled as the dense code does, by the pseudo-inverse: with :math:`U_0` the singular
vectors of :math:`L` whose singular value is 1, :math:`N = \Theta^{-1} U_0` spans the null space
of :math:`G`, :math:`\Pi_0` is its orthogonal projector, and
:math:`G^{+1/2} = (G + M \Pi_0)^{-1/2} - M^{-1/2} \Pi_0`; :math:`G + M \Pi_0` is diagonal plus
rank :math:`k + r` and its spectrum stays in :math:`[m, M]`.

The dense code sets eigenvalues below :math:`10^{-10}` of the largest to zero. Its result and
this one are the same function of :math:`G` only when no eigenvalue is near that cut-off, so
this path declines (returns ``None``, and the caller uses the dense code) unless every
eigenvalue is either provably below :math:`10^{-12}` of the largest or provably above
:math:`10^{-8}` of it.

References
----------
Hale, N., Higham, N. J. and Trefethen, L. N. (2008). Computing :math:`A^\alpha`,
:math:`\log(A)`, and related matrix functions by contour integrals. SIAM Journal on Numerical
Analysis 46(5), 2505-2523.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import linalg, special

__all__ = ["inverse_root_rule", "symmetric_root_apply"]

RULE_TOLERANCE = 1e-13
"""Largest relative error of the quadrature for ``lambda^{-1/2}`` on the spectrum's bounds."""


@functools.lru_cache(maxsize=64)
def _rule(ratio: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Nodes ``t^2`` and weights for ``[1, ratio]`` (``m = 1``); scaled by the caller.

    The parameter ``kappa = 1 - 1/ratio`` is close to 1 for wide spectra, where ``cn`` near
    the quarter period ``K`` is tiny: nodes past ``K/2`` are computed from ``u' = K - u`` by
    the reflection formulas ``sn(K - u') = cd(u')``, ``cn(K - u') = sqrt(1 - kappa) sd(u')``,
    ``dn(K - u') = sqrt(1 - kappa) nd(u')``, and ``K`` from ``1 - kappa`` (``ellipkm1``).
    """
    kappa = 1.0 - 1.0 / ratio
    complement = 1.0 - kappa  # exact: the parameter ellipj sees
    quarter = special.ellipkm1(complement)
    grid = np.geomspace(1.0, 1.0 / complement, 97)
    for nodes in (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256):
        u = (np.arange(nodes) + 0.5) * quarter / nodes
        near = u <= quarter / 2
        sn, cn, dn, _ = special.ellipj(u[near], kappa)
        sn_r, cn_r, dn_r, _ = special.ellipj(quarter - u[~near], kappa)
        t2 = np.concatenate([(sn / cn) ** 2, cn_r**2 / (complement * sn_r**2)])
        density = np.concatenate([dn / cn**2, dn_r / (np.sqrt(complement) * sn_r**2)])
        weights = (2 / np.pi) * (quarter / nodes) * density
        approx = (weights[None, :] / (t2[None, :] + grid[:, None])).sum(axis=1)
        if np.max(np.abs(approx * np.sqrt(grid) - 1)) < RULE_TOLERANCE:
            return t2, weights
    return None


def inverse_root_rule(m: float, big_m: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Nodes ``t^2`` and weights ``w`` with ``sum w / (t^2 + x) = x^{-1/2}`` on ``[m, M]``.

    Relative error below :data:`RULE_TOLERANCE` on a grid of the interval (checked), or None
    if no rule of up to 256 nodes reaches it.

    Examples
    --------
    >>> t2, w = inverse_root_rule(0.5, 80.0)
    >>> float(np.sum(w / (t2 + 2.0)) * np.sqrt(2.0))  # doctest: +ELLIPSIS
    1.0...
    """
    # the rule for [m, M] is the rule for [1, M/m] scaled: t^2 -> m t^2, w -> sqrt(m) w
    ratio = float(np.float32(max(big_m / m, 1.0 + 1e-6)) * (1 + 1e-6))  # few distinct rules
    if ratio > 1e12:
        return None
    rule = _rule(ratio)
    if rule is None:
        return None
    t2, weights = rule
    return m * t2, weights * np.sqrt(m)


def symmetric_root_apply(
    theta: np.ndarray, low_rank: np.ndarray, vectors: np.ndarray
) -> np.ndarray | None:
    """Return ``A @ vectors``, ``A = diag(sqrt theta) G^{+1/2} diag(sqrt theta)`` (see module).

    ``G = diag(theta) (I - low_rank low_rank') diag(theta)``. Returns None when an eigenvalue
    of ``G`` may lie near the dense code's cut-off (``1e-10`` of the largest), where the two
    could differ; the caller then computes the root densely.
    """
    theta2 = theta**2
    u, s, _ = linalg.svd(low_rank, full_matrices=False)
    gaps = 1.0 - s**2  # eigenvalues of I - K on the span of u (1 elsewhere)
    largest_theta2, smallest_theta2 = float(theta2.max()), float(theta2.min())
    # the largest eigenvalue of G is at least its largest diagonal entry
    top = float(np.max(theta2 * (1.0 - (u**2) @ (s**2))))
    null = gaps <= 1e-12 * top / largest_theta2
    candidates = [*gaps[~null], 1.0] if len(theta) > len(s) else list(gaps[~null])
    if not candidates:
        return None
    m = smallest_theta2 * min(candidates)
    if m <= 1e-8 * largest_theta2:
        return None
    rule = inverse_root_rule(m, largest_theta2)
    if rule is None:
        return None
    root_theta = np.sqrt(theta)
    x = root_theta[:, None] * vectors
    u0 = u[:, null]
    factor = np.hstack([theta[:, None] * u * np.where(null, 1.0, s), u0 / theta[:, None]])
    k, r = len(s), int(null.sum())
    inner = np.zeros((k + r, k + r))
    inner[:k, :k] = -np.eye(k)  # -P P'
    null_gram = u0.T @ (u0 / theta2[:, None])
    inner[k:, k:] = null_gram / largest_theta2  # + M Pi_0, Pi_0 = N (N'N)^{-1} N'
    total = np.zeros_like(x)
    for t2, weight in zip(*rule, strict=True):
        inv_diag = 1.0 / (theta2 + t2)
        scaled_factor = inv_diag[:, None] * factor
        scaled_x = inv_diag[:, None] * x
        capacitance = inner + factor.T @ scaled_factor
        solved = np.linalg.solve(capacitance, factor.T @ scaled_x)
        total += weight * (scaled_x - scaled_factor @ solved)
    if r:
        n_mat = u0 / theta[:, None]
        total -= largest_theta2**-0.5 * (n_mat @ np.linalg.solve(null_gram, n_mat.T @ x))
    return root_theta[:, None] * total
