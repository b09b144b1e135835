"""Check the options of :func:`~sfpc_eval.trials.analysis.stepped_wedge` before any data work.

Every combination that cannot be fitted is refused here with a message that names the
argument, what was given and what to pass instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.trials.analysis_df import check_df_method
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization
from sfpc_eval.trials.families import FAMILY_NAMES
from sfpc_eval.trials.gee import GEE_VARIANCES
from sfpc_eval.trials.structures import STRUCTURES

__all__ = ["MODELS", "Options", "check_options"]

MODELS = ("glmm", "gee", "glm")


@dataclass(frozen=True)
class Options:
    """The resolved options.

    The structure (``None`` unless ``model="glmm"``), cluster effects and the randomization
    test (``None`` when the model's own p-value stands).
    """

    random_effects: str | None
    cluster_effects: bool
    randomization: SteppedWedgeRandomization | None
    df_method: str = "satterthwaite"

    @property
    def small_sample(self) -> bool:
        """REML estimation and the Kenward-Roger adjustment (``df_method="kenward_roger"``)."""
        return self.df_method == "kenward_roger"


KENWARD_ROGER_BY_DEFAULT = ("nested", "decay")
"""Random-effects structures whose default ``df_method`` is ``"kenward_roger"``."""


def check_options(
    *,
    model: str,
    family: str,
    random_effects: str | None,
    exposure: str | None,
    denominator: str | None,
    outcome_sd: str | None,
    nagq: int,
    gee_variance: str,
    cluster_effects: bool | None,
    inference: object | None,
    exposure_time: bool,
    df_method: str | None = None,
) -> Options:
    """Validate the options and resolve their defaults (see the module notes).

    Examples
    --------
    >>> check_options(model="glmm", family="poisson", random_effects=None, exposure="days",
    ...               denominator=None, outcome_sd=None, nagq=1, gee_variance="MD",
    ...               cluster_effects=None, inference=None, exposure_time=False).random_effects
    'intercept'
    """
    if model not in MODELS:
        raise InvalidValueError(f"`model` must be one of {', '.join(MODELS)}; got {model!r}.")
    if family not in FAMILY_NAMES:
        raise InvalidValueError(
            f"`family` must be one of {', '.join(map(repr, FAMILY_NAMES))}; got {family!r}."
        )
    if model != "glmm" and family != "binomial":
        raise InvalidValueError(
            f"model={model!r} is the logistic {model.upper()} for a binary outcome; a "
            f"{family} outcome is analysed by the mixed model: pass model='glmm'."
        )
    if random_effects is None:
        random_effects = "intercept" if model == "glmm" else None
    elif model != "glmm":
        raise InvalidValueError(
            f"`random_effects` chooses the mixed model's random effects; model={model!r} has "
            f"none (got random_effects={random_effects!r}). Pass model='glmm', or leave "
            "random_effects out."
        )
    elif random_effects not in STRUCTURES:
        raise InvalidValueError(
            f"`random_effects` must be one of {', '.join(map(repr, STRUCTURES))}; got "
            f"{random_effects!r}. 'intercept': one random intercept per cluster; 'nested': "
            "cluster and cluster-by-period intercepts; 'decay': cluster-by-period effects "
            "whose correlation decays over periods (AR(1)); 'slope': a treatment effect that "
            "varies between clusters."
        )
    if exposure is not None and family not in ("poisson", "negative_binomial"):
        raise InvalidValueError(
            f"`exposure` is the offset of a count model (family='poisson' or "
            f"'negative_binomial'); got family={family!r}. For a binomial outcome the number "
            "of children is the denominator itself."
        )
    if denominator is not None and family == "negative_binomial":
        raise InvalidValueError(
            "aggregated input (`denominator`) cannot be fitted by the negative binomial: a sum "
            "of NB2 counts is not NB2, and its likelihood needs each child's count. Give one "
            "row per observation (a child, or a council-month count with exposure=population), "
            "or use family='poisson' for summed counts."
        )
    if outcome_sd is not None and (denominator is None or family != "gaussian"):
        raise InvalidValueError(
            "`outcome_sd` (the within-cell SD of the outcome) is for aggregated Gaussian input: "
            f"pass it with denominator= and family='gaussian' (got family={family!r}, "
            f"denominator={denominator!r})."
        )
    if not isinstance(nagq, int) or isinstance(nagq, bool) or not 1 <= nagq <= 25:
        raise InvalidValueError(
            f"`nagq` must be an integer from 1 (Laplace) to 25 quadrature points; got {nagq!r}."
        )
    if nagq != 1 and (model != "glmm" or family != "binomial" or random_effects != "intercept"):
        raise InvalidValueError(
            f"adaptive quadrature (nagq={nagq}) is available for the binomial random-intercept "
            "GLMM only; the other mixed models use the Laplace approximation (nagq=1), as "
            "glmmTMB does."
        )
    if model == "gee" and gee_variance not in GEE_VARIANCES:
        raise InvalidValueError(
            f"`gee_variance` must be one of {', '.join(GEE_VARIANCES)}; got {gee_variance!r}."
        )
    if cluster_effects is None:
        cluster_effects = model == "glm"
    elif cluster_effects and model != "glm":
        raise InvalidValueError(
            f"`cluster_effects=True` is for model='glm'; the {model.upper()} accounts for "
            "clusters itself (random intercepts or the working correlation)."
        )
    ri = inference if isinstance(inference, SteppedWedgeRandomization) else None
    if df_method is None:
        # Kenward-Roger for the structures with council-by-period effects: with 4-5 councils
        # their ML variance parameters are too small and Satterthwaite's df do not make up for
        # it (decay model, its true model: 88.2% / 92.0% coverage; REML + Kenward-Roger
        # 94.0% / 94.0%; validation/sw_structures_coverage.md)
        structured = model == "glmm" and random_effects in KENWARD_ROGER_BY_DEFAULT
        df_method = "kenward_roger" if structured else "satterthwaite"
    df_method = check_df_method(df_method)
    if model != "glmm" and df_method != "satterthwaite":
        raise InvalidValueError(
            f"`df_method` is for model='glmm'; the {model.upper()} chooses its reference "
            "distribution itself (GEE: t with G - 1 df for the corrected sandwiches; GLM: "
            "Satterthwaite df of CR2)."
        )
    if df_method == "kenward_roger" and nagq != 1:
        raise InvalidValueError(
            f"df_method='kenward_roger' fits by the restricted (REML) Laplace likelihood; "
            f"nagq={nagq} is not available with it (pass nagq=1)."
        )
    if model != "glm" and inference is not None and ri is None:
        raise InvalidValueError(
            f"`inference` for model={model!r} must be None (the model's own standard errors) "
            f"or SteppedWedgeRandomization(...); got {inference!r}. Cluster-robust variances "
            "are for model='glm'; the GEE's sandwich is chosen with gee_variance=; the "
            "mixed model's reference distribution with df_method=."
        )
    if ri is not None and exposure_time:
        raise InvalidValueError(
            "randomization inference tests the single treatment effect; use "
            "exposure_time=False with SteppedWedgeRandomization."
        )
    return Options(random_effects, bool(cluster_effects), ri, df_method)
