"""Power of a panel DiD by simulation, with the estimator and inference that will be used.

:func:`simulated_did_power` draws panels of the design -- ``n_units`` councils, ``n_treated`` of
them (chosen at random in each panel) adopting after ``pre`` periods, ``post`` periods after --
with council and period effects, AR(1) idiosyncratic errors (SD ``sd``, correlation ``ar1``)
and a true effect ``effect``, fits :func:`~sfpc_eval.did` with the inference given (CR2 with
Satterthwaite df by default; any of the library's few-cluster methods), and reports the share
of panels in which the test rejects at ``alpha``. That is the power of the test a researcher
will actually run, which the analytic formula (:func:`~sfpc_eval.diff_in_diff.power.did_power`)
approximates.

Examples
--------
>>> res = simulated_did_power(n_units=20, n_treated=10, pre=4, post=4, effect=1.0, sd=1.0,
...                           ar1=0.3, n_sims=50, rng=1, progress=False)
>>> 0 <= res.power <= 1, res.n_sims
(True, 50)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval.diff_in_diff.power import _check_ar1, _check_sd, check_power_design
from sfpc_eval.errors import InvalidValueError, SfpcEvalWarning
from sfpc_eval.results import ResultMixin, Term

__all__ = ["SimulatedDidPowerResult", "simulate_did_panel", "simulated_did_power"]


@dataclass(frozen=True)
class SimulatedDidPowerResult(ResultMixin):
    """Result of :func:`simulated_did_power`.

    Attributes
    ----------
    power : float
        Share of simulated panels in which the test rejected at ``alpha``.
    mc_se : float
        Its Monte Carlo standard error, ``sqrt(power (1 - power) / n_sims)``.
    n_sims : int
        Panels simulated.
    method : str
        The inference used (as its ``describe()``).
    p_values : numpy.ndarray
        The p-value of every simulated panel.
    """

    n_units: int
    n_treated: int
    pre: int
    post: int
    effect: float
    sd: float
    ar1: float
    alpha: float
    power: float
    mc_se: float
    n_sims: int
    method: str
    p_values: np.ndarray = field(repr=False)
    conf_level: float = 0.95
    terms: tuple[Term, ...] = field(default=(), repr=False)
    title: str = "Power of a difference-in-differences design (simulated)"

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [
            ("councils (treated)", f"{self.n_units} ({self.n_treated})"),
            ("periods before / after", f"{self.pre} / {self.post}"),
            ("errors", f"SD {self.sd:g}, AR(1) {self.ar1:g}"),
            ("effect", f"{self.effect:g}"),
            ("test", f"two-sided, level {self.alpha:g}; {self.method}"),
            ("simulated panels", f"{self.n_sims:,}"),
        ]

    def _refit(self, conf_level: float) -> SimulatedDidPowerResult:
        return self


def simulate_did_panel(
    *,
    n_units: int,
    n_treated: int,
    pre: int,
    post: int,
    effect: float,
    sd: float,
    ar1: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw one panel: columns ``unit``, ``period``, ``treated`` and ``y``.

    Council effects N(0, 2 sd), a linear period trend, stationary AR(1) errors with SD ``sd``
    and correlation ``ar1``; ``n_treated`` councils chosen at random adopt at period ``pre``.
    """
    periods = pre + post
    errors = np.empty((n_units, periods))
    errors[:, 0] = rng.normal(0.0, sd, n_units)
    innovation = sd * math.sqrt(1 - ar1**2)
    for t in range(1, periods):
        errors[:, t] = ar1 * errors[:, t - 1] + rng.normal(0.0, innovation, n_units)
    treated_units = rng.permutation(n_units)[:n_treated]
    unit = np.repeat(np.arange(n_units), periods)
    period = np.tile(np.arange(periods), n_units)
    treated = (np.isin(unit, treated_units) & (period >= pre)).astype(int)
    y = (
        rng.normal(0.0, 2 * sd, n_units)[unit]
        + 0.1 * sd * period
        + effect * treated
        + errors.ravel()
    )
    return pd.DataFrame({"unit": unit, "period": period, "treated": treated, "y": y})


def simulated_did_power(
    *,
    n_units: int,
    n_treated: int,
    pre: int,
    post: int,
    effect: float,
    sd: float,
    ar1: float = 0.0,
    inference: object | None = None,
    alpha: float = 0.05,
    n_sims: int = 1000,
    rng: int | np.random.Generator | None = None,
    progress: bool = True,
) -> SimulatedDidPowerResult:
    """Power of the DiD test by simulation, with the library's estimator and inference.

    Parameters
    ----------
    n_units, n_treated, pre, post, sd, ar1
        The design and errors, as :func:`~sfpc_eval.diff_in_diff.power.did_power`.
    effect : float
        The true effect (0 gives the size of the test).
    inference : optional
        Any inference :func:`~sfpc_eval.did` takes; default ``ClusterRobust("unit", "CR2")``.
        ``WildClusterBootstrap(bootcluster=("unit", "period"))`` and
        ``Randomization(ties="randomized")`` are the few-cluster choices.
    alpha : float, default 0.05
        Two-sided test level: a panel rejects when its p-value is at most ``alpha``.
    n_sims : int, default 1000
        Panels to simulate.
    rng : int or numpy.random.Generator, optional
        Seed.
    progress : bool, default True
        Show a progress bar (tqdm).

    Returns
    -------
    SimulatedDidPowerResult

    Raises
    ------
    InvalidValueError
        As :func:`~sfpc_eval.diff_in_diff.power.did_power`, and ``n_sims`` below 1.
    """
    from sfpc_eval.diff_in_diff.twfe import did
    from sfpc_eval.inference.cluster import ClusterRobust

    units, treated, pre, post = check_power_design(n_units, n_treated, pre, post)
    sd = _check_sd(sd)
    rho = _check_ar1(ar1)
    if (
        isinstance(effect, bool)
        or not isinstance(effect, numbers.Real)
        or not math.isfinite(effect)
    ):
        raise InvalidValueError(f"`effect` must be a finite number; got {effect!r}.")
    if isinstance(n_sims, bool) or not isinstance(n_sims, numbers.Integral) or n_sims < 1:
        raise InvalidValueError(f"`n_sims` must be a whole number >= 1; got {n_sims!r}.")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise InvalidValueError(f"`alpha` must be in (0, 1); got {alpha!r}.")
    inference = ClusterRobust("unit", kind="CR2") if inference is None else inference
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    draws = range(int(n_sims))
    if progress:
        from tqdm.auto import tqdm

        draws = tqdm(draws, desc="simulated panels", unit="panel")
    p_values = np.empty(int(n_sims))
    for i in draws:
        panel = simulate_did_panel(
            n_units=units,
            n_treated=treated,
            pre=pre,
            post=post,
            effect=float(effect),
            sd=sd,
            ar1=rho,
            rng=gen,
        )
        used = inference
        if dataclasses.is_dataclass(inference) and hasattr(inference, "rng"):
            # fresh bootstrap draws (or tie-breaking uniform) in every panel, from the seed
            used = dataclasses.replace(inference, rng=int(gen.integers(2**31)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SfpcEvalWarning)
            res = did(
                panel,
                outcome="y",
                unit="unit",
                time="period",
                treated="treated",
                inference=used,
            )
        p_values[i] = res.estimate.p_value
    power = float(np.mean(p_values <= alpha))
    mc_se = math.sqrt(power * (1 - power) / n_sims)
    method = inference.describe()
    terms = (
        Term(
            "power",
            power,
            std_error=mc_se,
            method=f"simulation ({int(n_sims):,} panels); {method}",
            note="std. error: Monte Carlo",
        ),
    )
    return SimulatedDidPowerResult(
        n_units=units,
        n_treated=treated,
        pre=pre,
        post=post,
        effect=float(effect),
        sd=sd,
        ar1=rho,
        alpha=float(alpha),
        power=power,
        mc_se=mc_se,
        n_sims=int(n_sims),
        method=method,
        p_values=p_values,
        terms=terms,
    )
