r"""Logistic GEE with an exchangeable working correlation, on binomial cells.

The estimating equations are those of ``geepack::geeglm(corstr = "exchangeable")``: for cluster
``i`` with working covariance ``V_i = phi A_i^{1/2} R_i A_i^{1/2}`` (``A_i`` the Bernoulli
variances, ``R_i = (1 - rho) I + rho 1 1'``), ``sum_i D_i' V_i^{-1} (y_i - mu_i) = 0``; the scale
is the mean squared Pearson residual and ``rho`` the mean cross-product of standardised Pearson
residuals over the pairs of rows in each cluster (geepack's moment equations).

Because ``R_i^{-1} = a I - b_i 1 1'`` (Sherman-Morrison), every cluster quantity the fit and the
sandwich need -- ``B_i = D_i' V_i^{-1} D_i`` and the score ``s_i = D_i' V_i^{-1} r_i`` -- is a
sum over rows, and rows of a cell share their design row and mean: the fit runs on cells.

Variances (``B = sum_i B_i``):

- ``"robust"``: Liang-Zeger, ``B^{-1} (sum s_i s_i') B^{-1}`` (geepack's ``std.err``);
- ``"MD"``: Mancl & DeRouen (2001), the residuals of cluster ``i`` premultiplied by
  ``(I - H_ii)^{-1}`` with ``H_ii = D_i B^{-1} D_i' V_i^{-1}``. By the Woodbury identity the
  adjusted score is ``B (B - B_i)^{-1} s_i``: no ``n_i x n_i`` matrix is formed;
- ``"KC"``: Kauermann & Carroll (2001), with the principal square root ``(I - H_ii)^{-1/2}``. With
  ``K_i = B^{-1/2} B_i B^{-1/2}`` and ``g(x) = ((1 - x)^{-1/2} - 1) / x`` the adjusted score is
  ``s_i + B_i B^{-1/2} g(K_i) B^{-1/2} s_i``.

The working correlation must be a correlation matrix for every cluster: ``R_i`` is positive
definite only for ``-1 / (n_i - 1) < rho < 1``. With clusters of a thousand children and a true
correlation near zero, the moment estimate can fall below ``-1 / (n_max - 1)`` (it does for 2 of
5 seeds of ``simulate_trial("fs", n_children=3000)``: ``rho = -0.00103`` against a bound of
``-0.00073`` for 1,364 children). geepack then carries on with an indefinite working covariance,
whose weights are unstable (they diverge as ``1 + (n_i - 1) rho`` crosses 0). Here every
negative estimate is set to 0 (the independence working correlation: the logistic GLM's
estimate, with the same sandwich variances) and ``GeeFit.note`` says so; an estimate at 1 (a
singular working correlation) is a :class:`~sfpc_eval.errors.DesignError` saying what to
analyse instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, special

from sfpc_eval._blas import limited_blas
from sfpc_eval.errors import DesignError, InvalidValueError

__all__ = ["GEE_VARIANCES", "GeeFit", "fit_gee"]

GEE_VARIANCES = ("robust", "MD", "KC")


@dataclass(frozen=True, eq=False)
class GeeFit:
    """A fitted exchangeable logistic GEE.

    Attributes
    ----------
    names : tuple of str
        Coefficient names.
    beta : ndarray
        Coefficients (log odds, population-averaged).
    rho : float
        Exchangeable working correlation.
    scale : float
        Scale parameter (mean squared Pearson residual).
    vcov : dict of str to ndarray
        ``"robust"``, ``"MD"`` and ``"KC"`` sandwich variances.
    n_obs, n_clusters, iterations : int
        Size and iterations used.
    note : str
        Empty, or why the working correlation was set to independence (a negative moment
        estimate of ``rho``, and whether it was outside the range of a correlation matrix).
    """

    names: tuple[str, ...]
    beta: np.ndarray
    rho: float
    scale: float
    vcov: dict[str, np.ndarray] = field(repr=False)
    n_obs: int
    n_clusters: int
    iterations: int
    note: str = ""

    def std_errors(self, kind: str = "robust") -> np.ndarray:
        """Return the standard errors under ``kind`` (``"robust"``, ``"MD"`` or ``"KC"``)."""
        return np.sqrt(np.diag(self.vcov[kind]))


def _cluster_sums(z, y, n, cluster, n_clusters, beta):
    mu = special.expit(z @ beta)
    v = mu * (1 - mu)
    root = np.sqrt(v)
    resid = y - n * mu

    def per(values):
        if values.ndim == 1:
            return np.bincount(cluster, weights=values, minlength=n_clusters)
        out = np.zeros((n_clusters, *values.shape[1:]))
        np.add.at(out, cluster, values)
        return out

    a_vec = per((n * root)[:, None] * z)  # sum over rows of sqrt(v) x
    c_mat = per((n * v)[:, None, None] * z[:, :, None] * z[:, None, :])
    e_sum = per(resid / root)  # sum of Pearson residuals
    s0 = per(resid[:, None] * z)  # sum of sqrt(v) x e
    q_sum = per((y * (1 - mu) ** 2 + (n - y) * mu**2) / v)  # sum of squared Pearson residuals
    return a_vec, c_mat, e_sum, s0, q_sum


def _blocks(sizes, rho, a_vec, c_mat, e_sum, s0):
    a = 1.0 / (1.0 - rho)
    b = rho / ((1.0 - rho) * (1.0 + (sizes - 1.0) * rho))
    b_i = a * c_mat - b[:, None, None] * a_vec[:, :, None] * a_vec[:, None, :]
    s_i = a * s0 - (b * e_sum)[:, None] * a_vec
    return b_i, s_i


@limited_blas
def fit_gee(
    z: np.ndarray,
    names: tuple[str, ...],
    successes: np.ndarray,
    trials: np.ndarray,
    cluster: np.ndarray,
    *,
    beta_start: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iter: int = 500,
    variances: tuple[str, ...] = GEE_VARIANCES,
) -> GeeFit:
    """Fit the exchangeable logistic GEE on cells and compute the three sandwich variances.

    Parameters
    ----------
    z : ndarray (cells x k)
        Design matrix.
    names : tuple of str
        Column names.
    successes, trials : ndarray
        Events and rows per cell.
    cluster : ndarray of int
        Cluster code 0..G-1 per cell.
    beta_start : ndarray, optional
        Starting values (the logistic GLM's are a good choice).
    tol : float
        Convergence: largest change in ``beta`` and ``rho``.
    max_iter : int
        Most iterations.
    variances : tuple of str, default ("robust", "MD", "KC")
        The sandwich variances to compute.

    Returns
    -------
    GeeFit

    Raises
    ------
    DesignError
        No convergence, a singular information matrix (naming the term that is not
        identified), a working correlation estimated at 1 (singular), or a cluster-adjusted
        matrix ``B - B_i`` is singular (Mancl-DeRouen is then undefined: a parameter is
        identified by one cluster alone).

    Notes
    -----
    A negative moment estimate of ``rho`` is set to 0 (independence working correlation).
    Below ``-1 / (n_max - 1)`` the exchangeable working correlation of the largest cluster is
    not a correlation matrix, and with thousands of children per council any negative estimate
    is near that bound; truncating only below it makes the iteration oscillate between 0 and
    the bound. The sandwich variances do not rely on the working correlation being right.
    (geepack does not truncate; its fits with a positive ``rho`` are unchanged.)

    Examples
    --------
    >>> import numpy as np
    >>> cl = np.repeat(np.arange(6), 2)
    >>> z = np.column_stack([np.ones(12), np.tile([0.0, 1.0], 6)])
    >>> y = np.array([5, 3, 6, 4, 4, 2, 7, 5, 5, 4, 6, 3], dtype=float)
    >>> fit = fit_gee(z, ("(intercept)", "x"), y, np.full(12, 40.0), cl)
    >>> bool(fit.std_errors("MD")[1] > fit.std_errors("robust")[1])
    True
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    cluster = np.asarray(cluster, dtype=np.int64)
    n_clusters = int(cluster.max()) + 1
    sizes = np.bincount(cluster, weights=n, minlength=n_clusters)
    pairs = float(np.sum(sizes * (sizes - 1) / 2))
    total = float(n.sum())
    beta = np.zeros(z.shape[1]) if beta_start is None else np.array(beta_start, dtype=np.float64)
    rho = 0.0
    moment_rho = 0.0
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - used after the loop
        a_vec, c_mat, e_sum, s0, q_sum = _cluster_sums(z, y, n, cluster, n_clusters, beta)
        b_i, s_i = _blocks(sizes, rho, a_vec, c_mat, e_sum, s0)
        step = _newton_step(b_i.sum(axis=0), s_i.sum(axis=0), names)
        beta = beta + step
        a_vec, c_mat, e_sum, s0, q_sum = _cluster_sums(z, y, n, cluster, n_clusters, beta)
        scale = float(q_sum.sum() / total)
        moment_rho = float(np.sum((e_sum**2 - q_sum) / 2) / scale / pairs) if pairs else 0.0
        _check_below_one(moment_rho)
        # a negative moment estimate is set to 0: with thousands of children per council it is
        # not a correlation matrix for the largest council once below -1 / (n_max - 1), and
        # truncating only there makes the iteration oscillate; the working correlation is then
        # independence, which the sandwich variances keep valid
        new_rho = max(moment_rho, 0.0)
        change = max(float(np.max(np.abs(step))), abs(new_rho - rho))
        rho = new_rho
        if not np.all(np.isfinite(beta)):
            break
        if change <= tol:
            break
    else:
        raise DesignError(
            f"the GEE did not converge in {max_iter} iterations; a common cause is perfect "
            "separation (an outcome always 0 or always 1 within a group of the design)."
        )
    if not np.all(np.isfinite(beta)):
        raise DesignError("the GEE diverged; check for perfect separation in the outcome.")
    note = ""
    if moment_rho < 0:
        note = (
            f"the exchangeable working correlation was estimated at {moment_rho:.3g} and set to "
            "0 (independence): the estimate is the logistic GLM's and the sandwich variance "
            "remains valid."
        )
        if not _admissible(moment_rho, sizes):
            note += (
                f" Unset, it would be below -1/(n - 1) = {-1 / (sizes.max() - 1):.3g} for the "
                f"largest cluster ({sizes.max():,.0f} rows), where it is not a correlation matrix."
            )
    a_vec, c_mat, e_sum, s0, q_sum = _cluster_sums(z, y, n, cluster, n_clusters, beta)
    b_i, s_i = _blocks(sizes, rho, a_vec, c_mat, e_sum, s0)
    vcov = _sandwiches(b_i, s_i, tuple(names), variances)
    return GeeFit(
        names=tuple(names),
        beta=beta,
        rho=rho,
        scale=float(q_sum.sum() / total),
        vcov=vcov,
        n_obs=round(total),
        n_clusters=n_clusters,
        iterations=iterations,
        note=note,
    )


def _admissible(rho: float, sizes: np.ndarray) -> bool:
    """Tell whether ``R_i = (1 - rho) I + rho 11'`` is positive definite for every cluster."""
    return rho < 1.0 and bool(np.all(1.0 + (sizes - 1.0) * rho > 1e-8))


def _check_below_one(rho: float) -> None:
    """Refuse a moment estimate of ``rho`` at or above 1 (a singular working correlation)."""
    if not rho < 1.0 - 1e-8:
        raise DesignError(
            f"the GEE's exchangeable working correlation is estimated at {rho:.6g}: the rows of "
            "each cluster are (almost) copies of one another, so the working correlation matrix "
            "is singular and the cluster, not the row, carries the information. Analyse one row "
            "per cluster and period (totals as binomial cells), or use model='glm' with a "
            "cluster-robust variance."
        )


def _newton_step(big_b: np.ndarray, score: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Solve ``B step = score``; a singular ``B`` means a term of the design is not identified."""
    try:
        return linalg.solve(big_b, score, assume_a="pos")
    except linalg.LinAlgError:
        _, vec = linalg.eigh(big_b)
        name = names[int(np.argmax(np.abs(vec[:, 0])))]
        raise DesignError(
            f"the GEE's information matrix is singular: {name!r} is not identified (collinear "
            "with other terms, or seen in no row with outcome variation). Drop that term or "
            "merge its categories."
        ) from None


def _sandwiches(
    b_i: np.ndarray, s_i: np.ndarray, names: tuple[str, ...], kinds: tuple[str, ...]
) -> dict[str, np.ndarray]:
    big_b = b_i.sum(axis=0)
    bread = linalg.inv(big_b)
    values, vectors = linalg.eigh(big_b)
    b_inv_half = (vectors / np.sqrt(values)) @ vectors.T
    scores = {"robust": s_i}
    corrected = [k for k in kinds if k != "robust"]
    for kind in corrected:
        scores[kind] = np.empty_like(s_i)
    for g in range(len(s_i) if corrected else 0):
        rest = big_b - b_i[g]
        lam, vec = linalg.eigh(rest)
        if lam[0] <= 1e-10 * lam[-1]:
            name = names[int(np.argmax(np.abs(vec[:, 0])))]
            raise DesignError(
                f"the {' and '.join(corrected)} corrections are undefined: cluster {g} alone "
                f"identifies {name!r} (leaving it out leaves that coefficient without "
                "information). Use gee_variance='robust', or drop or merge that term (e.g. "
                "exposure times seen in one cluster only)."
            )
        if "MD" in scores:
            scores["MD"][g] = big_b @ linalg.solve(rest, s_i[g], assume_a="pos")
        if "KC" in scores:
            k_mat = b_inv_half @ b_i[g] @ b_inv_half
            lam_k, w = linalg.eigh((k_mat + k_mat.T) / 2)
            lam_k = np.clip(lam_k, 0.0, 1.0 - 1e-12)
            small = lam_k < 1e-8
            safe = np.where(small, 0.5, lam_k)
            g_lam = np.where(small, 0.5 + 0.375 * lam_k, ((1 - safe) ** -0.5 - 1) / safe)
            g_mat = (w * g_lam) @ w.T
            scores["KC"][g] = s_i[g] + b_i[g] @ b_inv_half @ g_mat @ b_inv_half @ s_i[g]
    return {kind: bread @ (scores[kind].T @ scores[kind]) @ bread for kind in kinds}


def check_variance_kind(kind: str) -> str:
    """Validate a GEE sandwich name."""
    if kind not in GEE_VARIANCES:
        raise InvalidValueError(
            f"`gee_variance` must be one of {', '.join(GEE_VARIANCES)}; got {kind!r}. 'MD' "
            "(Mancl-DeRouen) is the usual choice with fewer than about 40 clusters."
        )
    return kind
