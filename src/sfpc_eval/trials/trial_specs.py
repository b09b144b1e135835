"""The SFPC trials the simulator is calibrated to: their designs, council sizes and baseline risks.

Facts from ``shared/guides/published_figures.md`` section 6; see :mod:`sfpc_eval.trials.simulate`
for which are published and which are assumptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.trials.design import SteppedWedgeDesign

__all__ = ["FAMILY_SAFEGUARDING", "NO_WRONG_DOOR", "TrialSpec", "trial_spec"]


@dataclass(frozen=True)
class TrialSpec:
    """A trial to simulate: its design, children per council, baseline risks and ages.

    Attributes
    ----------
    name : str
    design : SteppedWedgeDesign
        With switch dates, strata and cluster-period sizes (children per council spread over
        periods in proportion to their length).
    children : dict
        Council -> children over the whole trial.
    baseline_risk : dict
        Council -> risk of the outcome under control in the first period.
    ages : tuple of int
        Ages at referral.
    age_probs : tuple of float
        Their probabilities.
    female_share : float
    source : str
        Where the facts come from.
    """

    name: str
    design: SteppedWedgeDesign
    children: Mapping[str, int]
    baseline_risk: Mapping[str, float]
    ages: tuple[int, ...]
    age_probs: tuple[float, ...]
    female_share: float
    source: str


def _fs() -> TrialSpec:
    switches = {
        "Walsall": "2020-09-01",
        "Lancashire": "2021-02-01",
        "Telford and Wrekin": "2021-06-28",
        "Wandsworth": "2022-01-24",
        "Swindon": "2022-05-24",
    }
    referred_2021 = np.array([2880, 7764, 1423, 2632, 2401], dtype=float)
    total = 38_250
    counts = np.floor(total * referred_2021 / referred_2021.sum()).astype(int)
    counts[np.argmax(counts)] += total - counts.sum()
    children = dict(zip(switches, counts.tolist(), strict=True))
    design = SteppedWedgeDesign.from_switch_dates(
        switches,
        start="2020-03-01",
        end="2022-11-24",
        children_per_cluster=children,
        strata={
            "Walsall": "high",
            "Lancashire": "high",
            "Telford and Wrekin": "other",
            "Wandsworth": "other",
            "Swindon": "other",
        },
    )
    ages = tuple(range(18))
    probs = np.array([0.10] + [0.05] * 4 + [0.05] * 5 + [0.35 / 6] * 6 + [0.05] * 2)
    return TrialSpec(
        name="Family Safeguarding",
        design=design,
        children=children,
        baseline_risk=dict.fromkeys(switches, 0.05),
        ages=ages,
        age_probs=tuple((probs / probs.sum()).tolist()),
        female_share=0.48,
        source="published_figures.md s.6a (switch dates, strata, ~38,250 children); council "
        "shares from DfE CIN census C1 2020-21 referrals; 5% baseline risk assumed",
    )


def _nwd() -> TrialSpec:
    switches = {
        "Rochdale": "2020-04-01",
        "Warrington": "2021-04-01",
        "Norfolk": "2021-06-01",
        "Redcar and Cleveland": "2021-09-01",
    }
    children = {"Rochdale": 2219, "Warrington": 1206, "Norfolk": 4392, "Redcar and Cleveland": 1173}
    design = SteppedWedgeDesign.from_switch_dates(
        switches,
        start="2019-10-01",
        end="2022-04-01",
        children_per_cluster=children,
        strata={
            "Rochdale": "high",
            "Warrington": "high",
            "Norfolk": "other",
            "Redcar and Cleveland": "other",
        },
    )
    return TrialSpec(
        name="No Wrong Door",
        design=design,
        children=children,
        baseline_risk={
            "Rochdale": 0.06,
            "Warrington": 0.06,
            "Norfolk": 0.06,
            "Redcar and Cleveland": 0.04,
        },
        ages=(12, 13, 14, 15, 16, 17),
        age_probs=(0.15, 0.17, 0.18, 0.18, 0.17, 0.15),
        female_share=0.50,
        source="published_figures.md s.6a (switch dates, strata, children per council, "
        "baseline 6% / 4% Redcar)",
    )


FAMILY_SAFEGUARDING: TrialSpec = _fs()
"""The Family Safeguarding trial (5 councils, about 38,250 referred children)."""


NO_WRONG_DOOR: TrialSpec = _nwd()
"""The No Wrong Door trial as analysed (4 councils, 8,990 children aged 12-17)."""


_NAMES = {
    "family_safeguarding": FAMILY_SAFEGUARDING,
    "fs": FAMILY_SAFEGUARDING,
    "no_wrong_door": NO_WRONG_DOOR,
    "nwd": NO_WRONG_DOOR,
}


def trial_spec(name: str) -> TrialSpec:
    """Look up a built-in trial by name (``"family_safeguarding"``/``"fs"``, ``"nwd"``...).

    Examples
    --------
    >>> trial_spec("No Wrong Door").children["Norfolk"]
    4392
    """
    key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
    if key not in _NAMES:
        raise InvalidValueError(
            f"unknown trial {name!r}; built-in trials are 'family_safeguarding' ('fs') and "
            "'no_wrong_door' ('nwd'), or pass a SteppedWedgeDesign with cluster-period sizes."
        )
    return _NAMES[key]
