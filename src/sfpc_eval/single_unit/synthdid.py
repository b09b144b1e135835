"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens and Wager, 2021).

Synthetic DiD reweights both councils and years before taking a difference in differences:
unit weights ``omega`` (on the simplex, with an intercept) make the weighted donors' pre-period
path parallel to the treated councils'; time weights ``lambda`` make the weighted pre-period
years resemble the post-period for the donors. The estimate is

``tau = (mean treated post - sum_t lambda_t treated_t) - (sum_i omega_i (mean post_i -
sum_t lambda_t Y_it))``.

The weights solve ridge-penalised least-squares problems over the simplex by Frank-Wolfe with
exact line search, as the reference R package ``synthdid`` does, including its stopping rule
(stop when an iteration lowers the objective by less than ``min_decrease^2``, with
``min_decrease = 1e-5 sigma``) and its two-round "sparsify" step (100 iterations, set weights
at most a quarter of the largest to zero, renormalise, then iterate to convergence). The
penalties are the paper's: ``zeta_omega = (N_tr T_post)^(1/4) sigma`` and
``zeta_lambda = 1e-6 sigma``, with ``sigma`` the standard deviation of the first differences of
the donors' pre-period outcomes.

Variance, as the paper defines it: ``"placebo"`` (Algorithm 4; the only one defined with a
single treated council): donors are randomly relabelled as treated and the estimator is re-run;
``"jackknife"`` (Algorithm 3, weights held fixed) and ``"bootstrap"`` (Algorithm 2), both
undefined with one treated council.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._terms import wald_term
from sfpc_eval._validate import check_conf_level, check_resamples, check_seed
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.labels import label
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.single_unit._frank_wolfe import fit_weights, gram_problems, solve_batch
from sfpc_eval.single_unit.synthetic import _outcome_panel

__all__ = ["SyntheticDidResult", "frank_wolfe_weights", "synthetic_did"]

VARIANCES = ("placebo", "jackknife", "bootstrap")


def frank_wolfe_weights(
    y: np.ndarray,
    zeta: float,
    *,
    intercept: bool = True,
    start: np.ndarray | None = None,
    min_decrease: float = 1e-3,
    max_iter: int = 1000,
) -> np.ndarray:
    """Simplex weights on the first columns of ``y`` that reproduce its last column.

    Minimises ``zeta^2 |w|^2 + |A w - b|^2 / n`` over the simplex, where ``A`` is ``y``
    without its last column, ``b`` is the last column and ``n`` the number of rows (columns
    demeaned first when ``intercept``). Frank-Wolfe with exact line search from ``start``
    (default equal weights), stopping when an iteration lowers the objective by less than
    ``min_decrease^2`` or after ``max_iter`` iterations. (Solved in Gram form, see
    :mod:`sfpc_eval.single_unit._frank_wolfe`.)

    Examples
    --------
    >>> y = np.array([[1.0, 3.0, 2.0], [2.0, 4.0, 3.0], [0.0, 2.0, 1.0]])
    >>> frank_wolfe_weights(y, 0.0, intercept=False, min_decrease=1e-12).round(4).tolist()
    [0.5, 0.5]
    """
    y = np.asarray(y, dtype=float)
    k = y.shape[1] - 1
    w = np.full(k, 1 / k) if start is None else np.asarray(start, dtype=float)
    gram, linear, rows = gram_problems(y[None], intercept)
    return solve_batch(
        gram, linear, rows, zeta, w[None], min_decrease=min_decrease, max_iter=max_iter
    )[0]


def _normalise(w: np.ndarray) -> np.ndarray:
    """Rescale each row to sum one; equal weights where a row is all zero (as R synthdid)."""
    total = w.sum(axis=-1, keepdims=True)
    equal = np.full_like(w, 1 / w.shape[-1])
    return np.where(total != 0, w / np.where(total != 0, total, 1.0), equal)


def _collapse(y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    """Average the treated rows and the post-period columns: an (n0 + 1) x (t0 + 1) matrix."""
    top = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    bottom = np.append(y[n0:, :t0].mean(axis=0), y[n0:, t0:].mean())
    return np.vstack([top, bottom])


@dataclass(frozen=True)
class _Tuning:
    zeta_omega: float
    zeta_lambda: float
    min_decrease: float


def _weights(
    collapsed: list[np.ndarray], n0s: np.ndarray, t0: int, tuning: _Tuning, omega, lam
) -> tuple[np.ndarray, np.ndarray]:
    """Time and unit weights of a batch of problems, each a collapsed (n0 + 1) x (t0 + 1) matrix.

    ``omega`` (padded with zeros beyond each problem's ``n0``) and ``lam`` are the starts.
    """
    equal = len(set(n0s.tolist())) == 1
    if equal:
        stack = np.stack(collapsed)
        n0 = int(n0s[0])
        lam_problems = gram_problems(stack[:, :n0, :])
        omega_problems = gram_problems(stack[:, :, :t0].transpose(0, 2, 1))
        sizes = None
    else:  # bootstrap draws: ragged donor sets, padded
        lam_problems = _padded([c[: len(c) - 1, :] for c in collapsed])
        omega_problems = _padded([c[:, :t0].T for c in collapsed])
        sizes = n0s
    lam = fit_weights(*lam_problems[:3], tuning.zeta_lambda, lam, tuning.min_decrease)
    omega = fit_weights(
        *omega_problems[:3], tuning.zeta_omega, omega, tuning.min_decrease, sizes=sizes
    )
    return omega, lam


def _padded(problems: list[np.ndarray]):
    """Gram form of problems with different rows and columns, padded to the widest."""
    width = max(p.shape[1] for p in problems) - 1
    gram = np.zeros((len(problems), width, width))
    linear = np.zeros((len(problems), width))
    rows = np.empty(len(problems))
    for i, problem in enumerate(problems):
        g, q, n = gram_problems(problem[None])
        k = problem.shape[1] - 1
        gram[i, :k, :k], linear[i, :k], rows[i] = g[0], q[0], n[0]
    return gram, linear, rows


def _estimates(ys: list[np.ndarray], n0s, t0: int, omega, lam) -> np.ndarray:
    """SDID estimate of each problem (rows ``:n0`` donors, columns ``:t0`` pre-period)."""
    out = np.empty(len(ys))
    for i, (y, n0) in enumerate(zip(ys, n0s, strict=True)):
        n1, t1 = y.shape[0] - n0, y.shape[1] - t0
        units = np.concatenate([-omega[i, :n0], np.full(n1, 1 / n1)])
        times = np.concatenate([-lam[i], np.full(t1, 1 / t1)])
        out[i] = units @ y @ times
    return out


def _estimate_batch(ys, n0s, t0, tuning, omega, lam, update=True):
    """Re-estimate weights (from the starts) and the SDID estimate for a batch of problems."""
    n0s = np.asarray(n0s, dtype=np.int64)
    if update:
        collapsed = [_collapse(y, int(n0), t0) for y, n0 in zip(ys, n0s, strict=True)]
        omega, lam = _weights(collapsed, n0s, t0, tuning, omega, lam)
    return _estimates(ys, n0s, t0, omega, lam), omega, lam


def _estimate(y, n0, t0, tuning, omega=None, lam=None, update=True):
    """SDID estimate on rows ``:n0`` = donors, columns ``:t0`` = pre-period (one problem)."""
    omega = np.full((1, n0), 1 / n0) if omega is None else np.asarray(omega)[None]
    lam = np.full((1, t0), 1 / t0) if lam is None else np.asarray(lam)[None]
    tau, omega, lam = _estimate_batch([y], [n0], t0, tuning, omega, lam, update)
    return float(tau[0]), omega[0], lam[0]


@dataclass(frozen=True)
class SyntheticDidResult(ResultMixin):
    """Result of :func:`synthetic_did`.

    Attributes
    ----------
    outcome : str
        Outcome column.
    treated_units : tuple
        The treated councils.
    start : object
        First period under the programme.
    terms : tuple of Term
        ``att``: the average effect on the treated councils over the post-period.
    unit_weights : pandas.Series
        ``omega``, one per donor (non-negative, summing to one).
    time_weights : pandas.Series
        ``lambda``, one per pre-period (non-negative, summing to one).
    noise_level : float
        ``sigma``: SD of the donors' pre-period first differences.
    zeta_omega, zeta_lambda : float
        Ridge penalties of the unit and time weights.
    variance : str
        ``"placebo"``, ``"jackknife"`` or ``"bootstrap"``.
    replicates : numpy.ndarray
        The placebo, jackknife or bootstrap estimates behind the standard error.
    effects : pandas.DataFrame
        Per post-period: ``time`` and ``effect`` (the curve averaged into ``att``).
    """

    outcome: str
    treated_units: tuple
    start: object
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    unit_weights: pd.Series = field(repr=False, compare=False)
    time_weights: pd.Series = field(repr=False, compare=False)
    noise_level: float
    zeta_omega: float
    zeta_lambda: float
    variance: str
    replicates: np.ndarray = field(repr=False, compare=False)
    effects: pd.DataFrame = field(repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Synthetic difference-in-differences: {label(self.outcome)} from {self.start}"

    @property
    def estimate(self) -> float:
        """The average effect on the treated (``att``)."""
        return self.term("att").estimate

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        donors = int((self.unit_weights > 0).sum())
        return [
            ("treated", ", ".join(map(str, self.treated_units))),
            ("donors", f"{donors} of {len(self.unit_weights)} with positive weight"),
            ("penalty", f"zeta_omega = {self.zeta_omega:.4g} (sigma = {self.noise_level:.4g})"),
            ("variance", f"{self.variance}, {len(self.replicates)} replicates; normal reference"),
        ]

    def _headline_name(self) -> str:
        return "att"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="synthetic_did",
            n_units=len(self.unit_weights) + len(self.treated_units),
            n_treated=len(self.treated_units),
            n_periods=len(self.time_weights) + len(self.effects),
            inference=self.variance,
        )
        return facts

    def _refit(self, conf_level: float) -> SyntheticDidResult:
        term = self.term("att")
        new = wald_term("att", term.estimate, term.std_error, conf_level, term.method)
        return _replace_terms(self, (new,), conf_level)


def _replace_terms(result, terms, conf_level):
    import dataclasses

    return dataclasses.replace(result, terms=terms, conf_level=conf_level)


def _treated_list(treated_unit) -> list:
    if isinstance(treated_unit, list | tuple | set | pd.Index | np.ndarray):
        return list(treated_unit)
    return [treated_unit]


def synthetic_did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: object,
    start: object,
    donors: Sequence | None = None,
    variance: str = "placebo",
    replications: int = 200,
    rng: int | np.random.Generator | None = None,
    conf_level: float = 0.95,
    progress: bool = False,
) -> SyntheticDidResult:
    """Synthetic difference-in-differences for one or a few treated councils.

    Parameters
    ----------
    data : pandas.DataFrame
        Long balanced panel, one row per council and period. Not modified.
    outcome, unit, time : str
        Columns.
    treated_unit : object or list
        The council (a value of ``unit``), or a list of councils, adopting at ``start``.
    start : object
        First period under the programme (a value of ``time``).
    donors : sequence, optional
        Comparison councils; default every other council in the data.
    variance : {"placebo", "jackknife", "bootstrap"}, default "placebo"
        Standard error as the paper defines it. Only ``"placebo"`` is defined with one treated
        council; it needs more donors than treated councils.
    replications : int, default 200
        Placebo or bootstrap replications.
    rng : int or numpy.random.Generator, optional
        Seed for the placebo relabelling or bootstrap draws.
    conf_level : float, default 0.95
        Level of the normal-reference interval.
    progress : bool, default False
        Show a progress bar (tqdm) over the replications.

    Returns
    -------
    SyntheticDidResult

    Raises
    ------
    DesignError
        The treated council is missing or among the donors; gaps in the panel; fewer than 2
        pre-periods; a variance method undefined for these data (jackknife or bootstrap with one
        treated council, placebo with no more donors than treated councils).
    InvalidValueError
        An unknown ``variance``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.single_unit.synthdid import synthetic_did
    >>> rng = np.random.default_rng(1)
    >>> rows = [(u, y, 50 + 2 * u + 0.5 * y + rng.normal(0, 0.1) - 4 * (u == 0) * (y >= 6))
    ...         for u in range(8) for y in range(10)]
    >>> panel = pd.DataFrame(rows, columns=["la", "year", "rate"])
    >>> res = synthetic_did(panel, outcome="rate", unit="la", time="year", treated_unit=0,
    ...                     start=6, replications=10, rng=1)
    >>> round(res.estimate)
    -4
    """
    level = check_conf_level(conf_level)
    if variance not in VARIANCES:
        raise InvalidValueError(
            f"`variance` must be one of {', '.join(map(repr, VARIANCES))}; got {variance!r}."
        )
    replications = check_resamples(replications, "replications", minimum=2)
    check_seed(rng)
    treated = _treated_list(treated_unit)
    wide, start = _outcome_panel(data, outcome, unit, time, treated, donors, start)
    pool = [u for u in wide.columns if u not in treated]
    periods = wide.index.to_numpy()
    t0 = int((periods < start).sum())
    n0, n1 = len(pool), len(treated)
    y = wide[[*pool, *treated]].to_numpy().T  # councils x periods, donors first
    diffs = np.diff(y[:n0, :t0], axis=1)
    sigma = float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0
    t1 = len(periods) - t0
    tuning = _Tuning((n1 * t1) ** 0.25 * sigma, 1e-6 * sigma, 1e-5 * sigma)
    tau, omega, lam = _estimate(y, n0, t0, tuning)
    generator = np.random.default_rng(rng)
    if variance == "placebo":
        if n0 <= n1:
            raise DesignError(
                f"placebo variance needs more donors than treated councils; there are {n0} "
                f"donors and {n1} treated. Add donors."
            )
        replicates = _placebo(y, n0, t0, tuning, omega, lam, replications, generator, progress)
        se = math.sqrt((replications - 1) / replications) * float(np.std(replicates, ddof=1))
        method = f"placebo variance ({replications} relabellings), normal"
    else:
        if n1 == 1:
            raise DesignError(
                f"{variance} variance is undefined with one treated council "
                f"({treated[0]!r}): it resamples treated councils. Use variance='placebo'."
            )
        if variance == "jackknife":
            replicates = _jackknife(y, n0, t0, tuning, omega, lam)
            n = len(replicates)
            se = math.sqrt((n - 1) ** 2 / n * float(np.var(replicates, ddof=1)))
            method = "jackknife (fixed weights), normal"
        else:
            replicates = _bootstrap(
                y, n0, t0, tuning, omega, lam, replications, generator, progress
            )
            se = math.sqrt((replications - 1) / replications) * float(np.std(replicates, ddof=1))
            method = f"bootstrap ({replications} draws of councils), normal"
    units = np.concatenate([-omega, np.full(n1, 1 / n1)])
    path = units @ y
    effects = pd.DataFrame({"time": periods[t0:], "effect": path[t0:] - path[:t0] @ lam})
    return SyntheticDidResult(
        outcome=outcome,
        treated_units=tuple(treated),
        start=start,
        conf_level=level,
        terms=(wald_term("att", tau, se, level, method),),
        unit_weights=pd.Series(omega, index=pool, name="omega"),
        time_weights=pd.Series(lam, index=periods[:t0], name="lambda"),
        noise_level=sigma,
        zeta_omega=tuning.zeta_omega,
        zeta_lambda=tuning.zeta_lambda,
        variance=variance,
        replicates=replicates,
        effects=effects,
    )


def _in_chunks(replications: int, progress: bool, desc: str):
    """Slices of the replications: one batch, or about 20 under a progress bar (tqdm)."""
    size = replications if not progress else max(1, math.ceil(replications / 20))
    chunks = [slice(i, min(i + size, replications)) for i in range(0, replications, size)]
    return _with_bar(chunks, replications, desc) if progress else chunks


def _with_bar(chunks, total: int, desc: str):
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="fit") as bar:
        for chunk in chunks:
            yield chunk
            bar.update(chunk.stop - chunk.start)


def _placebo(y, n0, t0, tuning, omega, lam, replications, generator, progress) -> np.ndarray:
    """Algorithm 4: relabel donors as treated (warm starts as R ``synthdid``), all at once."""
    n1 = y.shape[0] - n0
    orders = np.array([generator.permutation(n0) for _ in range(replications)])
    out = np.empty(replications)
    for chunk in _in_chunks(replications, progress, "placebo"):
        order = orders[chunk]
        starts = _normalise(omega[order[:, : n0 - n1]])
        ys = list(y[order])
        lams = np.tile(lam, (len(ys), 1))
        out[chunk] = _estimate_batch(ys, [n0 - n1] * len(ys), t0, tuning, starts, lams)[0]
    return out


def _jackknife(y, n0, t0, tuning, omega, lam) -> np.ndarray:
    """Leave one council out with the weights held fixed (omega renormalised)."""
    if np.count_nonzero(omega) == 1:
        raise DesignError(
            "the fixed-weights jackknife is undefined when a single donor carries all the "
            "weight; use variance='bootstrap'."
        )
    estimates = []
    for drop in range(y.shape[0]):
        keep = np.array([i for i in range(y.shape[0]) if i != drop])
        donors = keep[keep < n0]
        w = _normalise(omega[donors])
        estimates.append(_estimate(y[keep], len(donors), t0, tuning, w, lam, update=False)[0])
    return np.asarray(estimates)


def _bootstrap(y, n0, t0, tuning, omega, lam, replications, generator, progress) -> np.ndarray:
    """Resample councils with replacement; redraw samples without treated or without donors.

    The draws are made first (the same sequence as one at a time), then every draw's weights
    are solved as one ragged batch.
    """
    n = y.shape[0]
    draws = []
    for _ in range(replications):
        while True:
            draw = np.sort(generator.integers(0, n, size=n))
            if 0 < int((draw < n0).sum()) < n:
                break
        draws.append(draw)
    out = np.empty(replications)
    for chunk in _in_chunks(replications, progress, "bootstrap"):
        batch = draws[chunk]
        n0s = [int((draw < n0).sum()) for draw in batch]
        starts = np.zeros((len(batch), max(n0s)))
        for i, draw in enumerate(batch):
            starts[i, : n0s[i]] = _normalise(omega[draw[draw < n0]])
        lams = np.tile(lam, (len(batch), 1))
        ys = [y[draw] for draw in batch]
        out[chunk] = _estimate_batch(ys, n0s, t0, tuning, starts, lams)[0]
    return out
