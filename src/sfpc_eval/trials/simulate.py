r"""Simulate child-level stepped-wedge trial data calibrated to the SFPC trials.

:func:`simulate_trial` draws one row per referred child: cluster (council), period, referral
date, exposure, covariates (age, sex, ethnicity, disability, previous child protection plans) and
the binary outcome "looked after within 18 months". The outcome follows a logistic model

.. math::

    \operatorname{logit} P(Y = 1) = \alpha_i + u_i + \beta_t + \log(\mathrm{OR})\,X_{it}
    + x'\gamma

with a calibrated cluster intercept :math:`\alpha_i` (so that the control-condition risk in the
first period, averaged over the covariate distribution, equals the cluster's baseline risk), an
extra random cluster intercept :math:`u_i \sim N(0, \text{cluster\_sd}^2)`, period effects
:math:`\beta_t` (:math:`\beta_0 = 0`), the treatment odds ratio and covariate effects
:math:`\gamma`. The true parameters are attached to the returned frame as
``df.attrs["truth"]`` (a :class:`TrialTruth`).

Built-in designs (facts from ``shared/guides/published_figures.md`` section 6):

- :data:`FAMILY_SAFEGUARDING`: 5 councils, trial 2020-03-01 to 2022-11-24, switches Walsall
  2020-09-01, Lancashire 2021-02-01, Telford & Wrekin 2021-06-28, Wandsworth 2022-01-24, Swindon
  2022-05-24; strata by readiness (Walsall, Lancashire high); about 38,250 referred children,
  split between councils in proportion to the children each referred in 2020-21 (DfE children in
  need census, table C1: 2,880; 7,764; 1,423; 2,632; 2,401). Baseline risk 5 % in every council
  is an *assumption* (not published).
- :data:`NO_WRONG_DOOR`: 4 councils analysed, trial 2019-10-01 to 2022-03-31, switches
  Rochdale 2020-04-01, Warrington 2021-04-01, Norfolk 2021-06-01, Redcar & Cleveland
  2021-09-01; strata by readiness (Rochdale, Warrington high); 2,219, 1,206, 4,392 and 1,173
  children aged 12-17; baseline risk 6 % (4 % in Redcar & Cleveland).

Covariate distributions and effects are plausible *assumptions* for children referred to
children's social care, not published figures; pass your own to change them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from sfpc_eval._validate import check_seed, check_size
from sfpc_eval.errors import InvalidValueError, show_values
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.trial_specs import (
    FAMILY_SAFEGUARDING,
    NO_WRONG_DOOR,
    TrialSpec,
    trial_spec,
)

__all__ = [
    "FAMILY_SAFEGUARDING",
    "NO_WRONG_DOOR",
    "TrialSpec",
    "TrialTruth",
    "simulate_trial",
    "trial_spec",
]

ETHNICITIES = ("White", "Mixed", "Asian", "Black", "Other")
SIM_COLUMNS = (
    "child_id",
    "cluster",
    "stratum",
    "period",
    "period_label",
    "referral_date",
    "treated",
    "age",
    "sex",
    "ethnicity",
    "disability",
    "previous_plans",
    "looked_after",
)
"""Columns of :func:`simulate_trial`'s frame, in order."""

DEFAULT_EFFECTS: Mapping[str, float] = {
    "age_under_1": 0.9,  # infants referred are much more often taken into care
    "age_13_15": 0.2,
    "age_16_17": -0.3,
    "female": -0.05,
    "ethnicity_Mixed": 0.2,
    "ethnicity_Asian": -0.2,
    "ethnicity_Black": 0.1,
    "ethnicity_Other": 0.0,
    "disability": 0.4,
    "previous_plans_1": 0.5,
    "previous_plans_2plus": 0.9,
}
"""Default covariate effects (log-odds); assumptions, see the module notes."""


@dataclass(frozen=True)
class TrialTruth:
    """The parameters a simulated trial was drawn from.

    Attributes
    ----------
    odds_ratio : float
        True treatment odds ratio (conditional on cluster, period and covariates).
    cluster_intercepts : dict
        Calibrated intercept per cluster (log-odds), before the random intercept.
    random_intercepts : dict
        The random cluster intercepts drawn, :math:`u_i`.
    cluster_sd : float
    period_effects : tuple of float
        Log-odds, first period 0.
    covariate_effects : dict
        Log-odds per covariate indicator (see :data:`DEFAULT_EFFECTS`).
    baseline_risk : dict
        Calibration target per cluster.
    missing : str
    missing_rate : float
    missing_columns : tuple of str
    seed : int or None
    """

    odds_ratio: float
    cluster_intercepts: Mapping[str, float]
    random_intercepts: Mapping[str, float]
    cluster_sd: float
    period_effects: tuple[float, ...]
    covariate_effects: Mapping[str, float]
    baseline_risk: Mapping[str, float]
    missing: str
    missing_rate: float
    missing_columns: tuple[str, ...]
    seed: int | None = None
    design: SteppedWedgeDesign | None = field(default=None, repr=False, compare=False)

    @property
    def log_odds_ratio(self) -> float:
        """Return the log of :attr:`odds_ratio`."""
        return math.log(self.odds_ratio)


MAX_CHILDREN = 10_000_000
"""Most children one simulated trial may hold (about 2 GB of rows at the limit); the SFPC trials
referred 9,000-50,000."""


def simulate_trial(
    design_or_name: SteppedWedgeDesign | TrialSpec | str,
    *,
    rng: int | np.random.Generator | None,
    odds_ratio: float = 0.8,
    n_children: int | None = None,
    baseline_risk: float | Mapping[str, float] | None = None,
    cluster_sd: float = 0.1,
    period_effects: Sequence[float] | None = None,
    covariate_effects: Mapping[str, float] | None = None,
    missing: Literal["none", "mcar", "mar"] = "none",
    missing_rate: float = 0.1,
    missing_columns: Sequence[str] = ("ethnicity", "disability"),
) -> pd.DataFrame:
    """Simulate one child-level stepped-wedge trial.

    Parameters
    ----------
    design_or_name : SteppedWedgeDesign, TrialSpec or str
        A built-in trial (``"family_safeguarding"``, ``"no_wrong_door"``), a
        :class:`TrialSpec`, or a design with cluster-period sizes (children per cell; ages 0-17
        as in Family Safeguarding).
    rng : int or numpy.random.Generator
        Seed (required keyword, so every simulation is reproducible; ``None`` for fresh
        randomness).
    odds_ratio : float, default 0.8
        True treatment odds ratio.
    n_children : int, optional
        Total children, spread over cells in proportion to the design's sizes (default: the
        published total, or the design's sizes).
    baseline_risk : float or mapping, optional
        Control-condition risk in the first period per cluster (default: the trial's).
    cluster_sd : float, default 0.1
        SD of the extra random cluster intercept (log-odds).
    period_effects : sequence of float, optional
        Log-odds per period; default a gentle trend of -0.03 per period.
    covariate_effects : mapping, optional
        Overrides for :data:`DEFAULT_EFFECTS` (log-odds).
    missing : {"none", "mcar", "mar"}, default "none"
        Missingness of ``missing_columns``: completely at random, or at random given
        previous plans and age (more missing for children with previous plans and for
        teenagers), with overall rate ``missing_rate``.
    missing_rate : float, default 0.1
    missing_columns : sequence of str, default ("ethnicity", "disability")
        Covariates that go missing (never the outcome or design columns).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SIM_COLUMNS`: ``child_id``; ``cluster`` and ``stratum``; ``period``
        (0-based index) and ``period_label``; ``referral_date`` (NaT without dates);
        ``treated`` (exposure 0/1, or the partial exposure); ``age`` (years); ``sex``
        ("female"/"male"); ``ethnicity`` (White, Mixed, Asian, Black, Other); ``disability``
        (0/1); ``previous_plans`` (0, 1, 2 = two or more); ``looked_after`` (0/1, within 18
        months). ``attrs["truth"]`` holds the :class:`TrialTruth`.

    Raises
    ------
    InvalidValueError
        Bad odds ratio, risks, rates, effects or column names; a seed numpy cannot use.
    SizeLimitError
        More than :data:`MAX_CHILDREN` children.

    Examples
    --------
    >>> df = simulate_trial("no_wrong_door", rng=1, odds_ratio=0.7)
    >>> len(df), df["cluster"].nunique(), round(df.attrs["truth"].odds_ratio, 2)
    (8990, 4, 0.7)
    """
    spec = _spec(design_or_name)
    design = spec.design
    check_seed(rng)
    if isinstance(n_children, int) and not isinstance(n_children, bool) and n_children > 0:
        check_size(
            n_children, "n_children", minimum=1, maximum=MAX_CHILDREN, why="simulated children"
        )
    _check_positive(odds_ratio, "odds_ratio")
    if not (isinstance(cluster_sd, int | float) and cluster_sd >= 0):
        raise InvalidValueError(f"`cluster_sd` must be a non-negative number; got {cluster_sd!r}.")
    if missing not in ("none", "mcar", "mar"):
        raise InvalidValueError(f"`missing` must be 'none', 'mcar' or 'mar'; got {missing!r}.")
    if not (isinstance(missing_rate, int | float) and 0 <= missing_rate < 1):
        raise InvalidValueError(f"`missing_rate` must be in [0, 1); got {missing_rate!r}.")
    bad_cols = [
        c
        for c in missing_columns
        if c not in ("age", "sex", "ethnicity", "disability", "previous_plans")
    ]
    if bad_cols:
        raise InvalidValueError(
            f"`missing_columns` may name only covariates (age, sex, ethnicity, disability, "
            f"previous_plans); got {show_values(bad_cols)}."
        )
    effects = dict(DEFAULT_EFFECTS)
    if covariate_effects is not None:
        unknown = [k for k in covariate_effects if k not in DEFAULT_EFFECTS]
        if unknown:
            raise InvalidValueError(
                f"unknown `covariate_effects` {show_values(unknown)}; known: "
                f"{', '.join(DEFAULT_EFFECTS)}."
            )
        effects.update({k: float(v) for k, v in covariate_effects.items()})
    risks = _risks(baseline_risk, spec)
    t = design.n_periods
    beta = (
        np.arange(t) * -0.03 if period_effects is None else np.asarray(period_effects, dtype=float)
    )
    if beta.shape != (t,) or not np.all(np.isfinite(beta)):
        raise InvalidValueError(
            f"`period_effects` must be {t} finite log-odds, one per period; got {period_effects!r}."
        )
    gen = np.random.default_rng(rng)
    counts = _cell_counts(spec, n_children, gen)
    x = design.exposure_matrix()
    ci, pj = np.nonzero(counts)
    n_cell = counts[ci, pj]
    cluster_idx = np.repeat(ci, n_cell)
    period_idx = np.repeat(pj, n_cell)
    n = len(cluster_idx)

    ages = np.asarray(spec.ages)
    age = gen.choice(ages, size=n, p=np.asarray(spec.age_probs))
    female = gen.random(n) < spec.female_share
    eth_probs = np.array([0.74, 0.07, 0.09, 0.06, 0.04])
    eth = gen.choice(len(ETHNICITIES), size=n, p=eth_probs)
    disability = gen.random(n) < 0.06
    prev = gen.choice(3, size=n, p=[0.80, 0.15, 0.05])

    lin_cov = _covariate_predictor(age, female, eth, disability, prev, effects)
    intercepts = _calibrate(spec, risks, effects, eth_probs)
    u = (
        gen.normal(0.0, cluster_sd, design.n_clusters)
        if cluster_sd > 0
        else np.zeros(design.n_clusters)
    )
    exposure = x[cluster_idx, period_idx]
    eta = (
        intercepts[cluster_idx]
        + u[cluster_idx]
        + beta[period_idx]
        + math.log(odds_ratio) * exposure
        + lin_cov
    )
    y = (gen.random(n) < expit(eta)).astype(np.int8)

    dates = _referral_dates(design, period_idx, gen)
    frame = pd.DataFrame(
        {
            "child_id": np.arange(1, n + 1),
            "cluster": np.asarray(design.clusters, dtype=object)[cluster_idx],
            "stratum": (
                np.asarray(design.strata, dtype=object)[cluster_idx] if design.strata else None
            ),
            "period": period_idx,
            "period_label": np.asarray(design.periods, dtype=object)[period_idx],
            "referral_date": dates,
            "treated": exposure,
            "age": age,
            "sex": np.where(female, "female", "male"),
            "ethnicity": pd.Categorical.from_codes(eth, categories=list(ETHNICITIES)),
            "disability": disability.astype(float),
            "previous_plans": prev,
            "looked_after": y,
        }
    )
    if missing != "none" and missing_rate > 0:
        _make_missing(frame, missing, missing_rate, list(missing_columns), gen)
    frame.attrs["truth"] = TrialTruth(
        odds_ratio=float(odds_ratio),
        cluster_intercepts=dict(zip(design.clusters, intercepts.tolist(), strict=True)),
        random_intercepts=dict(zip(design.clusters, u.tolist(), strict=True)),
        cluster_sd=float(cluster_sd),
        period_effects=tuple(float(b) for b in beta),
        covariate_effects=effects,
        baseline_risk=dict(zip(design.clusters, risks.tolist(), strict=True)),
        missing=missing,
        missing_rate=float(missing_rate),
        missing_columns=tuple(missing_columns),
        seed=rng if isinstance(rng, int) else None,
        design=design,
    )
    return frame


# ---------------------------------------------------------------------------- helpers
def _spec(value: Any) -> TrialSpec:
    if isinstance(value, TrialSpec):
        return value
    if isinstance(value, str):
        return trial_spec(value)
    if isinstance(value, SteppedWedgeDesign):
        if value.cluster_period_sizes is None:
            raise InvalidValueError(
                "the design has no cluster-period sizes, so there is no number of children to "
                "simulate; build it with `cluster_period_sizes=` (or `children_per_cluster=`)."
            )
        sizes = value.sizes()  # 0 in cells not analysed
        fs = FAMILY_SAFEGUARDING
        return TrialSpec(
            name="custom",
            design=value,
            children=dict(
                zip(value.clusters, sizes.sum(axis=1).round().astype(int).tolist(), strict=True)
            ),
            baseline_risk=dict.fromkeys(value.clusters, 0.05),
            ages=fs.ages,
            age_probs=fs.age_probs,
            female_share=fs.female_share,
            source="user design",
        )
    raise InvalidValueError(
        "`design_or_name` must be a SteppedWedgeDesign, a TrialSpec or a built-in trial name "
        f"('family_safeguarding', 'no_wrong_door'); got {type(value).__name__}."
    )


def _check_positive(value: Any, name: str) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InvalidValueError(f"`{name}` must be a positive number; got {value!r}.")


def _risks(baseline: Any, spec: TrialSpec) -> np.ndarray:
    clusters = spec.design.clusters
    if baseline is None:
        values = [spec.baseline_risk[c] for c in clusters]
    elif isinstance(baseline, Mapping):
        missing = [c for c in clusters if c not in baseline]
        if missing:
            raise InvalidValueError(
                f"`baseline_risk` lacks cluster(s) {show_values(missing)}; give every cluster "
                "a risk or one number for all."
            )
        values = [baseline[c] for c in clusters]
    else:
        values = [baseline] * len(clusters)
    bad = [v for v in values if not (isinstance(v, int | float) and 0 < v < 1)]
    if bad:
        raise InvalidValueError(f"`baseline_risk` must be risks in (0, 1); got {show_values(bad)}.")
    return np.asarray(values, dtype=float)


def _cell_counts(spec: TrialSpec, n_children: int | None, gen: np.random.Generator) -> np.ndarray:
    design = spec.design
    sizes = np.asarray(design.cluster_period_sizes, dtype=float)
    sizes = np.where(np.isnan(design.exposure_matrix()), 0.0, sizes)
    if n_children is None:
        totals = np.array([spec.children[c] for c in design.clusters], dtype=float)
    else:
        if isinstance(n_children, bool) or not isinstance(n_children, int) or n_children < 1:
            raise InvalidValueError(f"`n_children` must be a positive integer; got {n_children!r}.")
        share = sizes.sum(axis=1) / sizes.sum()
        totals = np.floor(n_children * share)
        totals[np.argmax(totals)] += n_children - totals.sum()
    counts = np.zeros(sizes.shape, dtype=np.int64)
    for i in range(design.n_clusters):
        row = sizes[i]
        counts[i] = gen.multinomial(int(totals[i]), row / row.sum())
    return counts


def _covariate_predictor(age, female, eth, disability, prev, effects) -> np.ndarray:
    eth_effect = np.array([0.0] + [effects[f"ethnicity_{e}"] for e in ETHNICITIES[1:]])
    prev_effect = np.array([0.0, effects["previous_plans_1"], effects["previous_plans_2plus"]])
    return (
        effects["age_under_1"] * (age == 0)
        + effects["age_13_15"] * ((age >= 13) & (age <= 15))
        + effects["age_16_17"] * (age >= 16)
        + effects["female"] * female
        + eth_effect[eth]
        + effects["disability"] * disability
        + prev_effect[prev]
    )


def _calibrate(spec: TrialSpec, risks: np.ndarray, effects, eth_probs) -> np.ndarray:
    """Solve for intercepts giving each target control risk in period 0 (covariate-averaged)."""
    ages = np.asarray(spec.ages)
    grids = np.meshgrid(
        np.arange(len(ages)), [0, 1], np.arange(5), [0, 1], np.arange(3), indexing="ij"
    )
    a, f, e, d, p = (g.ravel() for g in grids)
    prob = (
        np.asarray(spec.age_probs)[a]
        * np.where(f == 1, spec.female_share, 1 - spec.female_share)
        * eth_probs[e]
        * np.where(d == 1, 0.06, 0.94)
        * np.array([0.80, 0.15, 0.05])[p]
    )
    lin = _covariate_predictor(ages[a], f == 1, e, d == 1, p, effects)

    def solve(target: float) -> float:
        return optimize.brentq(lambda c: float(prob @ expit(c + lin)) - target, -20, 20, xtol=1e-12)

    return np.array([solve(r) for r in risks])


def _referral_dates(design: SteppedWedgeDesign, period_idx: np.ndarray, gen) -> Any:
    if design.period_starts is None:
        return pd.NaT
    bounds = [*design.period_starts, design.period_end]
    start = np.array([b.value for b in bounds[:-1]], dtype=np.int64)
    days = np.array([(b - a).days for a, b in itertools.pairwise(bounds)])
    offset = np.floor(gen.random(len(period_idx)) * days[period_idx]).astype(np.int64)
    return pd.to_datetime(start[period_idx] + offset * 86_400_000_000_000)


def _make_missing(frame: pd.DataFrame, kind: str, rate: float, columns: list[str], gen) -> None:
    n = len(frame)
    if kind == "mcar":
        for col in columns:
            frame.loc[gen.random(n) < rate, col] = np.nan
        return
    # MAR: missingness depends on fully observed variables (previous plans, age)
    score = 0.8 * (frame["previous_plans"].to_numpy() > 0) + 0.05 * frame["age"].to_numpy()
    shift = optimize.brentq(lambda c: float(expit(c + score).mean()) - rate, -30, 30)
    prob = expit(shift + score)
    for col in columns:
        frame.loc[gen.random(n) < prob, col] = np.nan
