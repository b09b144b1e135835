"""Estimators: data in, point estimates and what inference needs out. They never print or plot."""

from sfpc_eval.estimators.bacon import BaconResult, bacon
from sfpc_eval.estimators.callaway import CallawayAggregate, CallawayResult, callaway_santanna
from sfpc_eval.estimators.counts import CountComparison, compare_counts
from sfpc_eval.estimators.did_summary import SummaryDid, did_from_counts, did_from_means
from sfpc_eval.estimators.event_study import EventStudyResult, event_study
from sfpc_eval.estimators.imputation import ImputationResult, imputation
from sfpc_eval.estimators.its import ItsResult, its
from sfpc_eval.estimators.means import MeanComparison, compare_means
from sfpc_eval.estimators.paired import PairedComparison, paired_change
from sfpc_eval.estimators.proportions import ProportionComparison, compare_proportions
from sfpc_eval.estimators.staggered import staggered_did
from sfpc_eval.estimators.sun_abraham import SunAbrahamResult, sun_abraham
from sfpc_eval.estimators.synthdid import SyntheticDidResult, synthetic_did
from sfpc_eval.estimators.synthetic import SyntheticControlResult, synthetic_control
from sfpc_eval.estimators.twfe import DidResult, did

__all__ = [
    "BaconResult",
    "CallawayAggregate",
    "CallawayResult",
    "CountComparison",
    "DidResult",
    "EventStudyResult",
    "ImputationResult",
    "ItsResult",
    "MeanComparison",
    "PairedComparison",
    "ProportionComparison",
    "SummaryDid",
    "SunAbrahamResult",
    "SyntheticControlResult",
    "SyntheticDidResult",
    "bacon",
    "callaway_santanna",
    "compare_counts",
    "compare_means",
    "compare_proportions",
    "did",
    "did_from_counts",
    "did_from_means",
    "event_study",
    "imputation",
    "its",
    "paired_change",
    "staggered_did",
    "sun_abraham",
    "synthetic_control",
    "synthetic_did",
]
