"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD coefficient.

On a balanced panel with staggered adoption, the TWFE coefficient on ``D_it = 1{t >= g_i}`` is
a weighted average of every 2x2 DiD between timing groups: treated vs never treated, earlier
vs later treated (the later group as control before it adopts) and later vs earlier treated
(the earlier group, already treated, as control: the comparison that biases TWFE when effects
change over time). Weights depend on group sizes and on the variance of treatment in each
comparison's window (Goodman-Bacon 2021, eq. 10a-c); they sum to one and the weighted sum of
the 2x2 estimates is the TWFE coefficient exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sfpc_eval.diff_in_diff.cohorts import _fmt, validate_cohorts
from sfpc_eval.errors import InvalidValueError
from sfpc_eval.labels import label
from sfpc_eval.panel import numeric_column, require_columns
from sfpc_eval.results import ResultMixin, Term

__all__ = ["BaconResult", "bacon"]

TYPES = ("treated vs never treated", "earlier vs later treated", "later vs earlier treated")


@dataclass(frozen=True)
class BaconResult(ResultMixin):
    """Result of :func:`bacon`.

    Attributes
    ----------
    outcome, unit, time, cohort : str
        Column names used.
    estimate : float
        The TWFE coefficient (the weighted sum of the 2x2 estimates).
    twfe : float
        The TWFE coefficient computed directly by two-way demeaning (equal to ``estimate`` up
        to rounding; kept as a check).
    comparisons : pandas.DataFrame
        One row per 2x2 comparison: ``treated``, ``control`` (cohort, or ``"never"``),
        ``type``, ``estimate``, ``weight``.
    conf_level : float
        Unused (no inference); kept for the result interface.
    terms : tuple of Term
        ``twfe`` and, per type, the weighted average of its 2x2 estimates (its total weight
        in ``note``).
    """

    outcome: str
    unit: str
    time: str
    cohort: str
    estimate: float
    twfe: float
    n_units: int
    n_periods: int
    comparisons: pd.DataFrame = field(repr=False)
    terms: tuple[Term, ...] = field(repr=False)
    conf_level: float = 0.95

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Goodman-Bacon decomposition of the TWFE coefficient: {label(self.outcome)}"

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted-average estimate of each comparison type."""
        c = self.comparisons
        rows = []
        for kind in TYPES:
            part = c[c["type"] == kind]
            if len(part):
                weight = float(part["weight"].sum())
                avg = float((part["weight"] * part["estimate"]).sum() / weight)
                rows.append((kind, weight, avg, len(part)))
        return pd.DataFrame(rows, columns=["type", "weight", "estimate", "comparisons"])

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [
            ("outcome", self.outcome),
            ("panel", f"{self.n_units} {self.unit} x {self.n_periods} {self.time} (balanced)"),
            ("2x2 comparisons", str(len(self.comparisons))),
            ("TWFE by demeaning", f"{self.twfe:.6g}"),
        ]

    def plot(self, ax=None, **style):  # type: ignore[override]
        """Scatter of the 2x2 estimates against their weights, coloured by type.

        ``style``: ``labels``, ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_bacon

        return plot_bacon(self.comparisons, overall=self.estimate, ax=ax, **style)

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="bacon",
            family="gaussian",
            fixed_effects=f"{self.unit}, {self.time}",
            inference="none",
        )
        return facts

    def _refit(self, conf_level: float) -> BaconResult:
        return self


def _means(y: np.ndarray, mask_t: np.ndarray) -> float:
    """Mean over units of the outcome in the periods of ``mask_t`` (y: units x periods)."""
    return float(y[:, mask_t].mean())


NO_INTERVAL = (
    "no interval: the decomposition describes the two-way fixed-effects estimate and has no "
    "inference (intervals: did() or event_study())"
)


def bacon(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str) -> BaconResult:
    """Goodman-Bacon decomposition of the TWFE DiD coefficient into 2x2 comparisons.

    Parameters
    ----------
    data : pandas.DataFrame
        A balanced panel, one row per unit and period. Not modified.
    outcome, unit, time : str
        Outcome, unit and (numeric) period columns.
    cohort : str
        First treated period (missing = never treated). The treatment is
        ``D_it = 1{time >= cohort}``.

    Returns
    -------
    BaconResult

    Raises
    ------
    MissingColumnError, InvalidValueError, DesignError
        See :func:`validate_cohorts` (the panel must be balanced, no unit treated in the
        first period).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame([(u, t) for u in range(6) for t in range(6)], columns=["u", "t"])
    >>> df["g"] = df["u"].map({0: 2, 1: 2, 2: 4, 3: 4, 4: np.nan, 5: np.nan})
    >>> df["y"] = np.where(df["t"] >= df["g"], 1.0 + (df["t"] - df["g"]), 0.0) + df["u"]
    >>> res = bacon(df, "y", "u", "t", "g")
    >>> print(round(res.comparisons["weight"].sum(), 12), round(res.estimate - res.twfe, 12))
    1.0 0.0
    >>> res.by_type()["type"].tolist()
    ['treated vs never treated', 'earlier vs later treated', 'later vs earlier treated']
    """
    require_columns(data, {"cohort": cohort, "time": time})
    g_raw = numeric_column(data, cohort, argument="cohort", allow_missing=True)
    finite_raw = np.isfinite(g_raw.to_numpy(dtype=float))
    source, last = data, None
    if finite_raw.all():
        # no never-treated units: TWFE is identified from timing alone. Validate with the last
        # cohort set aside (it must still be a period after the first), then restore it.
        last = float(g_raw.max())
        t_raw = numeric_column(data, time, argument="time")
        if last not in set(t_raw.tolist()) or last <= float(t_raw.min()):
            raise InvalidValueError(
                f"`cohort` column {cohort!r} has the value {_fmt(last)}, which is not a period "
                f"of the panel after its first ({_fmt(float(t_raw.min()))}); a cohort is the "
                "first treated period."
            )
        source = data.assign(**{cohort: g_raw.where(g_raw != last)})
    panel = validate_cohorts(
        source, outcome=outcome, unit=unit, time=time, cohort=cohort, control="never"
    )
    unit_cohort = panel.unit_cohort.copy()
    if last is not None:
        unit_cohort[~np.isfinite(unit_cohort)] = last
    n_units, n_times = panel.n_units, panel.n_periods
    # balanced and sorted by unit then time: reshape to units x periods
    y = panel.data[outcome].to_numpy(dtype=float).reshape(n_units, n_times)
    g = unit_cohort
    pos = np.full(n_units, n_times)  # never treated: adoption after the panel
    finite = np.isfinite(g)
    pos[finite] = np.searchsorted(panel.periods, g[finite])
    t_index = np.arange(n_times)
    d = (t_index[None, :] >= pos[:, None]).astype(float)
    d_tilde = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    y_tilde = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    var_d = float((d_tilde**2).mean())
    twfe = float((d_tilde * y_tilde).sum() / (d_tilde**2).sum())

    groups = [(float(c), pos[g == c][0], g == c) for c in np.unique(g[np.isfinite(g)])]
    never = ~finite
    share = {c: mask.mean() for c, _, mask in groups}
    dbar = {c: (n_times - p) / n_times for c, p, _ in groups}
    rows = []
    if never.any():
        n_u = never.mean()
        y_u = y[never]
        for c, p, mask in groups:
            pre, post = t_index < p, t_index >= p
            est = (_means(y[mask], post) - _means(y[mask], pre)) - (
                _means(y_u, post) - _means(y_u, pre)
            )
            n_ku = share[c] / (share[c] + n_u)
            weight = (share[c] + n_u) ** 2 * n_ku * (1 - n_ku) * dbar[c] * (1 - dbar[c]) / var_d
            rows.append((_fmt(c), "never", TYPES[0], est, weight))
    for i, (k, pk, mk) in enumerate(groups):
        for l_, pl, ml in groups[i + 1 :]:
            # k adopts before l
            nk, nl, dk, dl = share[k], share[l_], dbar[k], dbar[l_]
            n_kl = nk / (nk + nl)
            pre, mid, post = t_index < pk, (t_index >= pk) & (t_index < pl), t_index >= pl
            early = (_means(y[mk], mid) - _means(y[mk], pre)) - (
                _means(y[ml], mid) - _means(y[ml], pre)
            )
            w_early = (
                ((nk + nl) * (1 - dl)) ** 2
                * n_kl
                * (1 - n_kl)
                * ((dk - dl) / (1 - dl))
                * ((1 - dk) / (1 - dl))
                / var_d
            )
            late = (_means(y[ml], post) - _means(y[ml], mid)) - (
                _means(y[mk], post) - _means(y[mk], mid)
            )
            w_late = (
                ((nk + nl) * dk) ** 2 * n_kl * (1 - n_kl) * (dl / dk) * ((dk - dl) / dk) / var_d
            )
            rows.append((_fmt(k), _fmt(l_), TYPES[1], early, w_early))
            rows.append((_fmt(l_), _fmt(k), TYPES[2], late, w_late))
    comparisons = pd.DataFrame(rows, columns=["treated", "control", "type", "estimate", "weight"])
    estimate = float((comparisons["estimate"] * comparisons["weight"]).sum())
    terms = [
        Term(
            "twfe",
            estimate,
            method="Goodman-Bacon decomposition (no inference)",
            note=NO_INTERVAL,
        )
    ]
    result = BaconResult(
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        estimate=estimate,
        twfe=twfe,
        n_units=n_units,
        n_periods=n_times,
        comparisons=comparisons,
        terms=(),
    )
    for _, row in result.by_type().iterrows():
        terms.append(
            Term(
                str(row["type"]),
                float(row["estimate"]),
                method="weighted average of 2x2 estimates",
                note=NO_INTERVAL
                if math.isnan(row["weight"])
                else f"total weight {row['weight']:.4f}; {NO_INTERVAL}",
            )
        )
    return replace(result, terms=tuple(terms))
