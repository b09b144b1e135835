"""Simulate the referral extract a council returns: referrals, care episodes, gaps.

:func:`simulate_referrals` turns a trial simulated by
:func:`~sfpc_eval.trials.simulate.simulate_trial` (one child per row, first referral in the
trial, outcome "looked after within 18 months") back into the raw material the SFPC
evaluations start from, so that the preparation steps (:mod:`sfpc_eval.trials.prepare`) can be
shown and checked end to end:

- ``referrals``: one row per referral: the trial referral, later referrals of the same child
  (about 28 % of children have more, as in Family Safeguarding's extract), and referrals before
  the trial starts for some; child characteristics as recorded (age band at referral, sex,
  ethnicity group, disability, unaccompanied asylum-seeking status, previous child protection
  plans), with values missing at random given the council, previous plans and age;
- ``care``: one row per period of care starting: within 18 months of the trial referral for the
  children whose outcome is 1, after the window (or before the referral) for some others.

The outcome rebuilt from these by :func:`~sfpc_eval.trials.prepare.outcome_within` equals the
simulated one (a test checks this).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.trials.prepare import add_months
from sfpc_eval.trials.simulate import simulate_trial

__all__ = ["ReferralExtract", "simulate_referrals"]

AGE_BANDS = ("under 1", "1-4", "5-9", "10-15", "16-17")
ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Other")


@dataclass(frozen=True, eq=False)
class ReferralExtract:
    """A simulated extract: referrals, care episodes, the trial's design and its truth.

    Attributes
    ----------
    referrals : pandas.DataFrame
        ``child_id, council, referral_date, age_band, sex, ethnicity, disability, uasc,
        previous_plans`` (text categories; missing values as None).
    care : pandas.DataFrame
        ``child_id, care_start``.
    switch : dict
        Council -> switch date.
    start, end, follow_up_end : pandas.Timestamp
        Trial window ``[start, end)`` and the last day the care data cover.
    period_starts : tuple of pandas.Timestamp
    trial : pandas.DataFrame
        The simulated trial behind it (one row per child, true outcome, no missing values).
    """

    referrals: pd.DataFrame = field(repr=False)
    care: pd.DataFrame = field(repr=False)
    switch: dict
    start: pd.Timestamp
    end: pd.Timestamp
    follow_up_end: pd.Timestamp
    period_starts: tuple
    trial: pd.DataFrame = field(repr=False)


def _band(age: np.ndarray) -> np.ndarray:
    edges = np.array([1, 5, 10, 16])
    return np.asarray(AGE_BANDS, dtype=object)[np.searchsorted(edges, age, side="right")]


def simulate_referrals(
    trial: str = "family_safeguarding",
    *,
    rng: int,
    n_children: int | None = None,
    odds_ratio: float = 0.8,
    cluster_sd: float = 0.2,
    missing_rate: float = 0.15,
) -> ReferralExtract:
    """Simulate a referral extract and care episodes for a built-in SFPC trial.

    Parameters
    ----------
    trial : str, default "family_safeguarding"
        ``"family_safeguarding"`` or ``"no_wrong_door"``.
    rng : int
        Seed.
    n_children : int, optional
        Children referred in the trial (default: the trial's published number).
    odds_ratio, cluster_sd : float
        Passed to :func:`~sfpc_eval.trials.simulate.simulate_trial`.
    missing_rate : float, default 0.15
        Share of children with at least one characteristic missing (ethnicity most often,
        then sex, UASC status and disability), more for children with previous plans and for
        teenagers, and varying by council (missing at random).

    Returns
    -------
    ReferralExtract

    Examples
    --------
    >>> ex = simulate_referrals("no_wrong_door", rng=3, n_children=500)
    >>> len(ex.referrals) > 500, ex.referrals["child_id"].nunique()
    (True, 500)
    """
    if not (isinstance(missing_rate, int | float) and 0 <= missing_rate < 0.6):
        raise InvalidValueError(f"`missing_rate` must be in [0, 0.6); got {missing_rate!r}.")
    base = simulate_trial(
        trial, rng=rng, n_children=n_children, odds_ratio=odds_ratio, cluster_sd=cluster_sd
    )
    design = base.attrs["truth"].design
    gen = np.random.default_rng([rng, 2])
    n = len(base)
    start, end = design.period_starts[0], design.period_end
    follow_up_end = add_months(pd.Series([end]), 18).iloc[0]
    exposure = design.exposure_matrix()
    switch = {
        c: design.period_starts[int(np.flatnonzero(exposure[i] >= 1)[0])]
        for i, c in enumerate(design.clusters)
    }
    child = np.arange(100_001, 100_001 + n)
    referral = pd.to_datetime(base["referral_date"]).reset_index(drop=True)
    sex = np.where(base["sex"] == "female", "Female", "Male").astype(object)
    sex[gen.random(n) < 0.015] = "Other"
    uasc = np.where(gen.random(n) < np.where(base["age"] >= 14, 0.08, 0.005), "Yes", "No")
    previous = np.asarray(["0", "1", "2 or more"], dtype=object)[base["previous_plans"]]
    people = pd.DataFrame(
        {
            "child_id": child,
            "council": base["cluster"].to_numpy(),
            "referral_date": referral,
            "age_band": _band(base["age"].to_numpy()),
            "sex": sex,
            "ethnicity": base["ethnicity"].astype(str).to_numpy(),
            "disability": np.where(base["disability"] == 1, "Disabled", "Not disabled"),
            "uasc": uasc.astype(object),
            "previous_plans": previous,
        }
    )
    _make_missing(people, base, design, missing_rate, gen)
    # later referrals (about 28 % of children) and referrals before the trial (5 %)
    extra = []
    again = gen.random(n) < 0.28
    for k in np.flatnonzero(again):
        gap = pd.Timedelta(days=int(gen.integers(14, 700)))
        extra.append((k, referral[k] + gap))
    before = gen.random(n) < 0.05
    for k in np.flatnonzero(before):
        extra.append((k, start - pd.Timedelta(days=int(gen.integers(30, 900)))))
    rows = people.iloc[[k for k, _ in extra]].copy()
    rows["referral_date"] = [d for _, d in extra]
    referrals = pd.concat([people, rows], ignore_index=True)
    referrals = referrals.sample(frac=1.0, random_state=gen.integers(2**31)).reset_index(drop=True)
    # care episodes
    window_end = add_months(referral, 18)
    days = (window_end - referral).dt.days.to_numpy()
    looked_after = base["looked_after"].to_numpy() == 1
    care = []
    for k in np.flatnonzero(looked_after):
        care.append((child[k], referral[k] + pd.Timedelta(days=int(gen.integers(0, days[k] + 1)))))
    others = np.flatnonzero(~looked_after)
    late = others[gen.random(len(others)) < 0.06]
    for k in late:
        care.append((child[k], window_end[k] + pd.Timedelta(days=int(gen.integers(1, 400)))))
    earlier = others[gen.random(len(others)) < 0.01]
    for k in earlier:
        care.append((child[k], referral[k] - pd.Timedelta(days=int(gen.integers(1, 700)))))
    care = pd.DataFrame(care, columns=["child_id", "care_start"])
    care = care[care["care_start"] <= follow_up_end].reset_index(drop=True)
    trial_frame = base.assign(child_id=child)
    return ReferralExtract(
        referrals=referrals,
        care=care,
        switch=switch,
        start=start,
        end=end,
        follow_up_end=follow_up_end,
        period_starts=tuple(design.period_starts),
        trial=trial_frame,
    )


def _make_missing(people, base, design, rate, gen) -> None:
    """Blank characteristics at random given council, previous plans and age (MAR)."""
    if rate == 0:
        return
    n = len(people)
    council = pd.Categorical(base["cluster"], categories=list(design.clusters)).codes
    council_shift = np.linspace(-0.5, 0.5, design.n_clusters)[council]
    score = 0.9 * (base["previous_plans"].to_numpy() > 0) + 0.06 * base["age"].to_numpy()
    score = score + council_shift
    share = {"ethnicity": 0.75, "sex": 0.25, "uasc": 0.35, "disability": 0.15}
    # overall rate of "any missing" is about `rate`; each column's own rate scales with share
    target = -math.log(1 - rate)
    total = sum(share.values())
    for column, weight in share.items():
        column_rate = 1 - math.exp(-target * weight / total)
        shift = optimize.brentq(
            lambda c, r=column_rate: float(expit(c + score).mean()) - r, -30, 30
        )
        people.loc[gen.random(n) < expit(shift + score), column] = None
