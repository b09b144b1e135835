"""Readings shared by event-study results: per-event-time tables and simultaneous bands."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval._validate import check_conf_level, check_resamples, check_seed
from sfpc_eval.diff_in_diff.event_study_fit import JointTest, sup_t_critical
from sfpc_eval.diff_in_diff.honest_inputs import EventTimeEstimates
from sfpc_eval.results import ResultMixin

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "EventStudyBase",
    "EventTermsMixin",
    "event_label",
    "mark_event_validity",
    "pretrend_facts",
]


def event_label(e: int, kind: str = "") -> str:
    """Term name of event time ``e``: ``"e=-2"``, or ``"e<=-5"`` / ``"e>=4"`` for binned ends."""
    return f"e{kind or '='}{e}"


def pretrend_facts(
    pretrend: JointTest | None, *, sample: str = "", statistic: str = "statistic"
) -> list[tuple[str, str]]:
    """Summary line of a joint pre-trend test (none without a test).

    ``sample`` follows "leads = 0" (e.g. ``" on untreated observations"``); ``statistic``
    names the statistic (e.g. ``"F"``).
    """
    if pretrend is None:
        return []
    p = pretrend
    return [
        (
            "pre-trend test",
            f"{len(p.terms)} leads = 0{sample}: {statistic} {p.statistic:.3f}, "
            f"p = {p.p_value:.4f} ({p.method})",
        )
    ]


def mark_event_validity(terms, inference, n_clusters: int, n_treated_clusters: int) -> tuple:
    """Mark every term ``valid=False`` (with the reason) when ``inference`` is not valid."""
    from dataclasses import replace

    from sfpc_eval.inference.validity import inference_validity

    valid, why = inference_validity(
        inference, n_clusters=n_clusters, n_treated_clusters=n_treated_clusters
    )
    if valid:
        return tuple(terms)
    return tuple(replace(t, valid=False, note=f"{why}; {t.note}" if t.note else why) for t in terms)


class EventTermsMixin(ResultMixin):
    """Event-time readings shared by the event-study results.

    Subclasses provide ``event_times``, ``reference`` and ``_event_vcov()`` (the variance matrix
    of the event-time terms, in order); the first ``len(event_times)`` entries of ``terms`` are
    the event-time terms.
    """

    event_times: tuple[int, ...]
    reference: int | None

    def _event_vcov(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def pretrends(
        self,
        placebo_shift: int | None = None,
        *,
        data: pd.DataFrame | None = None,
        conf_level: float | None = None,
    ):
        """Pre-period diagnostics: the leads, their joint test and a placebo in time.

        See :func:`sfpc_eval.diff_in_diff.pretrends.pretrends`; ``data`` (the data the result
        was fitted on) is needed for the placebo of Sun-Abraham and imputation results.
        """
        from sfpc_eval.diff_in_diff.pretrends import event_study_pretrends

        return event_study_pretrends(self, placebo_shift, data, conf_level)

    def event_time_estimates(self) -> EventTimeEstimates:
        """Return the event-time estimates, their covariance and the reference period.

        What :func:`~sfpc_eval.honest_did` reads (see :class:`~sfpc_eval.EventTimeEstimates`).
        """
        k = len(self.event_times)
        terms = self.terms[:k]
        invalid = [t for t in terms if not t.valid]
        return EventTimeEstimates(
            event_times=tuple(int(e) for e in self.event_times),
            estimates=np.array([t.estimate for t in terms]),
            vcov=np.asarray(self._event_vcov(), dtype=float),
            reference=getattr(self, "reference", None),
            source=getattr(self, "title", ""),
            valid=not invalid,
            note=invalid[0].note if invalid else "",
        )

    def event_table(self) -> pd.DataFrame:
        """Return the event-time rows of ``tidy()``, with an ``event_time`` column."""
        frame = self.tidy().iloc[: len(self.event_times)].copy()
        frame.insert(1, "event_time", list(self.event_times))
        return frame.reset_index(drop=True)

    def bands(
        self, level: float | None = None, *, draws: int = 10_000, rng: int | None = 0
    ) -> pd.DataFrame:
        """Pointwise and simultaneous (sup-t) confidence bands for the event-time terms.

        The simultaneous band uses the critical value of ``max_e |t_e|`` when the estimates are
        jointly normal with the estimated variance matrix, found by simulation (``draws``
        draws, seeded by ``rng``, so the band is reproducible); a multivariate t when every
        term has the same finite degrees of freedom (e.g. ``G - 1`` with CR1), so the band
        and the pointwise intervals use the same reference. It covers every event-time effect
        at once with probability ``level`` (asymptotically).

        Parameters
        ----------
        level : float, optional
            Confidence level; the result's ``conf_level`` by default.
        draws : int, default 10000
            Simulation draws for the sup-t critical value.
        rng : int, optional, default 0
            Seed.

        Returns
        -------
        pandas.DataFrame
            ``event_time, estimate, std_error, conf_low, conf_high, band_low, band_high`` and
            ``critical`` (the sup-t critical value, the same on every row).
        """
        level = self.conf_level if level is None else check_conf_level(level)
        draws = check_resamples(draws, "draws")
        check_seed(rng)
        table = self.event_table()
        se = table["std_error"].to_numpy()
        est = table["estimate"].to_numpy()
        dfs = table["df"].to_numpy(dtype=float)
        df = float(dfs[0]) if np.all(dfs == dfs[0]) else math.inf
        crit = sup_t_critical(self._event_vcov(), level, draws, rng, df=df)
        pointwise = self.conf_int(level).iloc[: len(self.event_times)]
        return pd.DataFrame(
            {
                "event_time": list(self.event_times),
                "estimate": est,
                "std_error": se,
                "conf_low": pointwise["conf_low"].to_numpy(),
                "conf_high": pointwise["conf_high"].to_numpy(),
                "band_low": est - crit * se,
                "band_high": est + crit * se,
                "critical": crit,
            }
        )

    def plot(  # type: ignore[override]
        self,
        ax: Axes | None = None,
        *,
        simultaneous: bool = True,
        draws: int = 10_000,
        rng: int | None = 0,
        **style: Any,
    ) -> Axes:
        """Event-time estimates with pointwise intervals and a simultaneous (sup-t) band.

        The reference period, if any, is drawn at 0. See :meth:`bands`. ``style``: ``labels``,
        ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_event_study

        table = self.bands(draws=draws, rng=rng) if simultaneous else None
        if table is None:
            table = self.event_table()
        return plot_event_study(
            table,
            reference=self.reference,
            level=self.conf_level,
            ax=ax,
            **{"title": getattr(self, "title", None), **style},
        )


@dataclass(frozen=True)
class EventStudyBase(EventTermsMixin):
    """What every event-study result records: the columns, event times and sample sizes.

    The event study, Sun & Abraham and the imputation estimator add their own fields (window,
    comparison group, inference, fitted model) after these.
    """

    outcome: str
    unit: str
    time: str
    cohort: str
    event_times: tuple[int, ...]
    conf_level: float
    n_obs: int
    n_units: int
    n_periods: int
    n_clusters: int

    def _headline_name(self) -> str:
        names = [t.term for t in self.terms]
        return "att" if "att" in names else names[0]

    def _glance(self) -> dict[str, object]:
        from sfpc_eval.results import inference_code

        facts = super()._glance()
        estimator = {
            "EventStudyResult": "event_study",
            "SunAbrahamResult": "sun_abraham",
            "ImputationResult": "imputation",
        }.get(type(self).__name__, "")
        never = getattr(self, "n_never_treated", None)
        spec = getattr(self, "inference", None)
        facts.update(
            estimator=estimator,
            family="gaussian",
            fixed_effects=f"{self.unit}, {self.time}",
            inference=inference_code(spec) if spec is not None else "CR1",
            n_treated=None if never is None else self.n_units - never,
        )
        return facts
