"""One call from a trial with missing covariates to a pooled answer.

``stepped_wedge(..., imputations=MultipleImputation(m=20, seed=...))`` imputes the missing
covariates by chained equations (:func:`~sfpc_eval.trials.imputation.impute`, with the outcome,
treatment, periods and councils in every imputation model), fits the chosen model to each of
the ``m`` completed data sets, and pools with Rubin's rules and the Barnard-Rubin degrees of
freedom (:func:`~sfpc_eval.trials.pooling.pool`):

- the treatment's log odds ratio, and the odds ratio as its exponential (the interval is the
  exponentiated pooled interval: the log scale is where the estimates are close to normal);
- the average marginal effect (risk difference), pooled on its own scale from each fit's
  estimate and delta-method variance;
- every covariate and, with ``effect_by``, every per-level effect;
- the fraction of missing information of each (how much of the variance the missing values
  add).

With a :class:`~sfpc_eval.trials.analysis_ri.SteppedWedgeRandomization` the p-value of the
effect is a randomization test of the pooled estimate: under each rollout order every completed
data set is refitted and the statistic is the mean of their effects, the same statistic as the
observed pooled estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sfpc_eval._terms import wald_term
from sfpc_eval.errors import InvalidValueError, show_values
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.trials.analysis_checks import rollout_groups
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization, rollout_orders, rollout_test
from sfpc_eval.trials.imputation import MultipleImputation, impute
from sfpc_eval.trials.imputation_result import ImputedData
from sfpc_eval.trials.pooling import PooledResult, pool

__all__ = ["PooledTrialResult", "stepped_wedge_imputed"]

EFFECT_TERMS = ("treated", "odds_ratio", "average_marginal_effect")


@dataclass(frozen=True)
class PooledTrialResult(ResultMixin):
    """A stepped-wedge analysis pooled over multiply imputed data sets.

    Attributes
    ----------
    model, outcome, cluster, period, treated : str
    covariates : tuple of str
    method : str
        The model's inference and how it was pooled.
    conf_level : float
    m : int
        Imputed data sets.
    n_obs, n_clusters, n_periods : int
    terms : tuple of Term
        ``treated`` (pooled log odds ratio), ``odds_ratio``, ``average_marginal_effect``, the
        per-level effects with ``effect_by``, then each covariate column; each with
        Barnard-Rubin df and its fraction of missing information in ``note``.
    pooled : PooledResult
        Rubin's rules for every coefficient (within, between, total variance, df, FMI).
    fits : tuple of SteppedWedgeResult
        The fit on each completed data set.
    imputed : ImputedData
        The imputations (diagnostics: ``imputed.plot_trace()``, ``imputed.compare()``).
    fraction_missing : float
        Fraction of missing information of the treatment effect (every term's:
        :meth:`fraction_missing_information`).
    """

    model: str
    outcome: str
    cluster: str
    period: str
    treated: str
    covariates: tuple[str, ...]
    method: str
    conf_level: float
    m: int
    n_obs: int
    n_clusters: int
    n_periods: int
    terms: tuple[Term, ...] = field(repr=False)
    pooled: PooledResult = field(repr=False)
    fits: tuple = field(repr=False)
    imputed: ImputedData = field(repr=False)
    fraction_missing: float = math.nan
    _core: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"{self.fits[0].title}, pooled over {self.m} imputed data sets"

    @property
    def estimate(self) -> Term:
        """The pooled treatment effect on the log-odds scale."""
        return self.term("treated")

    @property
    def odds_ratio(self) -> Term:
        """The pooled treatment effect as an odds ratio."""
        return self.term("odds_ratio")

    @property
    def average_marginal_effect(self) -> Term:
        """The pooled average marginal effect (risk difference)."""
        return self.term("average_marginal_effect")

    @property
    def coef(self) -> pd.Series:
        """Return the pooled coefficients (the mean over the imputations)."""
        return self.pooled.estimates

    @property
    def vcov(self) -> pd.DataFrame:
        """Return Rubin's total variance matrix, ``Ubar + (1 + 1/m) B``, of every coefficient."""
        return self._core["total_vcov"]

    def fraction_missing_information(self) -> pd.Series:
        """Fraction of missing information of every reported term (mice's ``fmi``).

        The share of the total variance that is due to the missing values, up to a small-sample
        correction: ``(r + 2 / (df + 3)) / (r + 1)`` with ``r = (1 + 1/m) B / Ubar``.
        """
        scalars = self._core["scalars"]
        return pd.Series({name: values[3] for name, values in scalars.items()}, name="fmi")

    def marginal_effects(self, *, by=None, population_averaged: bool = False):
        """Counterfactual risks, differences and ratios pooled over the imputations.

        :func:`~sfpc_eval.trials.marginal.marginal_effects` on each completed data set (with
        the same ``by`` and ``population_averaged``), each quantity pooled by Rubin's rules
        with Barnard-Rubin df (risk ratios on the log scale); ``contrast`` and ``joint_test``
        use the pooled total covariance, ``Ubar + (1 + 1/m) B``, and the smallest df.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sfpc_eval.trials.analysis import stepped_wedge
        >>> from sfpc_eval.trials.imputation import MultipleImputation
        >>> rng = np.random.default_rng(5)
        >>> df = pd.DataFrame([(c, t) for c in range(4) for t in range(5) for _ in range(60)],
        ...                   columns=["la", "period"])
        >>> df["treated"] = (df["period"] > df["la"]).astype(int)
        >>> df["y"] = rng.binomial(1, 0.3, len(df))
        >>> df["sex"] = np.where(rng.random(len(df)) < 0.1, None, rng.choice(["F", "M"], len(df)))
        >>> res = stepped_wedge(df, "y", "la", "period", "treated", ["sex"], model="glm",
        ...                     imputations=MultipleImputation(m=3, seed=1, progress=False))
        >>> me = res.marginal_effects(by="period")
        >>> me.term("risk_difference[period=2]").df < 1e6
        True
        """
        from sfpc_eval.trials.marginal import MarginalEffects, marginal_effects

        each = [
            marginal_effects(f, d, by=by, population_averaged=population_averaged)
            for f, d in zip(self.fits, self.imputed.datasets(), strict=True)
        ]
        names = list(each[0].vcov.index)
        points = np.array([e._point()[names].to_numpy() for e in each])
        m = len(each)
        u_bar = sum(e.vcov.to_numpy() for e in each) / m
        between = np.cov(points, rowvar=False, ddof=1).reshape(len(names), len(names))
        total = pd.DataFrame(u_bar + (1 + 1 / m) * between, index=names, columns=names)
        dfc = _complete_df(self.fits[0], self.treated)
        log = each[0]._log
        terms, values = [], []
        for j, name in enumerate(names):
            variances = [float(e.vcov.iloc[j, j]) for e in each]
            q, t, df, fmi = _pool_scalar(points[:, j], variances, [dfc] * m, m)
            term = wald_term(
                name,
                q,
                math.sqrt(t),
                self.conf_level,
                "delta method; Rubin's rules",
                df=df,
                exponentiate=name in log,
            )
            terms.append(replace(term, note=f"fraction of missing information {fmi:.3f}"))
            values.append(math.exp(q) if name in log else q)
        return MarginalEffects(
            terms=tuple(terms),
            vcov=total,
            kind=f"{each[0].kind}, pooled over {m} imputations",
            conf_level=self.conf_level,
            df=min(t.df for t in terms),
            _values=pd.Series(values, index=names),
            _log=log,
        )

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        imputed = ", ".join(
            f"{name} ({col.method}, {int(col.missing.sum()):,} rows)"
            for name, col in self.imputed.columns.items()
        )
        return [
            ("outcome", f"{self.outcome} (binary)"),
            ("clusters / periods", f"{self.n_clusters} {self.cluster} / {self.n_periods}"),
            ("rows", f"{self.n_obs:,}"),
            ("imputed", imputed or "nothing (no missing values)"),
            ("imputations", f"{self.m} ({self.imputed.iterations} iterations each)"),
            ("inference", self.method),
            ("fraction of missing information", f"{self.fraction_missing:.3f}"),
        ]

    def notes(self) -> list[str]:
        """Return the notes of the terms, of the first fit and of the imputation."""
        extra = [*self.fits[0].notes(), *self.imputed.notes, *self._core.get("notes", [])]
        return list(dict.fromkeys([*super().notes(), *extra]))

    def _refit(self, conf_level: float) -> PooledTrialResult:
        terms = _pooled_terms(self._core, conf_level)
        return replace(self, conf_level=conf_level, terms=terms)


def _pool_scalar(values, variances, df_complete, m) -> tuple[float, float, float, float]:
    """Rubin's rules for one quantity: estimate, total variance, Barnard-Rubin df, FMI."""
    fits = [
        (pd.Series({"q": q}), pd.DataFrame({"q": [u]}, index=["q"]), d)
        for q, u, d in zip(values, variances, df_complete, strict=True)
    ]
    res = pool(fits)
    return (
        float(res.estimates["q"]),
        float(res.total["q"]),
        float(res.term("q").df),
        float(res.fraction_missing["q"]),
    )


def _pooled_terms(core: dict, level: float) -> tuple[Term, ...]:
    method = core["method"]
    terms = []
    for name, (q, t, df, _) in core["scalars"].items():
        exponentiate = name == "odds_ratio"
        terms.append(
            wald_term(name, q, math.sqrt(t), level, method, df=df, exponentiate=exponentiate)
        )
    ri = core.get("ri")
    if ri is not None:
        p_value, label = ri
        terms = [
            replace(
                t,
                p_value=p_value,
                note=f"p-value from {label}; interval from Rubin's rules",
            )
            if t.term in EFFECT_TERMS
            else t
            for t in terms
        ]
    return tuple(terms)


def _imputations(arguments: dict) -> ImputedData:
    spec = arguments["imputations"]
    data = arguments["data"]
    if isinstance(spec, ImputedData):
        if len(spec.data) != len(data) or not spec.data.index.equals(data.index):
            raise InvalidValueError(
                "`imputations` were made from other rows: the ImputedData holds "
                f"{len(spec.data):,} rows, `data` {len(data):,} (or a different index). Impute "
                "the data you analyse."
            )
        uncovered = [
            c for c in arguments["covariates"] if data[c].isna().any() and c not in spec.columns
        ]
        if uncovered:
            raise InvalidValueError(
                f"covariates {show_values(uncovered)} have missing values that the given "
                "imputations do not fill; impute them too."
            )
        return spec
    if isinstance(spec, MultipleImputation):
        return impute(
            data,
            arguments["covariates"],
            outcome=arguments["outcome"],
            cluster=arguments["cluster"],
            period=arguments["period"],
            treated=arguments["treated"],
            m=spec.m,
            seed=spec.seed,
            methods=spec.methods,
            iterations=spec.iterations,
            auxiliary=spec.auxiliary,
            donors=spec.donors,
            interactions=arguments["effect_by"],
            progress=spec.progress,
        )
    raise InvalidValueError(
        "`imputations` must be MultipleImputation(m=..., seed=...) or the ImputedData that "
        f"sfpc_eval.trials.imputation.impute returns; got {type(spec).__name__}."
    )


def _complete_df(fit, name: str) -> float:
    """Complete-data df of a reported quantity: its coefficient's, else the treatment's."""
    if name in fit.df_complete.index:
        return float(fit.df_complete[name])
    return float(fit.df_complete[fit._core["design"].treat_names[0]])


def stepped_wedge_imputed(fit, arguments: dict) -> PooledTrialResult:
    """Impute, fit every completed data set with ``fit`` (``stepped_wedge``) and pool."""
    from tqdm.auto import tqdm

    arguments = dict(arguments)
    ri = arguments["inference"]
    ri = ri if isinstance(ri, SteppedWedgeRandomization) else None
    imputed = _imputations(arguments)
    progress = getattr(arguments["imputations"], "progress", True)
    each = {k: v for k, v in arguments.items() if k not in ("imputations", "data")}
    if ri is not None:
        each["inference"] = None  # the randomization test is run once, on the pooled estimate
    fits = []
    for data in tqdm(
        imputed.datasets(), total=imputed.m, desc="fitting", disable=not progress, leave=False
    ):
        fits.append(fit(data, **each))
    names = list(fits[0].coef.index)
    differ = [i + 1 for i, f in enumerate(fits) if list(f.coef.index) != names]
    if differ:
        raise InvalidValueError(
            f"the model has different coefficients on imputed data sets {show_values(differ)} "
            "than on the first (a level empty, or a column aliased, in some completed data sets "
            "only), so they cannot be pooled. Merge rare levels of the imputed covariates."
        )
    m = len(fits)
    pooled = pool(fits)
    first = fits[0]
    reported = [t.term for t in first.terms if t.term not in EFFECT_TERMS]
    scalars = {}
    for name in ("treated", "average_marginal_effect", *reported):
        if name == "average_marginal_effect" and first._core.get("ame") is None:
            continue
        estimates = [f.term(name).estimate for f in fits]
        variances = [f.term(name).std_error ** 2 for f in fits]
        scalars[name] = _pool_scalar(estimates, variances, [_complete_df(f, name) for f in fits], m)
        if name == "treated":  # the odds ratio is the exponentiated pooled log odds ratio
            scalars["odds_ratio"] = scalars["treated"]
    u_bar = sum(f.vcov.to_numpy() for f in fits) / m
    q = np.array([f.coef.to_numpy() for f in fits])
    between = np.cov(q, rowvar=False, ddof=1).reshape(len(names), len(names))
    total = pd.DataFrame(u_bar + (1 + 1 / m) * between, index=names, columns=names)
    method = f"{first.method}; Rubin's rules over {m} imputations, Barnard-Rubin df"
    core = {"scalars": scalars, "method": method, "total_vcov": total}
    if ri is not None:
        c_codes, c_levels, switch = first._core["rollout"]
        groups = rollout_groups(
            arguments["data"], ri, arguments["cluster"], c_codes, c_levels, switch
        )
        orders, exact = rollout_orders(switch.copy(), groups, ri)
        statistics = [f._core["statistic"] for f in fits]
        p_value, _ = rollout_test(
            lambda order: float(np.mean([s(order) for s in statistics])), orders, ri
        )
        how = f"all {len(orders):,} rollout orders" if exact else f"{len(orders) - 1:,} orders"
        core["ri"] = (p_value, f"randomization over rollout ({how}) of the pooled estimate")
    terms = _pooled_terms(core, first.conf_level)
    return PooledTrialResult(
        model=first.model,
        outcome=first.outcome,
        cluster=first.cluster,
        period=first.period,
        treated=first.treated,
        covariates=first.covariates,
        method=method,
        conf_level=first.conf_level,
        m=m,
        n_obs=first.n_obs,
        n_clusters=first.n_clusters,
        n_periods=first.n_periods,
        terms=terms,
        pooled=pooled,
        fits=tuple(fits),
        imputed=imputed,
        fraction_missing=scalars["treated"][3],
        _core=core,
    )
