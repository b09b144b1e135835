"""Designs for one pioneering council: synthetic control, synthetic DiD, interrupted time series.

Leeds, Hertfordshire and North Yorkshire each built their model alone, so the claims about them
rest on one treated council. These estimators build a comparison for that council from the
others (:mod:`~sfpc_eval.single_unit.synthetic`, :mod:`~sfpc_eval.single_unit.synthdid`) or
from its own past (:mod:`~sfpc_eval.single_unit.its`).

Builds on the foundation modules only.
"""

from sfpc_eval.single_unit.its import ItsResult, its
from sfpc_eval.single_unit.synthdid import SyntheticDidResult, synthetic_did
from sfpc_eval.single_unit.synthetic import SyntheticControlResult, synthetic_control

__all__ = [
    "ItsResult",
    "SyntheticControlResult",
    "SyntheticDidResult",
    "its",
    "synthetic_control",
    "synthetic_did",
]
