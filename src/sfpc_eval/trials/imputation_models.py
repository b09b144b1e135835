r"""The per-variable imputation models of :func:`~sfpc_eval.trials.imputation.impute`.

Each takes the current predictors ``x`` (rows x columns, an intercept first), the observed rows of
the variable being imputed, and a random generator, and returns values for the missing rows,
drawn from the model's predictive distribution with the parameters themselves drawn from their
approximate posterior (so that the imputations carry the uncertainty about the parameters, which
Rubin's rules need: "proper" imputation):

``logreg`` (binary)
    Logistic regression by Newton's method; ``beta* ~ N(beta_hat, (X'WX)^-1)``, then each missing
    value is 1 with probability ``expit(x' beta*)``. As ``mice.impute.logreg``.
``polyreg`` (unordered categories)
    Multinomial logistic regression (first level the reference) by Newton's method, parameters
    drawn from their normal approximation, then a category drawn from the predicted
    probabilities. ``mice.impute.polyreg`` fits the same model (``nnet::multinom``) but draws no
    parameters: its imputations understate the parameter uncertainty; we draw them.
``polr`` (ordered categories)
    Proportional-odds logistic regression, ``P(Y <= k) = expit(alpha_k - x' beta)`` (the
    parameterisation of ``MASS::polr``), by Newton's method, parameters drawn as above.
``pmm`` (numbers; ordered categories by their position)
    Predictive mean matching as ``mice.impute.pmm`` (type-1 matching): a Bayesian linear
    regression draw (``sigma*^2 = RSS / chi^2_(n - p)``, ``beta* ~ N(beta_hat, sigma*^2
    (X'X + ridge)^-1)``, ridge 1e-5 of the diagonal), then each missing row takes the observed
    value of one of the ``donors`` observed rows whose predictions ``x' beta_hat`` are closest to
    its own ``x' beta*``, chosen at random.

Separation (a predictor that predicts a category perfectly, common with rare ethnic groups in a
single council) would drive a logistic MLE to infinity. As ``mice`` does (White, Daniel & Royston
2010), the categorical models are fitted to the data augmented with ``2 p K`` pseudo-rows: for
each predictor and category, two rows at the predictor's mean plus and minus half its standard
deviation (clamped to its range; other predictors at their means) with that category, together
weighing ``p + 1`` rows. A ridge of 1e-8 of the Hessian's diagonal guards against predictors
that are collinear in the observed rows.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, special, stats

__all__ = [
    "augment",
    "draw_logreg",
    "draw_pmm",
    "draw_polr",
    "draw_polyreg",
    "fit_logistic",
    "fit_multinomial",
    "fit_ordinal",
]

RIDGE = 1e-8
"""Relative ridge added to the Hessian diagonal of the categorical models."""
TOL = 1e-7
"""Newton's method stops when a step moves no coefficient by more than this (relative): far
below the spread of the parameter draws, which is what the imputations depend on."""
PMM_RIDGE = 1e-5
"""``mice``'s ridge for the linear regression of predictive mean matching."""


def augment(x: np.ndarray, categories: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pseudo-rows against separation: predictors, category codes and weights.

    ``x`` excludes the intercept. For each of its ``p`` columns and each of the ``K``
    categories, two rows at the column's mean plus and minus half its standard deviation
    (clamped to its range), other columns at their means; all ``2 p K`` rows weigh
    ``(p + 1) / (2 p K)``.
    """
    n_pred = x.shape[1]
    if n_pred == 0:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64), np.zeros(0)
    mean = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(n_pred)
    low, high = x.min(axis=0), x.max(axis=0)
    rows = 2 * n_pred * categories
    pseudo = np.tile(mean, (rows, 1))
    codes = np.empty(rows, dtype=np.int64)
    r = 0
    for j in range(n_pred):
        for k in range(categories):
            for sign in (0.5, -0.5):
                pseudo[r, j] = min(max(mean[j] + sign * sd[j], low[j]), high[j])
                codes[r] = k
                r += 1
    return pseudo, codes, np.full(rows, (n_pred + 1) / rows)


def _solve(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    ridge = RIDGE * max(float(np.max(np.abs(np.diag(hess)))), 1.0)
    return linalg.solve(hess + ridge * np.eye(len(hess)), grad, assume_a="pos")


def _inverse(hess: np.ndarray) -> np.ndarray:
    ridge = RIDGE * max(float(np.max(np.abs(np.diag(hess)))), 1.0)
    inv = linalg.inv(hess + ridge * np.eye(len(hess)))
    return (inv + inv.T) / 2


def _normal_draw(mean: np.ndarray, cov: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """``mean + L e`` with ``L L' = cov`` (eigen-root if Cholesky fails: a flat direction)."""
    try:
        root = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        root = vectors * np.sqrt(np.clip(values, 0, None))
    return mean + root @ gen.standard_normal(len(mean))


def _newton(gradient, hessian, start, cached, exact, max_iter=50):
    """Newton's method, with a cached Hessian when one is given.

    ``gradient(c)`` is the gradient of the log-likelihood, ``hessian(c)`` minus its Hessian.
    With ``cached`` (minus the Hessian at an earlier, nearby optimum: the previous sweep of the
    sampler) the steps reuse it and cost one gradient each, converging linearly to the same
    optimum; when they do not converge within 30 steps, the Hessian is recomputed. The
    returned Hessian is computed at the optimum when ``exact`` (or when nothing was cached),
    otherwise the cached one is returned.
    """
    coef = np.asarray(start, dtype=np.float64).copy()
    hess = cached
    for attempt in range(2):
        steps = 30 if hess is not None and attempt == 0 else max_iter
        converged = False
        for _ in range(steps):
            current = hess if hess is not None and attempt == 0 else hessian(coef)
            step = _solve(current, gradient(coef))
            coef = coef + step
            if np.max(np.abs(step)) < TOL * max(1.0, float(np.max(np.abs(coef)))):
                converged = True
                break
        if converged or hess is None:
            break
        hess = None  # the cached Hessian was too far off: full Newton from here
    if exact or hess is None:
        hess = hessian(coef)
    return coef, _inverse(hess), hess


def fit_logistic(x, y, w, start=None, *, cached=None, exact=True):
    """Weighted logistic MLE by Newton's method.

    Returns ``beta_hat``, ``(X'WX)^-1`` and ``X'WX`` (to pass back as ``cached``).
    """

    def gradient(beta):
        return x.T @ (w * (y - special.expit(x @ beta)))

    def hessian(beta):
        mu = special.expit(x @ beta)
        return x.T @ (x * (w * mu * (1 - mu))[:, None])

    start = np.zeros(x.shape[1]) if start is None else start
    return _newton(gradient, hessian, start, cached, exact)


def _softmax(eta: np.ndarray) -> np.ndarray:
    """Category probabilities from the K - 1 linear predictors (the first category's is 0)."""
    top = np.maximum(eta.max(axis=1), 0.0)
    full = np.empty((len(eta), eta.shape[1] + 1))
    full[:, 0] = -top
    np.subtract(eta, top[:, None], out=full[:, 1:])
    np.exp(full, out=full)
    full /= full.sum(axis=1, keepdims=True)
    return full


def fit_multinomial(x, codes, categories, w, start=None, *, cached=None, exact=True):
    """Weighted multinomial logistic MLE (first category the reference) by Newton's method.

    Returns the coefficients (columns x (K - 1), flattened category by category), the inverse
    of minus the Hessian of the log-likelihood, and minus the Hessian (for ``cached``).
    """
    p, k1 = x.shape[1], categories - 1
    onehot = np.zeros((len(codes), categories))
    onehot[np.arange(len(codes)), codes] = 1.0

    def gradient(c):
        prob = _softmax(x @ c.reshape(k1, p).T)
        return (x.T @ (w[:, None] * (onehot - prob))[:, 1:]).T.ravel()

    def hessian(c):
        prob = _softmax(x @ c.reshape(k1, p).T)
        hess = np.empty((p * k1, p * k1))
        for a in range(k1):
            for b in range(a, k1):
                weight = w * prob[:, a + 1] * ((a == b) - prob[:, b + 1])
                block = x.T @ (x * weight[:, None])
                hess[a * p : (a + 1) * p, b * p : (b + 1) * p] = block
                hess[b * p : (b + 1) * p, a * p : (a + 1) * p] = block.T
        return hess

    start = np.zeros(p * k1) if start is None else start
    return _newton(gradient, hessian, start, cached, exact)


def _ordinal_parts(params, x, codes, categories, w):
    """Log-likelihood, gradient and Hessian (of the log-likelihood) of proportional odds."""
    k1 = categories - 1
    alpha, beta = params[:k1], params[k1:]
    eta = x @ beta
    cut = np.r_[-np.inf, alpha, np.inf]
    a = cut[codes + 1] - eta  # upper bound of the row's category
    b = cut[codes] - eta  # lower bound
    fa, fb = special.expit(a), special.expit(b)
    prob = np.clip(fa - fb, 1e-300, None)
    da = np.where(np.isfinite(a), fa * (1 - fa), 0.0)
    db = np.where(np.isfinite(b), fb * (1 - fb), 0.0)
    dda = da * (1 - 2 * fa)
    ddb = db * (1 - 2 * fb)
    la, lb = da / prob, -db / prob
    laa = dda / prob - la**2
    lbb = -ddb / prob - lb**2
    lab = -la * lb
    upper = np.where(codes < k1, codes, -1)  # index of alpha acting as a (or none)
    lower = np.where(codes > 0, codes - 1, -1)
    n_par = k1 + x.shape[1]
    grad = np.zeros(n_par)
    hess = np.zeros((n_par, n_par))
    grad[k1:] = -x.T @ (w * (la + lb))
    hess[k1:, k1:] = x.T @ (x * (w * (laa + lbb + 2 * lab))[:, None])
    for j in range(k1):
        on_a, on_b = upper == j, lower == j
        grad[j] = np.sum(w[on_a] * la[on_a]) + np.sum(w[on_b] * lb[on_b])
        hess[j, j] = np.sum(w[on_a] * laa[on_a]) + np.sum(w[on_b] * lbb[on_b])
        if j + 1 < k1:  # rows with lower = j and upper = j + 1 tie alpha_j and alpha_{j+1}
            both = (lower == j) & (upper == j + 1)
            hess[j, j + 1] = hess[j + 1, j] = np.sum(w[both] * lab[both])
        cross = -(x[on_a].T @ (w[on_a] * (laa[on_a] + lab[on_a])))
        cross -= x[on_b].T @ (w[on_b] * (lbb[on_b] + lab[on_b]))
        hess[j, k1:] = hess[k1:, j] = cross
    loglik = float(np.sum(w * np.log(prob)))
    return loglik, grad, hess


def fit_ordinal(
    x, codes, categories, w, start=None, *, max_iter=100
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted proportional-odds MLE by Newton's method (cut-points first, then slopes).

    ``x`` has no intercept (the cut-points play its part). Returns the parameters and the
    inverse of the Hessian of minus the log-likelihood.
    """
    k1 = categories - 1
    if start is None:
        share = np.bincount(codes, weights=w, minlength=categories) / w.sum()
        cum = np.clip(np.cumsum(share)[:-1], 1e-6, 1 - 1e-6)
        params = np.r_[special.logit(cum), np.zeros(x.shape[1])]
    else:
        params = np.asarray(start, dtype=np.float64).copy()
    loglik, grad, hess = _ordinal_parts(params, x, codes, categories, w)
    for _ in range(max_iter):
        step = _solve(-hess, grad)
        size = 1.0
        while size > 1e-8:
            candidate = params + size * step
            if np.all(np.diff(candidate[:k1]) > 0):
                new = _ordinal_parts(candidate, x, codes, categories, w)
                if new[0] >= loglik - 1e-10 * abs(loglik):
                    break
            size /= 2
        params = candidate
        loglik, grad, hess = new
        if np.max(np.abs(size * step)) < 1e-8 * max(1.0, float(np.max(np.abs(params)))):
            break
    return params, _inverse(-hess)


# ----------------------------------------------------------------------------- draws
def _categorical_draw(prob: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """One category per row from its probabilities (rows sum to 1)."""
    cum = np.cumsum(prob, axis=1)
    return (gen.random(len(prob))[:, None] > cum[:, :-1]).sum(axis=1)


def draw_logreg(x, codes, observed, gen, start=None, cached=None, exact=True):
    """Draw 0/1 codes for the missing rows; returns them, ``beta_hat`` and the Hessian.

    ``beta_hat`` and the Hessian are the warm start and ``cached`` of the next sweep.
    """
    xo, yo = x[observed], codes[observed].astype(np.float64)
    pseudo, pcodes, pw = augment(xo[:, 1:], 2)
    xa = np.vstack([xo, np.column_stack([np.ones(len(pseudo)), pseudo])]) if len(pw) else xo
    ya = np.r_[yo, pcodes.astype(np.float64)]
    wa = np.r_[np.ones(len(yo)), pw]
    beta, cov, hess = fit_logistic(xa, ya, wa, start, cached=cached, exact=exact)
    beta_star = _normal_draw(beta, cov, gen)
    prob = special.expit(x[~observed] @ beta_star)
    return (gen.random(len(prob)) <= prob).astype(np.int64), beta, hess


def draw_polyreg(x, codes, observed, categories, gen, start=None, cached=None, exact=True):
    """Draw category codes for the missing rows (multinomial logistic)."""
    xo = x[observed]
    pseudo, pcodes, pw = augment(xo[:, 1:], categories)
    xa = np.vstack([xo, np.column_stack([np.ones(len(pseudo)), pseudo])]) if len(pw) else xo
    ca = np.r_[codes[observed], pcodes]
    wa = np.r_[np.ones(len(xo)), pw]
    coef, cov, hess = fit_multinomial(xa, ca, categories, wa, start, cached=cached, exact=exact)
    star = _normal_draw(coef, cov, gen).reshape(categories - 1, x.shape[1])
    prob = _softmax(x[~observed] @ star.T)
    return _categorical_draw(prob, gen), coef, hess


def draw_polr(x, codes, observed, categories, gen, start=None, cached=None, exact=True):
    """Draw category codes for the missing rows (proportional-odds logistic)."""
    xo = x[observed][:, 1:]  # no intercept: the cut-points
    pseudo, pcodes, pw = augment(xo, categories)
    xa = np.vstack([xo, pseudo]) if len(pw) else xo
    ca = np.r_[codes[observed], pcodes]
    wa = np.r_[np.ones(len(xo)), pw]
    del cached, exact  # small models: full Newton every time
    params, cov = fit_ordinal(xa, ca, categories, wa, start)
    star = _normal_draw(params, cov, gen)
    k1 = categories - 1
    alpha = np.sort(star[:k1])
    eta = x[~observed][:, 1:] @ star[k1:]
    cum = special.expit(alpha[None, :] - eta[:, None])
    prob = np.diff(np.column_stack([np.zeros(len(eta)), cum, np.ones(len(eta))]), axis=1)
    return _categorical_draw(np.clip(prob, 0, None), gen), params, None


def draw_pmm(x, values, observed, gen, donors: int = 5) -> np.ndarray:
    """Predictive mean matching (mice's type 1): observed values for the missing rows."""
    xo, yo = x[observed], values[observed]
    xtx = xo.T @ xo
    v = linalg.inv(xtx + np.diag(PMM_RIDGE * np.diag(xtx)))
    v = (v + v.T) / 2
    coef = v @ (xo.T @ yo)
    resid = yo - xo @ coef
    df = max(len(yo) - xo.shape[1], 1)
    sigma_star = np.sqrt(resid @ resid / stats.chi2.rvs(df, random_state=gen))
    beta_star = _normal_draw(coef, v * sigma_star**2, gen)
    predicted_obs = xo @ coef
    predicted_mis = x[~observed] @ beta_star
    return yo[_match(predicted_obs, predicted_mis, donors, gen)]


def _match(obs: np.ndarray, mis: np.ndarray, donors: int, gen) -> np.ndarray:
    """For each ``mis`` value, one of the ``donors`` nearest ``obs`` values, at random."""
    donors = max(1, min(donors, len(obs)))
    # random tie-breaking, as mice: shuffle before a stable sort
    shuffle = gen.permutation(len(obs))
    order = shuffle[np.argsort(obs[shuffle], kind="stable")]
    ranked = obs[order]
    pos = np.searchsorted(ranked, mis)
    width = min(2 * donors, len(obs))  # a window of distinct candidates around each position
    first = np.clip(pos - donors, 0, len(obs) - width)
    lo = first[:, None] + np.arange(width)[None, :]
    distance = np.abs(ranked[lo] - mis[:, None])
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :donors]
    pick = nearest[np.arange(len(mis)), gen.integers(0, donors, len(mis))]
    return order[lo[np.arange(len(mis)), pick]]
