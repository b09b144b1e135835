"""Which inference is valid for a difference-in-differences design, and why not when it is not.

A row of a result carries ``valid`` (see :class:`sfpc_eval.results.Term`): False when its
interval and p-value come from a method known not to hold its level in the design at hand. The
rules, from the few-cluster literature and this library's own coverage tables
(``validation/did_coverage.py``):

- **cluster-robust variances (CR0-CR3) with one treated cluster**: the treated cluster's own
  residuals are absorbed by its fixed effect and the treatment indicator, so the variance comes
  from the comparison clusters alone (Conley and Taber 2011; MacKinnon and Webb 2020);
- **the wild cluster bootstrap with one treated cluster**, one weight per cluster: its
  bootstrap distribution is degenerate (MacKinnon and Webb 2017); the subcluster bootstrap
  (one weight per unit-period) is not affected;
- randomization inference is exact under its sharp null whatever the number of clusters
  (coarse, but valid).

Classical and heteroskedasticity-robust variances are model-based: they are right when the
model's errors are independent, which a panel's seldom are (Bertrand, Duflo and Mullainathan
2004). They are never a default here and are reported as asked, without a mark.

:func:`design_inference` chooses what a report should use by default.

Examples
--------
>>> from sfpc_eval.inference import ClusterRobust, Randomization
>>> inference_validity(ClusterRobust("la", kind="CR2"), n_clusters=11, n_treated_clusters=1)[0]
False
>>> inference_validity(Randomization(), n_clusters=11, n_treated_clusters=1)
(True, '')
>>> design_inference(n_treated_clusters=1, family="gaussian")[0]
'randomization'
"""

from __future__ import annotations

from sfpc_eval.inference.cluster import ClusterRobust
from sfpc_eval.inference.randomization import Randomization
from sfpc_eval.inference.wild import WildClusterBootstrap

__all__ = ["FEW_TREATED_CLUSTERS", "design_inference", "inference_validity"]

FEW_TREATED_CLUSTERS = 10
"""Below this many treated clusters a report prefers a few-cluster method to CR2 alone."""


def inference_validity(
    inference: object, *, n_clusters: int, n_treated_clusters: int
) -> tuple[bool, str]:
    """Return (valid, note): whether ``inference`` holds its level in a DiD with these clusters.

    Parameters
    ----------
    inference : ClusterRobust, WildClusterBootstrap, Randomization (others: valid as asked)
    n_clusters : int
        Clusters in the data.
    n_treated_clusters : int
        Clusters with at least one treated observation.

    Returns
    -------
    (bool, str)
        The note says why a method is not valid, and what to use instead ("" when valid).
    """
    if isinstance(inference, Randomization):
        return True, ""
    one = n_treated_clusters == 1
    if isinstance(inference, WildClusterBootstrap):
        if one and not inference.bootcluster_columns:
            return False, (
                "not valid with one treated cluster: the wild cluster bootstrap with one weight "
                "per cluster cannot reproduce the treated cluster's variability (MacKinnon and "
                "Webb 2017); use randomization inference or the subcluster bootstrap"
            )
        return True, ""
    if isinstance(inference, ClusterRobust):
        if one:
            return False, (
                f"not valid with one treated cluster: {inference.kind} standard errors come from "
                f"the {n_clusters - 1} comparison clusters alone and miss the treated one's own "
                "variability; use randomization inference over clusters"
            )
        return True, ""
    return True, ""


def design_inference(*, n_treated_clusters: int, family: str) -> tuple[str, str]:
    """Choose a report's inference from the design: (name, reason in words).

    - one treated cluster: randomization inference (placebo assignments of the programme to
      every council);
    - fewer than :data:`FEW_TREATED_CLUSTERS` treated clusters: the subcluster wild bootstrap
      (one weight per council-year) for linear models, CR2 with Satterthwaite df otherwise;
    - more: CR2 with Satterthwaite df.

    The names are those of the report's ``inference`` key.

    Examples
    --------
    >>> design_inference(n_treated_clusters=4, family="gaussian")[0]
    'wild_subcluster'
    >>> design_inference(n_treated_clusters=4, family="poisson")[0]
    'CR2'
    """
    if n_treated_clusters <= 1:
        return "randomization", (
            "with one treated council, cluster-robust standard errors rest on the comparison "
            "councils alone and are not valid; randomization inference compares the estimate "
            "with those obtained by assigning the programme to each council in turn"
        )
    if n_treated_clusters < FEW_TREATED_CLUSTERS and family == "gaussian":
        return "wild_subcluster", (
            f"with {n_treated_clusters} treated councils, the subcluster wild bootstrap (one "
            "weight per council-year, MacKinnon and Webb 2018) holds its level where "
            "per-council methods do not (see the coverage table in the documentation)"
        )
    if n_treated_clusters < FEW_TREATED_CLUSTERS:
        return "CR2", (
            f"with {n_treated_clusters} treated councils, CR2 standard errors with Satterthwaite "
            "degrees of freedom (Bell and McCaffrey 2002, as R's clubSandwich); the wild "
            "bootstrap is for linear models"
        )
    return "CR2", (
        f"with {n_treated_clusters} treated councils, CR2 standard errors with Satterthwaite "
        "degrees of freedom (Bell and McCaffrey 2002, as R's clubSandwich)"
    )
