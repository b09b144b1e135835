"""Augmented synthetic control with a ridge outcome model (Ben-Michael, Feller and Rothstein 2021).

When no weighted average of donors tracks the pioneer before the programme, the synthetic
control's gaps mix the effect with the misfit. The augmented synthetic control corrects the
synthetic council by a ridge regression of the remaining pre-period misfit on the donors'
pre-period outcomes (BFR 2021, section 3): with ``X`` the donors' pre-period outcomes centred on
each period's donor mean and ``omega`` the synthetic control weights,

``gamma = (X'X + lambda I)^-1 X' (y1 - X0 omega)``,

and the counterfactual uses the weights ``omega + gamma`` (they sum to one but may be negative:
the correction extrapolates). ``lambda`` is chosen, unless given, by leave-one-pre-period-out
prediction error over ``logspace(-4, 4, 50)`` times the variance of the treated council's
pre-period outcomes, as augsynth-py does; with ``fixed_effects=True`` every council's outcomes
are first centred on its own pre-period mean (the ``fixedeff`` option of R augsynth).

Intervals: :func:`~sfpc_eval.single_unit.conformal.conformal_inference` with
``method="augmented"`` (conformal inference with the augmented fit as the proxy, refitted on
every period under each null, as R augsynth and augsynth-py do).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import InvalidValueError, UnreliableInferenceWarning
from sfpc_eval.labels import label
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.single_unit._panel import design_panel
from sfpc_eval.single_unit._weights import simplex_weights

__all__ = [
    "AugmentedSyntheticControlResult",
    "augmented_synthetic_control",
    "ridge_augmentation",
]

LAMBDA_GRID = np.logspace(-4, 4, 50)


def ridge_augmentation(
    y1: np.ndarray, y0: np.ndarray, penalty: float
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic control weights ``omega`` and ridge correction ``gamma`` fitted on these rows.

    Parameters
    ----------
    y1 : numpy.ndarray
        The treated council's outcomes in the fitting periods (already centred by council
        when fixed effects are used).
    y0 : numpy.ndarray
        Periods x donors, the same periods.
    penalty : float
        The ridge penalty ``lambda`` (>= 0).

    Returns
    -------
    omega, gamma : numpy.ndarray
        ``omega`` on the simplex; ``gamma`` sums to zero.

    Examples
    --------
    >>> y0 = np.array([[1.0, 3.0, 0.0], [2.0, 4.0, 1.0], [0.0, 5.0, 2.0]])
    >>> omega, gamma = ridge_augmentation(np.array([2.0, 3.0, 2.5]), y0, 1.0)
    >>> round(float(omega.sum()), 12), round(float(gamma.sum()), 12)
    (1.0, 0.0)
    """
    period_mean = y0.mean(axis=1)
    x = y0 - period_mean[:, None]
    target = y1 - period_mean
    omega = simplex_weights(x, target, np.ones(len(target)))
    return omega, ridge_correction(y1, y0, omega, penalty)


def ridge_correction(
    y1: np.ndarray, y0: np.ndarray, omega: np.ndarray, penalty: float
) -> np.ndarray:
    """Compute the ridge step alone: ``gamma`` for given synthetic control weights ``omega``.

    ``gamma = (X'X + lambda I)^-1 X' (y1 - y0 omega)``, with ``X`` the donors' outcomes centred
    on each period's donor mean (``omega`` summing to one, the centring cancels in the misfit).
    """
    x = y0 - y0.mean(axis=1)[:, None]
    residual = y1 - y0 @ omega
    gram = x.T @ x + penalty * np.eye(x.shape[1])
    return np.linalg.solve(gram, x.T @ residual)


def _centre(y: np.ndarray, rows: np.ndarray, fixed_effects: bool) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes centred on each council's mean over ``rows`` (or unchanged), and the means."""
    if not fixed_effects:
        return y, np.zeros(y.shape[1])
    offsets = y[rows].mean(axis=0)
    return y - offsets, offsets


def augmented_residuals(
    y1: np.ndarray, y0: np.ndarray, penalty: float, fixed_effects: bool
) -> np.ndarray:
    """Residuals of the augmented fit on every row given (the conformal proxy).

    The council means (with ``fixed_effects``), ``omega`` and ``gamma`` are all fitted on the
    rows given, at the fixed ``penalty``.
    """
    y = np.column_stack([y0, y1])
    centred, _ = _centre(y, np.ones(len(y1), dtype=bool), fixed_effects)
    omega, gamma = ridge_augmentation(centred[:, -1], centred[:, :-1], penalty)
    return centred[:, -1] - centred[:, :-1] @ (omega + gamma)


def choose_penalty(y1: np.ndarray, y0: np.ndarray, grid: np.ndarray) -> tuple[float, np.ndarray]:
    """Leave-one-pre-period-out choice of ``lambda``: the penalty and its ``(lambda, loss)`` path.

    ``y1``, ``y0`` are the pre-period outcomes (centred as the fit centres them). For each
    held-out period the simplex weights are refitted once and the ridge correction per penalty.
    """
    period_mean = y0.mean(axis=1)
    x = y0 - period_mean[:, None]
    target = y1 - period_mean
    losses = np.zeros(len(grid))
    for t in range(len(target)):
        keep = np.arange(len(target)) != t
        xk, yk = x[keep], target[keep]
        omega = simplex_weights(xk, yk, np.ones(len(yk)))
        residual = yk - xk @ omega
        gram, cross = xk.T @ xk, xk.T @ residual
        for i, penalty in enumerate(grid):
            gamma = np.linalg.solve(gram + penalty * np.eye(x.shape[1]), cross)
            losses[i] += (target[t] - x[t] @ (omega + gamma)) ** 2
    best = int(np.argmin(losses))
    return float(grid[best]), np.column_stack([grid, losses])


@dataclass(frozen=True)
class AugmentedSyntheticControlResult(ResultMixin):
    """Result of :func:`augmented_synthetic_control`.

    Attributes
    ----------
    outcome, time : str
        Column names.
    treated_unit, start : object
        The treated council and the first period under the programme.
    terms : tuple of Term
        ``mean_post_gap`` (treated minus augmented synthetic, averaged from ``start``) and
        ``percent_change``; no intervals here (see ``conformal_inference``).
    weights : pandas.DataFrame
        Per donor: ``scm`` (``omega``, on the simplex), ``augmentation`` (``gamma``) and
        ``effective`` (their sum).
    ridge_penalty : float
        ``lambda``.
    cv_path : pandas.DataFrame or None
        ``lambda`` and the leave-one-out loss, when ``lambda`` was chosen.
    fixed_effects : bool
        Whether councils were centred on their pre-period means.
    gaps : pandas.DataFrame
        Per period: ``time``, ``treated``, ``synthetic`` (augmented), ``synthetic_scm`` (before
        the correction), ``gap``.
    pre_rmspe : float
        Root mean squared pre-period gap of the augmented fit.
    excluded_donors : pandas.DataFrame
        Councils left out of the donor pool and why.
    """

    outcome: str
    time: str
    treated_unit: object
    start: object
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    weights: pd.DataFrame = field(repr=False, compare=False)
    ridge_penalty: float
    cv_path: pd.DataFrame | None = field(repr=False, compare=False)
    fixed_effects: bool
    gaps: pd.DataFrame = field(repr=False, compare=False)
    pre_rmspe: float
    excluded_donors: pd.DataFrame = field(repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return (
            f"Augmented synthetic control: {label(self.outcome)} of {self.treated_unit} "
            f"from {self.start}"
        )

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        chosen = "chosen by leave-one-out" if self.cv_path is not None else "given"
        return [
            ("ridge", f"lambda = {self.ridge_penalty:.4g} ({chosen})"),
            ("pre-period fit", f"RMSPE {self.pre_rmspe:.4g} (augmented)"),
            (
                "fixed effects",
                "councils centred on their pre-period means" if self.fixed_effects else "none",
            ),
        ]

    def _headline_name(self) -> str:
        return "mean_post_gap"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="augmented_synthetic_control",
            n_units=len(self.weights) + 1,
            n_treated=1,
            n_periods=len(self.gaps),
            inference="none",
            pre_rmspe=self.pre_rmspe,
        )
        return facts

    def _refit(self, conf_level: float) -> AugmentedSyntheticControlResult:
        # no interval depends on the level here
        return dataclasses.replace(self, conf_level=conf_level)


def _check_penalty(ridge_penalty: object) -> float | None:
    if ridge_penalty is None:
        return None
    try:
        value = float(ridge_penalty)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InvalidValueError(
            f"`ridge_penalty` must be a number >= 0 (or None to choose it); got {ridge_penalty!r}."
        )
    return value


def augmented_synthetic_control(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: object,
    start: object,
    donors: Sequence | None = None,
    exclude_donors: object = "default",
    fixed_effects: bool = False,
    ridge_penalty: float | None = None,
    conf_level: float = 0.95,
) -> AugmentedSyntheticControlResult:
    """Ridge-augmented synthetic control for one council (BFR 2021), checked against augsynth-py.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per council and period. Not modified.
    outcome, unit, time : str
        Columns.
    treated_unit, start : object
        The council and the first period under the programme.
    donors : sequence, optional
        Donor councils; default every other council.
    exclude_donors : "default", None, sequence, mapping or DataFrame, default "default"
        As in :func:`~sfpc_eval.single_unit.synthetic.synthetic_control`.
    fixed_effects : bool, default False
        Centre every council on its pre-period mean first (R augsynth's ``fixedeff``).
    ridge_penalty : float, optional
        ``lambda``; default chosen by leave-one-pre-period-out prediction error.
    conf_level : float, default 0.95
        Kept for a uniform signature.

    Returns
    -------
    AugmentedSyntheticControlResult

    Raises
    ------
    DesignError
        As :func:`~sfpc_eval.single_unit.synthetic.synthetic_control`.
    InvalidValueError
        A negative or non-numeric ``ridge_penalty``.

    Warns
    -----
    UnreliableInferenceWarning
        The chosen ``lambda`` is at an end of the grid.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> rows = [(u, y, 10 * u + y + rng.normal(0, 0.2)) for u in range(6) for y in range(12)]
    >>> panel = pd.DataFrame(rows, columns=["la", "year", "rate"])
    >>> panel.loc[panel.la == 5, "rate"] += 20  # above every donor: no convex match
    >>> res = augmented_synthetic_control(panel, outcome="rate", unit="la", time="year",
    ...                                   treated_unit=5, start=8, ridge_penalty=1.0)
    >>> abs(res.term("mean_post_gap").estimate) < 1
    True
    """
    level = check_conf_level(conf_level)
    penalty = _check_penalty(ridge_penalty)
    wide, excluded, start = design_panel(
        data, outcome, unit, time, [treated_unit], donors, start, exclude_donors
    )
    pool = list(wide.columns[:-1])
    periods = wide.index.to_numpy()
    pre = periods < start
    raw = wide.to_numpy()
    y, offsets = _centre(raw, pre, fixed_effects)
    y1_pre, y0_pre = y[pre, -1], y[pre, :-1]
    path = None
    if penalty is None:
        grid = LAMBDA_GRID * float(np.var(y1_pre))
        penalty, cv = choose_penalty(y1_pre, y0_pre, grid)
        path = pd.DataFrame(cv, columns=["ridge_penalty", "loo_loss"])
        if penalty in (grid[0], grid[-1]):
            warnings.warn(
                f"the ridge penalty chosen by leave-one-out, {penalty:.4g}, is at the "
                f"{'lower' if penalty == grid[0] else 'upper'} end of the grid "
                f"({grid[0]:.4g} to {grid[-1]:.4g}); the best penalty may lie beyond it. "
                "Pass `ridge_penalty` to set it.",
                UnreliableInferenceWarning,
                stacklevel=2,
            )
    omega, gamma = ridge_augmentation(y1_pre, y0_pre, penalty)
    synthetic_scm = y[:, :-1] @ omega + offsets[-1]
    synthetic = y[:, :-1] @ (omega + gamma) + offsets[-1]
    treated = raw[:, -1]
    gap = treated - synthetic
    mean_gap = float(gap[~pre].mean())
    note = "no interval here: use conformal_inference(method='augmented')"
    method = f"ridge augmentation, lambda {penalty:.4g}"
    terms = (
        Term("mean_post_gap", mean_gap, method=method, note=note),
        Term(
            "percent_change",
            100 * mean_gap / float(synthetic[~pre].mean()),
            method=method,
            note=note,
        ),
    )
    return AugmentedSyntheticControlResult(
        outcome=outcome,
        time=time,
        treated_unit=treated_unit,
        start=start,
        conf_level=level,
        terms=terms,
        weights=pd.DataFrame(
            {"scm": omega, "augmentation": gamma, "effective": omega + gamma}, index=pool
        ),
        ridge_penalty=float(penalty),
        cv_path=path,
        fixed_effects=bool(fixed_effects),
        gaps=pd.DataFrame(
            {
                "time": periods,
                "treated": treated,
                "synthetic": synthetic,
                "synthetic_scm": synthetic_scm,
                "gap": gap,
            }
        ),
        pre_rmspe=math.sqrt(float(np.mean(gap[pre] ** 2))),
        excluded_donors=excluded,
    )
