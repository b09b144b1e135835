"""Former home of every estimator, kept so that code written against it still runs.

The estimators now live in packages named for their designs: :mod:`sfpc_eval.comparisons`,
:mod:`sfpc_eval.diff_in_diff`, :mod:`sfpc_eval.staggered`, :mod:`sfpc_eval.single_unit` (and
:mod:`sfpc_eval.cells` for the fits they share). ``from sfpc_eval.estimators import did`` and
``import sfpc_eval.estimators.event_study`` keep working: the names are re-exported here and
the old module paths are aliases of the new modules. New code should import from
``sfpc_eval`` or from the design packages.
"""

import importlib
import sys

from sfpc_eval.comparisons import (
    CountComparison,
    MeanComparison,
    PairedComparison,
    ProportionComparison,
    SummaryDid,
    compare_counts,
    compare_means,
    compare_proportions,
    did_from_counts,
    did_from_means,
    paired_change,
)
from sfpc_eval.diff_in_diff import DidResult, EventStudyResult, did, event_study
from sfpc_eval.single_unit import (
    ItsResult,
    SyntheticControlResult,
    SyntheticDidResult,
    its,
    synthetic_control,
    synthetic_did,
)
from sfpc_eval.staggered import (
    BaconResult,
    CallawayAggregate,
    CallawayResult,
    ImputationResult,
    SunAbrahamResult,
    bacon,
    callaway_santanna,
    imputation,
    staggered_did,
    sun_abraham,
)

MOVED_MODULES = {
    "absorb": "sfpc_eval.cells.absorb",
    "bacon": "sfpc_eval.staggered.bacon",
    "callaway": "sfpc_eval.staggered.callaway",
    "callaway_aggregate": "sfpc_eval.staggered.callaway_aggregate",
    "callaway_gt": "sfpc_eval.staggered.callaway_gt",
    "callaway_inference": "sfpc_eval.staggered.callaway_inference",
    "callaway_rc": "sfpc_eval.staggered.callaway_rc",
    "cellfit": "sfpc_eval.cells.fit",
    "cells": "sfpc_eval.cells.collapse",
    "cohorts": "sfpc_eval.diff_in_diff.cohorts",
    "counts": "sfpc_eval.comparisons.counts",
    "did_summary": "sfpc_eval.comparisons.summary_did",
    "event_study": "sfpc_eval.diff_in_diff.event_study",
    "imputation": "sfpc_eval.staggered.imputation",
    "its": "sfpc_eval.single_unit.its",
    "means": "sfpc_eval.comparisons.means",
    "paired": "sfpc_eval.comparisons.paired",
    "proportions": "sfpc_eval.comparisons.proportions",
    "staggered": "sfpc_eval.staggered.choose",
    "sun_abraham": "sfpc_eval.staggered.sun_abraham",
    "synthdid": "sfpc_eval.single_unit.synthdid",
    "synthetic": "sfpc_eval.single_unit.synthetic",
    "twfe": "sfpc_eval.diff_in_diff.twfe",
}
"""Old module name under ``sfpc_eval.estimators`` -> the module it moved to."""

for _old, _new in MOVED_MODULES.items():
    sys.modules[f"{__name__}.{_old}"] = importlib.import_module(_new)

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
