"""One council, four designs side by side: before/after, ITS, synthetic control, synthetic DiD.

The published claims about Leeds, Hertfordshire and North Yorkshire are before/after changes.
:func:`single_council_summary` sets that change beside three designs that ask "compared with
what?", on the same council, outcome, window and donors, each with its pre-period fit: the
root mean squared error of the design's counterfactual before the start (for before/after the
flat pre-period mean, for ITS the pre-period trend, for synthetic DiD after the level
difference that design allows). A design whose counterfactual does not track the council
before the start says little about after it.

``summary()`` lays the designs out with the library's side-by-side table
(:func:`sfpc_eval.tables.side_by_side`): one column per design, the average effect after the
start with its interval, and beneath it each design's inference, donor pool, periods and
pre-period fit, every name worded by :mod:`sfpc_eval.labels`. ``table`` holds the same numbers
as a tidy DataFrame.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._terms import wald_term
from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import TooFewPeriodsError, UndefinedIntervalWarning
from sfpc_eval.labels import label
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.single_unit._conformal_core import minimum_pre_periods
from sfpc_eval.single_unit._panel import design_panel
from sfpc_eval.single_unit.conformal import conformal_inference
from sfpc_eval.single_unit.its import its
from sfpc_eval.single_unit.synthdid import synthetic_did
from sfpc_eval.single_unit.synthetic import synthetic_control
from sfpc_eval.tables import Cell, NumberFormat, Table, side_by_side

__all__ = ["DesignColumn", "SingleCouncilSummary", "single_council_summary"]

DESIGNS = ("before_after", "its", "synthetic_control", "synthetic_did")
SHOWN_FACTS = ("inference", "n_units", "n_periods", "pre_rmspe")
"""Model facts under the effects in the side-by-side table."""


def _rms(values: np.ndarray) -> float:
    return math.sqrt(float(np.mean(np.asarray(values, dtype=float) ** 2)))


@dataclass(frozen=True)
class DesignColumn(ResultMixin):
    """One design's column of the side-by-side table: its average effect and its facts.

    ``terms`` holds one term, ``average_effect``; ``model_facts`` are the ``glance()`` values
    the design knows (estimator, inference, councils, periods, pre-period RMSPE).
    """

    design: str
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    model_facts: dict = field(repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return label(self.design)

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(self.model_facts)
        return facts

    def _refit(self, conf_level: float) -> DesignColumn:
        raise NotImplementedError("refit the summary: every design refits")


@dataclass(frozen=True)
class SingleCouncilSummary(ResultMixin):
    """Result of :func:`single_council_summary`.

    Attributes
    ----------
    outcome : str
        Outcome column.
    treated_unit, start : object
        The council and the first period under the programme.
    terms : tuple of Term
        One per design (``before_after``, ``its``, ``synthetic_control``, ``synthetic_did``,
        and ``synthetic_control_conformal`` when the pre-period allows it): the average effect
        over the post periods with that design's interval and p-value.
    table : pandas.DataFrame
        The terms side by side with ``design``, ``pre_rmspe`` (pre-period fit of the design's
        counterfactual), ``donors`` (how many the comparison used), ``periods`` and
        ``inference`` (code of the interval's method, worded by :mod:`sfpc_eval.labels`).
    results : dict
        The full results by design (``ItsResult``, ``SyntheticControlResult``...).
    excluded_donors : pandas.DataFrame
        Councils left out of the donor pool and why.
    """

    outcome: str
    treated_unit: object
    start: object
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    table: pd.DataFrame = field(repr=False, compare=False)
    results: dict = field(repr=False, compare=False)
    excluded_donors: pd.DataFrame = field(repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return (
            f"One council, four designs: {label(self.outcome)} of {self.treated_unit} "
            f"from {self.start}"
        )

    def columns(self) -> dict[str, DesignColumn]:
        """Return the designs as columns of the side-by-side table, keyed by their labels.

        A conformal interval at another level than ``conf_level`` (the pre-period allowed no
        higher) is left out: its interval cannot share the table's heading. ``summary()``
        quotes it in a note.
        """
        out = {}
        for row, term in zip(self.table.itertuples(), self.terms, strict=True):
            if not math.isclose(row.conf_level, self.conf_level):
                continue
            facts = {
                "estimator": row.design,
                "outcome": self.outcome,
                "inference": row.inference,
                "n_units": row.donors + 1 if row.donors else 1,
                "n_treated": 1,
                "n_periods": row.periods,
                "pre_rmspe": row.pre_rmspe,
            }
            column = DesignColumn(
                design=row.design,
                conf_level=self.conf_level,
                terms=(dataclasses.replace(term, term="average_effect"),),
                model_facts=facts,
            )
            out[label(row.design)] = column
        return out

    def summary(
        self, labels: dict[str, str] | None = None, facts: Sequence[str] = SHOWN_FACTS
    ) -> Table:
        """Lay the designs side by side (:func:`sfpc_eval.tables.side_by_side`), one column each.

        Under the average effect and its interval: the inference, the councils the design
        used (the council and its donors), the periods and the pre-period RMSPE of the
        design's counterfactual, written with the effects' decimals (both are in the
        outcome's units). ``labels`` overrides row and fact labels; ``facts`` chooses the
        facts shown (:data:`sfpc_eval.tables.side_by_side.FACT_ROWS`).
        """
        notes = [
            "Pre-period RMSPE: root mean squared error of the design's counterfactual before "
            "the start (before/after: the flat pre-period mean; interrupted time series: the "
            "pre-period trend; synthetic DiD: after its level difference)."
        ]
        for row in self.table.itertuples():
            if not math.isclose(row.conf_level, self.conf_level):
                notes.append(
                    f"{label(row.design)}: {row.conf_level:.0%} interval for the average "
                    f"effect [{row.conf_low:.4g}, {row.conf_high:.4g}] (the pre-period is too "
                    f"short for {self.conf_level:.0%})."
                )
            elif row.design == "synthetic_control" and "conformal" in row.note:
                notes.append(f"{label(row.design)}: {row.note}.")
        table = side_by_side(
            self.columns(), facts=facts, labels=labels, title=self.title, notes=notes
        )
        return _fit_in_effect_decimals(table)

    def _headline_name(self) -> str:
        return "synthetic_control"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(estimator="single_council_summary", n_treated=1, inference_df=math.nan)
        return facts

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary: the pre-period fit of each design."""
        fits = ", ".join(
            f"{row.design} {row.pre_rmspe:.3g}"
            for row in self.table.itertuples()
            if math.isfinite(row.pre_rmspe)
        )
        lines = [("pre-period fit (RMSE)", fits)]
        if len(self.excluded_donors):
            lines.append(
                ("excluded donors", f"{len(self.excluded_donors)} that ran similar programmes")
            )
        return lines

    def _refit(self, conf_level: float) -> SingleCouncilSummary:
        raise NotImplementedError(
            "call single_council_summary again with conf_level: every design refits"
        )


def _fit_in_effect_decimals(table: Table) -> Table:
    """Write the pre-period RMSPE row with the decimals of the effects above it."""
    if "fact:pre_rmspe" not in table.row_keys:
        return table
    effect = table.cells[table.row("average_effect")]
    decimals = next(c.format.decimals for c in effect[1:] if c.is_number)
    rows = [list(r) for r in table.cells]
    i = table.row("fact:pre_rmspe")
    rows[i] = [
        rows[i][0],
        *(
            Cell(c.value, NumberFormat("number", decimals)) if c.is_number else c
            for c in rows[i][1:]
        ),
    ]
    return Table(
        table.title,
        table.columns,
        rows,
        facts=table.facts,
        notes=table.notes,
        column_groups=table.column_groups,
        row_kinds=table.row_kinds,
        row_keys=table.row_keys,
    )


def _before_after(series: pd.Series, start, level: float) -> tuple[Term, float]:
    pre, post = series[series.index < start], series[series.index >= start]
    diff = float(post.mean() - pre.mean())
    var_pre, var_post = pre.var(ddof=1) / len(pre), post.var(ddof=1) / len(post)
    se = math.sqrt(var_pre + var_post)
    df = (var_pre + var_post) ** 2 / (var_pre**2 / (len(pre) - 1) + var_post**2 / (len(post) - 1))
    term = wald_term("before_after", diff, se, level, "Welch t over years", df=df)
    term = dataclasses.replace(
        term,
        valid=False,
        note="no comparison: the change includes every trend and national change; the years "
        "are not independent draws",
    )
    return term, _rms(pre - pre.mean())


def single_council_summary(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: object,
    start: object,
    donors: Sequence | None = None,
    exclude_donors: object = "default",
    conf_level: float = 0.95,
    conformal_level: float | None = None,
    replications: int = 200,
    rng: int | np.random.Generator | None = None,
    hac_lags: int | None = None,
) -> SingleCouncilSummary:
    """Run before/after, ITS, synthetic control and synthetic DiD on one council, side by side.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per council and period. Not modified.
    outcome, unit, time : str
        Columns.
    treated_unit, start : object
        The council and the first period under the programme.
    donors, exclude_donors
        The donor pool, the same for both synthetic designs (see
        :func:`~sfpc_eval.single_unit.synthetic.synthetic_control`).
    conf_level : float, default 0.95
        Level of the designs' intervals.
    conformal_level : float, optional
        Level of the synthetic control's conformal interval for the average effect; default
        the highest of 0.95, 0.9 and 0.8 the pre-period allows (none if no level does).
    replications : int, default 200
        Synthetic DiD placebo replications.
    rng : int or numpy.random.Generator, optional
        Seed of the synthetic DiD placebos.
    hac_lags : int, optional
        Newey-West lags of the ITS (default Newey and West's rule).

    Returns
    -------
    SingleCouncilSummary

    Raises
    ------
    DesignError
        As the designs: the council missing or with gaps, too few periods, no donor left.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> trend = rng.normal(0, 1, 16).cumsum()
    >>> rows = [(u, 2006 + t, 40 + 3 * u + (1 + u / 5) * trend[t] + rng.normal(0, 0.3)
    ...          - 6 * (u == 4) * (t >= 9)) for u in range(9) for t in range(16)]
    >>> panel = pd.DataFrame(rows, columns=["la", "year", "rate"])
    >>> import warnings
    >>> from sfpc_eval.errors import UndefinedIntervalWarning
    >>> with warnings.catch_warnings(record=True) as caught:  # 9 pre-periods: no conformal
    ...     warnings.simplefilter("always", UndefinedIntervalWarning)
    ...     res = single_council_summary(panel, outcome="rate", unit="la", time="year",
    ...                                  treated_unit=4, start=2015, replications=20, rng=1)
    >>> [type(w.message).__name__ for w in caught]
    ['UndefinedIntervalWarning']
    >>> res.table["design"].tolist()
    ['before_after', 'its', 'synthetic_control', 'synthetic_did']
    >>> round(res.term("synthetic_control").estimate)
    -6
    """
    level = check_conf_level(conf_level)
    wide, excluded, start = design_panel(
        data, outcome, unit, time, [treated_unit], donors, start, exclude_donors
    )
    pool = list(wide.columns[:-1])
    periods = wide.index.to_numpy()
    is_pre = periods < start
    series = wide[treated_unit]
    design = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treated_unit": treated_unit,
        "start": start,
    }
    rows = []

    before_after, fit_ba = _before_after(series, start, level)
    rows.append(("before_after", before_after, fit_ba))

    frame = pd.DataFrame({time: periods, outcome: series.to_numpy()})
    its_fit = its(
        frame, outcome=outcome, time=time, start=start, hac_lags=hac_lags, conf_level=level
    )
    proj = its_fit.projection
    level_change = its_fit.term("level_change")
    its_term = Term(
        "its",
        float(proj["effect"].dropna().mean()),
        method="mean of the projected effects (trend before, extrapolated)",
        note=f"no interval for the mean; level change {level_change.estimate:.3g} "
        f"[{level_change.conf_low:.3g}, {level_change.conf_high:.3g}], "
        f"p = {level_change.p_value:.3g}",
    )
    pre_proj = proj[proj["time"] < start]
    rows.append(("its", its_term, _rms(pre_proj["observed"] - pre_proj["fitted"])))

    sc = synthetic_control(data, **design, donors=pool, exclude_donors=None, conf_level=level)
    gap = sc.term("mean_post_gap")
    rows.append(
        ("synthetic_control", dataclasses.replace(gap, term="synthetic_control"), sc.pre_rmspe)
    )

    sdid = synthetic_did(
        data, **design, donors=pool, replications=replications, rng=rng, conf_level=level
    )
    att = sdid.term("att")
    y = wide.to_numpy(dtype=float)
    sdid_gap = y[:, -1] - y[:, :-1] @ sdid.unit_weights.to_numpy()
    rows.append(
        (
            "synthetic_did",
            dataclasses.replace(att, term="synthetic_did"),
            _rms(sdid_gap[is_pre] - sdid_gap[is_pre].mean()),
        )
    )

    results = {"its": its_fit, "synthetic_control": sc, "synthetic_did": sdid}
    n_pre, n_post = int(is_pre.sum()), int((~is_pre).sum())
    levels = [conformal_level] if conformal_level is not None else [0.95, 0.9, 0.8]
    feasible = [lv for lv in levels if n_pre >= minimum_pre_periods(1 - lv, n_post)[1]]
    if feasible:
        conformal = conformal_inference(
            data, **design, donors=pool, exclude_donors=None, conf_level=feasible[0]
        )
        results["synthetic_control_conformal"] = conformal
        average = conformal.term("average")
        rows.append(
            (
                "synthetic_control_conformal",
                dataclasses.replace(
                    average,
                    term="synthetic_control_conformal",
                    note=f"conformal interval at {feasible[0]:.0%}",
                ),
                sc.pre_rmspe,
            )
        )
    else:
        need = minimum_pre_periods(1 - (conformal_level or 0.8), n_post)[1]
        note = (
            f"no conformal interval for the average: it needs at least {need} pre-periods "
            f"at the lowest level tried, the data have {n_pre}"
        )
        rows[2] = (rows[2][0], dataclasses.replace(rows[2][1], note=note), rows[2][2])
        if conformal_level is None:  # asked for, it is an error below
            warnings.warn(f"{note}.", UndefinedIntervalWarning, stacklevel=2)
    if conformal_level is not None and not feasible:
        raise TooFewPeriodsError(rows[2][1].note)
    terms = tuple(term for _, term, _ in rows)
    table = pd.DataFrame([dataclasses.asdict(t) for t in terms])
    table.insert(0, "design", [name for name, _, _ in rows])
    table["pre_rmspe"] = [fit for _, _, fit in rows]
    table["donors"] = [0, 0, len(pool), len(pool), len(pool)][: len(rows)]
    table["periods"] = len(periods)
    table["conf_level"] = [level] * 4 + ([feasible[0]] if feasible else [])
    table["inference"] = ["welch", its_fit.errors, "placebo", sdid.variance, "conformal"][
        : len(rows)
    ]
    return SingleCouncilSummary(
        outcome=outcome,
        treated_unit=treated_unit,
        start=start,
        conf_level=level,
        terms=terms,
        table=table,
        results=results,
        excluded_donors=excluded,
    )
