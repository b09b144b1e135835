"""Before/after comparisons from published figures or child-level values.

Two counts, proportions or means, paired child-level change, and difference-in-differences from
four published figures.

These are the closed-form comparisons behind most published claims ("974 to 515 child
protection plans"), with intervals matching R's ``poisson.test``, ``prop.test``,
``fisher.test`` and ``t.test``. Builds on the foundation modules (results, validation) only.
"""

from sfpc_eval.comparisons.counts import CountComparison, compare_counts
from sfpc_eval.comparisons.means import MeanComparison, compare_means
from sfpc_eval.comparisons.paired import PairedComparison, paired_change
from sfpc_eval.comparisons.proportions import ProportionComparison, compare_proportions
from sfpc_eval.comparisons.summary_did import SummaryDid, did_from_counts, did_from_means

__all__ = [
    "CountComparison",
    "MeanComparison",
    "PairedComparison",
    "ProportionComparison",
    "SummaryDid",
    "compare_counts",
    "compare_means",
    "compare_proportions",
    "did_from_counts",
    "did_from_means",
    "paired_change",
]
