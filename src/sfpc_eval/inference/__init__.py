"""Inference settings as small frozen objects, and the variances they compute."""

from sfpc_eval.inference.cluster import Classical, ClusterRobust, VarianceResult, variance

__all__ = ["Classical", "ClusterRobust", "VarianceResult", "variance"]
