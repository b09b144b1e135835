"""Size of stepped-wedge analyses: simulate the trial under no effect and count rejections.

Researchers check that an analysis holds its level with a handful of councils by simulating
the trial with no intervention effect many times and counting how often the analysis rejects
"no effect" at 5% (Foundations wrote 10,000-fit R loops for this). :func:`null_size` does it in
one call. Every simulated trial:

1. re-randomises the rollout (which council switches when), within the design's
   randomisation strata unless ``stratified=False``
   (:meth:`~sfpc_eval.trials.design.SteppedWedgeDesign.randomise`), as the real trial did;
2. draws children with :func:`~sfpc_eval.trials.simulate.simulate_trial` at odds ratio 1, with
   each council's own baseline risk, a random council intercept, period effects and child
   covariates;
3. runs every analysis asked for and records its two-sided p-value of the treatment effect.

The size of an analysis is the share of trials whose p-value is at most ``alpha``; a valid
analysis has size at most ``alpha`` (within Monte Carlo error), an invalid one more. With
per-council baseline risks that differ, a GLM that ignores councils (no council effects, no
clustering) is invalid: early-switching councils contribute more treated periods, so council
differences enter its estimate and its classical standard error does not allow for that.

Built-in analyses (names accepted in ``analyses``):

``"glmm"``
    :func:`~sfpc_eval.trials.analysis.stepped_wedge` default: random-intercept logistic GLMM,
    Satterthwaite df.
``"gee"``
    Exchangeable logistic GEE, Mancl-DeRouen sandwich, t(G - 1).
``"glm"``
    Logistic GLM with council fixed effects, CR2 standard errors, Satterthwaite df.
``"glm_naive"``
    Logistic GLM without council effects and with classical (model-based) standard errors:
    the analysis that ignores the clustering. Known to be invalid here.
``"randomization"``
    Randomization test over rollout orders (the GLM with council effects as statistic; every
    admissible order, within the strata when ``stratified``). With Family Safeguarding's
    strata there are only 12 orders, so its smallest p-value is 1/12 and it never rejects at
    5%; ``stratified=False`` gives 120.

Any other analysis is a mapping of :func:`~sfpc_eval.trials.analysis.stepped_wedge` keyword
arguments (``{"model": "glmm", "df_method": "z"}``) or a callable ``f(trial) -> p_value`` on
the simulated child-level frame (columns of :data:`sfpc_eval.trials.simulate.SIM_COLUMNS`).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._validate import check_resamples, check_seed
from sfpc_eval.errors import InvalidValueError, SfpcEvalError, SfpcEvalWarning, show_values
from sfpc_eval.tables import Table, format_number
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.simulate import TrialSpec, _spec, simulate_trial

__all__ = ["BUILTIN_ANALYSES", "NullSizeResult", "null_size"]

BUILTIN_ANALYSES: Mapping[str, str] = {
    "glmm": "GLMM (random council intercept), Satterthwaite df",
    "gee": "GEE (exchangeable), Mancl-DeRouen sandwich, t(G-1)",
    "glm": "GLM with council effects, CR2, Satterthwaite df",
    "glm_naive": "GLM without council effects, classical SEs (ignores clustering)",
    "randomization": "randomization test over rollout orders (GLM with council effects)",
}
"""Names :func:`null_size` understands, and what each runs."""

_RESERVED = ("data", "outcome", "cluster", "period", "treated", "imputations")
_FIT_FAILURES = (SfpcEvalError, np.linalg.LinAlgError, FloatingPointError)


@dataclass(frozen=True)
class NullSizeResult:
    """Size (rejection rate under no effect) of each analysis, from simulated trials.

    Attributes
    ----------
    sizes : pandas.DataFrame
        One row per analysis: ``analysis``, ``description``, ``n_sims``, ``failed`` (trials
        the analysis could not be fitted to, left out of its size), ``rejections``, ``size``,
        ``mc_std_error`` (``sqrt(size (1 - size) / fitted)``), ``conf_low``/``conf_high``
        (Clopper-Pearson 95% interval of the true size) and ``inflated`` (the interval lies
        above ``alpha``: the analysis rejects too often).
    p_values : pandas.DataFrame
        One row per simulated trial, one column per analysis (NaN where it failed).
    alpha : float
    trial : str
        The trial simulated.
    settings : dict
        The simulation's settings (children, risks, council SD, strata, covariates).
    seed : int or None
    """

    sizes: pd.DataFrame
    p_values: pd.DataFrame
    alpha: float
    trial: str
    settings: Mapping[str, Any]
    seed: int | None

    def size(self, analysis: str) -> float:
        """Return the size of one analysis.

        Raises
        ------
        InvalidValueError
            An analysis that was not run.
        """
        rows = self.sizes[self.sizes["analysis"] == analysis]
        if rows.empty:
            run = show_values(list(self.sizes["analysis"]))
            raise InvalidValueError(f"no analysis {analysis!r} was run; run: {run}.")
        return float(rows["size"].iloc[0])

    def tidy(self) -> pd.DataFrame:
        """Return :attr:`sizes` (a copy)."""
        return self.sizes.copy()

    def summary(self) -> Table:
        """Render as a table (the table engine's :class:`~sfpc_eval.tables.Table`)."""
        rows = [
            [
                r.analysis,
                r.description,
                f"{100 * r.size:.1f}%",
                f"{100 * r.mc_std_error:.1f}",
                f"{100 * r.conf_low:.1f}% to {100 * r.conf_high:.1f}%",
                format_number(int(r.n_sims - r.failed)),
                "yes" if r.inflated else "no",
            ]
            for r in self.sizes.itertuples()
        ]
        facts = [
            ("trial", self.trial),
            ("nominal level", f"{100 * self.alpha:g}%"),
            ("seed", str(self.seed)),
            *((k, str(v)) for k, v in self.settings.items()),
        ]
        notes = [
            "Size: share of trials simulated with no intervention effect in which the analysis "
            "rejected 'no effect'. Rollout re-randomised in every trial.",
        ]
        failed = self.sizes[self.sizes["failed"] > 0]
        notes += [
            f"{r.analysis}: {r.failed} trial(s) could not be fitted and are left out."
            for r in failed.itertuples()
        ]
        return Table(
            "Size of the analyses under no effect (simulated)",
            ["analysis", "what", "size", "MC SE (points)", "95% interval", "trials", "inflated"],
            rows,
            facts=facts,
            notes=notes,
        )

    def __str__(self) -> str:
        return self.summary().as_text()


def null_size(
    trial: str | TrialSpec | SteppedWedgeDesign = "family_safeguarding",
    analyses: Sequence[str] | Mapping[str, Any] = ("glmm", "gee", "glm", "randomization"),
    *,
    n_sims: int = 1000,
    rng: int | np.random.SeedSequence | np.random.Generator | None,
    alpha: float = 0.05,
    n_children: int | None = None,
    baseline_risk: float | Mapping[str, float] | None = None,
    cluster_sd: float = 0.1,
    period_effects: Sequence[float] | None = None,
    covariate_effects: Mapping[str, float] | None = None,
    covariates: Sequence[str] = (),
    stratified: bool = True,
    progress: bool = True,
) -> NullSizeResult:
    """Simulate the trial under no effect and report the size of every analysis.

    Parameters
    ----------
    trial : str, TrialSpec or SteppedWedgeDesign, default "family_safeguarding"
        The trial to simulate (see :func:`~sfpc_eval.trials.simulate.simulate_trial`).
    analyses : sequence of names, or mapping of name to analysis
        Names from :data:`BUILTIN_ANALYSES`, or a mapping whose values are a built-in name,
        a mapping of :func:`~sfpc_eval.trials.analysis.stepped_wedge` keyword arguments, or a
        callable ``f(trial_frame) -> p_value``.
    n_sims : int, default 1000
        Simulated trials (the Monte Carlo SE of a size of 5% is 0.7 points at 1,000).
    rng : int, numpy.random.SeedSequence or numpy.random.Generator
        Seed (required keyword; ``None`` for fresh randomness). Trial ``k`` uses the ``k``-th
        child of ``numpy.random.SeedSequence(rng)`` (of the generator's, for a generator), so a
        run with a whole-number seed can be extended reproducibly.
    alpha : float, default 0.05
        Nominal level: a trial rejects when the p-value is at most ``alpha``.
    n_children, baseline_risk, cluster_sd, period_effects, covariate_effects
        Passed to :func:`~sfpc_eval.trials.simulate.simulate_trial`; ``baseline_risk`` may give
        each council its own control risk (default: the trial's).
    covariates : sequence of str, default ()
        Child covariates every built-in and keyword-argument analysis adjusts for (columns of
        the simulated frame: ``age``, ``sex``, ``ethnicity``, ``disability``,
        ``previous_plans``).
    stratified : bool, default True
        Re-randomise the rollout within the design's strata (as the trial was randomised);
        ``False`` permutes it across all councils.
    progress : bool, default True
        Show a progress bar (tqdm) over the simulated trials.

    Returns
    -------
    NullSizeResult

    Raises
    ------
    InvalidValueError
        No analyses, an unknown analysis name, a keyword-argument analysis naming a data column
        argument, a bad ``alpha``, ``n_sims`` or seed, or bad simulation settings.
    SizeLimitError
        ``n_sims`` above the library's limit on draws.

    Examples
    --------
    >>> res = null_size("no_wrong_door", ["glm", "glm_naive"], n_sims=20, rng=1,
    ...                 n_children=2000, progress=False)
    >>> list(res.sizes["analysis"]), int(res.sizes["n_sims"].iloc[0])
    (['glm', 'glm_naive'], 20)
    """
    n = check_resamples(n_sims, "n_sims", minimum=1)
    check_seed(rng)
    if not (isinstance(alpha, int | float) and not isinstance(alpha, bool) and 0 < alpha < 1):
        raise InvalidValueError(f"`alpha` must be a number in (0, 1); got {alpha!r}.")
    if not isinstance(stratified, bool):
        raise InvalidValueError(f"`stratified` must be True or False; got {stratified!r}.")
    spec = _spec(trial)
    if not stratified and spec.design.strata is not None:
        from sfpc_eval.trials.design_orders import replace_design

        spec = dataclasses.replace(spec, design=replace_design(spec.design, strata=None))
    covariates = list(covariates)
    runners = _runners(analyses, covariates, spec.design.strata is not None)
    options = dict(
        odds_ratio=1.0,
        n_children=n_children,
        baseline_risk=baseline_risk,
        cluster_sd=cluster_sd,
        period_effects=period_effects,
        covariate_effects=covariate_effects,
    )
    # check the simulation settings once, before the loop
    simulate_trial(spec, rng=0, **{**options, "n_children": n_children or 100})
    source = rng if isinstance(rng, np.random.Generator) else np.random.SeedSequence(rng)
    children = source.spawn(n)
    p = np.full((n, len(runners)), np.nan)
    loop: Any = children
    if progress:
        from tqdm.auto import tqdm

        loop = tqdm(children, desc="null trials", unit="trial")
    for k, child in enumerate(loop):
        gen = np.random.default_rng(child)
        design = spec.design.randomise(rng=gen)
        frame = simulate_trial(dataclasses.replace(spec, design=design), rng=gen, **options)
        for j, (_, run) in enumerate(runners):
            p[k, j] = _p_value(run, frame)
    names = [name for name, _ in runners]
    return NullSizeResult(
        sizes=_sizes(names, analyses, p, alpha),
        p_values=pd.DataFrame(p, columns=names),
        alpha=float(alpha),
        trial=spec.name,
        settings={
            "children": n_children if n_children is not None else sum(spec.children.values()),
            "baseline risk": _describe_risk(baseline_risk, spec),
            "council SD (log-odds)": cluster_sd,
            "rollout": "within strata" if spec.design.strata else "across councils",
            "covariates": ", ".join(covariates) or "none",
        },
        seed=rng if isinstance(rng, int) else None,
    )


def _runners(
    analyses: Any, covariates: list[str], stratified: bool
) -> list[tuple[str, Callable[[pd.DataFrame], float]]]:
    if isinstance(analyses, str):
        analyses = [analyses]
    items = list(analyses.items()) if isinstance(analyses, Mapping) else [(a, a) for a in analyses]
    if not items:
        raise InvalidValueError(
            f"`analyses` is empty; name at least one of {', '.join(BUILTIN_ANALYSES)} or give "
            "stepped_wedge keyword arguments."
        )
    runners = []
    for name, what in items:
        if not isinstance(name, str):
            raise InvalidValueError(f"analysis names must be text; got {name!r}.")
        if isinstance(what, str):
            if what not in BUILTIN_ANALYSES:
                raise InvalidValueError(
                    f"unknown analysis {what!r}; built-in: {', '.join(BUILTIN_ANALYSES)} (or "
                    "give a mapping of stepped_wedge keyword arguments, or a callable)."
                )
            runners.append((name, _builtin(what, covariates, stratified)))
        elif isinstance(what, Mapping):
            bad = [k for k in what if k in _RESERVED]
            if bad:
                raise InvalidValueError(
                    f"analysis {name!r} sets {show_values(bad)}; the simulated trial supplies "
                    "the data, outcome, cluster, period and treatment columns (no imputation)."
                )
            runners.append((name, _keywords(dict(what), covariates)))
        elif callable(what):
            runners.append((name, what))
        else:
            raise InvalidValueError(
                f"analysis {name!r} must be a built-in name, a mapping of stepped_wedge keyword "
                f"arguments or a callable; got {type(what).__name__}."
            )
    return runners


def _builtin(name: str, covariates: list[str], stratified: bool) -> Callable[..., float]:
    from sfpc_eval.inference.cluster import Classical

    kwargs: dict[str, Any] = {
        "glmm": {"model": "glmm"},
        "gee": {"model": "gee"},
        "glm": {"model": "glm"},
        "glm_naive": {"model": "glm", "inference": Classical(), "cluster_effects": False},
        "randomization": {
            "model": "glm",
            "inference": SteppedWedgeRandomization(strata="stratum" if stratified else None),
        },
    }[name]
    return _keywords(kwargs, covariates)


def _keywords(kwargs: dict[str, Any], covariates: list[str]) -> Callable[[pd.DataFrame], float]:
    kwargs = {"covariates": covariates, **kwargs}

    def run(frame: pd.DataFrame) -> float:
        result = stepped_wedge(frame, "looked_after", "cluster", "period", "treated", **kwargs)
        return float(result.term("treated").p_value)

    return run


def _p_value(run: Callable[[pd.DataFrame], float], frame: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SfpcEvalWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            value = float(run(frame))
        except _FIT_FAILURES:
            return math.nan
    return value if 0 <= value <= 1 else math.nan


def _sizes(names: list[str], analyses: Any, p: np.ndarray, alpha: float) -> pd.DataFrame:
    described = dict(analyses.items()) if isinstance(analyses, Mapping) else {}
    rows = []
    for j, name in enumerate(names):
        what = described.get(name, name)
        ok = np.isfinite(p[:, j])
        fitted = int(ok.sum())
        hits = int((p[ok, j] <= alpha).sum())
        size = hits / fitted if fitted else math.nan
        low = stats.beta.ppf(0.025, hits, fitted - hits + 1) if hits else 0.0
        high = stats.beta.ppf(0.975, hits + 1, fitted - hits) if hits < fitted else 1.0
        rows.append(
            {
                "analysis": name,
                "description": (
                    BUILTIN_ANALYSES.get(what, name) if isinstance(what, str) else str(name)
                ),
                "n_sims": len(p),
                "failed": len(p) - fitted,
                "rejections": hits,
                "size": size,
                "mc_std_error": math.sqrt(size * (1 - size) / fitted) if fitted else math.nan,
                "conf_low": float(low) if fitted else math.nan,
                "conf_high": float(high) if fitted else math.nan,
                "inflated": bool(fitted and low > alpha),
            }
        )
    return pd.DataFrame(rows)


def _describe_risk(baseline_risk: Any, spec: TrialSpec) -> str:
    risks = spec.baseline_risk if baseline_risk is None else baseline_risk
    if isinstance(risks, Mapping):
        return ", ".join(f"{k} {100 * float(v):g}%" for k, v in risks.items())
    return f"{100 * float(risks):g}% in every council"
