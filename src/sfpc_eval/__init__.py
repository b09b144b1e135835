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

from sfpc_eval.data import (
    EligibilityScreen,
    FolderCheck,
    LaPanel,
    check_folder,
    la_panel,
    sfpc_eligibility,
)
from sfpc_eval.errors import (
    DataFileError,
    DesignError,
    DuplicateObservationError,
    EmptyFileError,
    FewTreatedClustersWarning,
    FileColumnsError,
    FileEncodingError,
    InvalidValueError,
    MissingColumnError,
    RegistryError,
    SfpcEvalError,
    SfpcEvalWarning,
    SuppressedValueError,
    ThousandsSeparatorError,
    UndefinedEffectError,
    UndefinedIntervalWarning,
    UnknownAreaError,
    YearOutOfRangeError,
)
from sfpc_eval.estimators import (
    CountComparison,
    DidResult,
    ItsResult,
    MeanComparison,
    PairedComparison,
    ProportionComparison,
    SummaryDid,
    SyntheticControlResult,
    compare_counts,
    compare_means,
    compare_proportions,
    did,
    did_from_counts,
    did_from_means,
    its,
    paired_change,
    synthetic_control,
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
from sfpc_eval.panel import PanelSpec, validate_panel
from sfpc_eval.results import TIDY_COLUMNS, Term

__version__ = "0.1.0"

__all__ = [
    "TIDY_COLUMNS",
    "Classical",
    "ClusterRobust",
    "CountComparison",
    "DataFileError",
    "DesignError",
    "DidResult",
    "DuplicateObservationError",
    "EligibilityScreen",
    "EmptyFileError",
    "FewTreatedClustersWarning",
    "FileColumnsError",
    "FileEncodingError",
    "FolderCheck",
    "HeteroskedasticityRobust",
    "InvalidValueError",
    "ItsResult",
    "LaPanel",
    "MeanComparison",
    "MissingColumnError",
    "PairedComparison",
    "PanelSpec",
    "ProportionComparison",
    "Randomization",
    "RegistryError",
    "SfpcEvalError",
    "SfpcEvalWarning",
    "SummaryDid",
    "SuppressedValueError",
    "SyntheticControlResult",
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
    "check_folder",
    "compare_counts",
    "compare_means",
    "compare_proportions",
    "did",
    "did_from_counts",
    "did_from_means",
    "its",
    "la_panel",
    "paired_change",
    "sfpc_eligibility",
    "synthetic_control",
    "validate_panel",
]
