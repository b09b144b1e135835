r"""Marginal effects of a stepped-wedge analysis: counterfactual risks, differences and ratios.

:func:`marginal_effects` answers "what would the risk have been if every child had been
referred under the intervention, and under usual practice?" from a fitted
:func:`~sfpc_eval.trials.analysis.stepped_wedge` model. For each child it predicts the risk
twice, with the treatment switched on and off and everything else (period, council, covariates)
as observed, and averages over the children, overall or within groups (``by="period"``, a
subgroup such as an age band, or several columns):

- ``risk_treated``, ``risk_control``: the average counterfactual risks;
- ``risk_difference`` = their difference and ``risk_ratio`` = their ratio (the interval of the
  ratio is computed on the log scale, whose standard error is reported, as for odds ratios).

Standard errors are by the delta method: the gradient of each average in the model's
coefficients (exact, not by differences) sandwiched by the model's variance matrix (the GLMM's
Wald variance, the GEE's sandwich, the GLM's CR2). For the GLMM the predictions are either
*conditional* on each council's estimated random intercept (``population_averaged=False``, what
``marginaleffects`` does with ``glmer`` by default) or *population-averaged*, integrating the
random intercept over its normal distribution by 40-point Gauss-Hermite quadrature; the latter
also propagates the uncertainty in its standard deviation (from the joint variance of the SD and
the fixed effects).

Why the difference of average fitted risks between children referred under each condition is
not the effect of the intervention. In a stepped wedge the children referred under the
intervention come from later periods (and, early on, from the councils that switched first)
than those referred under usual practice. Averaging the fitted risks of the children actually
referred under each condition (:func:`average_predictions` with ``by="treated"``, what
``avg_predictions(by = "treatment")`` in R's marginaleffects computes) compares different
periods and councils, so it mixes the secular trend and council differences into the
comparison: on a simulated trial with a falling trend it gave -0.0048 where the counterfactual
effect was -0.0139. The counterfactual effect compares the same children under both conditions.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.polynomial import hermite_e
from scipy import special, stats

from sfpc_eval._terms import wald_term
from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.panel import require_columns
from sfpc_eval.results import ResultMixin, Term

__all__ = ["MarginalEffects", "average_predictions", "design_rows", "marginal_effects"]

QUADRATURE = 40
"""Gauss-Hermite points for the population-averaged GLMM predictions."""


def design_rows(result, data: pd.DataFrame, treatment: float | None = None) -> np.ndarray:
    """Build the fixed-effects design of ``result``'s model for the rows of ``data``.

    With ``treatment`` (0 or 1) every child's treatment is set to it (a counterfactual);
    otherwise the data's own treatment column is used. Columns follow ``result.coef``.
    """
    design = result._core["design"]
    names = list(result.coef.index)
    period_codes = _codes(data[result.period], design.period_levels, result.period)
    cluster_codes = _codes(data[result.cluster], design.cluster_levels, result.cluster)
    columns = {"(intercept)": np.ones(len(data))}
    for k, level in enumerate(design.period_levels):
        columns[f"{result.period}[{level}]"] = (period_codes == k).astype(np.float64)
    if design.cluster_effects:
        for k, level in enumerate(design.cluster_levels):
            columns[f"{result.cluster}[{level}]"] = (cluster_codes == k).astype(np.float64)
    if treatment is None:
        status = pd.to_numeric(data[result.treated]).to_numpy(dtype=np.float64)
    else:
        status = np.full(len(data), float(treatment))
    if design.effect_by is None:
        columns[result.treated] = status
    else:
        label = result.period if design.effect_by == "period" else design.effect_by
        by_codes = (
            period_codes
            if design.effect_by == "period"
            else _codes(data[design.effect_by], design.by_levels, design.effect_by)
        )
        for k, level in enumerate(design.by_levels):
            columns[f"{result.treated}:{label}[{level}]"] = status * (by_codes == k)
    covariates = design.coding.matrix(data)
    for j, name in enumerate(design.coding.columns):
        columns[name] = covariates[:, j]
    return np.column_stack([columns[n] for n in names])


def _codes(values: pd.Series, levels, argument: str) -> np.ndarray:
    lookup = {v: k for k, v in enumerate(np.asarray(levels).tolist())}
    raw = values.to_numpy()
    codes = np.array([lookup.get(v.item() if hasattr(v, "item") else v, -1) for v in raw])
    if (codes < 0).any():
        unknown = sorted({str(v) for v, c in zip(raw, codes, strict=True) if c < 0})
        raise InvalidValueError(
            f"`{argument}` has values the model was not fitted with: {show_values(unknown)}."
        )
    return codes


@dataclass(frozen=True)
class MarginalEffects(ResultMixin):
    """Average predictions and their contrasts (see :func:`marginal_effects`).

    Attributes
    ----------
    terms : tuple of Term
        One per quantity, named ``quantity`` or ``quantity[group]``.
    table : pandas.DataFrame
        The same as ``tidy()`` with the group columns split out (``by`` columns, ``quantity``).
    vcov : pandas.DataFrame
        Delta-method covariance of the quantities (risk ratios on the log scale), for
        :meth:`contrast` and :meth:`joint_test`.
    kind : str
        What was averaged.
    conf_level : float
    """

    terms: tuple[Term, ...] = field(repr=False)
    vcov: pd.DataFrame = field(repr=False)
    kind: str
    conf_level: float
    df: float = math.inf
    _values: pd.Series = field(repr=False, default=None)  # type: ignore[assignment]
    _log: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return self.kind

    def _refit(self, conf_level: float) -> MarginalEffects:
        terms = _terms(self._values, self.vcov, self._log, conf_level, self.df, self.terms)
        return replace(self, terms=terms, conf_level=conf_level)

    def contrast(self, first: str, second: str) -> Term:
        """``first - second`` (both quantity names), with its delta-method interval.

        Risk ratios are compared on the log scale (the result is a ratio of ratios).
        """
        for name in (first, second):
            if name not in self._values.index:
                raise InvalidValueError(
                    f"no quantity {name!r}; quantities are {show_values(list(self._values.index))}."
                )
        c = pd.Series(0.0, index=self._values.index)
        c[first], c[second] = 1.0, -1.0
        value = float(c @ self._point())
        se = math.sqrt(float(c @ self.vcov @ c))
        log = first in self._log and second in self._log
        return wald_term(
            f"{first} - {second}" if not log else f"{first} / {second}",
            value,
            se,
            self.conf_level,
            "delta method",
            df=self.df,
            exponentiate=log,
        )

    def joint_test(self, names: Sequence[str], *, equal: bool = True) -> dict:
        """Wald test that the quantities ``names`` are all equal (or, ``equal=False``, zero).

        Returns ``statistic`` (chi-square), ``df`` and ``p_value``.
        """
        names = list(names)
        missing = [n for n in names if n not in self._values.index]
        if missing or len(names) < (2 if equal else 1):
            raise InvalidValueError(
                f"`names` must list at least {2 if equal else 1} quantities of this result; "
                f"unknown: {show_values(missing)}."
            )
        point = self._point()[names].to_numpy()
        cov = self.vcov.loc[names, names].to_numpy()
        cmat = (
            np.column_stack([-np.ones(len(names) - 1), np.eye(len(names) - 1)])
            if equal
            else np.eye(len(names))
        )
        est = cmat @ point
        contrast_cov = cmat @ cov @ cmat.T
        eigen = np.linalg.eigvalsh(contrast_cov)
        if eigen[0] <= 1e-10 * max(eigen[-1], 0.0):
            rank = int(np.sum(eigen > 1e-10 * max(eigen[-1], 0.0)))
            raise DesignError(
                f"the {cmat.shape[0]} contrasts of {show_values(names)} have a singular "
                f"covariance (rank {rank}): no Wald test of them exists. A cluster-robust "
                "variance from G clusters supports at most G - 1 independent contrasts; test "
                "fewer quantities, or use a model-based variance (the GLMM, or model='glm' with "
                "Classical())."
            )
        stat = float(est @ np.linalg.solve(contrast_cov, est))
        df = cmat.shape[0]
        return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}

    def _point(self) -> pd.Series:
        """Quantities on the scale of ``vcov`` (log for ratios)."""
        out = self._values.copy()
        for name in self._log:
            out[name] = math.log(out[name])
        return out


def _terms(values, vcov, log, level, df, old=None) -> tuple[Term, ...]:
    terms = []
    for name in values.index:
        se = math.sqrt(max(float(vcov.loc[name, name]), 0.0))
        if name in log:
            term = wald_term(
                name, math.log(values[name]), se, level, "delta method", df=df, exponentiate=True
            )
        else:
            term = wald_term(name, values[name], se, level, "delta method", df=df)
        terms.append(term)
    return tuple(terms)


def _probabilities(result, z, population_averaged, clusters):
    """Risks per row and their derivatives in (SD, coefficients) for each model kind."""
    beta = result.coef.to_numpy()
    design = result._core["design"]
    eta = z @ beta
    if result.model != "glmm" or not population_averaged:
        if result.model == "glmm":
            eta = (
                eta
                + design.cluster_offsets[_codes(clusters, design.cluster_levels, result.cluster)]
            )
        p = special.expit(eta)
        return p, (p * (1 - p))[:, None] * z, None
    nodes, weights = hermite_e.hermegauss(QUADRATURE)
    weights = weights / math.sqrt(2 * math.pi)
    sd = result.random_sd
    p = np.zeros(len(eta))
    dp_eta = np.zeros(len(eta))
    dp_sd = np.zeros(len(eta))
    for node, weight in zip(nodes, weights, strict=True):
        q = special.expit(eta + sd * node)
        p += weight * q
        dp_eta += weight * q * (1 - q)
        dp_sd += weight * q * (1 - q) * node
    return p, dp_eta[:, None] * z, dp_sd


def _groups(data: pd.DataFrame, by) -> tuple[list[str], list[tuple[str, np.ndarray]]]:
    if by is None:
        return [], [("", np.ones(len(data), dtype=bool))]
    by = [by] if isinstance(by, str) else list(by)
    require_columns(data, {f"by[{i}]": b for i, b in enumerate(by)})
    keys = data[by].astype(str).agg(", ".join, axis=1) if len(by) > 1 else data[by[0]].astype(str)
    frame = data[by].drop_duplicates()
    with contextlib.suppress(TypeError):  # mixed types: keep the order of appearance
        frame = frame.sort_values(by)
    out = []
    for _, row in frame.iterrows():
        label = ", ".join(f"{b}={row[b]}" for b in by)
        key = ", ".join(str(row[b]) for b in by)
        out.append((label, (keys == key).to_numpy()))
    return by, out


def _check(result, data, population_averaged):
    core = getattr(result, "_core", {})
    if "design" not in core:
        raise InvalidValueError(
            "`result` must be a stepped_wedge result (for pooled results use their "
            "marginal_effects method)."
        )
    if core.get("family", "binomial") != "binomial":
        raise InvalidValueError("marginal effects on the risk scale need a binary outcome.")
    if any(n.startswith("exposure[") for n in result.coef.index):
        raise DesignError(
            "marginal effects are not defined for exposure-time models: a child referred "
            "under control has no time on treatment to set. Refit with exposure_time=False."
        )
    if population_averaged and result.model != "glmm":
        raise InvalidValueError(
            "`population_averaged=True` is for the GLMM; the GEE is population-averaged "
            "already and the GLM has no random effect to integrate."
        )
    cols = {"period": result.period, "cluster": result.cluster, "treated": result.treated}
    cols |= {f"covariate {c}": c for c in result.covariates}
    require_columns(data, cols)


def _vcov(result, population_averaged) -> np.ndarray:
    if result.model == "glmm" and population_averaged:
        full = result._core.get("vcov_full")
        if full is None or not np.all(np.isfinite(full)):
            raise DesignError(
                "the GLMM's joint variance of the random-intercept SD and the fixed effects is "
                "not available (a boundary fit?): population-averaged margins need it."
            )
        return full
    return result.vcov.to_numpy()


def marginal_effects(
    result,
    data: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    population_averaged: bool = False,
    conf_level: float | None = None,
) -> MarginalEffects:
    """Counterfactual risks under intervention and control, their difference and ratio.

    Parameters
    ----------
    result : SteppedWedgeResult
        A fitted model (any of ``"glmm"``, ``"gee"``, ``"glm"``).
    data : pandas.DataFrame
        The children to average over: normally the data the model was fitted to.
    by : str or sequence of str, optional
        Average within groups: ``"period"`` (the period column), a subgroup column (age band,
        disability), or several.
    population_averaged : bool, default False
        GLMM: integrate over the council random intercept instead of conditioning on each
        council's estimate.
    conf_level : float, optional
        Default: the result's.

    Returns
    -------
    MarginalEffects
        Terms ``risk_treated``, ``risk_control``, ``risk_difference``, ``risk_ratio`` (each
        ``[group]`` with ``by``); ``contrast()`` and ``joint_test()`` between them.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.trials.analysis import stepped_wedge
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame([(c, t) for c in range(5) for t in range(6) for _ in range(60)],
    ...                   columns=["la", "period"])
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> df["looked_after"] = rng.binomial(1, 1 / (1 + np.exp(2 + 0.4 * df["treated"])))
    >>> res = stepped_wedge(df, "looked_after", "la", "period", "treated", model="glm")
    >>> me = marginal_effects(res, df, by="period")
    >>> me.term("risk_difference[period=3]").estimate < 0
    True
    """
    _check(result, data, population_averaged)
    level = check_conf_level(conf_level if conf_level is not None else result.conf_level)
    z1 = design_rows(result, data, 1.0)
    z0 = design_rows(result, data, 0.0)
    clusters = data[result.cluster]
    p1, g1, s1 = _probabilities(result, z1, population_averaged, clusters)
    p0, g0, s0 = _probabilities(result, z0, population_averaged, clusters)
    design = result._core["design"]
    usable = np.ones(len(data), dtype=bool)
    notes = []
    if design.effect_by is not None:
        usable = (
            z1[:, [list(result.coef.index).index(t) for t in design.treat_names]].sum(axis=1) > 0
        )
        if not usable.all():
            notes.append(
                f"{int((~usable).sum()):,} children at levels with no estimated effect left out"
            )
    _, groups = _groups(data, by)
    names, values, grads = [], [], []
    for label, mask in groups:
        rows = mask & usable
        if not rows.any():
            continue
        suffix = f"[{label}]" if label else ""
        n = rows.sum()
        r1, r0 = p1[rows].mean(), p0[rows].mean()
        d1 = g1[rows].sum(axis=0) / n
        d0 = g0[rows].sum(axis=0) / n
        if s1 is not None:
            d1 = np.r_[s1[rows].sum() / n, d1]
            d0 = np.r_[s0[rows].sum() / n, d0]
        names += [
            f"risk_treated{suffix}",
            f"risk_control{suffix}",
            f"risk_difference{suffix}",
            f"risk_ratio{suffix}",
        ]
        values += [r1, r0, r1 - r0, r1 / r0]
        grads += [d1, d0, d1 - d0, d1 / r1 - d0 / r0]  # the ratio's gradient is of its log
    jac = np.vstack(grads)
    cov = jac @ _vcov(result, population_averaged) @ jac.T
    vcov = pd.DataFrame(cov, index=names, columns=names)
    series = pd.Series(values, index=names)
    log = tuple(n for n in names if n.startswith("risk_ratio"))
    df = float(result._core.get("effect_df", math.inf))
    kind = "Counterfactual risks (every child under intervention and under control)"
    if result.model == "glmm":
        kind += ", population-averaged" if population_averaged else ", conditional on councils"
    return MarginalEffects(
        terms=tuple(
            replace(t, note="; ".join(notes)) for t in _terms(series, vcov, log, level, df)
        ),
        vcov=vcov,
        kind=kind,
        conf_level=level,
        df=df,
        _values=series,
        _log=log,
    )


def average_predictions(
    result, data: pd.DataFrame, *, by: str | Sequence[str], conf_level: float | None = None
) -> MarginalEffects:
    """Average fitted risk of the children in each group, as they were referred.

    This is ``avg_predictions(model, by = ...)`` of R's marginaleffects: with ``by`` the
    treatment column it compares the children referred under each condition, which in a
    stepped wedge come from different periods and councils; read the module notes before
    calling the contrast an effect. Terms are ``risk[group]``; :meth:`MarginalEffects.contrast`
    gives differences.
    """
    _check(result, data, False)
    level = check_conf_level(conf_level if conf_level is not None else result.conf_level)
    z = design_rows(result, data, None)
    p, g, _ = _probabilities(result, z, False, data[result.cluster])
    _, groups = _groups(data, by)
    names, values, grads = [], [], []
    for label, rows in groups:
        n = rows.sum()
        names.append(f"risk[{label}]")
        values.append(p[rows].mean())
        grads.append(g[rows].sum(axis=0) / n)
    jac = np.vstack(grads)
    vcov = pd.DataFrame(jac @ result.vcov.to_numpy() @ jac.T, index=names, columns=names)
    series = pd.Series(values, index=names)
    df = float(result._core.get("effect_df", math.inf))
    return MarginalEffects(
        terms=_terms(series, vcov, (), level, df),
        vcov=vcov,
        kind="Average fitted risk of the children referred in each group (factual, not an effect)",
        conf_level=level,
        df=df,
        _values=series,
    )
