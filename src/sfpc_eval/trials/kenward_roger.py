r"""Kenward-Roger small-sample inference for the stepped-wedge mixed models.

With four or five councils the Wald test of a mixed model is too liberal: the variance of the
effect is computed as if the variance components were known, and they are estimated from few
councils (a decay model that is the true model covers 85% at a nominal 95% on the SFPC shapes;
``validation/sw_structures_coverage.md``). Kenward and Roger (1997) correct both: the
variance parameters are estimated by REML, the fixed effects' variance
:math:`\Phi = (X'\Sigma^{-1}X)^{-1}` is inflated for their uncertainty,

.. math::

    \Phi_A = \Phi + 2\Phi\Bigl[\sum_{r,s} W_{rs}\bigl(Q_{rs} - P_r\Phi P_s
    - \tfrac14 R_{rs}\bigr)\Bigr]\Phi,

with :math:`P_r = -X'\Sigma^{-1}\Sigma_r\Sigma^{-1}X`,
:math:`Q_{rs} = X'\Sigma^{-1}\Sigma_r\Sigma^{-1}\Sigma_s\Sigma^{-1}X`,
:math:`R_{rs} = X'\Sigma^{-1}\Sigma_{rs}\Sigma^{-1}X` (:math:`\Sigma_r`, :math:`\Sigma_{rs}` the
first and second derivatives of the marginal covariance :math:`\Sigma` in the variance
parameters :math:`\tau`; zero second derivatives for variances and covariances, not for the
AR(1) correlation) and :math:`W` the inverse of the expected REML information
:math:`\tfrac12\operatorname{tr}(P\Sigma_rP\Sigma_s)`,
:math:`P = \Sigma^{-1} - \Sigma^{-1}X\Phi X'\Sigma^{-1}`; and a contrast is referred to a
t distribution whose degrees of freedom match the first two moments of its Wald statistic
(Kenward & Roger 1997, section 3; for one contrast, as ``lmerTest`` reports them:
:math:`t = L'\hat\beta / \sqrt{L'\Phi_AL}`).

For the linear mixed model :math:`\Sigma = \sigma^2 I + Z\Psi Z'` and the residual variance
is one of the parameters; this is what ``pbkrtest::vcovAdj`` and ``lmerTest`` (``ddf =
"Kenward-Roger"``) compute, and the test compares with them. For a GLMM the same
computation is applied to the working linear model at the REML estimates,
:math:`\Sigma = W^{-1} + Z\Psi Z'` with :math:`W` the working weights (the pseudo-likelihood
view of SAS GLIMMIX's ``DDFM=KR``); its coverage is checked by simulation in
``validation/``.

All products are formed council by council in the space of the random effects (by
Woodbury's identity), so the cost grows with the number of cells, not their square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sfpc_eval.trials.structures import RandomEffects

__all__ = ["KenwardRogerFit", "kenward_roger"]


@dataclass(frozen=True, eq=False)
class KenwardRogerFit:
    r"""The Kenward-Roger adjustment of one fit.

    The adjusted variance ``vcov`` (:math:`\Phi_A`; :math:`\Phi` itself, with
    ``adjusted=False``, when :math:`\Phi_A` is not positive definite), the unadjusted ``phi``
    and what the degrees of freedom need (``p``: the :math:`P_r`; ``w``: :math:`W`).
    """

    vcov: np.ndarray
    phi: np.ndarray
    p: list[np.ndarray]
    w: np.ndarray
    adjusted: bool = True

    def df(self, contrast: np.ndarray) -> float:
        """Kenward-Roger degrees of freedom of one contrast ``L' beta``."""
        lvec = np.asarray(contrast, dtype=np.float64)
        phi = self.phi
        theta = np.outer(lvec, lvec) / float(lvec @ phi @ lvec)
        u = [theta @ phi @ p_r @ phi for p_r in self.p]
        a1 = a2 = 0.0
        for r in range(len(u)):
            for s in range(len(u)):
                a1 += self.w[r, s] * np.trace(u[r]) * np.trace(u[s])
                a2 += self.w[r, s] * float(np.sum(u[r] * u[s].T))
        ell = 1.0
        b = (a1 + 6 * a2) / (2 * ell)
        g = ((ell + 1) * a1 - (ell + 4) * a2) / ((ell + 2) * a2) if a2 > 0 else 0.0
        denom = 3 * ell + 2 * (1 - g)
        c1, c2, c3 = g / denom, (ell - g) / denom, (ell + 2 - g) / denom
        v0, v1, v2 = 1 + c1 * b, 1 - c2 * b, 1 - c3 * b
        if v1 == 0 or v2 == 0 or ell * (rho := ((1 - a2 / ell) / v1) ** 2 * v0 / v2 / ell) == 1:
            return math.inf
        # as pbkrtest's Lb_ddf (what lmerTest reports), also when rho < 1 / ell
        return 4 + (ell + 2) / (ell * rho - 1)

    def satterthwaite(self, contrast: np.ndarray) -> float:
        r"""Satterthwaite degrees of freedom of one contrast from the same ingredients.

        :math:`\nu = 2 v^2 / (g' W g)` with :math:`v = L'\Phi L` and
        :math:`g_r = \partial v / \partial\tau_r = -L'\Phi P_r \Phi L` (the unadjusted
        variance; ``W`` the inverse expected REML information of the variance parameters).
        """
        lvec = np.asarray(contrast, dtype=np.float64)
        pl = self.phi @ lvec
        v = float(lvec @ pl)
        g = np.array([float(pl @ p_r @ pl) for p_r in self.p])
        denominator = float(g @ self.w @ g)
        return math.inf if denominator <= 0 else 2 * v**2 / denominator

    def std_error(self, contrast: np.ndarray) -> float:
        """Return the adjusted standard error of ``L' beta``."""
        lvec = np.asarray(contrast, dtype=np.float64)
        return math.sqrt(float(lvec @ self.vcov @ lvec))


def _zmatrix(structure: RandomEffects, slots, loads) -> np.ndarray:
    z = np.zeros((len(slots), structure.q))
    rows = np.arange(len(slots))
    np.add.at(z, (rows, slots[:, 0]), loads[:, 0])
    np.add.at(z, (rows, slots[:, 1]), loads[:, 1])
    return z


def kenward_roger(
    x: np.ndarray,
    slots: np.ndarray,
    loads: np.ndarray,
    weight: np.ndarray,
    starts: np.ndarray,
    structure: RandomEffects,
    theta: np.ndarray,
    *,
    sigma2: float | None = None,
) -> KenwardRogerFit:
    """Compute the Kenward-Roger adjusted variance for cells sorted by council.

    Parameters
    ----------
    x : ndarray (cells x k)
    slots, loads : ndarray (cells x 2)
        The random effects each cell loads (:meth:`RandomEffects.loadings`).
    weight : ndarray (cells,)
        GLMM: the working weights (a cell's working variance is ``1 / weight``). Gaussian: the
        number of rows in each cell (with ``sigma2``).
    starts : ndarray
        First cell of each council.
    structure : RandomEffects
    theta : ndarray
        Covariance parameters (relative to the residual SD for the Gaussian model).
    sigma2 : float, optional
        Gaussian: the residual variance (then also a parameter of the adjustment).

    Returns
    -------
    KenwardRogerFit
    """
    gaussian = sigma2 is not None
    scale = math.sqrt(sigma2) if gaussian else 1.0
    psi, first, second = structure.covariance_parameters(theta, scale)
    z = _zmatrix(structure, slots, loads)
    w = weight / sigma2 if gaussian else weight
    n_re = len(first)
    k, q = x.shape[1], z.shape[1]
    # per council: K = B' W B for B = [X, Z]; Sigma^-1 B = B C (Woodbury)
    b = np.hstack([x, z])
    gram = np.add.reduceat(w[:, None, None] * b[:, :, None] * b[:, None, :], starts, axis=0)
    kzz = gram[:, k:, k:]
    eye_q = np.eye(q)
    t_mat = psi @ np.linalg.inv(eye_q + kzz @ psi)  # (Psi^-1 + K_zz)^-1, G x q x q
    # with W the (scaled) identity on rows, Sigma^-1 B = W B C, C = I - J T J' K
    c = np.tile(np.eye(k + q), (len(starts), 1, 1))
    c[:, k:, :] -= t_mat @ gram[:, k:, :]
    sinv = gram @ c  # B' Sigma^-1 B per council (as W-weighted Gram times C)
    xsx = sinv[:, :k, :k].sum(axis=0)
    xsz = sinv[:, :k, k:]
    zsz = sinv[:, k:, k:]
    phi = np.linalg.inv(xsx)
    phi = (phi + phi.T) / 2
    # batched products per council (BLAS), summed over councils: X'S^-1 Z D_r, D_r Z'S^-1 Z
    xsz_t = np.swapaxes(xsz, 1, 2)
    xd = [xsz @ d for d in first]
    xdt = [xsz @ d.T for d in first]
    dz = [d @ zsz for d in first]
    p_list = [-np.sum(xd_r @ xsz_t, axis=0) for xd_r in xd]
    q_mat = [
        [np.sum(xd_r @ zsz @ np.swapaxes(xdt_s, 1, 2), axis=0) for xdt_s in xdt] for xd_r in xd
    ]
    r_mat = [[np.sum(xsz @ second[r][s] @ xsz_t, axis=0) for s in range(n_re)] for r in range(n_re)]
    trace = np.array(
        [[float(np.sum(dz_r * np.swapaxes(dz_s, 1, 2))) for dz_s in dz] for dz_r in dz]
    )
    if gaussian:
        # the residual variance: Sigma_0 = I on rows; Sigma^-2 B = W B C W' C (W = n/sigma2
        # per row of a cell becomes 1/sigma2 per row): products with C applied twice or thrice
        unit = np.add.reduceat(
            weight[:, None, None] * b[:, :, None] * b[:, None, :], starts, axis=0
        )  # B'B (rows)
        ctuc = np.swapaxes(c, 1, 2) @ unit @ c
        s2 = ctuc / sigma2**2  # B' Sigma^-2 B
        s3 = (ctuc @ c) / sigma2**3
        x2x = s2[:, :k, :k].sum(axis=0)
        x2z = s2[:, :k, k:]
        z2z = s2[:, k:, k:]
        p_list.append(-x2x)
        q0 = [np.sum(x2z @ d @ xsz_t, axis=0) for d in first]  # X'S^-2 Z D Z'S^-1 X
        q_mat = [[*row, q0[r].T] for r, row in enumerate(q_mat)]
        q_mat.append([*q0, s3[:, :k, :k].sum(axis=0)])
        zero = np.zeros((k, k))
        r_mat = [[*row, zero] for row in r_mat] + [[zero] * (n_re + 1)]
        counts = np.add.reduceat(weight, starts)
        tkz = t_mat @ kzz  # T K (K = Z'Z / sigma2)
        tr_s2 = (
            float(
                np.sum(
                    counts
                    - 2 * np.trace(tkz, axis1=1, axis2=2)
                    + np.sum(tkz * np.swapaxes(tkz, 1, 2), axis=(1, 2))
                )
            )
            / sigma2**2
        )
        z2z_t = np.swapaxes(z2z, 1, 2)
        cross = [float(np.sum(d * z2z_t)) for d in first]
        trace = np.block(
            [[trace, np.array(cross)[:, None]], [np.array(cross)[None, :], np.array([[tr_s2]])]]
        )
    n_par = len(p_list)
    info = np.empty((n_par, n_par))
    for r in range(n_par):
        for s in range(n_par):
            info[r, s] = (
                trace[r, s]
                - 2 * float(np.sum(phi * q_mat[r][s]))
                + float(np.sum((phi @ p_list[r]) * (p_list[s] @ phi)))
            )
    w_mat = 2 * np.linalg.pinv((info + info.T) / 2)
    u_mat = np.zeros((k, k))
    for r in range(n_par):
        for s in range(n_par):
            u_mat += w_mat[r, s] * (q_mat[r][s] - p_list[r] @ phi @ p_list[s] - r_mat[r][s] / 4)
    adjusted = phi + 2 * phi @ u_mat @ phi
    adjusted = (adjusted + adjusted.T) / 2
    # near a boundary the bias correction can outweigh the variance itself: the adjusted matrix
    # is then not a variance and the unadjusted REML variance is used (``adjusted=False``)
    positive = bool(np.linalg.eigvalsh(adjusted).min() > 0)
    return KenwardRogerFit(
        vcov=adjusted if positive else phi, phi=phi, p=p_list, w=w_mat, adjusted=positive
    )
