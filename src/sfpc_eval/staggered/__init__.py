"""Staggered adoption: councils that start a programme in different years.

Callaway and Sant'Anna (group-time effects in :mod:`~sfpc_eval.staggered.callaway_gt`, their
aggregations and inference in the other ``callaway_*`` modules), Sun and Abraham's interaction
estimator, the imputation estimator (Borusyak, Jaravel and Spiess), the Goodman-Bacon
decomposition of the TWFE estimate, and :func:`staggered_did`, which chooses among them by name.

Builds on :mod:`sfpc_eval.diff_in_diff` (cohorts, the event-study fit and its result terms).
"""

from sfpc_eval.staggered.bacon import BaconResult, bacon
from sfpc_eval.staggered.callaway import CallawayResult, callaway_santanna
from sfpc_eval.staggered.callaway_result import CallawayAggregate
from sfpc_eval.staggered.choose import staggered_did
from sfpc_eval.staggered.imputation import ImputationResult, imputation
from sfpc_eval.staggered.sun_abraham import SunAbrahamResult, sun_abraham

__all__ = [
    "BaconResult",
    "CallawayAggregate",
    "CallawayResult",
    "ImputationResult",
    "SunAbrahamResult",
    "bacon",
    "callaway_santanna",
    "imputation",
    "staggered_did",
    "sun_abraham",
]
