"""Inference settings as small frozen objects, and the computations behind them."""

from sfpc_eval.inference.cluster import (
    Classical,
    ClusterRobust,
    HeteroskedasticityRobust,
    VarianceResult,
    variance,
)
from sfpc_eval.inference.multiple import adjust_pvalues, adjust_results
from sfpc_eval.inference.randomization import Randomization
from sfpc_eval.inference.wild import WildClusterBootstrap

__all__ = [
    "Classical",
    "ClusterRobust",
    "HeteroskedasticityRobust",
    "Randomization",
    "VarianceResult",
    "WildClusterBootstrap",
    "adjust_pvalues",
    "adjust_results",
    "variance",
]
