"""Callaway & Sant'Anna (2021) difference-in-differences with staggered adoption.

:func:`callaway_santanna` estimates a group-time average treatment effect ATT(g, t) for every
cohort ``g`` (units first treated in period ``g``) and period ``t``, each from a clean 2x2
comparison with never-treated (or not-yet-treated) units, so that effects that differ across
cohorts or grow over time do not contaminate each other as they do in a two-way fixed effects
regression. :meth:`CallawayResult.aggregate` then summarises them (overall, by cohort, by
calendar period, by event time) from the stored influence functions, without re-estimating.

The numbers equal R's ``did`` package (through its Python port ``csdid``) and the
``differences`` package; see ``docs/staggered_cs.rst`` and ``tests/test_callaway.py``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from sfpc_eval._blas import limited_blas
from sfpc_eval._validate import check_conf_level, check_seed
from sfpc_eval.diff_in_diff.cohorts import validate_cohorts
from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.panel import require_columns
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.staggered.callaway_aggregate import (
    AGGREGATIONS,
    AggregationKind,
    aggregate_group_time,
)
from sfpc_eval.staggered.callaway_checks import (
    BAND_DRAWS,
    _cell_cohorts,
    _check_bootstrap,
    _check_choice,
    _cluster_codes,
    cohort_clusters,
    contributing_cohorts,
)
from sfpc_eval.staggered.callaway_gt import GroupTime, group_time_effects
from sfpc_eval.staggered.callaway_inference import (
    draw_multipliers,
)
from sfpc_eval.staggered.callaway_rc import group_time_effects_unbalanced
from sfpc_eval.staggered.callaway_result import (
    CONTROL_NAMES,
    ESTIMATION_NAMES,
    CallawayAggregate,
    CallawayInference,
    build_aggregate,
    callaway_terms,
    format_period,
    uniform_columns,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CallawayAggregate", "CallawayResult", "callaway_santanna"]

Estimation = Literal["dr", "ipw", "reg"]


@dataclass(frozen=True, eq=False)
class CallawayResult(ResultMixin):
    """Result of :func:`callaway_santanna`: ATT(g, t) for every cohort and period.

    Attributes
    ----------
    outcome, unit, time, cohort : str
        Column names used.
    covariates : tuple of str
        Covariates (their values in the earlier period of each 2x2 comparison).
    estimation : {"dr", "ipw", "reg"}
        The 2x2 estimator.
    control : {"never", "not_yet"}
        The comparison group.
    base_period : {"varying", "universal"}
        The base period rule.
    anticipation : int
        Anticipation periods.
    conf_level : float
        Confidence level.
    bootstrap : int or None
        Multiplier bootstrap draws (None: analytic standard errors).
    n_units, n_periods, n_clusters, n_never_treated : int
        Size of the problem.
    n_missing_unit_periods : int
        Unit-periods absent (``allow_unbalanced=True``; 0 for a balanced panel).
    cohort_sizes : dict
        Units per cohort.
    group_time : GroupTime
        Cohort, period, base period, estimate and influence function of each cell.
    terms : tuple of Term
        One per cell, named ``"ATT(g, t)"``.
    crit_uniform : float or None
        Critical value of the uniform band over all cells (bootstrap only).
    """

    outcome: str
    unit: str
    time: str
    cohort: str
    covariates: tuple[str, ...]
    estimation: str
    control: str
    base_period: str
    anticipation: int
    conf_level: float
    bootstrap: int | None
    n_units: int
    n_periods: int
    n_clusters: int
    n_never_treated: int
    n_missing_unit_periods: int
    cohort_sizes: dict[float, int]
    group_time: GroupTime = field(repr=False)
    unit_cohort: np.ndarray = field(repr=False)
    unit_weight: np.ndarray = field(repr=False)
    periods: np.ndarray = field(repr=False)
    inference: CallawayInference = field(repr=False)
    crit_uniform: float | None
    terms: tuple[Term, ...] = field(repr=False)
    title: str = "Callaway & Sant'Anna group-time effects"

    @property
    def att(self) -> Term:
        """Average effect on the treated: the ``"simple"`` aggregation, as a term ``"att"``.

        The cohort-size-weighted mean of all post-treatment ATT(g, t) (the same reading as
        ``att`` of the other staggered estimators). The ATT(g, t) themselves are in
        ``group_time.att`` and ``tidy()``.
        """
        return replace(self.aggregate("simple").term("overall"), term="att")

    @property
    def influence(self) -> np.ndarray:
        """Per-unit influence functions (``n_units x n_cells``)."""
        return self.group_time.influence

    def tidy(self) -> pd.DataFrame:
        """One row per ATT(g, t) with design columns.

        Columns: :data:`~sfpc_eval.results.TIDY_COLUMNS`, ``conf_level``, ``cohort``,
        ``time``, ``base_time``, ``event_time`` (``time - cohort``), ``post``
        (``time >= cohort``), ``n_treated``, ``n_control``, and with bootstrap
        ``conf_low_uniform``, ``conf_high_uniform`` and ``crit_uniform``.
        """
        frame = super().tidy()
        gt = self.group_time
        frame["cohort"] = gt.group
        frame["time"] = gt.time
        frame["base_time"] = gt.base
        frame["event_time"] = gt.time - gt.group
        frame["post"] = gt.time >= gt.group
        frame["n_treated"] = gt.n_treated
        frame["n_control"] = gt.n_control
        return uniform_columns(frame, self.crit_uniform)

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="callaway_santanna",
            family="gaussian",
            n_treated=int(sum(self.cohort_sizes.values())),
            inference=(
                "influence_function"
                if self.inference.multipliers is None
                else "multiplier_bootstrap"
            ),
            inference_df=math.inf,
        )
        return facts

    def _refit(self, conf_level: float) -> CallawayResult:
        level = check_conf_level(conf_level)
        terms, crit = callaway_terms(
            [t.term for t in self.terms],
            self.group_time.att,
            self.group_time.influence,
            self.inference,
            level,
            fixed=self.group_time.reference,
            cohorts=_cell_cohorts(self.group_time),
        )
        return replace(self, conf_level=level, terms=terms, crit_uniform=crit)

    def with_bootstrap(
        self, draws: int | None, rng: int | np.random.Generator | None = None
    ) -> CallawayResult:
        """Return the same estimates with other inference, without re-estimating.

        Parameters
        ----------
        draws : int or None
            Multiplier-bootstrap draws, or None for analytic standard errors.
        rng : int or numpy.random.Generator, optional
            Seed for the draws.

        Returns
        -------
        CallawayResult

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> g = np.repeat([3.0, 3, 4, 4, np.nan, np.nan], 5)
        >>> t = np.tile(np.arange(1.0, 6), 6)
        >>> y = t + np.where(t >= g, 1.0, 0) + np.sin(np.arange(30))
        >>> df = pd.DataFrame({"u": np.repeat(np.arange(6), 5), "t": t, "y": y, "g": g})
        >>> res = callaway_santanna(df, "y", "u", "t", "g").with_bootstrap(199, rng=1)
        >>> res.bootstrap, res.crit_uniform > 1.96
        (199, True)
        """
        draws = _check_bootstrap(draws)
        check_seed(rng)
        multipliers = None
        if draws is not None:
            generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
            multipliers = draw_multipliers(draws, self.n_clusters, generator)
        inference = replace(self.inference, multipliers=multipliers)
        terms, crit = callaway_terms(
            [t.term for t in self.terms],
            self.group_time.att,
            self.group_time.influence,
            inference,
            self.conf_level,
            fixed=self.group_time.reference,
            cohorts=_cell_cohorts(self.group_time),
        )
        return replace(self, bootstrap=draws, inference=inference, terms=terms, crit_uniform=crit)

    def facts(self) -> list[tuple[str, str]]:
        """Input and method lines shown above the summary table."""
        sizes = ", ".join(f"{format_period(g)}: {s}" for g, s in self.cohort_sizes.items())
        cov = ", ".join(self.covariates) if self.covariates else "none"
        return [
            ("Outcome", self.outcome),
            ("Estimator", ESTIMATION_NAMES[self.estimation]),
            ("Comparison units", CONTROL_NAMES[self.control]),
            ("Base period", self.base_period),
            ("Anticipation periods", str(self.anticipation)),
            ("Covariates", cov),
            ("Units (never treated)", f"{self.n_units} ({self.n_never_treated})"),
            ("Cohorts (units)", sizes),
            ("Periods", str(self.n_periods)),
            (
                "Panel",
                "balanced"
                if self.n_missing_unit_periods == 0
                else f"unbalanced, {self.n_missing_unit_periods} unit-periods missing "
                "(repeated cross-section 2x2 estimators)",
            ),
            ("Inference", self.inference.describe()),
        ]

    def aggregate(
        self,
        kind: AggregationKind = "dynamic",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        balance_e: int | None = None,
        conf_level: float | None = None,
    ) -> CallawayAggregate:
        """Summarise the group-time effects (from the influence functions, no re-estimation).

        Parameters
        ----------
        kind : {"dynamic", "simple", "group", "calendar"}, default "dynamic"
            ``"simple"``: cohort-size-weighted mean of all post-treatment ATT(g, t);
            ``"group"``: effect of each cohort (mean over its post-treatment periods) and
            their cohort-size-weighted mean; ``"calendar"``: effect in each period (over
            cohorts already treated) and their mean; ``"dynamic"``: effect ``e`` periods
            after adoption (event study) and the mean over ``e >= 0``.
        min_e, max_e : float, optional
            Event-time window (not for ``"calendar"``).
        balance_e : int, optional
            ``"dynamic"`` only: keep cohorts observed at every event time 0..``balance_e``.
        conf_level : float, optional
            Defaults to the result's.

        Returns
        -------
        CallawayAggregate

        Raises
        ------
        InvalidValueError
            Unknown ``kind``, or a window argument that does not apply or is malformed.
        DesignError
            The window leaves nothing to aggregate.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> g = np.repeat([3.0, 3, 4, 4, np.nan, np.nan], 5)
        >>> t = np.tile(np.arange(1.0, 6), 6)
        >>> y = t + np.where(t >= g, t - g + 1, 0) + np.cos(np.arange(30)) / 100
        >>> df = pd.DataFrame({"u": np.repeat(np.arange(6), 5), "t": t, "y": y, "g": g})
        >>> res = callaway_santanna(df, "y", "u", "t", "g")
        >>> res.aggregate("dynamic", min_e=0).estimates.round(1).tolist()
        [1.0, 2.0, 3.0]
        """
        if kind not in AGGREGATIONS:
            raise InvalidValueError(
                f"`kind` must be one of {', '.join(map(repr, AGGREGATIONS))}; got {kind!r}."
            )
        level = self.conf_level if conf_level is None else check_conf_level(conf_level)
        gt = self.group_time
        agg = aggregate_group_time(
            kind,
            group=gt.group,
            time=gt.time,
            att=gt.att,
            influence=gt.influence,
            unit_cohort=self.unit_cohort,
            unit_weight=self.unit_weight,
            periods=self.periods,
            min_e=min_e,
            max_e=max_e,
            balance_e=balance_e,
        )
        source = (
            f"{ESTIMATION_NAMES[self.estimation]} ATT(g, t), {CONTROL_NAMES[self.control]} "
            f"comparison units, {self.n_units} units"
        )
        aggregate = build_aggregate(
            kind,
            agg.index,
            agg.estimates,
            agg.influence,
            agg.overall,
            agg.overall_influence,
            self.inference,
            level,
            min_e,
            max_e,
            balance_e,
            source,
            contributing_cohorts(kind, agg.index, gt.group, gt.time),
        )
        return replace(aggregate, origin=self._glance())

    def plot(self, ax: Axes | None = None, **style: Any) -> Axes:
        """Event-study plot: the dynamic aggregation with pointwise (and uniform) bands.

        ``style``: ``labels``, ``title`` (the main message) and ``source`` (the source line).
        """
        return self.aggregate("dynamic").plot(ax=ax, **style)

    def pretrends(
        self,
        placebo_shift: int | None = None,
        *,
        data: pd.DataFrame | None = None,
        conf_level: float | None = None,
        min_e: float = -math.inf,
    ):
        """Pre-period diagnostics: pre-adoption estimates, joint test, placebo in time.

        The leads are the dynamic aggregation's pre-adoption estimates from event time
        ``min_e`` on; their joint test leaves out those resting on one treated cluster; the
        placebo needs ``data`` (the data the result was fitted on).

        See :func:`sfpc_eval.diff_in_diff.pretrends.pretrends` and
        :func:`~sfpc_eval.staggered.callaway_checks.callaway_pretrends`.
        """
        from sfpc_eval.staggered.callaway_checks import callaway_pretrends

        return callaway_pretrends(self, placebo_shift, data, conf_level, min_e)


@limited_blas
def callaway_santanna(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    covariates: Sequence[str] | None = None,
    control: Literal["never", "not_yet"] = "never",
    estimation: Estimation = "dr",
    anticipation: int = 0,
    base_period: Literal["varying", "universal"] = "varying",
    weights: str | None = None,
    cluster: str | None = None,
    conf_level: float = 0.95,
    allow_unbalanced: bool = False,
    bootstrap: int | None = None,
    rng: int | np.random.Generator | None = None,
    uniform_band: bool = True,
    progress: bool = False,
) -> CallawayResult:
    """Callaway & Sant'Anna (2021) group-time effects for staggered adoption.

    Parameters
    ----------
    data : pandas.DataFrame
        A panel, one row per unit and period (balanced unless ``allow_unbalanced=True``).
        Not modified.
    outcome, unit, time : str
        Outcome, unit id and (numeric) period columns.
    cohort : str
        First treated period of each unit (constant within unit); missing = never treated.
        R's ``did`` codes never treated as 0: recode those to NaN (0 is refused unless it is a
        period of the panel).
    covariates : sequence of str, optional
        Covariates for the propensity score and the outcome regression. Each 2x2 comparison
        uses their values in its earlier period (the base period for post-treatment cells),
        as R ``did`` does.
    control : {"never", "not_yet"}, default "never"
        Comparison units: never treated, or never and not yet treated (at
        ``max(t, base) + anticipation``).
    estimation : {"dr", "ipw", "reg"}, default "dr"
        2x2 estimator: doubly robust (``DRDID::drdid_panel``), normalised inverse probability
        weighting, or outcome regression.
    anticipation : int, default 0
        Periods (in units of ``time``) before ``cohort`` in which units may already respond.
    base_period : {"varying", "universal"}, default "varying"
        ``"varying"``: pre-treatment cells compare consecutive periods; ``"universal"``: every
        cell compares with the period before treatment (anticipation).
    weights : str, optional
        Unit sampling weights (constant within unit).
    cluster : str, optional
        Cluster column containing whole units (e.g. region); default: the unit.
    conf_level : float, default 0.95
        Confidence level.
    allow_unbalanced : bool, default False
        Accept units missing in some periods. Each 2x2 comparison then uses every row
        observed in its two periods, with the repeated cross-section estimators (as R
        ``did`` with ``allow_unbalanced_panel = TRUE``); covariates are each row's own.
        Without it, an unbalanced panel is an error that counts the missing unit-periods.
    bootstrap : int, optional
        Multiplier-bootstrap draws (Rademacher, clustered). Gives bootstrap standard errors
        and uniform (sup-t) bands; None gives analytic standard errors.
    rng : int or numpy.random.Generator, optional
        Seed for the bootstrap (and for the uniform band's draws; seed 0 when omitted, so the
        band is reproducible).
    uniform_band : bool, default True
        Add uniform (simultaneous, sup-t) bands to every aggregation and to the ATT(g, t), as
        R ``did`` draws them by default: with ``bootstrap`` from its draws, otherwise from
        1,000 multiplier draws applied to the analytic standard errors
        (``conf_low_uniform``/``conf_high_uniform`` in ``tidy()``, a column of ``summary()``,
        a shaded band in ``plot()``).
    progress : bool, default False
        Show a progress bar over the group-time cells.

    Returns
    -------
    CallawayResult

    Raises
    ------
    MissingColumnError, InvalidValueError, DuplicateObservationError, DesignError
        Bad input; see :func:`~sfpc_eval.diff_in_diff.cohorts.validate_cohorts` for the panel
        checks (cohorts outside the panel, units treated in the first period, no
        never-treated units, anticipation too long, unbalanced panel...).

    Warns
    -----
    SingleUnitCohortWarning
        A cohort has a single unit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval.staggered.callaway as cs
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat([3.0, 3, 4, 4, np.nan, np.nan, np.nan, np.nan], 5)
    >>> t = np.tile(np.arange(1.0, 6), 8)
    >>> y = 0.5 * t + np.where(t >= g, 2.0, 0) + rng.normal(0, 0.1, 40)
    >>> df = pd.DataFrame({"la": np.repeat(np.arange(8), 5), "year": t, "y": y, "g": g})
    >>> res = cs.callaway_santanna(df, "y", "la", "year", "g")
    >>> round(res.aggregate("simple").overall, 1)
    2.0
    """
    _check_choice(estimation, "estimation", tuple(ESTIMATION_NAMES))
    _check_choice(base_period, "base_period", ("varying", "universal"))
    draws = _check_bootstrap(bootstrap)
    check_seed(rng)
    level = check_conf_level(conf_level)
    require_columns(data, {"cluster": cluster})
    panel = validate_cohorts(
        data,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=covariates,
        weights=weights,
        allow_unbalanced=allow_unbalanced,
        anticipation=anticipation,
        control=control,
    )
    if panel.n_periods < 2:
        raise DesignError(f"The panel has {panel.n_periods} period; ATT(g, t) needs at least 2.")
    codes, n_clusters, cluster_name = _cluster_codes(panel.data, unit, cluster, panel.units)
    if n_clusters < 2:
        raise DesignError(
            f"`cluster` column {cluster!r} has a single cluster; standard errors need at least 2."
        )
    if panel.balanced:
        gt = group_time_effects(
            panel, estimation=estimation, base_period=base_period, progress=progress
        )
    else:
        gt = group_time_effects_unbalanced(
            panel, estimation=estimation, base_period=base_period, progress=progress
        )
    bad = ~np.isfinite(gt.att) | ~np.all(np.isfinite(gt.influence), axis=0)
    if bad.any():  # e.g. a cohort whose units all have weight 0; never return NaN
        shown = [f"({g:g}, {t:g})" for g, t in zip(gt.group[bad], gt.time[bad], strict=True)]
        raise DesignError(
            f"ATT(g, t) cannot be computed for cells {show_values(shown)}: a cohort or its "
            "comparison units have zero total weight there. Check `weights`."
        )
    multipliers = None
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if draws is not None:
        multipliers = draw_multipliers(draws, n_clusters, generator)
    band = None
    if uniform_band:
        seed = rng if isinstance(rng, numbers.Integral) else 0
        if isinstance(rng, np.random.Generator):
            seed = int(generator.integers(2**31))
        band = (BAND_DRAWS, int(seed))
    inference = CallawayInference(
        codes,
        n_clusters,
        cluster_name,
        multipliers,
        band=band,
        cohort_clusters=cohort_clusters(panel.unit_cohort, codes),
    )
    names = [
        f"ATT({format_period(g)}, {format_period(t)})"
        for g, t in zip(gt.group, gt.time, strict=True)
    ]
    terms, crit = callaway_terms(
        names,
        gt.att,
        gt.influence,
        inference,
        level,
        fixed=gt.reference,
        cohorts=_cell_cohorts(gt),
    )
    if weights is not None:
        # rows are sorted by unit: the first row of each unit carries its (constant) weight
        _, first_rows = np.unique(panel.data[unit].to_numpy(), return_index=True)
        unit_weight = panel.data[weights].to_numpy(dtype=float)[first_rows]
    else:
        unit_weight = np.ones(panel.n_units)
    return CallawayResult(
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=panel.covariates,
        estimation=estimation,
        control=control,
        base_period=base_period,
        anticipation=panel.anticipation,
        conf_level=level,
        bootstrap=draws,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_clusters=n_clusters,
        n_never_treated=panel.n_never_treated,
        n_missing_unit_periods=panel.n_missing_unit_periods,
        cohort_sizes=panel.cohort_sizes,
        group_time=gt,
        unit_cohort=panel.unit_cohort,
        unit_weight=unit_weight,
        periods=panel.periods,
        inference=inference,
        crit_uniform=crit,
        terms=terms,
    )
