"""Estimators: data in, point estimates and what inference needs out. They never print or plot."""

from sfpc_eval.estimators.counts import CountComparison, compare_counts
from sfpc_eval.estimators.did_summary import SummaryDid, did_from_counts, did_from_means
from sfpc_eval.estimators.its import ItsResult, its
from sfpc_eval.estimators.means import MeanComparison, compare_means
from sfpc_eval.estimators.paired import PairedComparison, paired_change
from sfpc_eval.estimators.proportions import ProportionComparison, compare_proportions
from sfpc_eval.estimators.synthetic import SyntheticControlResult, synthetic_control
from sfpc_eval.estimators.twfe import DidResult, did

__all__ = [
    "CountComparison",
    "DidResult",
    "ItsResult",
    "MeanComparison",
    "PairedComparison",
    "ProportionComparison",
    "SummaryDid",
    "SyntheticControlResult",
    "compare_counts",
    "compare_means",
    "compare_proportions",
    "did",
    "did_from_counts",
    "did_from_means",
    "its",
    "paired_change",
    "synthetic_control",
]
