"""Adjusting p-values across a family of outcomes: Holm, Benjamini-Hochberg, Romano-Wolf.

An evaluation of a children's services model rarely stops at one outcome (looked after,
child protection plans, re-referrals, days in care...). :func:`adjust_results` adjusts the
treatment p-values of several :class:`~sfpc_eval.DidResult` fits:

- ``"holm"``: Holm's step-down, controlling the family-wise error rate;
- ``"bh"``: Benjamini-Hochberg, controlling the false discovery rate;
- ``"romano-wolf"``: the Romano-Wolf step-down max-t, with the outcomes' wild cluster bootstrap
  t statistics drawn with the same cluster weights so that their correlation is used (it is
  less conservative than Holm when outcomes move together). Linear models on the same clusters.

Reference: Romano, J. P. and Wolf, M. (2005). Exact and approximate stepdown methods for
multiple hypothesis testing. JASA 100(469), 94-108.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.inference.wild import (
    WildClusterBootstrap,
    draw_weights,
    refuse_bootcluster,
    studentized_draws,
)

__all__ = ["adjust_pvalues", "adjust_results"]

METHODS = {"holm": "holm", "bh": "fdr_bh"}


def adjust_pvalues(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values (statsmodels' ``multipletests``).

    Parameters
    ----------
    p_values : sequence of float
        One family of p-values (a 1-D list), each in [0, 1].
    method : {"holm", "bh"}, default "holm"
        Holm's step-down (family-wise error) or Benjamini-Hochberg (false discovery rate).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the order given.

    Raises
    ------
    InvalidValueError
        An unknown method; p-values that are not one 1-D list of numbers in [0, 1].

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    if method not in METHODS:
        raise InvalidValueError(
            f"`method` must be one of {', '.join(METHODS)} (or 'romano-wolf' with results); "
            f"got {method!r}."
        )
    try:
        values = np.asarray(p_values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"`p_values` must be a list of numbers in [0, 1]; got {p_values!r}."
        ) from None
    if values.ndim != 1:
        raise InvalidValueError(
            f"`p_values` must be one list of p-values (one family of tests); got an array of "
            f"shape {values.shape}. Adjust each family with its own call, or flatten the array "
            "first if all its tests form one family."
        )
    if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
        raise InvalidValueError(f"p-values must lie in [0, 1]; got {values.tolist()}.")
    return multipletests(values, method=METHODS[method])[1]


def adjust_results(
    results: Mapping[str, object] | Sequence[object],
    method: str = "holm",
    *,
    bootstrap: WildClusterBootstrap | None = None,
) -> pd.DataFrame:
    """Adjust the treatment p-values of several DiD results for multiple outcomes.

    Parameters
    ----------
    results : mapping of name to DidResult, or a sequence of DidResult
        One fit per outcome.
    method : {"holm", "bh", "romano-wolf"}, default "holm"
        Adjustment.
    bootstrap : WildClusterBootstrap, optional
        Draws for Romano-Wolf (default: Rademacher, enumerated when ``2**G <= 4096``).

    Returns
    -------
    pandas.DataFrame
        One row per outcome: ``outcome``, ``estimate``, ``p_value`` (as reported by each result;
        for Romano-Wolf, the unadjusted p-value of the same centred bootstrap, which differs
        slightly from the null-imposed bootstrap p-value), ``p_adjusted`` and ``method``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval as se
    >>> rng = np.random.default_rng(0)
    >>> panel = pd.DataFrame([(la, t) for la in range(10) for t in range(6)], columns=["la", "t"])
    >>> panel["treated"] = ((panel["la"] < 4) & (panel["t"] >= 3)).astype(int)
    >>> for name in ("cla", "cpp"):
    ...     panel[name] = rng.normal(50, 5, len(panel)) - 3 * panel["treated"]
    >>> fits = {y: se.did(panel, outcome=y, unit="la", time="t", treated="treated")
    ...         for y in ("cla", "cpp")}
    >>> list(adjust_results(fits, "holm")["outcome"])
    ['cla', 'cpp']
    """
    named = (
        dict(results)
        if isinstance(results, Mapping)
        else {getattr(r, "outcome", str(i)): r for i, r in enumerate(results)}
    )
    if len(named) < 2:
        raise InvalidValueError("adjusting for multiple outcomes needs at least 2 results.")
    estimates = [r.estimate.estimate for r in named.values()]  # type: ignore[attr-defined]
    if method == "romano-wolf":
        p_raw, p_adjusted = _romano_wolf(list(named.values()), bootstrap or WildClusterBootstrap())
    else:
        p_raw = np.array([r.estimate.p_value for r in named.values()])  # type: ignore[attr-defined]
        p_adjusted = adjust_pvalues(p_raw, method)
    return pd.DataFrame(
        {
            "outcome": list(named),
            "estimate": estimates,
            "p_value": p_raw,
            "p_adjusted": p_adjusted,
            "method": method,
        }
    )


def _romano_wolf(results: list, spec: WildClusterBootstrap) -> tuple[np.ndarray, np.ndarray]:
    refuse_bootcluster(spec, "Romano-Wolf")
    fits = [r._fit for r in results]
    labels = [tuple(sorted(map(str, r._cells.keys[_cluster(r)].unique()))) for r in results]
    if any(label != labels[0] for label in labels):
        raise DesignError(
            "Romano-Wolf needs every outcome fitted on the same clusters, so that one set of "
            "cluster weights drives all the bootstrap statistics."
        )
    weights, _ = draw_weights(spec, fits[0].n_clusters)
    t_obs = np.empty(len(fits))
    t_star = np.empty((len(weights), len(fits)))
    for i, (fit, result) in enumerate(zip(fits, results, strict=True)):
        t_obs[i], t_star[:, i] = studentized_draws(fit, fit.index(result.treated), weights)
    p_raw = np.mean(np.abs(t_star) >= np.abs(t_obs) * (1 - 1e-12), axis=0)
    order = np.argsort(-np.abs(t_obs))
    adjusted = np.empty(len(fits))
    running = 0.0
    for step, i in enumerate(order):
        remaining = order[step:]
        max_t = np.max(np.abs(t_star[:, remaining]), axis=1)
        running = max(running, float(np.mean(max_t >= abs(t_obs[i]) * (1 - 1e-12))))
        adjusted[i] = running
    return p_raw, adjusted


def _cluster(result) -> str:
    return getattr(result.inference, "cluster", None) or result.unit
