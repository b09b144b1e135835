"""The result of :func:`~sfpc_eval.diff_in_diff.twfe.did`: terms, readings, resampled tests."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from sfpc_eval._terms import wald_term
from sfpc_eval._trends import group_lines
from sfpc_eval.cells.collapse import Cells
from sfpc_eval.cells.fit import CellFit, fit_cells
from sfpc_eval.diff_in_diff.twfe_checks import MAX_DUMMY_LEVELS
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    UndefinedIntervalWarning,
    show_values,
)
from sfpc_eval.inference.cluster import (
    Classical,
    ClusterRobust,
    HeteroskedasticityRobust,
    VarianceResult,
    contrast_df,
    contrast_standard_error,
    standard_errors,
    variance,
)
from sfpc_eval.inference.randomization import Randomization, randomization_test
from sfpc_eval.inference.validity import inference_validity
from sfpc_eval.inference.wild import WildClusterBootstrap, wild_cluster_bootstrap
from sfpc_eval.labels import label
from sfpc_eval.results import ResultMixin, Term

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
        ``average_marginal_effect`` (risk difference, delta method). The effect rows are
        marked ``valid=False`` (with a note) when their inference is not valid for the design,
        e.g. cluster-robust standard errors with one treated cluster
        (:func:`sfpc_eval.inference.validity.inference_validity`).
    n_treated_clusters : int
        Clusters with at least one treated observation.
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
    n_treated_clusters: int = 0

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        family = label(self.family, lower=True)
        return f"Difference-in-differences ({family}): {label(self.outcome)}"

    def pretrends(
        self,
        placebo_shift: int | None = None,
        *,
        data: pd.DataFrame | None = None,
        conf_level: float | None = None,
    ):
        """Pre-period diagnostics: leads, their joint test and a placebo-in-time estimate.

        The leads come from the event study of the same panel under the same inference; see
        :func:`sfpc_eval.diff_in_diff.pretrends.pretrends`. ``data`` is not needed (the
        result keeps its cells).
        """
        from sfpc_eval.diff_in_diff.pretrends_did import did_pretrends

        return did_pretrends(self, placebo_shift, conf_level)

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
        se = contrast_standard_error(c, self._var.vcov)
        df = contrast_df(self._fit, analytic_variance(self.inference), c)
        term = wald_term(name, estimate, se, self.conf_level, self._var.label, df=df)
        if weights.get("treated", 0):
            valid, why = inference_validity(
                analytic_variance(self.inference),
                n_clusters=self.n_clusters,
                n_treated_clusters=self.n_treated_clusters,
            )
            if not valid:
                term = replace(term, valid=False, note=why)
        return term

    def trends(self) -> pd.DataFrame:
        """Return the treated and comparison lines: per period, the mean of the units' values.

        A unit's value in a period is its (model-weighted) mean outcome there, or for a rate its
        summed count over its summed exposure; each group's line averages its units' values,
        **each unit counting once** (the one definition of :mod:`sfpc_eval._trends`, used by
        every treated-vs-comparison chart). With one start date, a balanced panel and no
        weights, the linear estimate is the change in the treated line minus the change in the
        comparison line. ``treated`` are the ever-treated units.

        Columns: ``time``, ``group`` ("treated" or "comparison"), ``mean``, ``units``, ``rows``.
        """
        keys, sums = self._cells.keys, self._cells.sums
        ever = keys.groupby(self.unit, observed=True)[self.treated].transform("max")
        frame = pd.DataFrame(
            {
                "unit": keys[self.unit].to_numpy(),
                "time": keys[self.time].to_numpy(),
                "group": np.where(ever.to_numpy() == 1, "treated", "comparison"),
                "num": sums["sum_wy"].to_numpy(),
                "den": (sums["sum_we"] if self.family == "poisson" else sums["sum_w"]).to_numpy(),
            }
        )
        out = group_lines(
            frame, unit="unit", time="time", group="group", numerator="num", denominator="den"
        )
        rows = frame.assign(n=sums["n"].to_numpy()).groupby(["time", "group"])["n"].sum()
        out["rows"] = rows.loc[list(zip(out["time"], out["group"], strict=True))].to_numpy()
        return out

    def first_treated_period(self) -> object:
        """Return the earliest period in which any unit is treated."""
        keys = self._cells.keys
        return keys.loc[keys[self.treated] == 1, self.time].min()

    def plot(self, ax=None, **style):  # type: ignore[override]
        """Treated and comparison lines over time (:meth:`trends`), the first treated period marked.

        ``style``: ``labels`` (words for ``"treated"``, ``"comparison"``, the outcome or the
        time column), ``title`` (the main message), ``source`` (the source line), ``shade``
        (periods to shade, e.g. ``sfpc_eval.plotting.over_time.LOCKDOWNS``).
        """
        from sfpc_eval.plotting import plot_trends

        return plot_trends(
            self.trends(),
            outcome=self.outcome,
            time=self.time,
            start=self.first_treated_period(),
            percent=self.family == "binomial",  # shares are drawn as percentages
            ax=ax,
            **style,
        )

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [
            (
                "outcome",
                f"{label(self.outcome)} ({self.outcome}; {label(self.family, lower=True)})",
            ),
            (
                "fixed effects",
                f"{label(self.unit)} ({self.n_units}), {label(self.time, lower=True)} "
                f"({self.n_periods})",
            ),
            ("rows / cells", f"{self.n_obs:,} / {self.n_cells:,}"),
            ("inference", f"{self.inference.describe()}; {self.n_clusters} clusters"),
            ("standard errors", self._var.description),
        ]

    def term_labels(self) -> dict[str, str]:
        """Name the treatment coefficient by the model's scale."""
        scale = {"gaussian": "Difference-in-differences", "poisson": "Log rate ratio"}
        return {"treated": scale.get(self.family, "Log odds ratio")}

    def _headline_name(self) -> str:
        return "treated"

    def r_squared(self) -> float:
        """Share of the outcome's weighted variance the linear model explains (NaN otherwise).

        ``1 - RSS / TSS`` with fixed effects counted as regressors (as ``summary(lm(...))``'s
        multiple R-squared).
        """
        if self.family != "gaussian":
            return math.nan
        sums = self._fit.sums
        eta = self._fit.eta
        rss = float(np.sum(sums["sum_wy2"] - 2 * eta * sums["sum_wy"] + eta**2 * sums["sum_w"]))
        w, wy, wy2 = (float(np.sum(sums[k])) for k in ("sum_w", "sum_wy", "sum_wy2"))
        tss = wy2 - wy * wy / w
        return 1 - rss / tss if tss > 0 else math.nan

    def _glance(self) -> dict[str, object]:
        from sfpc_eval.results import inference_code

        keys = self._cells.keys
        treated_units = keys.loc[keys[self.treated] == 1, self.unit].nunique()
        facts = super()._glance()
        facts.update(
            estimator="did",
            fixed_effects=f"{self.unit}, {self.time}",
            inference=inference_code(self.inference),
            n_treated=int(treated_units),
            r_squared=self.r_squared(),
        )
        return facts

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
        var = variance(self._fit, analytic_variance(inference), df_for=reported)
        return _result(self, inference=inference, var=var, conf_level=self.conf_level)

    def _refit(self, conf_level: float) -> DidResult:
        return _result(self, inference=self.inference, var=self._var, conf_level=conf_level)


def did_terms(
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
    degenerate = _degenerate_variances(fit, var, [fit.index(n) for n in names])
    terms = []
    std_errors = standard_errors(var.vcov)
    for name in names:
        j = fit.index(name)
        se = math.nan if j in degenerate else std_errors[j]
        term = wald_term(name, fit.beta[j], se, level, method, df=var.df[j])
        terms.append(term if name != treated else _rename(term, "treated"))
    j = fit.index(treated)
    se, df = (math.nan if j in degenerate else std_errors[j]), var.df[j]
    if fit.family == "poisson":
        ratio = wald_term("rate_ratio", fit.beta[j], se, level, method, df=df, exponentiate=True)
        terms += [ratio, ratio.as_percent_change()]
    elif fit.family == "binomial":
        terms.append(
            wald_term("odds_ratio", fit.beta[j], se, level, method, df=df, exponentiate=True)
        )
        terms.append(_average_marginal_effect(fit, cells, var, j, level, method, df))
    if degenerate:
        terms = _mark_degenerate(terms, fit, names, treated, degenerate, var)
    if resampled is None:
        return tuple(terms)
    p_value, low, high, label = resampled
    unbounded = "interval unbounded: too few assignments or draws to reject any value at this level"
    if math.isinf(low) or math.isinf(high):
        tail = "; report the p-value, or use more draws or a method with more possible assignments"
        warnings.warn(f"{label} for {treated!r}: {unbounded}{tail}.", UndefinedIntervalWarning, 4)
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
                note = unbounded
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


DEGENERATE_SHARE = 1e-10
"""A robust variance below this share of the model-based one is rounding error, not a variance."""


def _degenerate_variances(fit: CellFit, var: VarianceResult, indices: Sequence[int]) -> set[int]:
    """Coefficients whose variance is numerically zero, negative or not finite.

    With one treated cluster out of two, say, the cluster-robust variance of the treatment
    coefficient is zero up to rounding (the treated cluster's residuals are absorbed by its own
    effects), which would print a standard error of 1e-9 and a p-value of 1e-9. A model that
    fits exactly (zero residuals, zero model-based variance too) is not flagged.
    """
    reference = variance(fit, Classical()).vcov
    return {
        j
        for j in indices
        if not math.isfinite(var.vcov[j, j])
        or (reference[j, j] > 0 and var.vcov[j, j] <= DEGENERATE_SHARE * reference[j, j])
    }


def _mark_degenerate(
    terms: list[Term],
    fit: CellFit,
    names: Sequence[str],
    treated: str,
    degenerate: set[int],
    var: VarianceResult,
) -> list[Term]:
    labels = {fit.index(n): ("treated" if n == treated else n) for n in names}
    hit = {labels[j] for j in degenerate}
    if fit.index(treated) in degenerate:
        hit |= {"rate_ratio", "percent_change", "odds_ratio", "average_marginal_effect"}
    note = (
        f"no {var.label} standard error: the variance is zero up to rounding (too few clusters, "
        "or one treated cluster whose residuals its own effects absorb); use Randomization() "
        "or a single-council design"
    )
    warnings.warn(f"{', '.join(sorted(hit))}: {note}.", UndefinedIntervalWarning, stacklevel=4)
    out = []
    for term in terms:
        if term.term in hit:
            term = replace(
                term,
                std_error=math.nan,
                statistic=math.nan,
                p_value=math.nan,
                conf_low=math.nan,
                conf_high=math.nan,
                note=note,
                valid=False,
            )
        out.append(term)
    return out


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
    se = contrast_standard_error(gradient, var.vcov)
    return wald_term("average_marginal_effect", effect, se, level, f"{method}; delta method", df=df)


def _result(
    base: DidResult, *, inference: Inference, var: VarianceResult, conf_level: float
) -> DidResult:
    names = [base.treated, *base.covariates]
    resampled = resample_test(
        base._fit, base._cells, inference, base.unit, base.time, base.treated, conf_level
    )
    terms = did_terms(base._fit, base._cells, var, names, base.treated, conf_level, resampled)
    terms = mark_validity(terms, inference, base.n_clusters, base.n_treated_clusters)
    return replace(base, inference=inference, _var=var, conf_level=conf_level, terms=terms)


EFFECT_TERMS = ("treated", "rate_ratio", "percent_change", "odds_ratio", "average_marginal_effect")
RESAMPLED_TERMS = ("treated", "rate_ratio", "percent_change", "odds_ratio")


def mark_validity(
    terms: tuple[Term, ...], inference: Inference, n_clusters: int, n_treated_clusters: int
) -> tuple[Term, ...]:
    """Mark the effect rows whose interval or p-value is not valid for the design.

    A row's interval comes from the resampling test (treatment coefficient and its ratio
    readings under the wild bootstrap or randomization) or from the analytic variance (every
    other effect row); each is judged by :func:`~sfpc_eval.inference.validity.inference_validity`.
    """
    resampling = isinstance(inference, WildClusterBootstrap | Randomization)
    out = []
    for term in terms:
        if term.term in EFFECT_TERMS:
            used = inference if resampling and term.term in RESAMPLED_TERMS else None
            used = used or analytic_variance(inference)
            valid, why = inference_validity(
                used, n_clusters=n_clusters, n_treated_clusters=n_treated_clusters
            )
            if not valid:
                note = f"{why}; {term.note}" if term.note else why
                term = replace(term, valid=False, note=note)
        out.append(term)
    return tuple(out)


def analytic_variance(inference: Inference) -> Classical | ClusterRobust | HeteroskedasticityRobust:
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


def resample_test(
    fit: CellFit,
    cells: Cells,
    inference: Inference,
    unit: str,
    time: str,
    treated: str,
    level: float,
) -> tuple[float, float, float, str] | None:
    """Return the bootstrap or permutation test of the treatment coefficient.

    As (p-value, interval low, interval high, method), or None for analytic inference.
    """
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
