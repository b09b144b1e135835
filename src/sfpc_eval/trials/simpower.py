"""Simulation-based power of a stepped-wedge design.

Trials are simulated from the model behind :mod:`sfpc_eval.trials.power` (cluster-period random
effects with the chosen correlation over periods, period effects, a treatment effect) and each is
analysed; the power is the share of trials in which the analysis rejects "no effect" at
``alpha``. Simulation is at the level of cluster-period means, which are sufficient for the
linear analyses: for a continuous outcome the mean of ``m`` individuals has residual variance
``sigma_e^2 / m`` exactly; for a binary outcome the cluster-period count is drawn from a binomial
distribution with the cluster-period risk (clipped to [0.0001, 0.9999]).

Analyses (``analysis=``):

- ``"gls"`` (default): generalised least squares with the variance components treated as known
  and a normal test, the analysis the closed form describes. Vectorised: thousands of trials
  take well under a second.
- ``"lmm"``: a linear mixed model (random cluster intercept, period fixed effects) fitted by
  REML to the cluster-period means with statsmodels' ``MixedLM``, Wald test. Variance
  components are estimated, as in practice (exchangeable correlation only).
- ``"glmm"`` (binary outcomes): the random-intercept logistic GLMM of
  :mod:`sfpc_eval.trials.glmm` (Laplace, as ``glmer``) on the cluster-period counts, Wald test
  of the log odds ratio. The trials are simulated on the risk scale, so its power is close to,
  not equal to, the closed form's (both test "no effect").
- a callable ``f(frame) -> p_value`` taking a cluster-period DataFrame with columns ``cluster,
  period, treated, size, mean`` (e.g. to plug in the GLMM of :mod:`sfpc_eval.trials` once it
  exists).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._validate import check_resamples, check_seed
from sfpc_eval.errors import InvalidValueError
from sfpc_eval.tables import Table, format_number
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.power import PowerResult, sw_power
from sfpc_eval.trials.power_variance import cluster_weights

__all__ = ["SimulatedPowerResult", "simulated_power"]

_CHUNK = 2_000


@dataclass(frozen=True)
class SimulatedPowerResult:
    """Power estimated by simulation, beside the closed-form power of the same model.

    Attributes
    ----------
    power : float
        Share of simulated trials in which the analysis rejected "no effect".
    mc_std_error : float
        Monte Carlo standard error of ``power``, ``sqrt(power (1 - power) / n_sims)``.
    n_sims : int
        Number of simulated trials.
    rejections : int
        Number of rejections.
    analysis : str
        The analysis used.
    closed_form : PowerResult
        The closed-form power of the same design and parameters.
    seed : int or None
        The seed, when an integer was given.
    """

    power: float
    mc_std_error: float
    n_sims: int
    rejections: int
    analysis: str
    closed_form: PowerResult
    seed: int | None

    def tidy(self) -> pd.DataFrame:
        """Return one row: simulated power, its Monte Carlo SE and the closed-form power."""
        return pd.DataFrame(
            [
                {
                    "power": self.power,
                    "mc_std_error": self.mc_std_error,
                    "n_sims": self.n_sims,
                    "rejections": self.rejections,
                    "analysis": self.analysis,
                    "closed_form_power": self.closed_form.power,
                    "effect": self.closed_form.effect,
                    "seed": self.seed,
                }
            ]
        )

    def summary(self) -> Table:
        """Render as a table."""
        rows = [
            ["simulated power", format_number(self.power)],
            ["Monte Carlo SE", format_number(self.mc_std_error)],
            ["closed-form power", format_number(self.closed_form.power)],
            ["simulated trials", format_number(self.n_sims)],
        ]
        facts = [
            ("analysis", self.analysis),
            ("effect", format_number(self.closed_form.effect)),
            ("seed", str(self.seed)),
        ]
        return Table(
            "Simulated power of a stepped-wedge trial",
            ["quantity", "value"],
            rows,
            facts=facts,
            notes=[],
        )

    def __str__(self) -> str:
        return self.summary().as_text()


def simulated_power(
    design: SteppedWedgeDesign,
    *,
    effect: float,
    n_sims: int = 1000,
    analysis: Literal["gls", "lmm", "glmm"] | Callable[[pd.DataFrame], float] = "gls",
    outcome: Literal["continuous", "binary"] = "continuous",
    icc: float | None = None,
    tau: float | None = None,
    sd: float = 1.0,
    baseline_risk: float | None = None,
    cac: float = 1.0,
    decay: Literal["block", "exponential"] = "block",
    period_effects: Any = None,
    cluster_period_size: Any = None,
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
    progress: bool = True,
    n_jobs: int = 1,
) -> SimulatedPowerResult:
    """Estimate power by simulating trials from the model and analysing each.

    Parameters
    ----------
    design : SteppedWedgeDesign
    effect : float
        True treatment effect (risk difference for binary outcomes).
    n_sims : int, default 1000
        Simulated trials.
    analysis : {"gls", "lmm", "glmm"} or callable, default "gls"
        See the module notes.
    outcome, icc, tau, sd, baseline_risk, cac, decay, cluster_period_size, alpha
        As in :func:`sfpc_eval.trials.power.sw_power`.
    period_effects : sequence of float, optional
        True period effects (default 0); they do not change the power of these analyses.
    rng : int or numpy.random.Generator, optional
        Seed for reproducible results.
    progress : bool, default True
        Show a tqdm progress bar.
    n_jobs : int, default 1
        Worker processes for ``"lmm"``, ``"glmm"`` and callables (-1: one per core; a
        callable must then be picklable, i.e. defined at module level); ``"gls"`` is
        vectorised.

    Returns
    -------
    SimulatedPowerResult

    Raises
    ------
    InvalidValueError
        Bad ``n_sims``, ``analysis`` or ``n_jobs`` (and everything :func:`sw_power` checks).

    Examples
    --------
    >>> d = SteppedWedgeDesign.complete([2, 2, 2, 2], cluster_period_size=50)
    >>> res = simulated_power(d, effect=0.3, icc=0.05, n_sims=2000, rng=1, progress=False)
    >>> abs(res.power - res.closed_form.power) < 4 * res.mc_std_error
    True
    """
    closed = sw_power(
        design,
        effect=effect,
        outcome=outcome,
        icc=icc,
        tau=tau,
        sd=sd,
        baseline_risk=baseline_risk,
        cac=cac,
        decay=decay,
        cluster_period_size=cluster_period_size,
        alpha=alpha,
    )
    n_sims = check_resamples(n_sims, "n_sims", minimum=1)
    check_seed(rng)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise InvalidValueError(
            f"`n_jobs` must be a positive integer (or -1 for all cores); got {n_jobs!r}."
        )
    if not (callable(analysis) or analysis in ("gls", "lmm", "glmm")):
        raise InvalidValueError(
            f"`analysis` must be 'gls', 'lmm', 'glmm' or a function of a cluster-period "
            f"DataFrame returning a p-value; got {analysis!r}."
        )
    if analysis == "glmm" and outcome != "binary":
        raise InvalidValueError(
            "`analysis='glmm'` is the logistic mixed model and needs `outcome='binary'`; use "
            "'gls' or 'lmm' for a continuous outcome."
        )
    x = design.exposure_matrix()
    observed = ~np.isnan(x)
    m = design.sizes(cluster_period_size)
    beta = _period_effects(period_effects, design.n_periods)
    seed = rng if isinstance(rng, int) else None
    gen = np.random.default_rng(rng)
    sims = _Simulator(x, m, beta, closed, gen)
    if analysis == "gls":
        weights = _gls_weights(x, m, closed, decay)
        z_crit = stats.norm.ppf(1 - alpha / 2)
        rejections = 0
        starts = range(0, n_sims, _CHUNK)
        for start in _progress(starts, progress, "simulations (chunks)"):
            y = sims.draw(min(_CHUNK, n_sims - start))
            estimate = y[:, observed] @ weights
            rejections += int(np.sum(np.abs(estimate) / closed.std_error > z_crit))
        name = "GLS, known variance components, normal test"
    else:
        func = {"lmm": _lmm_p_value, "glmm": _glmm_p_value}.get(analysis, analysis)
        draws = sims.draw(n_sims)  # same draws whatever n_jobs
        frames = (_frame(design, y, m) for y in draws)
        if n_jobs == 1:
            p_values = [func(f) for f in _progress(frames, progress, "simulations", n_sims)]
        else:
            import os
            from concurrent.futures import ProcessPoolExecutor

            workers = (os.cpu_count() or 1) if n_jobs < 0 else n_jobs
            with ProcessPoolExecutor(max_workers=workers) as pool:
                jobs = pool.map(func, frames, chunksize=max(1, n_sims // (8 * workers)))
                p_values = list(_progress(jobs, progress, "simulations", n_sims))
        p = np.asarray(p_values, dtype=float)
        if np.isnan(p).any():
            raise InvalidValueError(
                f"the analysis returned no p-value (NaN) for {int(np.isnan(p).sum())} of "
                f"{n_sims} simulated trials; fix the analysis function."
            )
        rejections = int(np.sum(p < alpha))
        name = {
            "lmm": "linear mixed model (REML, statsmodels MixedLM), Wald test",
            "glmm": "logistic GLMM (random intercept, Laplace), Wald test",
        }.get(analysis, getattr(analysis, "__name__", "custom analysis"))
    power = rejections / n_sims
    return SimulatedPowerResult(
        power=power,
        mc_std_error=math.sqrt(max(power * (1 - power), 1e-12) / n_sims),
        n_sims=n_sims,
        rejections=rejections,
        analysis=name,
        closed_form=closed,
        seed=seed,
    )


def _period_effects(values: Any, t: int) -> np.ndarray:
    if values is None:
        return np.zeros(t)
    arr = np.asarray(values, dtype=float)
    if arr.shape != (t,) or not np.all(np.isfinite(arr)):
        raise InvalidValueError(
            f"`period_effects` must be {t} finite numbers, one per period; got {values!r}."
        )
    return arr


class _Simulator:
    """Draw cluster-period means (sims x clusters x periods; NaN where not analysed)."""

    def __init__(self, x, m, beta, closed: PowerResult, gen: np.random.Generator):
        self.x, self.m, self.beta, self.gen = x, m, beta, gen
        self.closed = closed
        t = x.shape[1]
        lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
        if closed.decay == "exponential":
            corr = closed.cac ** lag.astype(float)
        else:
            corr = np.where(lag == 0, 1.0, closed.cac)
        cov = closed.tau2 * corr
        vals, vecs = np.linalg.eigh(cov)
        self.root = vecs * np.sqrt(np.clip(vals, 0, None))
        self.exposure = np.nan_to_num(x)

    def draw(self, n: int) -> np.ndarray:
        k, t = self.x.shape
        c = self.gen.standard_normal((n, k, t)) @ self.root.T
        closed = self.closed
        if closed.outcome == "continuous":
            mean = self.beta + closed.effect * self.exposure + c
            noise = self.gen.standard_normal((n, k, t)) * np.sqrt(
                closed.sigma_e2 / np.where(self.m > 0, self.m, 1.0)
            )
            y = mean + noise
        else:
            p = closed.baseline_risk + self.beta + closed.effect * self.exposure + c
            p = np.clip(p, 1e-4, 1 - 1e-4)
            size = self.m.astype(np.int64)
            y = self.gen.binomial(np.broadcast_to(size, p.shape), p) / np.where(size > 0, size, 1)
        y[:, np.isnan(self.x)] = np.nan
        return y


def _gls_weights(x, m, closed: PowerResult, decay: str) -> np.ndarray:
    """Weights g with theta_hat = g' y over the analysed cells (row-major order)."""
    observed = ~np.isnan(x)
    t = x.shape[1]
    blocks, designs = [], []
    for i in range(x.shape[0]):
        times = np.flatnonzero(observed[i])
        w = cluster_weights(closed.sigma_e2 / m[i, times], closed.tau2, closed.cac, decay, times)  # type: ignore[arg-type]
        z = np.zeros((len(times), t + 1))
        z[np.arange(len(times)), times] = 1.0
        z[:, -1] = x[i, times]
        blocks.append(w)
        designs.append(z)
    info = sum(z.T @ w @ z for z, w in zip(designs, blocks, strict=True))
    keep = [j for j in range(t + 1) if info[j, j] > 0]
    inv = np.linalg.inv(info[np.ix_(keep, keep)])
    row = inv[-1]
    return np.concatenate([(z[:, keep] @ row) @ w for z, w in zip(designs, blocks, strict=True)])


def _frame(design: SteppedWedgeDesign, y: np.ndarray, m: np.ndarray) -> pd.DataFrame:
    x = design.exposure_matrix()
    i, j = np.nonzero(~np.isnan(x))
    return pd.DataFrame(
        {
            "cluster": np.asarray(design.clusters)[i],
            "period": j,
            "treated": x[i, j],
            "size": m[i, j],
            "mean": y[i, j],
        }
    )


def _lmm_p_value(frame: pd.DataFrame) -> float:
    import statsmodels.api as sm

    periods = np.unique(frame["period"].to_numpy())
    exog = np.column_stack(
        [
            (frame["period"].to_numpy()[:, None] == periods[None, :]).astype(float),
            frame["treated"].to_numpy(dtype=float),
        ]
    )
    model = sm.MixedLM(frame["mean"].to_numpy(), exog, groups=frame["cluster"].to_numpy())
    for method in ("lbfgs", "powell", "nm"):  # gradient fits can fail at the zero boundary
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence chatter on boundary fits
                fit = model.fit(reml=True, method=[method])
            p = float(fit.pvalues[exog.shape[1] - 1])
        except np.linalg.LinAlgError:
            continue
        if math.isfinite(p):
            return p
    return math.nan


def _glmm_p_value(frame: pd.DataFrame) -> float:
    from sfpc_eval.trials.glmm import fit_glmm

    periods = np.unique(frame["period"].to_numpy())
    z = np.column_stack(
        [
            (frame["period"].to_numpy()[:, None] == periods[None, :]).astype(float),
            frame["treated"].to_numpy(dtype=float),
        ]
    )
    names = (*(f"period_{p}" for p in periods), "treated")
    trials = frame["size"].to_numpy(dtype=float)
    successes = np.round(frame["mean"].to_numpy() * trials)
    _, cluster = np.unique(frame["cluster"].to_numpy(), return_inverse=True)
    fit = fit_glmm(z, names, successes, trials, cluster, warn_singular=False)
    j = len(names) - 1
    return float(2 * stats.norm.sf(abs(fit.beta[j]) / fit.std_errors[j]))


def _progress(items, show: bool, desc: str, total: int | None = None):
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total)
