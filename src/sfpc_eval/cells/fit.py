"""Linear and GLM fits on weighted cells (Gaussian identity, Poisson log, binomial logit).

Every family here has its canonical link, so one Newton/IRLS loop serves all three: for cell
``c`` with design row ``z_c`` the fit needs the total working weight ``d_c`` and the weighted
residual sum ``r_c``:

- Gaussian: ``d_c = sum w``, ``r_c = sum w y - eta_c sum w``;
- Poisson (log link, exposure ``e``): ``d_c = exp(eta_c) sum w e``, ``r_c = sum w y - d_c``;
- binomial (logit link): ``d_c = mu_c (1 - mu_c) sum w``, ``r_c = sum w y - mu_c sum w``.

The score is ``Z' r`` and the information ``Z' diag(d) Z``; both are what the cluster-robust
variances in :mod:`sfpc_eval.inference.cluster` are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, special

from sfpc_eval.errors import DesignError, InvalidValueError, SeparationError

__all__ = ["FAMILIES", "CellFit", "check_family", "fit_cells"]

FAMILIES = ("gaussian", "poisson", "binomial")


def check_family(family: str) -> None:
    """Raise unless ``family`` is one of :data:`FAMILIES`."""
    if family not in FAMILIES:
        raise InvalidValueError(f"`family` must be one of {', '.join(FAMILIES)}; got {family!r}.")


@dataclass(frozen=True, eq=False)
class CellFit:
    """A fitted model on cells, with everything inference needs.

    Attributes
    ----------
    family : str
        ``"gaussian"``, ``"poisson"`` or ``"binomial"``.
    names : tuple of str
        Names of the columns of ``z``.
    z : ndarray (cells x k)
        Design matrix, one row per cell.
    beta : ndarray (k,)
        Coefficients.
    d : ndarray (cells,)
        Working weight of each cell at the solution.
    r : ndarray (cells,)
        Weighted working residual sum of each cell at the solution.
    cluster : ndarray (cells,) of int
        Cluster code of each cell (0..G-1).
    bread : ndarray (k x k)
        ``(Z' diag(d) Z)^{-1}``.
    n_obs : int
        Rows behind the cells.
    scale : float
        Residual variance for the Gaussian family (``sum w e^2 / (n - k)``); 1 otherwise.
    iterations : int
        Newton iterations used (1 for Gaussian).
    sums : dict of ndarray
        The cell sums the fit was computed from (bootstrap and permutation refits use them).
    eta : ndarray (cells,)
        Linear predictor of each cell (``z @ beta``, plus the absorbed fixed effects).
    absorbed : int
        Fixed-effect parameters absorbed by demeaning instead of appearing in ``z`` (0 when
        every effect is a column); they count in small-sample factors.
    weighted : bool
        A Gaussian fit with analytic weights: cluster-robust small-sample corrections then use
        a working model of equal variances (as clubSandwich does for weighted ``lm``), not
        variances proportional to 1 / weight. Weights are constant within each cell.
    cluster_run : int
        When not 0, the cells run cluster by cluster, each cluster this many consecutive cells
        (the unit clusters of a balanced panel in unit x period order), so per-cluster sums
        are row sums of a reshaped array; 0 when nothing is known of the order.
    """

    family: str
    names: tuple[str, ...]
    z: np.ndarray = field(repr=False)
    beta: np.ndarray
    d: np.ndarray = field(repr=False)
    r: np.ndarray = field(repr=False)
    cluster: np.ndarray = field(repr=False)
    bread: np.ndarray = field(repr=False)
    n_obs: int
    scale: float
    iterations: int
    sums: dict[str, np.ndarray] = field(repr=False)
    eta: np.ndarray = field(repr=False)
    absorbed: int = 0
    weighted: bool = False
    cluster_run: int = 0

    @property
    def k_total(self) -> int:
        """Parameters including absorbed fixed effects (for n - k corrections)."""
        return len(self.beta) + self.absorbed

    @property
    def n_clusters(self) -> int:
        """Number of clusters G."""
        if self.cluster_run:
            return len(self.cluster) // self.cluster_run
        return int(self.cluster.max()) + 1

    def cluster_totals(self, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (one per cell) within each cluster: (G,).

        Examples
        --------
        >>> import numpy as np
        >>> fit = CellFit("gaussian", ("x",), np.ones((4, 1)), np.zeros(1), np.ones(4),
        ...               np.ones(4), np.array([0, 0, 1, 1]), np.eye(1), 4, 1.0, 1, {},
        ...               np.zeros(4))
        >>> fit.cluster_totals(np.arange(4.0)).tolist()
        [1.0, 5.0]
        """
        if self.cluster_run:
            return values.reshape(self.n_clusters, self.cluster_run).sum(1)
        return np.bincount(self.cluster, weights=values, minlength=self.n_clusters)

    def cluster_scores(self, weights: np.ndarray) -> np.ndarray:
        """Per cluster, the sum of each cell's row of ``z`` times its weight: (G x k).

        With the weights ``r`` these are the clusters' scores, whose cross-product is the meat
        of a CR0/CR1 variance.

        Examples
        --------
        >>> import numpy as np
        >>> z = np.array([[1.0], [2.0], [3.0], [4.0]])
        >>> fit = CellFit("gaussian", ("x",), z, np.zeros(1), np.ones(4), np.ones(4),
        ...               np.array([0, 0, 1, 1]), np.eye(1), 4, 1.0, 1, {}, np.zeros(4))
        >>> fit.cluster_scores(np.array([1.0, 1.0, 1.0, -1.0])).tolist()
        [[3.0], [-1.0]]
        """
        if self.cluster_run:  # no cells x k product in memory: one pass per cluster run
            shape = (self.n_clusters, self.cluster_run)
            return np.einsum("gtk,gt->gk", self.z.reshape(*shape, -1), weights.reshape(shape))
        return np.column_stack(
            [self.cluster_totals(self.z[:, i] * weights) for i in range(self.z.shape[1])]
        )

    @property
    def k(self) -> int:
        """Number of coefficients."""
        return len(self.beta)

    def index(self, name: str) -> int:
        """Position of coefficient ``name``."""
        return self.names.index(name)

    def glm_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per cell: mean, variance function, d mu / d eta, and prior weight of one row.

        Rows of a cell share their weight and exposure (the estimators put both in the cell
        key), so these are the same for every row of the cell.
        """
        rows = self.sums["n"]
        prior = self.sums["sum_w"] / rows
        if self.family == "gaussian":
            ones = np.ones_like(self.eta)
            return self.eta, ones, ones, prior
        if self.family == "poisson":
            mu = np.exp(self.eta) * self.sums["sum_we"] / self.sums["sum_w"]
            return mu, mu, mu, prior
        mu = special.expit(self.eta)
        variance = mu * (1 - mu)
        return mu, variance, variance, prior

    def row_score_squares(self) -> np.ndarray:
        """Per cell, the sum over its rows of the squared score residual ``(w_i (y_i - mu_i))^2``.

        Computed from the squared-weight sums, so row-level (heteroskedasticity-robust)
        variances survive collapsing.
        """
        sums, eta = self.sums, self.eta
        if self.family == "poisson":
            m = np.exp(eta)
            return sums["sum_w2y2"] - 2 * m * sums["sum_w2ey"] + m**2 * sums["sum_w2e2"]
        mu = eta if self.family == "gaussian" else special.expit(eta)
        return sums["sum_w2y2"] - 2 * mu * sums["sum_w2y"] + mu**2 * sums["sum_w2"]


def _working(family: str, eta: np.ndarray, sums: dict[str, np.ndarray]):
    sw, swy, swe = sums["sum_w"], sums["sum_wy"], sums["sum_we"]
    if family == "gaussian":
        return sw, swy - eta * sw
    if family == "poisson":
        mu_total = np.exp(eta) * swe
        return mu_total, swy - mu_total
    mu = special.expit(eta)
    return mu * (1 - mu) * sw, swy - mu * sw


def _deviance(family: str, eta: np.ndarray, sums: dict[str, np.ndarray]) -> float:
    """Minus twice the log-likelihood up to a constant (all the Newton step-halving needs)."""
    sw, swy, swe = sums["sum_w"], sums["sum_wy"], sums["sum_we"]
    if family == "gaussian":
        return float(np.sum(sums["sum_wy2"] - 2 * eta * swy + eta**2 * sw))
    if family == "poisson":
        return float(2 * np.sum(np.exp(eta) * swe - swy * eta))
    return float(-2 * np.sum(swy * eta - sw * np.logaddexp(0, eta)))


def _solve(info: np.ndarray, rhs: np.ndarray, family: str, names: tuple[str, ...]) -> np.ndarray:
    """Solve ``info x = rhs`` by Cholesky; a singular information matrix is a typed error.

    The design is checked for full rank before fitting, so the information matrix loses
    definiteness only when the working weights vanish: a logit or Poisson fit whose fitted
    probabilities or rates run to 0 or 1, i.e. (quasi-)separation.
    """
    try:
        factor = linalg.cho_factor(info)
    except (linalg.LinAlgError, ValueError):
        diagonal = np.diag(info)
        weakest = names[int(np.argmin(diagonal))] if len(names) == len(diagonal) else "?"
        if family == "gaussian":
            raise DesignError(
                f"the regressors are collinear (least information on {weakest!r}): the model "
                "cannot separate their effects. Drop a regressor or a fixed effect it repeats."
            ) from None
        raise SeparationError(
            f"the {family} fit broke down: its information matrix is singular, so the fitted "
            f"probabilities or rates ran to 0 or 1 (separation; least information on "
            f"{weakest!r}). Some group of the design has an outcome that is always 0 or always "
            "1: report the raw proportions for it, pool it with a neighbour, or drop it."
        ) from None
    return linalg.cho_solve(factor, rhs)


def fit_cells(
    z: np.ndarray,
    names: tuple[str, ...],
    sums: dict[str, np.ndarray],
    cluster: np.ndarray,
    *,
    family: str = "gaussian",
    n_obs: int,
    tol: float = 1e-13,
    max_iter: int = 100,
    weighted: bool = False,
) -> CellFit:
    """Fit a canonical-link model on cells by Newton's method (exact in one step for Gaussian).

    Parameters
    ----------
    z : ndarray (cells x k)
        Full-rank design matrix.
    names : tuple of str
        Column names of ``z``.
    sums : dict of ndarray
        ``sum_w``, ``sum_wy``, ``sum_wy2``, ``sum_we`` per cell.
    cluster : ndarray of int
        Cluster code per cell.
    family : {"gaussian", "poisson", "binomial"}
        Outcome family.
    n_obs : int
        Rows behind the cells.
    tol : float
        Convergence: the largest Newton step, relative to the coefficient size.
    max_iter : int
        Most Newton iterations.
    weighted : bool
        Gaussian with analytic weights (see :class:`CellFit`).

    Returns
    -------
    CellFit

    Raises
    ------
    DesignError
        The fit does not converge (e.g. perfect separation in a logit).
    """
    beta = np.zeros(z.shape[1])
    if family == "poisson" and "(intercept)" in names:
        rate = sums["sum_wy"].sum() / sums["sum_we"].sum()
        beta[names.index("(intercept)")] = np.log(max(rate, 1e-12))
    eta = z @ beta
    deviance = _deviance(family, eta, sums)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - used after the loop
        d, r = _working(family, eta, sums)
        info = z.T @ (d[:, None] * z)
        step = _solve(info, z.T @ r, family, names)
        size = 1.0
        while True:
            candidate = beta + size * step
            new_eta = z @ candidate
            new_deviance = _deviance(family, new_eta, sums)
            if new_deviance <= deviance + 1e-12 * abs(deviance) or size < 1e-8:
                break
            size /= 2
        beta, eta, deviance = candidate, new_eta, new_deviance
        if family == "gaussian" or np.max(np.abs(size * step)) <= tol * max(
            1.0, float(np.max(np.abs(beta)))
        ):
            break
    else:
        raise DesignError(
            f"the {family} model did not converge in {max_iter} iterations; a common cause is "
            "perfect separation (an outcome that is always 0 or always 1 within a group of the "
            "design). Check the outcome by group, or use the linear probability model."
        )
    d, r = _working(family, eta, sums)
    info = z.T @ (d[:, None] * z)
    bread = _solve(info, np.eye(len(beta)), family, names)
    k = len(beta)
    if family == "gaussian":
        rss = _deviance(family, eta, sums)
        scale = rss / (n_obs - k) if n_obs > k else float("nan")
    else:
        scale = 1.0
    return CellFit(
        family=family,
        names=names,
        z=z,
        beta=beta,
        d=d,
        r=r,
        cluster=cluster,
        bread=bread,
        n_obs=n_obs,
        scale=scale,
        iterations=iterations,
        sums=sums,
        eta=eta,
        weighted=weighted and family == "gaussian",
    )
