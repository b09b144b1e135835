"""Designs for one pioneering council: synthetic control, synthetic DiD, interrupted time series.

Leeds, Hertfordshire and North Yorkshire each built their model alone, so the claims about them
rest on one treated council. These estimators build a comparison for that council from the
others (:mod:`~sfpc_eval.single_unit.synthetic`, :mod:`~sfpc_eval.single_unit.synthdid`,
:mod:`~sfpc_eval.single_unit.augmented`) or from its own past
(:mod:`~sfpc_eval.single_unit.its`); :mod:`~sfpc_eval.single_unit.conformal` gives conformal
intervals for the synthetic designs, :mod:`~sfpc_eval.single_unit.placebo_time` moves the start
into the pre-period, :mod:`~sfpc_eval.single_unit.donors` keeps councils that ran similar
programmes out of donor pools, and :mod:`~sfpc_eval.single_unit.summary` runs the designs side
by side.

Builds on the foundation modules and :mod:`sfpc_eval.data` (council names and codes).
"""

from sfpc_eval.single_unit.augmented import (
    AugmentedSyntheticControlResult,
    augmented_synthetic_control,
)
from sfpc_eval.single_unit.conformal import ConformalResult, conformal_inference
from sfpc_eval.single_unit.donors import donor_pool, excluded_donors
from sfpc_eval.single_unit.its import ItsResult, its
from sfpc_eval.single_unit.placebo_time import PlaceboInTimeResult, placebo_in_time
from sfpc_eval.single_unit.summary import SingleCouncilSummary, single_council_summary
from sfpc_eval.single_unit.synthdid import SyntheticDidResult, synthetic_did
from sfpc_eval.single_unit.synthetic import SyntheticControlResult, synthetic_control

__all__ = [
    "AugmentedSyntheticControlResult",
    "ConformalResult",
    "ItsResult",
    "PlaceboInTimeResult",
    "SingleCouncilSummary",
    "SyntheticControlResult",
    "SyntheticDidResult",
    "augmented_synthetic_control",
    "conformal_inference",
    "donor_pool",
    "excluded_donors",
    "its",
    "placebo_in_time",
    "single_council_summary",
    "synthetic_control",
    "synthetic_did",
]
