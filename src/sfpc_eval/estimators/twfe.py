"""Regression difference-in-differences with unit and time fixed effects, fitted on cells."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import (
    DesignError,
    FewTreatedClustersWarning,
    InvalidValueError,
    show_values,
)
from sfpc_eval.estimators._groups import wald_term
from sfpc_eval.estimators.absorb import demean
from sfpc_eval.estimators.cellfit import CellFit, check_family, fit_cells
from sfpc_eval.estimators.cells import Cells, collapse, factorize_sorted
from sfpc_eval.inference.cluster import (
    Classical,
    ClusterRobust,
    HeteroskedasticityRobust,
    VarianceResult,
    contrast_df,
    variance,
)
from sfpc_eval.inference.randomization import Randomization, randomization_test
from sfpc_eval.inference.wild import WildClusterBootstrap, wild_cluster_bootstrap
from sfpc_eval.panel import numeric_column, require_columns, require_present
from sfpc_eval.results import ResultMixin, Term

__all__ = ["DidResult", "did"]

Family = Literal["gaussian", "poisson", "binomial"]
Inference = (
    Classical | ClusterRobust | HeteroskedasticityRobust | WildClusterBootstrap | Randomization
)


@dataclass(frozen=True)
class DidResult(ResultMixin):
    """Result of :func:`did`.

    Attributes
    ----------
    family : str
        Outcome family.
    outcome, unit, time, treated : str
        Column names used.
    covariates : tuple of str
        Covariate columns.
    inference : Classical, ClusterRobust, WildClusterBootstrap or Randomization
        How standard errors, p-values and intervals were computed.
    conf_level : float
        Confidence level.
    n_obs, n_cells, n_units, n_periods, n_clusters : int
        Size of the problem.
    terms : tuple of Term
        ``treated`` (the DiD coefficient), covariates, and effect readings: Poisson adds
        ``rate_ratio`` and ``percent_change``; binomial adds ``odds_ratio`` and
        ``average_marginal_effect`` (risk difference, delta method).
    """

    family: str
    outcome: str
    unit: str
    time: str
    treated: str
    covariates: tuple[str, ...]
    inference: Inference
    conf_level: float
    n_obs: int
    n_cells: int
    n_units: int
    n_periods: int
    n_clusters: int
    terms: tuple[Term, ...] = field(repr=False)
    _fit: CellFit = field(repr=False, compare=False)
    _cells: Cells = field(repr=False, compare=False)
    _var: VarianceResult = field(repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Difference-in-differences ({self.family}): {self.outcome}"

    @property
    def estimate(self) -> Term:
        """The DiD coefficient on the treatment indicator."""
        return self.term("treated")

    @property
    def vcov(self) -> pd.DataFrame:
        """Variance matrix of the reported coefficients (treatment and covariates)."""
        names = [self.treated, *self.covariates]
        idx = [self._fit.index(n) for n in names]
        return pd.DataFrame(self._var.vcov[np.ix_(idx, idx)], index=names, columns=names)

    def contrast(self, weights: dict[str, float], name: str = "contrast") -> Term:
        """Estimate a linear combination of the reported coefficients, with its interval.

        Parameters
        ----------
        weights : dict of str to float
            Coefficient name (``"treated"`` or a covariate) to weight, e.g.
            ``{"treated": 1, "age": 5}``.
        name : str, default "contrast"
            Term name of the result.

        Returns
        -------
        Term
            Standard error from the result's variance; degrees of freedom by Satterthwaite for
            CR2/CR3 (as ``clubSandwich::linear_contrast``), otherwise as for single coefficients.

        Raises
        ------
        InvalidValueError
            An unknown coefficient name, or resampling inference (which tests one coefficient).
        """
        if isinstance(self.inference, WildClusterBootstrap | Randomization):
            raise InvalidValueError(
                "contrasts use an analytic variance; call with_inference(ClusterRobust(...)) first."
            )
        allowed = {"treated": self.treated, **{c: c for c in self.covariates}}
        unknown = sorted(set(weights) - set(allowed))
        if unknown:
            raise InvalidValueError(
                f"`weights` names unknown coefficients {show_values(unknown)}; the coefficients "
                f"are {', '.join(allowed)}."
            )
        c = np.zeros(self._fit.k)
        for key, value in weights.items():
            c[self._fit.index(allowed[key])] = float(value)
        estimate = float(c @ self._fit.beta)
        se = math.sqrt(float(c @ self._var.vcov @ c))
        df = contrast_df(self._fit, _analytic(self.inference), c)
        return wald_term(name, estimate, se, self.conf_level, self._var.label, df=df)

    def trends(self) -> pd.DataFrame:
        """Mean outcome per period for ever-treated and never-treated units.

        Weighted by the model weights (and, for rates, it is the ratio of summed counts to summed
        exposure). Columns: ``time``, ``group`` ("treated" or "comparison"), ``mean``, ``rows``.
        """
        keys, sums = self._cells.keys, self._cells.sums
        ever = keys.groupby(self.unit, observed=True)[self.treated].transform("max")
        frame = pd.DataFrame(
            {
                "time": keys[self.time].to_numpy(),
                "group": np.where(ever.to_numpy() == 1, "treated", "comparison"),
                "num": sums["sum_wy"].to_numpy(),
                "den": (sums["sum_we"] if self.family == "poisson" else sums["sum_w"]).to_numpy(),
                "rows": sums["n"].to_numpy(),
            }
        )
        out = frame.groupby(["time", "group"], as_index=False)[["num", "den", "rows"]].sum()
        out["mean"] = out["num"] / out["den"]
        return out[["time", "group", "mean", "rows"]]

    def first_treated_period(self) -> object:
        """Return the earliest period in which any unit is treated."""
        keys = self._cells.keys
        return keys.loc[keys[self.treated] == 1, self.time].min()

    def plot(self, ax=None):  # type: ignore[override]
        """Treated and comparison means over time, the first treated period marked."""
        from sfpc_eval.plotting import plot_trends

        return plot_trends(
            self.trends(), start=self.first_treated_period(), ylabel=self.outcome, ax=ax
        )

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [
            ("outcome", f"{self.outcome} ({self.family})"),
            ("fixed effects", f"{self.unit} ({self.n_units}), {self.time} ({self.n_periods})"),
            ("rows / cells", f"{self.n_obs:,} / {self.n_cells:,}"),
            ("inference", f"{self.inference.describe()}; {self.n_clusters} clusters"),
            ("standard errors", self._var.description),
        ]

    def with_inference(self, inference: Inference) -> DidResult:
        """Recompute standard errors, intervals and p-values with other inference settings.

        The model is not refitted when the clusters are unchanged.
        """
        cluster = getattr(inference, "cluster", None) or self.unit
        current = getattr(self.inference, "cluster", None) or self.unit
        if cluster != current:
            raise InvalidValueError(
                f"`with_inference` cannot change the cluster column from {current!r} to "
                f"{cluster!r} without refitting; call did(..., inference=...) again."
            )
        reported = [self._fit.index(n) for n in (self.treated, *self.covariates)]
        var = variance(self._fit, _analytic(inference), df_for=reported)
        return _result(self, inference=inference, var=var, conf_level=self.conf_level)

    def _refit(self, conf_level: float) -> DidResult:
        return _result(self, inference=self.inference, var=self._var, conf_level=conf_level)


def _terms(
    fit: CellFit,
    cells: Cells,
    var: VarianceResult,
    names: Sequence[str],
    treated: str,
    level: float,
    resampled: tuple[float, float, float, str] | None = None,
) -> tuple[Term, ...]:
    """Build Wald terms from ``var``.

    With ``resampled`` = (p, low, high, method), the treatment term and its readings take their
    p-value and interval from the bootstrap or permutation test instead.
    """
    method = var.label
    terms = []
    for name in names:
        j = fit.index(name)
        term = wald_term(name, fit.beta[j], math.sqrt(var.vcov[j, j]), level, method, df=var.df[j])
        terms.append(term if name != treated else _rename(term, "treated"))
    j = fit.index(treated)
    se, df = math.sqrt(var.vcov[j, j]), var.df[j]
    if fit.family == "poisson":
        ratio = wald_term("rate_ratio", fit.beta[j], se, level, method, df=df, exponentiate=True)
        terms += [ratio, ratio.as_percent_change()]
    elif fit.family == "binomial":
        terms.append(
            wald_term("odds_ratio", fit.beta[j], se, level, method, df=df, exponentiate=True)
        )
        terms.append(_average_marginal_effect(fit, cells, var, j, level, method, df))
    if resampled is None:
        return tuple(terms)
    p_value, low, high, label = resampled
    transforms = {
        "treated": lambda b: b,
        "rate_ratio": math.exp,
        "odds_ratio": math.exp,
        "percent_change": lambda b: 100 * (math.exp(b) - 1),
    }
    out = []
    for term in terms:
        if term.term in transforms:
            f = transforms[term.term]
            if math.isnan(low):
                note = "no interval from this test for this model"
            elif math.isinf(low) or math.isinf(high):
                note = (
                    "interval unbounded: too few assignments or draws to reject any value at "
                    "this level"
                )
            else:
                note = ""
            term = replace(
                term,
                p_value=p_value,
                conf_low=_transform_limit(f, low),
                conf_high=_transform_limit(f, high),
                df=math.nan,
                method=label,
                note=note,
            )
        elif term.term == "average_marginal_effect":
            term = replace(term, p_value=p_value, note=f"p-value from {label}; interval {method}")
        out.append(term)
    return tuple(out)


def _transform_limit(f, limit: float) -> float:
    """Map a limit of the coefficient's interval to another reading, keeping NaN and +-inf."""
    return math.nan if math.isnan(limit) else f(limit)


def _rename(term: Term, name: str) -> Term:
    return replace(term, term=name)


def _average_marginal_effect(
    fit: CellFit, cells: Cells, var: VarianceResult, j: int, level: float, method: str, df: float
) -> Term:
    """Mean over rows of P(y=1 | treated=1) - P(y=1 | treated=0), delta-method SE."""
    weight = cells.sums["sum_w"].to_numpy()
    z1, z0 = fit.z.copy(), fit.z.copy()
    z1[:, j], z0[:, j] = 1.0, 0.0
    p1, p0 = special.expit(z1 @ fit.beta), special.expit(z0 @ fit.beta)
    total = weight.sum()
    effect = float(weight @ (p1 - p0) / total)
    gradient = ((weight * p1 * (1 - p1)) @ z1 - (weight * p0 * (1 - p0)) @ z0) / total
    se = math.sqrt(gradient @ var.vcov @ gradient)
    return wald_term("average_marginal_effect", effect, se, level, f"{method}; delta method", df=df)


def _result(
    base: DidResult, *, inference: Inference, var: VarianceResult, conf_level: float
) -> DidResult:
    names = [base.treated, *base.covariates]
    resampled = _resample(
        base._fit, base._cells, inference, base.unit, base.time, base.treated, conf_level
    )
    terms = _terms(base._fit, base._cells, var, names, base.treated, conf_level, resampled)
    return replace(base, inference=inference, _var=var, conf_level=conf_level, terms=terms)


def _analytic(inference: Inference) -> Classical | ClusterRobust | HeteroskedasticityRobust:
    """Return the analytic variance reported beside a resampling test.

    CR1 for the wild bootstrap (whose statistic it studentises); CR2 beside randomization.
    """
    if isinstance(inference, WildClusterBootstrap):
        return ClusterRobust(inference.cluster, kind="CR1")
    if isinstance(inference, Randomization):
        return ClusterRobust(None, kind="CR2")
    if isinstance(inference, Classical | ClusterRobust | HeteroskedasticityRobust):
        return inference
    raise InvalidValueError(
        "`inference` must be Classical(), HeteroskedasticityRobust(), ClusterRobust(...), "
        f"WildClusterBootstrap(...) or Randomization(...); got {inference!r}."
    )


def _resample(
    fit: CellFit,
    cells: Cells,
    inference: Inference,
    unit: str,
    time: str,
    treated: str,
    level: float,
) -> tuple[float, float, float, str] | None:
    j = fit.index(treated)
    if fit.absorbed and isinstance(inference, WildClusterBootstrap | Randomization):
        raise DesignError(
            "the wild bootstrap and randomization inference here work with dummy-column fixed "
            "effects; pass absorb=False (possible up to about "
            f"{MAX_DUMMY_LEVELS:,} units and periods) or use ClusterRobust(kind='CR1')."
        )
    if isinstance(inference, WildClusterBootstrap):
        boot_codes = _subclusters(cells, fit, inference)
        out = wild_cluster_bootstrap(fit, j, inference, level, boot_codes)
        how = "all sign vectors" if out.enumerated else f"{out.draws:,} draws"
        if boot_codes is not None:
            by = " x ".join(inference.bootcluster_columns)
            how += f", weights by {int(boot_codes.max()) + 1:,} {by} subclusters"
        return out.p_value, out.conf_low, out.conf_high, f"wild cluster bootstrap ({how})"
    if isinstance(inference, Randomization):
        unit_codes = cells.codes[unit]
        times = cells.keys[time].to_numpy(dtype=np.float64)

        def refit(column: np.ndarray) -> float:
            z = fit.z.copy()
            z[:, j] = column
            return fit_cells(
                z, fit.names, fit.sums, fit.cluster, family=fit.family, n_obs=fit.n_obs
            ).beta[j]

        out = randomization_test(fit, j, unit_codes, times, inference, level, refit=refit)
        how = "all assignments" if out.enumerated else f"{out.draws:,} draws"
        if inference.ties == "randomized":
            how += f"; ties weighted by U = {out.tie_weight:.4f}"
        return out.p_value, out.conf_low, out.conf_high, f"randomization ({how})"
    return None


def _subclusters(cells: Cells, fit: CellFit, spec: WildClusterBootstrap) -> np.ndarray | None:
    """Each cell's subcluster code (0..H-1) for ``spec.bootcluster``, or None per cluster."""
    columns = spec.bootcluster_columns
    if not columns:
        return None
    missing = [c for c in columns if c not in cells.keys.columns]
    if missing:
        raise InvalidValueError(
            f"`bootcluster` column(s) {', '.join(map(repr, missing))} are not among the columns "
            f"the model is fitted on ({', '.join(map(repr, cells.keys.columns))}); subclusters "
            "must be made of the unit, time, cluster, treatment or covariate columns, e.g. "
            "bootcluster=(unit, time) for one weight per unit-period."
        )
    codes = cells.keys.groupby(list(columns), sort=True, observed=True).ngroup().to_numpy()
    # every subcluster must lie within one cluster (MacKinnon and Webb's subclusters are nested)
    pairs = np.unique(np.column_stack([codes, fit.cluster]), axis=0)
    if len(pairs) != int(codes.max()) + 1:
        raise InvalidValueError(
            f"`bootcluster` {columns!r} is not nested in the clusters: some subclusters span "
            "more than one cluster. Include the cluster column in `bootcluster`, e.g. "
            "bootcluster=(cluster, time)."
        )
    if len(pairs) == fit.n_clusters:
        raise InvalidValueError(
            f"`bootcluster` {columns!r} has one subcluster per cluster, which is the ordinary "
            "wild cluster bootstrap; drop `bootcluster` or choose finer columns."
        )
    return codes


def did_columns(
    outcome, unit, time, treated, covariates, weights, exposure, cluster
) -> tuple[dict[str, str | None], list[str]]:
    """Return the columns of a :func:`did` call by argument, and the key of its cells.

    Arguments are named as in messages (``covariates[0]``); unused ones map to None. Weights and
    exposure join the cell key, so every row of a cell carries the same ones (the GLM working
    variance of a row depends on its exposure: CR2/CR3 are then exact on cells).
    """
    roles = {"outcome": outcome, "unit": unit, "time": time, "treated": treated}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    roles |= {"weights": weights, "exposure": exposure, "cluster": cluster}
    extra = [c for c in (weights, exposure) if c is not None]
    return roles, list(dict.fromkeys([cluster, unit, time, treated, *covariates, *extra]))


def _check_inputs(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    covariates: Sequence[str],
    weights: str | None,
    exposure: str | None,
    cluster: str,
    family: str,
    allow_switching_off: bool,
) -> pd.DataFrame:
    roles, _ = did_columns(outcome, unit, time, treated, covariates, weights, exposure, cluster)
    require_columns(data, roles)
    check_family(family)
    for role, column in (("unit", unit), ("time", time), ("cluster", cluster)):
        require_present(data, column, argument=role)
    clean = data[list(dict.fromkeys(c for c in roles.values() if c is not None))].copy()
    clean[outcome] = numeric_column(
        data,
        outcome,
        argument="outcome",
        nonnegative=family != "gaussian",
        binary=family == "binomial",
    )
    clean[treated] = numeric_column(data, treated, argument="treated", binary=True)
    for i, column in enumerate(covariates):
        clean[column] = numeric_column(data, column, argument=f"covariates[{i}]")
    if weights is not None:
        clean[weights] = numeric_column(data, weights, argument="weights", nonnegative=True)
    if exposure is not None:
        clean[exposure] = numeric_column(data, exposure, argument="exposure", nonnegative=True)
        if (clean[exposure] == 0).any():
            rows = list(data.index[(clean[exposure] == 0).to_numpy()])
            raise InvalidValueError(
                f"`exposure` column {exposure!r} is 0 in rows {show_values(rows)}; a rate needs "
                "a positive exposure."
            )
    return clean


def _check_design(
    clean: pd.DataFrame,
    factors: dict,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str,
    allow_switching_off: bool,
) -> None:
    u_codes, u_levels = factors[unit]
    t_codes, t_levels = factors[time]
    n_units, n_times = len(u_levels), len(t_levels)
    status = clean[treated].to_numpy()
    ut, ut_levels = factorize_sorted(u_codes * n_times + t_codes)
    rows = np.bincount(ut)
    treated_rows = np.bincount(ut, weights=status)
    varying = (treated_rows > 0) & (treated_rows < rows)
    if varying.any():
        bad = ut_levels[varying]
        cells = [f"({u_levels[c // n_times]}, {t_levels[c % n_times]})" for c in bad]
        raise DesignError(
            f"`treated` varies within {unit} x {time} cells {show_values(cells)}. Treatment "
            f"must be the same for every row of a {unit} in a {time}: fix the indicator, or use "
            "a finer unit."
        )
    ever = np.bincount(u_codes, weights=status, minlength=n_units) > 0
    if ever.all() or not ever.any():
        which = "comparison (never-treated)" if ever.all() else "treated"
        raise DesignError(
            f"there are no {which} units in `{treated}`: a difference-in-differences needs "
            "both treated and comparison units."
        )
    if n_times < 2:
        raise DesignError(
            f"`time` column {time!r} has one period; a difference-in-differences needs periods "
            "before and after treatment."
        )
    if len(factors[cluster][1]) < 2:
        raise DesignError(
            f"`cluster` column {cluster!r} has one cluster; cluster-robust inference needs at "
            "least 2 (and few-cluster corrections matter below about 40)."
        )
    if not allow_switching_off:
        # status of each observed unit-time cell, in time order: -1 where not observed
        # ut_levels are sorted, i.e. by unit and then by time
        cell_status = (treated_rows > 0).astype(np.int8)
        cell_unit = ut_levels // n_times
        started = np.r_[True, cell_unit[1:] != cell_unit[:-1]]
        run = np.cumsum(cell_status)  # running count of treated cells, reset per unit below
        base = np.maximum.accumulate(np.where(started, run - cell_status, 0))
        seen = (run - base - cell_status) > 0  # a treated cell earlier in the same unit
        off = seen & (cell_status == 0)
        if off.any():
            units = sorted({u_levels[u] for u in cell_unit[off]}, key=str)
            raise DesignError(
                f"treatment switches off (1 then 0) in units {show_values(units)}. A standard "
                "difference-in-differences assumes adoption is permanent; pass "
                "allow_switching_off=True if reversals are real."
            )
    y = clean[outcome].to_numpy()
    first = np.empty(n_units)
    first[u_codes[::-1]] = y[::-1]
    if np.array_equal(y, first[u_codes]):
        raise DesignError(
            f"`outcome` {outcome!r} is constant within every {unit}: the unit fixed effects "
            "absorb everything and nothing can be identified."
        )


def _design(
    keys: pd.DataFrame, regressors: Sequence[str], unit: str, time: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    columns = [keys[r].to_numpy(dtype=np.float64) for r in regressors]
    names = list(regressors)
    columns.append(np.ones(len(keys)))
    names.append("(intercept)")
    for factor in (unit, time):
        codes, levels = pd.factorize(keys[factor], sort=True)
        for level_index in range(1, len(levels)):
            columns.append((codes == level_index).astype(np.float64))
            names.append(f"{factor}[{levels[level_index]}]")
    return np.column_stack(columns), tuple(names)


def _clearly_full_rank(weighted: np.ndarray) -> bool:
    """Tell whether the column-scaled Gram matrix is well conditioned.

    Smallest eigenvalue above 1e-10 of the largest: the design then has full column rank and
    no collinear regressor needs naming.
    """
    gram = weighted.T @ weighted
    scale = np.sqrt(np.diag(gram))
    if gram.size == 0 or not np.all(scale > 0):
        return gram.size == 0
    values = np.linalg.eigvalsh(gram / np.outer(scale, scale))
    return bool(values[0] > 1e-10 * values[-1])


def _check_rank(
    z: np.ndarray,
    d: np.ndarray,
    names: tuple[str, ...],
    n_regressors: int,
    *,
    fixed_effects: bool = True,
) -> None:
    weighted = np.sqrt(d)[:, None] * z
    if _clearly_full_rank(weighted):
        return  # one k x k eigendecomposition instead of one SVD per regressor
    fe_only = weighted[:, n_regressors:]
    base_rank = np.linalg.matrix_rank(fe_only) if fixed_effects else 0
    if fixed_effects and base_rank < fe_only.shape[1]:
        raise DesignError(
            "the unit and time fixed effects are collinear (a disconnected panel?); check that "
            "units and periods overlap."
        )
    collinear = []
    current = fe_only
    for j in range(n_regressors):
        candidate = np.column_stack([current, weighted[:, j]])
        if np.linalg.matrix_rank(candidate) == candidate.shape[1]:
            current = candidate
        else:
            collinear.append(names[j])
    if collinear:
        raise DesignError(
            f"these regressors are collinear with the fixed effects or with earlier regressors: "
            f"{show_values(collinear)}. Drop them; a covariate that is constant within a unit "
            "(or a period) is absorbed by the fixed effects."
        )


def _warn_single_treated_cluster(clean, factors, cluster, treated, inference) -> None:
    codes, levels = factors[cluster]
    ever = np.bincount(codes, weights=clean[treated].to_numpy(), minlength=len(levels)) > 0
    if ever.sum() == 1 and not isinstance(inference, Randomization):
        warnings.warn(
            f"only one {cluster!r} cluster ({levels[np.argmax(ever)]}) is ever treated: "
            "cluster-robust standard errors then come from the comparison clusters alone and "
            "miss the treated cluster's own variability, so intervals are far too narrow. Use "
            "inference=Randomization() (its p-value cannot go below 1 / number of clusters) or "
            "a single-unit design (synthetic control).",
            FewTreatedClustersWarning,
            stacklevel=3,
        )


MAX_DUMMY_LEVELS = 1_000
"""Above this many unit and period levels, ``did`` absorbs the fixed effects by demeaning."""


def fit_on_cells(
    cells: Cells,
    factors: dict[str, tuple[np.ndarray, np.ndarray]],
    regressors: Sequence[str],
    unit: str,
    time: str,
    cluster: str,
    family: str,
    absorb: bool | None,
    weighted: bool,
) -> CellFit:
    """Fit ``outcome ~ regressors`` with unit and time effects on collapsed cells.

    The effects are absorbed by demeaning when ``absorb`` is true (or, when it is ``None``,
    when there are more than :data:`MAX_DUMMY_LEVELS` unit and time levels), otherwise they
    enter as dummy columns after a rank check that names collinear regressors.
    """
    sums = {c: cells.sums[c].to_numpy(dtype=np.float64) for c in cells.sums.columns}
    if absorb is None:
        absorb = len(factors[unit][1]) + len(factors[time][1]) > MAX_DUMMY_LEVELS
    if absorb:
        return _absorbed_fit(cells, sums, regressors, unit, time, cells.codes[cluster], family)
    z, names = _design(cells.keys, regressors, unit, time)
    _check_rank(z, sums["sum_w"], names, len(regressors))
    return fit_cells(
        z,
        names,
        sums,
        cells.codes[cluster],
        family=family,
        n_obs=cells.n_rows,
        weighted=weighted,
    )


def _absorbed_fit(
    cells: Cells,
    sums: dict[str, np.ndarray],
    regressors: Sequence[str],
    unit: str,
    time: str,
    cluster_codes: np.ndarray,
    family: str,
) -> CellFit:
    """Gaussian fit with unit and time effects absorbed (Frisch-Waugh-Lovell on cells)."""
    if family != "gaussian":
        raise DesignError(
            f"absorbing fixed effects by demeaning is exact for linear models only; with "
            f"family={family!r} pass absorb=False (dummy columns), which needs fewer than about "
            f"{MAX_DUMMY_LEVELS:,} units and periods."
        )
    weight = sums["sum_w"]
    groups = [cells.codes[c] for c in (unit, time)]
    x = cells.keys[list(regressors)].to_numpy(dtype=np.float64)
    y_bar = sums["sum_wy"] / weight
    demeaned = demean(np.column_stack([y_bar, x]), weight, groups)
    y_tilde, x_tilde = demeaned[:, 0], demeaned[:, 1:]
    names = tuple(regressors)
    _check_rank(x_tilde, weight, names, len(names), fixed_effects=False)
    info = x_tilde.T @ (weight[:, None] * x_tilde)
    bread = np.linalg.inv(info)
    beta = bread @ (x_tilde.T @ (weight * y_tilde))
    resid = y_tilde - x_tilde @ beta
    eta = y_bar - resid
    absorbed = sum(int(g.max()) for g in groups) + 1
    k_total = len(beta) + absorbed
    rss = float(np.sum(sums["sum_wy2"] - 2 * eta * sums["sum_wy"] + eta**2 * weight))
    return CellFit(
        family=family,
        names=names,
        z=x_tilde,
        beta=beta,
        d=weight,
        r=weight * resid,
        cluster=cluster_codes,
        bread=bread,
        n_obs=cells.n_rows,
        scale=rss / (cells.n_rows - k_total),
        iterations=1,
        sums=sums,
        eta=eta,
        absorbed=absorbed,
    )


def did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    covariates: Sequence[str] = (),
    weights: str | None = None,
    exposure: str | None = None,
    family: Family = "gaussian",
    inference: Inference | None = None,
    allow_switching_off: bool = False,
    conf_level: float = 0.95,
    collapse_rows: bool = True,
    absorb: bool | None = None,
) -> DidResult:
    """Difference-in-differences by two-way fixed-effects regression.

    Fits ``g(E[y]) = treated * b + covariates * c + unit effect + time effect`` on rows collapsed
    to cells (identical estimates and variances, far less work), with cluster-robust inference
    by default (CR2 with Satterthwaite degrees of freedom, clustered by ``unit``), which is what
    a handful of treated councils needs.

    Parameters
    ----------
    data : pandas.DataFrame, DuckDB relation, Parquet/CSV path or PySpark DataFrame
        LA-year rows or child-level rows (several per unit and period). Not modified. Rows
        held by DuckDB or Spark (or :func:`sfpc_eval.engines.source`) are collapsed into cells
        where they live, with the same checks and the same numbers.
    outcome : str
        Outcome column: a rate or mean (gaussian), a count (poisson) or 0/1 (binomial).
    unit, time : str
        Columns for the unit (e.g. LA) and period fixed effects.
    treated : str
        0/1 column: 1 where the unit is under the programme in that period.
    covariates : sequence of str, default ()
        Numeric covariates that vary within units.
    weights : str, optional
        Analytic or frequency weights (e.g. child population).
    exposure : str, optional
        Poisson only: exposure (e.g. population); ``log(exposure)`` is the offset.
    family : {"gaussian", "poisson", "binomial"}, default "gaussian"
        ``poisson``: quasi-likelihood for counts and rates, effect also as ``exp(b) - 1``.
        ``binomial``: logit, effect also as an odds ratio and an average marginal effect.
    inference : Classical, ClusterRobust, WildClusterBootstrap or Randomization, optional
        Default ``ClusterRobust(unit, kind="CR2")`` (Satterthwaite df). With
        ``WildClusterBootstrap`` (linear models) or ``Randomization`` (permuting adoption dates
        across units; clusters must be units) the treatment term's p-value and interval come
        from that test, and the standard error shown is CR1 or CR2 respectively. With very few
        councils, ``WildClusterBootstrap(bootcluster=(unit, time))`` (one weight per
        council-period) and ``Randomization(ties="randomized")`` keep their nominal level
        where the per-council bootstrap and the conservative permutation p-value do not.
    allow_switching_off : bool, default False
        Allow units whose treatment goes from 1 back to 0.
    conf_level : float, default 0.95
        Confidence level.
    collapse_rows : bool, default True
        Fit on cells of identical rows (exact, and much faster). ``False`` fits row by row,
        which gives the same numbers; it exists to show that.
    absorb : bool, optional
        Absorb the unit and time effects by demeaning instead of dummy columns (Gaussian only;
        CR0/CR1, HC and classical variances, which are exact under demeaning). Default: absorb
        when there are more than 1,000 unit and period levels.

    Returns
    -------
    DidResult

    Raises
    ------
    MissingColumnError, InvalidValueError, DesignError
        See the message: it names the column, the offending rows or units, and the fix.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval as se
    >>> rng = np.random.default_rng(1)
    >>> panel = pd.DataFrame(
    ...     [(la, year) for la in range(8) for year in range(2012, 2020)], columns=["la", "year"]
    ... )
    >>> panel["treated"] = ((panel["la"] < 3) & (panel["year"] >= 2016)).astype(int)
    >>> panel["rate"] = 60 + panel["la"] - 5 * panel["treated"] + rng.normal(0, 1, len(panel))
    >>> res = se.did(panel, outcome="rate", unit="la", time="year", treated="treated")
    >>> round(res.estimate.estimate)
    -5
    """
    level = check_conf_level(conf_level)
    inference = ClusterRobust(unit) if inference is None else inference
    cluster = getattr(inference, "cluster", None) or unit
    if exposure is not None and family != "poisson":
        raise InvalidValueError(
            f"`exposure` is for family='poisson' (an offset); got family={family!r}."
        )
    covariates = tuple(covariates)
    columns = dict(
        outcome=outcome,
        unit=unit,
        time=time,
        treated=treated,
        covariates=covariates,
        weights=weights,
        exposure=exposure,
        cluster=cluster,
        family=family,
    )
    remote = None
    if not isinstance(data, pd.DataFrame):
        # DuckDB relation, Parquet/CSV path or Spark DataFrame: collapse where the rows live
        from sfpc_eval.engines import did_input

        data, remote = did_input(data, **columns, collapse_rows=collapse_rows)
    if remote is None:
        clean = _check_inputs(data, **columns, allow_switching_off=allow_switching_off)
    else:
        clean = data  # the probe: each cell's keys with its smallest and largest outcome
    _, by = did_columns(outcome, unit, time, treated, covariates, weights, exposure, cluster)
    if not collapse_rows:
        clean["__row__"] = np.arange(len(clean))
        by.append("__row__")
    factors = {c: factorize_sorted(clean[c]) for c in dict.fromkeys([cluster, unit, time, treated])}
    _check_design(clean, factors, outcome, unit, time, treated, cluster, allow_switching_off)
    _warn_single_treated_cluster(clean, factors, cluster, treated, inference)
    if remote is None:
        remote = collapse(
            clean, outcome=outcome, by=by, weights=weights, exposure=exposure, factors=factors
        )
    cells = remote
    regressors = [treated, *covariates]
    fit = fit_on_cells(
        cells, factors, regressors, unit, time, cluster, family, absorb, weights is not None
    )
    var = variance(fit, _analytic(inference), df_for=[fit.index(r) for r in regressors])
    resampled = _resample(fit, cells, inference, unit, time, treated, level)
    terms = _terms(fit, cells, var, regressors, treated, level, resampled)
    return DidResult(
        family=family,
        outcome=outcome,
        unit=unit,
        time=time,
        treated=treated,
        covariates=covariates,
        inference=inference,
        conf_level=level,
        n_obs=cells.n_rows,
        n_cells=len(cells),
        n_units=len(factors[unit][1]),
        n_periods=len(factors[time][1]),
        n_clusters=fit.n_clusters,
        terms=terms,
        _fit=fit,
        _cells=cells,
        _var=var,
    )
