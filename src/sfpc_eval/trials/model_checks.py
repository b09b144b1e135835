r"""Checks of a fitted stepped-wedge model: likelihoods, LR tests, ICC, VIFs, optimisers.

The diagnostics the SFPC scripts take from ``performance::model_performance``,
``anova()``, ``performance::icc``, ``performance::check_collinearity`` (``car::vif``) and
``lme4::allFit``:

- :func:`information_criteria`: log-likelihood, AIC and BIC (``logLik()``, ``AIC()``,
  ``BIC()``): the GLMM's Laplace log-likelihood of the children's rows (as ``glmer``), the GLM's
  Bernoulli log-likelihood; the number of parameters counts the random-intercept SD; BIC uses
  the number of children. The GEE has no likelihood and is refused.
- :func:`lr_test`: likelihood-ratio test between nested fits (``anova(small, large)``): the GLMM
  against the GLM without council effects (is there between-council variation?), or with and
  without a block of covariates. For the variance (tested on the boundary of its space) the
  chi-square(1) p-value is conservative; the note gives the halved one (a 50:50 mixture of
  chi-square(0) and chi-square(1), Self and Liang 1987).
- the latent-scale intraclass correlation ``sigma^2 / (sigma^2 + pi^2 / 3)`` is the result's own
  :meth:`~sfpc_eval.trials.analysis_result.SteppedWedgeResult.icc` (with a profile interval);
- :func:`leave_one_out`: the model refitted without each council in turn (a one-call
  sensitivity analysis), the effect of each refit in a table;
- :func:`vif`: generalised variance inflation factors per term (Fox and Monette 1992, as
  ``car::vif``): ``det(R_SS) det(R_OO) / det(R)`` from the correlation matrix ``R`` of the
  fixed-effect estimates without the intercept, ``S`` the columns of the term, ``O`` the others;
  with ``GVIF^(1 / (2 df))`` comparable across terms of different sizes.
- :func:`compare_optimizers`: refits the GLMM with other optimisers from other starting points
  and reports how far each lands from the reported fit (as ``allFit``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sfpc_eval.errors import InvalidValueError, show_values

__all__ = [
    "LikelihoodRatioTest",
    "compare_optimizers",
    "information_criteria",
    "leave_one_out",
    "lr_test",
    "vif",
]


def _likelihood(result) -> tuple[float, int, int]:
    core = getattr(result, "_core", {})
    if "log_likelihood" not in core:
        raise InvalidValueError("`result` must be a stepped_wedge result.")
    if result.model == "gee":
        raise InvalidValueError(
            "the GEE has no likelihood (it is fitted by estimating equations), so no "
            "log-likelihood, AIC, BIC or LR test; compare GEE working models with QIC, or use "
            "the GLMM or GLM for likelihood-based checks."
        )
    k = len(result.coef)
    params = k + 1 if result.model == "glmm" else k
    return core["log_likelihood"], params, result.n_obs


def information_criteria(result) -> dict:
    """Log-likelihood, AIC, BIC, parameters and rows of a GLMM or GLM fit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.trials.analysis import stepped_wedge
    >>> df = pd.DataFrame({"la": np.repeat(range(4), 50), "period": np.tile(range(5), 40)})
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> df["y"] = np.random.default_rng(2).binomial(1, 0.3, 200)
    >>> ic = information_criteria(stepped_wedge(df, "y", "la", "period", "treated", model="glm"))
    >>> round(ic["aic"] - (-2 * ic["loglik"] + 2 * ic["parameters"]), 10)
    0.0
    """
    loglik, params, nobs = _likelihood(result)
    return {
        "loglik": loglik,
        "aic": -2 * loglik + 2 * params,
        "bic": -2 * loglik + math.log(nobs) * params,
        "parameters": params,
        "nobs": nobs,
    }


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """A likelihood-ratio test between nested fits (see :func:`lr_test`)."""

    statistic: float
    df: int
    p_value: float
    boundary: bool
    table: pd.DataFrame
    note: str = ""


def lr_test(smaller, larger) -> LikelihoodRatioTest:
    """Likelihood-ratio test of ``smaller`` against ``larger`` (nested fits, same children).

    ``smaller`` may be a GLM without council effects (``cluster_effects=False``) and ``larger``
    a GLMM with the same fixed effects: the test of the council variance.

    Returns
    -------
    LikelihoodRatioTest
        ``statistic`` (chi-square), ``df`` and ``p_value`` as ``anova()``; ``table`` lists
        each fit's parameters, log-likelihood, AIC and BIC.
    """
    ll0, p0, n0 = _likelihood(smaller)
    ll1, p1, n1 = _likelihood(larger)
    names0, names1 = set(smaller.coef.index), set(larger.coef.index)
    if n0 != n1 or smaller.outcome != larger.outcome:
        raise InvalidValueError(
            f"the fits are not of the same children ({n0:,} and {n1:,} rows, outcomes "
            f"{smaller.outcome!r} and {larger.outcome!r}): a likelihood-ratio test compares "
            "models of the same data."
        )
    extra = sorted(names0 - names1)
    if extra or p0 >= p1:
        raise InvalidValueError(
            "`smaller` must be nested in `larger`: fewer parameters and no coefficient the "
            f"larger model lacks (it has {show_values(extra)})."
        )
    if smaller.model == "glmm" and larger.model != "glmm":
        raise InvalidValueError("a GLMM is not nested in a GLM; pass the GLM as `smaller`.")
    if (
        smaller.model == "glm"
        and smaller._core["design"].cluster_effects
        and larger.model == "glmm"
    ):
        raise InvalidValueError(
            "the GLM with council fixed effects is not nested in the random-intercept GLMM; "
            "fit the GLM with cluster_effects=False to test the council variance."
        )
    statistic = max(2 * (ll1 - ll0), 0.0)
    df = p1 - p0
    p_value = float(stats.chi2.sf(statistic, df))
    boundary = smaller.model == "glm" and larger.model == "glmm"
    note = ""
    if boundary:
        note = (
            "the council variance is tested on the boundary (zero) of its range: the "
            f"chi-square({df}) p-value is conservative; the 50:50 mixture gives "
            f"{0.5 * p_value:.4g}."
        )
    rows = []
    for label, res in (("smaller", smaller), ("larger", larger)):
        ic = information_criteria(res)
        rows.append({"model": label, "kind": res.model, **ic})
    return LikelihoodRatioTest(statistic, df, p_value, boundary, pd.DataFrame(rows), note)


def _terms(result) -> dict[str, list[str]]:
    design = result._core["design"]
    names = list(result.coef.index)
    terms: dict[str, list[str]] = {}
    period = [n for n in names if n.startswith(f"{result.period}[")]
    cluster = (
        [n for n in names if n.startswith(f"{result.cluster}[")] if design.cluster_effects else []
    )
    for t in design.treat_names:
        terms.setdefault(
            result.treated if len(design.treat_names) == 1 else "treatment", []
        ).append(t)
    if period:
        terms[result.period] = period
    if cluster:
        terms[result.cluster] = cluster
    for v in design.coding.variables:
        kept = [c for c in v.columns if c in names]
        if kept:
            terms[v.variable] = kept
    return terms


def vif(result) -> pd.DataFrame:
    """Generalised variance inflation factors of each term (``car::vif``).

    Returns a DataFrame ``term, gvif, df, scaled`` (``scaled`` = ``gvif^(1 / (2 df))``).
    """
    names = list(result.coef.index)
    keep = [n for n in names if n != "(intercept)"]
    cov = result.vcov.loc[keep, keep].to_numpy()
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    full = np.linalg.slogdet(corr)[1]
    rows = []
    for term, columns in _terms(result).items():
        inside = [keep.index(c) for c in columns]
        outside = [j for j in range(len(keep)) if j not in inside]
        log_gvif = (
            np.linalg.slogdet(corr[np.ix_(inside, inside)])[1]
            + np.linalg.slogdet(corr[np.ix_(outside, outside)])[1]
            - full
        )
        gvif = float(math.exp(log_gvif))
        rows.append(
            {
                "term": term,
                "gvif": gvif,
                "df": len(columns),
                "scaled": gvif ** (1 / (2 * len(columns))),
            }
        )
    return pd.DataFrame(rows)


def compare_optimizers(result, *, tolerance: float = 1e-3) -> pd.DataFrame:
    """Refit a GLMM with other optimisers from another start and compare (as ``allFit``).

    The reported fit maximises lme4's Laplace likelihood (:mod:`sfpc_eval.trials.glmm_lme4`)
    by quasi-Newton then Newton steps from the logistic GLM's estimates. The refits minimise
    the same deviance from another start (fixed effects 0 but the intercept, SD 1) with scipy's
    L-BFGS-B (exact gradient) and Powell (no derivatives, like bobyqa and Nelder-Mead). Each
    row: ``optimizer``, ``deviance`` (minus twice the log-likelihood reached), ``sd``,
    ``max_coef_change`` (largest difference from the reported coefficients, in standard
    errors), ``agrees`` (within ``tolerance`` standard errors and 1e-4 in deviance),
    ``message`` (the optimiser's).
    """
    from sfpc_eval.trials.glmm_lme4 import stage_one_predictor, stage_one_theta
    from sfpc_eval.trials.glmm_lme4_grad import SortedCells, lme4_gradient

    if result.model != "glmm":
        raise InvalidValueError(
            f"`compare_optimizers` refits the GLMM; result.model is {result.model!r}."
        )
    z, y, n, cluster = result._core["fit_data"]
    beta = result.coef.to_numpy()
    se = np.sqrt(np.diag(result.vcov.to_numpy()))
    reported = -2 * result._core["log_likelihood"]
    g = int(np.max(cluster)) + 1
    cells = SortedCells.build(z, y, n, cluster, g)
    theta_one = stage_one_theta(cells.z, cells.y, cells.n, cells.cluster, g, 1.0)
    lp0 = stage_one_predictor(cells.z, cells.y, cells.n, cells.cluster, g, theta_one)
    start = np.zeros(len(beta))
    start[0] = math.log(max(y.sum(), 0.5) / max(n.sum() - y.sum(), 0.5))
    rows = [
        {
            "optimizer": "reported (BFGS, then Newton on lme4's deviance)",
            "deviance": reported,
            "sd": result.random_sd,
            "max_coef_change": 0.0,
            "agrees": True,
            "message": "",
        }
    ]

    def value_and_gradient(params):
        return lme4_gradient(np.r_[abs(params[0]), params[1:]], cells, lp0)

    runs = (
        ("L-BFGS-B", {"jac": True, "options": {"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-9}}),
        ("Powell", {"options": {"maxiter": 200000, "maxfev": 200000, "xtol": 1e-8, "ftol": 1e-12}}),
    )
    for method, kwargs in runs:
        fun = value_and_gradient if kwargs.get("jac") else (lambda x: value_and_gradient(x)[0])
        res = optimize.minimize(fun, np.r_[1.0, start], method=method, **kwargs)
        params = res.x
        change = float(np.max(np.abs(params[1:] - beta) / se))
        close = change < tolerance and abs(float(res.fun) - reported) < 1e-4
        rows.append(
            {
                "optimizer": method,
                "deviance": float(res.fun),
                "sd": abs(float(params[0])),
                "max_coef_change": change,
                "agrees": bool(close),
                "message": str(res.message),
            }
        )
    return pd.DataFrame(rows)


def leave_one_out(
    data: pd.DataFrame,
    outcome: str,
    cluster: str,
    period: str,
    treated: str,
    *args,
    on_error: str = "raise",
    **kwargs,
) -> pd.DataFrame:
    """Refit :func:`~sfpc_eval.trials.analysis.stepped_wedge` without each cluster in turn.

    Takes the arguments of ``stepped_wedge``. Covariate levels and columns that a subset no
    longer identifies (a level seen only in the left-out council) are dropped with a note, as
    ``glmer`` drops them; a subset in which the effect itself is not identified (every
    remaining council switches at once), or in which a covariate level predicts the outcome
    perfectly (where ``glmer`` reports a coefficient of -15 with an SE of 25 and carries on),
    raises the error of ``stepped_wedge`` (a :class:`~sfpc_eval.errors.DesignError` or
    :class:`~sfpc_eval.errors.SeparationError`) naming the council left out; with
    ``on_error="note"`` that council's row has no estimate and the message in ``note``.

    Returns
    -------
    pandas.DataFrame
        One row per left-out cluster: ``left_out``, ``n_obs``, ``estimate``, ``std_error``,
        ``conf_low``, ``conf_high``, ``p_value`` of the effect (log odds ratio), ``fit``
        (the refitted result, or None) and ``note``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame([(c, t) for c in range(5) for t in range(6) for _ in range(40)],
    ...                   columns=["la", "period"])
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> df["y"] = rng.binomial(1, 0.3, len(df))
    >>> table = leave_one_out(df, "y", "la", "period", "treated", model="glm")
    >>> table["left_out"].tolist(), int(table["n_obs"].iloc[0])
    ([0, 1, 2, 3, 4], 960)
    """
    from sfpc_eval.errors import DesignError
    from sfpc_eval.panel import require_columns
    from sfpc_eval.trials.analysis import stepped_wedge

    if on_error not in ("raise", "note"):
        raise InvalidValueError(f"`on_error` must be 'raise' or 'note'; got {on_error!r}.")
    require_columns(data, {"cluster": cluster})
    levels = pd.unique(data[cluster].dropna())
    with contextlib.suppress(TypeError):  # mixed types: keep the order of appearance
        levels = np.sort(levels)
    rows = []
    for level in levels:
        subset = data[data[cluster] != level]
        try:
            fit = stepped_wedge(subset, outcome, cluster, period, treated, *args, **kwargs)
        except DesignError as error:  # the same type (SeparationError...), naming the subset
            message = f"without {cluster} {level!r}: {error}"
            if on_error == "raise":
                raise type(error)(message) from error
            fit, note = None, message
        else:
            note = ""
        effect = fit.estimate if fit is not None else None
        rows.append(
            {
                "left_out": level.item() if hasattr(level, "item") else level,
                "n_obs": fit.n_obs if fit is not None else len(subset),
                **{
                    k: getattr(effect, k) if effect is not None else math.nan
                    for k in ("estimate", "std_error", "conf_low", "conf_high", "p_value")
                },
                "fit": fit,
                "note": note,
            }
        )
    return pd.DataFrame(rows)
