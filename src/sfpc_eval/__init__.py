"""sfpc_eval: evaluate children's social care programmes in England.

Before/after comparisons, difference-in-differences and stepped-wedge trial analysis for local
authority and child-level outcomes, with a registry that re-derives published claims.

Examples
--------
>>> import sfpc_eval as se
>>> res = se.compare_counts(974, 515, labels=("2011", "2017"))
>>> round(res.percent_change.estimate, 1)
-47.1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        [
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
        ],
        "sfpc_eval.comparisons",
    ),
    **dict.fromkeys(
        [
            "EligibilityScreen",
            "FolderCheck",
            "LaPanel",
            "check_folder",
            "la_panel",
            "sfpc_eligibility",
        ],
        "sfpc_eval.data",
    ),
    **dict.fromkeys(
        ["DidResult", "EventStudyResult", "did", "event_study"], "sfpc_eval.diff_in_diff"
    ),
    **dict.fromkeys(
        [
            "DataFileError",
            "DesignError",
            "DisclosureError",
            "DuplicateObservationError",
            "EmptyFileError",
            "FewTreatedClustersWarning",
            "FileColumnsError",
            "FileEncodingError",
            "InvalidValueError",
            "MissingColumnError",
            "PoorPreFitWarning",
            "RegistryError",
            "SeparationError",
            "SfpcEvalError",
            "SfpcEvalWarning",
            "SingleUnitCohortWarning",
            "SingularFitWarning",
            "SizeLimitError",
            "SpecError",
            "SuppressedValueError",
            "ThousandsSeparatorError",
            "UndefinedEffectError",
            "UndefinedIntervalWarning",
            "UnknownAreaError",
            "YearOutOfRangeError",
        ],
        "sfpc_eval.errors",
    ),
    **dict.fromkeys(
        [
            "Classical",
            "ClusterRobust",
            "HeteroskedasticityRobust",
            "Randomization",
            "WildClusterBootstrap",
            "adjust_pvalues",
            "adjust_results",
        ],
        "sfpc_eval.inference",
    ),
    **dict.fromkeys(["PanelSpec", "validate_panel"], "sfpc_eval.panel"),
    **dict.fromkeys(["TIDY_COLUMNS", "Term"], "sfpc_eval.results"),
    **dict.fromkeys(
        [
            "ItsResult",
            "SyntheticControlResult",
            "SyntheticDidResult",
            "its",
            "synthetic_control",
            "synthetic_did",
        ],
        "sfpc_eval.single_unit",
    ),
    **dict.fromkeys(
        [
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
        ],
        "sfpc_eval.staggered",
    ),
    **dict.fromkeys(
        [
            "PooledResult",
            "PowerResult",
            "RandomEffectsComparison",
            "SimulatedPowerResult",
            "SteppedWedgeDesign",
            "SteppedWedgeRandomization",
            "SteppedWedgeResult",
            "compare_random_effects",
            "fit_each",
            "pool",
            "simulate_trial",
            "simulated_power",
            "stepped_wedge",
            "sw_mdes",
            "sw_power",
            "trial_spec",
        ],
        "sfpc_eval.trials",
    ),
}
"""Public name -> the module that defines it. Imported on first use, so that ``import
sfpc_eval`` stays fast and loads no plotting, statsmodels or database engine."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sfpc_eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
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
    from sfpc_eval.data import (
        EligibilityScreen,
        FolderCheck,
        LaPanel,
        check_folder,
        la_panel,
        sfpc_eligibility,
    )
    from sfpc_eval.diff_in_diff import (
        DidResult,
        EventStudyResult,
        did,
        event_study,
    )
    from sfpc_eval.errors import (
        DataFileError,
        DesignError,
        DisclosureError,
        DuplicateObservationError,
        EmptyFileError,
        FewTreatedClustersWarning,
        FileColumnsError,
        FileEncodingError,
        InvalidValueError,
        MissingColumnError,
        PoorPreFitWarning,
        RegistryError,
        SeparationError,
        SfpcEvalError,
        SfpcEvalWarning,
        SingleUnitCohortWarning,
        SingularFitWarning,
        SizeLimitError,
        SpecError,
        SuppressedValueError,
        ThousandsSeparatorError,
        UndefinedEffectError,
        UndefinedIntervalWarning,
        UnknownAreaError,
        YearOutOfRangeError,
    )
    from sfpc_eval.inference import (
        Classical,
        ClusterRobust,
        HeteroskedasticityRobust,
        Randomization,
        WildClusterBootstrap,
        adjust_pvalues,
        adjust_results,
    )
    from sfpc_eval.panel import (
        PanelSpec,
        validate_panel,
    )
    from sfpc_eval.results import (
        TIDY_COLUMNS,
        Term,
    )
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
    from sfpc_eval.trials import (
        PooledResult,
        PowerResult,
        RandomEffectsComparison,
        SimulatedPowerResult,
        SteppedWedgeDesign,
        SteppedWedgeRandomization,
        SteppedWedgeResult,
        compare_random_effects,
        fit_each,
        pool,
        simulate_trial,
        simulated_power,
        stepped_wedge,
        sw_mdes,
        sw_power,
        trial_spec,
    )

__all__ = [
    "TIDY_COLUMNS",
    "BaconResult",
    "CallawayAggregate",
    "CallawayResult",
    "Classical",
    "ClusterRobust",
    "CountComparison",
    "DataFileError",
    "DesignError",
    "DidResult",
    "DisclosureError",
    "DuplicateObservationError",
    "EligibilityScreen",
    "EmptyFileError",
    "EventStudyResult",
    "FewTreatedClustersWarning",
    "FileColumnsError",
    "FileEncodingError",
    "FolderCheck",
    "HeteroskedasticityRobust",
    "ImputationResult",
    "InvalidValueError",
    "ItsResult",
    "LaPanel",
    "MeanComparison",
    "MissingColumnError",
    "PairedComparison",
    "PanelSpec",
    "PooledResult",
    "PoorPreFitWarning",
    "PowerResult",
    "ProportionComparison",
    "RandomEffectsComparison",
    "Randomization",
    "RegistryError",
    "SeparationError",
    "SfpcEvalError",
    "SfpcEvalWarning",
    "SimulatedPowerResult",
    "SingleUnitCohortWarning",
    "SingularFitWarning",
    "SizeLimitError",
    "SpecError",
    "SteppedWedgeDesign",
    "SteppedWedgeRandomization",
    "SteppedWedgeResult",
    "SummaryDid",
    "SunAbrahamResult",
    "SuppressedValueError",
    "SyntheticControlResult",
    "SyntheticDidResult",
    "Term",
    "ThousandsSeparatorError",
    "UndefinedEffectError",
    "UndefinedIntervalWarning",
    "UnknownAreaError",
    "WildClusterBootstrap",
    "YearOutOfRangeError",
    "__version__",
    "adjust_pvalues",
    "adjust_results",
    "bacon",
    "callaway_santanna",
    "check_folder",
    "compare_counts",
    "compare_means",
    "compare_proportions",
    "compare_random_effects",
    "did",
    "did_from_counts",
    "did_from_means",
    "event_study",
    "fit_each",
    "imputation",
    "its",
    "la_panel",
    "paired_change",
    "pool",
    "sfpc_eligibility",
    "simulate_trial",
    "simulated_power",
    "staggered_did",
    "stepped_wedge",
    "sun_abraham",
    "sw_mdes",
    "sw_power",
    "synthetic_control",
    "synthetic_did",
    "trial_spec",
    "validate_panel",
]
