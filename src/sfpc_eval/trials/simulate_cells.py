r"""Simulate a stepped-wedge trial as council-by-period counts, with decaying correlation.

:func:`simulate_cells` draws one row per council and period (a *cell*) of a built-in SFPC trial
(or any design with cluster-period sizes) from the mixed model that
:func:`~sfpc_eval.trials.analysis.stepped_wedge` fits, on the scale of its link:

.. math::

    \eta_{it} = \alpha + \beta_t + \delta X_{it} + c_{it},\qquad
    \operatorname{Cov}(c_{it}, c_{is}) = \tau^2 r_{ts},

with :math:`r_{ts} = \rho^{|t-s|}` (``decay="exponential"``: the AR(1) council-by-period
effects of ``random_effects="decay"``) or :math:`r_{ts} = \rho` for :math:`t \ne s`
(``decay="block"``: nested exchangeable; :math:`\rho = 1` is a random intercept), the same
structures as :mod:`sfpc_eval.trials.power`. Given :math:`\eta_{it}`:

- ``binomial``: ``events`` ~ Binomial(``children``, expit(eta)) (children's outcomes in a cell
  are independent given the cell's effect, so their sum is binomial);
- ``poisson``: ``count`` ~ Poisson(``exposure`` exp(eta)), ``exposure`` being the children's
  total exposure (``exposure_per_child`` each);
- ``negative_binomial``: ``count`` ~ NB2(mean ``exposure`` exp(eta), size ``size``): the cell
  is one observation (a council-period count, e.g. of new child protection plans, with the
  council's population as exposure);
- ``gaussian``: the cell's ``mean`` and ``sd`` of ``children`` values with residual SD
  ``sd_within`` (drawn from their exact sampling distributions).

The periods of a built-in trial are of equal length (``freq``, pandas' offset alias; quarters by
default) from the trial's start; a council switching inside a period has that period excluded
(a transition period), as :meth:`SteppedWedgeDesign.from_switch_dates` does. The rows can be
passed straight to ``stepped_wedge(..., denominator="children")``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.simulate import TrialSpec, trial_spec

__all__ = ["simulate_cells", "trial_design"]


def trial_design(name: str | TrialSpec, freq: str = "3MS") -> SteppedWedgeDesign:
    """Return a built-in trial's design on a regular grid of periods (``freq``).

    Children per council are the trial's, spread over periods by their length.

    Examples
    --------
    >>> d = trial_design("family_safeguarding")
    >>> d.n_clusters, d.n_periods, d.switch_periods  # a mid-quarter start: that quarter
    (5, 11, (2, 3, 5, 7, 8))
    """
    spec = name if isinstance(name, TrialSpec) else trial_spec(name)
    design = spec.design
    switches = {
        c: design.periods[k] for c, k in zip(design.clusters, design.switch_periods, strict=True)
    }
    return SteppedWedgeDesign.from_switch_dates(
        switches,
        start=design.period_starts[0],
        end=design.period_end,
        freq=freq,
        children_per_cluster=dict(spec.children),
        strata=dict(zip(design.clusters, design.strata, strict=True)) if design.strata else None,
    )


def _correlation(t: int, cac: float, decay: str) -> np.ndarray:
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    if decay == "exponential":
        return cac ** lag.astype(float)
    return np.where(lag == 0, 1.0, cac)


def simulate_cells(
    design_or_name: SteppedWedgeDesign | TrialSpec | str,
    *,
    rng: int | np.random.Generator | None,
    family: Literal["binomial", "poisson", "negative_binomial", "gaussian"] = "binomial",
    effect: float = 0.0,
    baseline: float | None = None,
    sd: float = 0.2,
    cac: float = 1.0,
    decay: Literal["exponential", "block"] = "exponential",
    period_effects: Any = None,
    n_children: int | None = None,
    freq: str = "3MS",
    exposure_per_child: float = 1.0,
    size: float = 10.0,
    sd_within: float = 1.0,
) -> pd.DataFrame:
    """Simulate council x period cells of a stepped-wedge trial (see the module notes).

    Parameters
    ----------
    design_or_name : SteppedWedgeDesign, TrialSpec or str
        A built-in trial (``"family_safeguarding"``, ``"no_wrong_door"``; periods from
        ``freq``) or a design with cluster-period sizes.
    rng : int or numpy.random.Generator
        Seed (required keyword; ``None`` for fresh randomness).
    family : {"binomial", "poisson", "negative_binomial", "gaussian"}, default "binomial"
    effect : float, default 0.0
        True treatment effect on the link scale: log odds ratio, log rate ratio, or difference
        in means.
    baseline : float, optional
        Control-condition level in the first period: a risk (binomial; default the trial's
        first council's, or 0.05), a rate per unit of exposure (counts; default 0.1) or a mean
        (Gaussian; default 0).
    sd : float, default 0.2
        SD of the council-by-period effects (the link scale).
    cac : float, default 1.0
        Their correlation one period apart (``decay="exponential"``) or between any two
        periods (``"block"``). 1 is a random intercept.
    decay : {"exponential", "block"}, default "exponential"
    period_effects : sequence of float, optional
        Period effects on the link scale (default 0).
    n_children : int, optional
        Scale the design's children to this total.
    freq : str, default "3MS"
        Built-in trials: period length (pandas offset alias; "MS" months, "3MS" quarters).
    exposure_per_child : float, default 1.0
        Counts: each child's exposure (e.g. 365 days); a cell's exposure is that times its
        children.
    size : float, default 10.0
        Negative binomial size (NB2: variance ``mu + mu^2 / size``).
    sd_within : float, default 1.0
        Gaussian: residual SD of a child's value.

    Returns
    -------
    pandas.DataFrame
        ``cluster``, ``period`` (0-based), ``treated``, ``children`` and ``events``
        (binomial), ``count`` and ``exposure`` (counts), or ``mean`` and ``sd`` (Gaussian);
        cells excluded by the design (transition periods) are left out. ``attrs["truth"]``
        holds the parameters and the drawn council-by-period effects.

    Examples
    --------
    >>> cells = simulate_cells("no_wrong_door", rng=1, effect=-0.2, sd=0.3, cac=0.8)
    >>> list(cells.columns), len(cells)  # 4 councils x 10 quarters, less 2 mid-quarter starts
    (['cluster', 'period', 'treated', 'children', 'events'], 38)
    """
    design = _design(design_or_name, freq)
    if family not in ("binomial", "poisson", "negative_binomial", "gaussian"):
        raise InvalidValueError(
            "`family` must be 'binomial', 'poisson', 'negative_binomial' or 'gaussian'; got "
            f"{family!r}."
        )
    if decay not in ("exponential", "block"):
        raise InvalidValueError(f"`decay` must be 'exponential' or 'block'; got {decay!r}.")
    for name, value, low in (
        ("sd", sd, 0.0),
        ("size", size, 1e-12),
        ("sd_within", sd_within, 1e-12),
    ):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= low):
            raise InvalidValueError(f"`{name}` must be a positive number; got {value!r}.")
    if not (isinstance(cac, int | float) and -1 < cac <= 1):
        raise InvalidValueError(f"`cac` must be in (-1, 1]; got {cac!r}.")
    if not (isinstance(exposure_per_child, int | float) and exposure_per_child > 0):
        raise InvalidValueError(
            f"`exposure_per_child` must be positive; got {exposure_per_child!r}."
        )
    gen = np.random.default_rng(rng)
    x = design.exposure_matrix()
    g, t = x.shape
    sizes = design.sizes()
    if n_children is not None:
        if isinstance(n_children, bool) or not isinstance(n_children, int) or n_children < g:
            raise InvalidValueError(f"`n_children` must be an integer >= {g}; got {n_children!r}.")
        sizes = sizes * n_children / sizes[~np.isnan(x)].sum()
    beta = np.zeros(t) if period_effects is None else np.asarray(period_effects, dtype=float)
    if beta.shape != (t,):
        raise InvalidValueError(f"`period_effects` must be {t} numbers; got {period_effects!r}.")
    level = _baseline(baseline, family, design_or_name)
    root = np.linalg.cholesky(_correlation(t, cac, decay) + 1e-12 * np.eye(t))
    effects = sd * gen.standard_normal((g, t)) @ root.T
    children = gen.poisson(np.where(np.isnan(x), 0.0, sizes))
    eta = level + beta[None, :] + effect * np.nan_to_num(x) + effects
    keep = ~np.isnan(x) & (children > 0)
    i, j = np.nonzero(keep)
    frame = pd.DataFrame(
        {
            "cluster": np.asarray(design.clusters, dtype=object)[i],
            "period": j,
            "treated": x[i, j],
            "children": children[i, j],
        }
    )
    n, mu = children[i, j], eta[i, j]
    if family == "binomial":
        frame["events"] = gen.binomial(n, expit(mu))
    elif family == "gaussian":
        frame["mean"] = mu + sd_within * gen.standard_normal(len(n)) / np.sqrt(n)
        df = np.maximum(n - 1, 1)
        frame["sd"] = np.where(n > 1, sd_within * np.sqrt(gen.chisquare(df) / df), np.nan)
    else:
        exposure = n * float(exposure_per_child)
        mean = exposure * np.exp(mu)
        if family == "negative_binomial":
            mean = gen.gamma(size, mean / size)
        frame["count"] = gen.poisson(mean)
        frame["exposure"] = exposure
    frame.attrs["truth"] = {
        "family": family,
        "effect": float(effect),
        "baseline": float(level),
        "sd": float(sd),
        "cac": float(cac),
        "decay": decay,
        "effects": effects,
        "design": design,
    }
    return frame


def _design(value: Any, freq: str) -> SteppedWedgeDesign:
    if isinstance(value, SteppedWedgeDesign):
        if value.cluster_period_sizes is None:
            raise InvalidValueError(
                "the design has no cluster-period sizes, so there are no children to simulate; "
                "build it with `cluster_period_sizes=` (or `children_per_cluster=`)."
            )
        return value
    if isinstance(value, str | TrialSpec):
        return trial_design(value, freq)
    raise InvalidValueError(
        "`design_or_name` must be a SteppedWedgeDesign, a TrialSpec or a built-in trial name "
        f"('family_safeguarding', 'no_wrong_door'); got {type(value).__name__}."
    )


def _baseline(value: float | None, family: str, source: Any) -> float:
    """Return the intercept on the link scale."""
    if family == "binomial":
        if value is None:
            spec = source if isinstance(source, TrialSpec) else None
            if isinstance(source, str):
                spec = trial_spec(source)
            value = next(iter(spec.baseline_risk.values())) if spec is not None else 0.05
        if not (isinstance(value, int | float) and 0 < value < 1):
            raise InvalidValueError(f"`baseline` must be a risk in (0, 1); got {value!r}.")
        return math.log(value / (1 - value))
    if family == "gaussian":
        return 0.0 if value is None else float(value)
    value = 0.1 if value is None else value
    if not (isinstance(value, int | float) and value > 0):
        raise InvalidValueError(f"`baseline` must be a positive rate; got {value!r}.")
    return math.log(value)
