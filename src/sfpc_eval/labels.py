"""One vocabulary of plain-English labels for tables, summaries, reports and plots.

Code names (``cla_rate``, ``rate_ratio``, ``e<=-5``, ``ATT(g=2020)``, ``gaussian``, ``CR2``,
``la_name``) stay in data frames and ``tidy()``; everything a reader sees goes through
:func:`label`, so a name is worded the same way in a table, a summary, a report and a chart.
Every call takes ``overrides``, a mapping of name to label, which wins over the vocabulary.

The vocabulary has one entry per name, in these groups (see :data:`VOCABULARY`):

- **measures**: every measure and column the DfE readers and :func:`~sfpc_eval.la_panel`
  produce (``cla``, ``cla_rate``, ``cpp_at_31_march``, ``population_0_17``, ``la_name``...);
- **terms**: every term name the estimators produce (``treated``, ``rate_ratio``,
  ``average_marginal_effect``...), plus patterns for event times (``e=-2``: "2 years before
  adoption"; ``e<=-5``; ``ATT(e=1)``), cohorts and calendar periods (``ATT(g=2020)``,
  ``ATT(t=2021)``, ``ATT(2020, 2021)``), exposure time (``exposure[1]``) and factor levels
  (``period[3]``);
- **families**, **inference** methods, **estimators** and **statistics** (the columns of
  ``tidy()`` and ``glance()``);
- **design** words (``unit``: "council", ``time``: "year ending 31 March");
- **figures**: the axes and series of the charts (``event_time``, ``weight``, ``Mbar``,
  ``counterfactual``...), so a chart never shows a code name.

Plotting code uses the same call, e.g. ``ax.set_ylabel(label("cla_rate"))``; the lower-case
form for the middle of a sentence is ``label(name, lower=True)``.

Examples
--------
>>> label("cla_rate")
'Children looked after per 10,000 children'
>>> label("e<=-5"), label("ATT(e=2)", time_unit="period")
('5 or more years before adoption', '2 periods after adoption')
>>> label("gaussian"), label("rate_ratio", {"rate_ratio": "Ratio of rates"})
('Linear', 'Ratio of rates')
>>> label("cpp_rate", lower=True)
'children on child protection plans per 10,000 children'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

__all__ = [
    "VOCABULARY",
    "has_label",
    "label",
    "scale_of",
]

_COUNT_MEASURES = {
    "cla": "Children looked after at 31 March",
    "cpp": "Children on child protection plans at 31 March",
    "cin": "Children in need at 31 March",
    "referrals": "Referrals to children's social care",
    "cla_started": "Children starting to be looked after",
    "cla_ceased": "Children ceasing to be looked after",
}
_RATE_SUBJECT = {
    "cla": "Children looked after",
    "cpp": "Children on child protection plans",
    "cin": "Children in need",
    "referrals": "Referrals to children's social care",
    "cla_started": "Children starting to be looked after",
    "cla_ceased": "Children ceasing to be looked after",
}
_LONG_COUNTS = {
    "cla": "cla_at_31_march",
    "cpp": "cpp_at_31_march",
    "cin": "cin_at_31_march",
    "referrals": "referrals",
    "cla_started": "cla_started",
    "cla_ceased": "cla_ceased",
}


def _measures() -> dict[str, str]:
    out: dict[str, str] = {}
    for short, text in _COUNT_MEASURES.items():
        rate = f"{_RATE_SUBJECT[short]} per 10,000 children"
        out[short] = text
        out[_LONG_COUNTS[short]] = text
        out[f"{short}_rate"] = rate
        out[f"{short}_rate_per_10k"] = rate
        out[f"{short}_status"] = f"{text}: status"
        out[f"{short}_rate_basis"] = f"{rate}: published or computed"
        out[f"{short}_source"] = f"{text}: source file"
    out.update(
        {
            "population_0_17": "Children aged 0-17 (ONS mid-year estimate)",
            "population_status": "Children aged 0-17: status",
            "la": "Council",
            "la_name": "Council",
            "la_code": "Council code (ONS)",
            "old_la_code": "Council code (DfE)",
            "new_la_code": "Council code (ONS)",
            "year": "Year ending 31 March",
            "boundary_note": "Boundary change",
            "measure": "Measure",
            "value": "Value",
            "status": "Status",
            "geographic_level": "Geographic level",
            "time_period": "Year ending 31 March",
            "source_file": "Source file",
            "source_format": "Source format",
            "release": "Release",
            "region_name": "Region",
            "cohort": "First year under the programme",
            "treated": "Under the programme",
            "neighbour_name": "Statistical neighbour",
            # columns of a simulated trial (sfpc_eval.simulate_trial)
            "child_id": "Child",
            "stratum": "Stratum",
            "period_label": "Period",
            "referral_date": "Date of referral",
            "age": "Age (years)",
            "sex": "Sex",
            "ethnicity": "Ethnicity",
            "disability": "Disability",
            "previous_plans": "Previous child protection plans",
            "looked_after": "Looked after within 18 months of referral",
            "closeness": "Closeness",
            "rank": "Rank",
        }
    )
    return out


MEASURES: dict[str, str] = _measures()

TERMS: dict[str, str] = {
    # the treatment coefficient and its readings
    "treated": "Treatment effect (model scale)",
    "rate_ratio": "Rate ratio",
    "percent_change": "Change (%)",
    "odds_ratio": "Odds ratio",
    "average_marginal_effect": "Risk difference (average marginal effect)",
    "att": "Average effect on the treated",
    "overall": "Average effect on the treated",
    "twfe": "Two-way fixed effects estimate",
    # before/after comparisons
    "before": "Before",
    "after": "After",
    "control": "Comparison group",
    "difference": "Difference",
    "ratio": "Ratio",
    "risk_difference": "Risk difference",
    "risk_ratio": "Risk ratio",
    "mean_difference": "Mean difference",
    "ratio_of_totals": "Ratio of totals",
    "did": "Difference-in-differences",
    "treated_change": "Change in the treated group",
    "control_change": "Change in the comparison group",
    "treated_rate_ratio": "Rate ratio, treated group",
    "control_rate_ratio": "Rate ratio, comparison group",
    "ratio_of_rate_ratios": "Ratio of rate ratios",
    # single council
    "mean_post_gap": "Mean gap after the start (treated minus synthetic)",
    "rmspe_ratio": "Post/pre RMSPE ratio",
    "(intercept)": "Intercept",
    "pre_slope": "Trend before the start (per period)",
    "level_change": "Change in level at the start",
    "slope_change": "Change in trend (per period)",
    "effect_at_end": "Effect at the last period",
    "average": "Average effect after the start",
    "average_effect": "Average effect after the start",
    "synthetic_control_conformal": "Synthetic control, conformal interval",
    # HonestDiD sensitivity
    "original": "Under parallel trends",
    # impact: from an effect to children and money
    "effect": "Effect (on its own scale)",
    "children_per_year": "Change in children a year (delta method)",
    "children_per_year_simulated": "Change in children a year (simulation)",
    "days_per_year": "Change in days a year (delta method)",
    "days_per_year_simulated": "Change in days a year (simulation)",
    "number_needed_to_treat": "Number needed to treat",
    "savings_per_year": "Savings a year (delta method)",
    "savings_per_year_simulated": "Savings a year (simulation)",
    "savings_over_horizon": "Savings over the horizon, discounted (delta method)",
    "savings_over_horizon_simulated": "Savings over the horizon, discounted (simulation)",
    # Goodman-Bacon comparison types
    "treated vs never treated": "Treated vs never treated",
    "earlier vs later treated": "Earlier vs later treated",
    "later vs earlier treated": "Later vs earlier treated",
}

FAMILIES: dict[str, str] = {
    "gaussian": "Linear",
    "poisson": "Poisson (rate ratio)",
    "binomial": "Logistic (odds ratio)",
    "binary": "Logistic (odds ratio)",
}

INFERENCE: dict[str, str] = {
    "classical": "Model-based (classical)",
    "HC0": "Heteroskedasticity-robust (HC0)",
    "HC1": "Heteroskedasticity-robust (HC1)",
    "HC2": "Heteroskedasticity-robust (HC2)",
    "HC3": "Heteroskedasticity-robust (HC3)",
    "CR0": "Cluster-robust (CR0)",
    "CR1": "Cluster-robust (CR1)",
    "CR2": "Cluster-robust (CR2, Satterthwaite df)",
    "CR3": "Cluster-robust (CR3, Satterthwaite df)",
    "wild": "Wild cluster bootstrap",
    "wild_subcluster": "Wild bootstrap by council-year",
    "wild_bootstrap": "Wild cluster bootstrap",
    "randomization": "Randomization inference",
    "randomization_random_ties": "Randomization inference (ties broken at random)",
    "rollout_randomization": "Randomization over rollout orders",
    "influence_function": "Influence function (clustered)",
    "multiplier_bootstrap": "Multiplier bootstrap",
    "exact": "Exact",
    "score": "Score",
    "wald": "Wald",
    "placebo": "Placebo in space",
    "jackknife": "Jackknife",
    "bootstrap": "Bootstrap",
    "hac": "Newey-West (HAC)",
    "ar": "Autoregressive errors",
    "glmm_wald": "Wald z (GLMM)",
    "glmm_satterthwaite": "t, Satterthwaite df (GLMM)",
    "glmm_between_within": "t, between-within df (GLMM)",
    "glmm_kenward_roger": "t, Kenward-Roger df (GLMM, REML)",
    "gee_md": "GEE, Mancl-DeRouen",
    "gee_kc": "GEE, Kauermann-Carroll",
    "gee_robust": "GEE, robust",
    "rubin": "Rubin's rules",
    "welch": "Welch t",
    "t": "t",
    "delta": "Delta method",
    "none": "None",
    "honest": "Robust to violations of parallel trends",
    "conformal": "Conformal (Chernozhukov, W\u00fcthrich & Zhu)",
}

ESTIMATORS: dict[str, str] = {
    "did": "Difference-in-differences",
    "event_study": "Event study (two-way fixed effects)",
    "sun_abraham": "Sun & Abraham",
    "imputation": "Imputation (Borusyak, Jaravel & Spiess)",
    "callaway_santanna": "Callaway & Sant'Anna",
    "bacon": "Goodman-Bacon decomposition",
    "honest_did": "HonestDiD sensitivity (Rambachan & Roth)",
    "synthetic_control": "Synthetic control",
    "synthetic_did": "Synthetic difference-in-differences",
    "its": "Interrupted time series",
    "augmented_synthetic_control": "Augmented synthetic control (ridge)",
    "conformal_synthetic_control": "Synthetic control, conformal interval",
    "conformal_synthetic_did": "Synthetic DiD, conformal interval",
    "conformal_augmented": "Augmented synthetic control, conformal interval",
    "placebo_in_time": "Placebo in time",
    "single_council_summary": "One council, four designs",
    "before_after": "Before/after (no comparison)",
    "glmm": "Logistic mixed model (GLMM)",
    "gee": "Logistic GEE",
    "glm": "Logistic GLM",
    "pooled": "Pooled over imputations",
    "compare_counts": "Two counts",
    "compare_rates": "Two rates",
    "compare_proportions": "Two proportions",
    "compare_means": "Two means",
    "paired_change": "Paired change",
    "did_from_means": "Difference-in-differences of means",
    "did_from_counts": "Difference-in-differences of rates",
}

STATISTICS: dict[str, str] = {
    # tidy() columns
    "term": "Term",
    "estimate": "Estimate",
    "std_error": "Std. error",
    "statistic": "Statistic",
    "df": "Degrees of freedom",
    "p_value": "p-value",
    "conf_low": "Lower limit",
    "conf_high": "Upper limit",
    "conf_int": "Confidence interval",
    "method": "Method",
    "note": "Note",
    "valid": "Valid for the design",
    "conf_level": "Confidence level",
    # glance() columns
    "estimator": "Estimator",
    "outcome": "Outcome",
    "family": "Model",
    "n_obs": "Observations",
    "n_units": "Councils",
    "n_treated": "Treated councils",
    "n_clusters": "Clusters",
    "n_periods": "Periods",
    "fixed_effects": "Fixed effects",
    "inference": "Inference",
    "inference_df": "Degrees of freedom (inference)",
    "log_likelihood": "Log-likelihood",
    "r_squared": "R\u00b2",
    "pre_rmspe": "Pre-period RMSPE",
}

DESIGN: dict[str, str] = {
    "unit": "council",
    "units": "councils",
    "cluster": "council",
    "clusters": "councils",
    "time": "year ending 31 March",
    "period": "period",
    "comparison": "comparison group",
    "treated_group": "treated group",
    "adoption": "adoption",
    "programme": "programme",
    "children": "children",
}

FIGURES: dict[str, str] = {
    # axes and series of the charts (sfpc_eval.plotting)
    "event_time": "Years since adoption (0 = first year under the programme)",
    "calendar_time": "Year ending 31 March",
    "weight": "Weight in the two-way fixed-effects estimate (share)",
    "two_by_two": "Two-group, two-period estimate",
    "effect_estimate": "Estimated effect (outcome's units)",
    "gap": "Treated minus synthetic (outcome's units)",
    "observed": "Observed",
    "fitted": "Fitted trend",
    "counterfactual": "Trend continued from before the programme",
    "synthetic": "Synthetic council",
    "placebo": "Placebo councils",
    "leave_one_out": "Refitted leaving one donor out",
    "interval": "Confidence interval",
    "band": "Simultaneous band (sup-t)",
    "reference_period": "Reference period (set to 0)",
    "original": "Under parallel trends",
    "Mbar": "Mbar: post-period trend change allowed, as a multiple of the largest pre-period one",
    "M": "M: change in slope allowed between consecutive periods (outcome's units)",
    "breakdown": "Breakdown value",
    "honest_interval": "Robust confidence interval (outcome's units)",
    "design_period": "Period",
    "design_cluster": "Council (cluster)",
    "control_condition": "Control condition",
    "intervention_condition": "Intervention condition",
    "transition": "Transition (not analysed)",
    "unobserved": "Not observed",
    "delta_method": "Delta method",
    "simulation": "Simulation",
    "claim_value": "Value (%, or percentage points)",
    "allowed_range": "Range the published wording allows",
    "share": "Share (%)",
}

VOCABULARY: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "measures": MappingProxyType(MEASURES),
        "terms": MappingProxyType(TERMS),
        "families": MappingProxyType(FAMILIES),
        "inference": MappingProxyType(INFERENCE),
        "estimators": MappingProxyType(ESTIMATORS),
        "statistics": MappingProxyType(STATISTICS),
        "design": MappingProxyType(DESIGN),
        "figures": MappingProxyType(FIGURES),
    }
)
"""Every fixed label, by group (read-only). Patterned names are handled by :func:`label`."""

_GROUP_ORDER = (
    "terms",
    "measures",
    "families",
    "inference",
    "estimators",
    "statistics",
    "design",
    "figures",
)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _event_time(kind: str, k: int, unit: str) -> str:
    if k == 0 and kind in ("=", ""):
        return f"{unit.capitalize()} of adoption"
    side = "after" if k > 0 else "before"
    n = abs(k)
    if kind in ("<=", ">="):
        return f"{n} or more {unit}s {side} adoption"
    return f"{_plural(n, unit)} {side} adoption"


_INT = r"[+-]?\d+"
_VALUE = r"[^,()]+?"

_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], str], str]], ...] = (
    (
        re.compile(rf"^(?:ATT\()?e(<=|>=|=)({_INT})\)?$"),
        lambda m, unit: _event_time(m.group(1), int(m.group(2)), unit),
    ),
    (
        re.compile(rf"^ATT\(g=({_VALUE})\)$"),
        lambda m, unit: f"Councils adopting in {m.group(1)}",
    ),
    (
        re.compile(rf"^ATT\(t=({_VALUE})\)$"),
        lambda m, unit: f"In {m.group(1)}" if unit == "year" else f"Period {m.group(1)}",
    ),
    (
        re.compile(rf"^ATT\(({_VALUE}), ({_VALUE})\)$"),
        lambda m, unit: f"Adopting in {m.group(1)}, effect in {m.group(2)}",
    ),
    (
        re.compile(r"^Mbar=(\S+)$"),
        lambda m, unit: f"Violations up to {m.group(1)} x the largest before adoption",
    ),
    (
        re.compile(r"^M=(\S+)$"),
        lambda m, unit: f"Trend changes up to {m.group(1)} per {unit}",
    ),
    (
        re.compile(r"^effect@(.+)$"),
        lambda m, unit: f"Effect in {m.group(1)}" if unit == "year" else f"Effect, {m.group(1)}",
    ),
    (
        re.compile(r"^actual@(.+)$"),
        lambda m, unit: f"Real start, {m.group(1)}",
    ),
    (
        re.compile(r"^placebo@(.+)$"),
        lambda m, unit: f"Placebo start, {m.group(1)}",
    ),
    (
        re.compile(r"^exposure\[(\d+)\]$"),
        lambda m, unit: (
            "Period of switching"
            if m.group(1) == "0"
            else f"{_plural(int(m.group(1)), 'period')} after switching"
        ),
    ),
)
_FACTOR = re.compile(r"^(?P<factor>[^\[\]]+)\[(?P<level>[^\[\]]*)\]$")


def _lookup(name: str, unit: str) -> str | None:
    for group in _GROUP_ORDER:
        found = VOCABULARY[group].get(name)
        if found is not None:
            return found
    for pattern, make in _PATTERNS:
        match = pattern.match(name)
        if match:
            return make(match, unit)
    match = _FACTOR.match(name)
    if match:
        factor = _lookup(match["factor"], unit) or match["factor"]
        return f"{factor[:1].upper()}{factor[1:]}: {match['level']}"
    return None


def _lower(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym or a name ("ONS")."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[1].isupper() or first[1].isdigit()):
        return text
    return text[:1].lower() + text[1:]


def has_label(name: str) -> bool:
    """Whether the vocabulary (or one of its patterns) has a label for ``name``.

    Examples
    --------
    >>> has_label("ATT(g=2020)"), has_label("my_column")
    (True, False)
    """
    return _lookup(str(name), "year") is not None


def label(
    name: object,
    overrides: Mapping[str, str] | None = None,
    *,
    time_unit: str = "year",
    lower: bool = False,
    short: bool = False,
) -> str:
    """Return the plain-English label of a code name.

    Parameters
    ----------
    name : str
        A measure, column, term, family, inference method, estimator, statistic or design
        word. Names the vocabulary does not know (a user's own column) come back unchanged.
    overrides : mapping of str to str, optional
        Labels that win over the vocabulary for this call, e.g. ``{"treated": "Family Valued"}``.
    time_unit : str, default "year"
        The unit of event times in event-study terms: ``"year"`` gives "2 years before
        adoption"; ``"period"``, "month" or "quarter" likewise.
    lower : bool, default False
        The lower-case form, for the middle of a sentence ("children looked after per 10,000
        children"); acronyms such as "ONS" keep their case.
    short : bool, default False
        For a DfE count, its subject without the date ("Children looked after" rather than
        "Children looked after at 31 March"), for sentences that give the date elsewhere.

    Returns
    -------
    str

    Examples
    --------
    >>> label("ATT(g=2021)"), label("exposure[2]"), label("period[3]")
    ('Councils adopting in 2021', '2 periods after switching', 'Period: 3')
    >>> label("my_column"), label("cla", short=True)
    ('my_column', 'Children looked after')
    """
    key = str(name)
    if overrides and key in overrides:
        text = str(overrides[key])
    elif short and key in _RATE_SUBJECT:
        text = _RATE_SUBJECT[key]
    else:
        found = _lookup(key, time_unit)
        text = key if found is None else found
    return _lower(text) if lower else text


_SCALES = {
    "percent_change": "percent",
    "risk_difference": "pp",
    "average_marginal_effect": "pp",
    "rate_ratio": "ratio",
    "odds_ratio": "ratio",
    "risk_ratio": "ratio",
    "ratio": "ratio",
    "ratio_of_totals": "ratio",
    "treated_rate_ratio": "ratio",
    "control_rate_ratio": "ratio",
    "ratio_of_rate_ratios": "ratio",
    "rmspe_ratio": "ratio",
}


def scale_of(name: str) -> str:
    """How a term's values read: ``"percent"``, ``"pp"``, ``"ratio"`` or ``"number"``.

    ``"percent"`` values are already in percent (``percent_change`` = -47.1); ``"pp"`` values
    are differences of proportions (0.121), shown as percentage points (+12.1 pp). Results may
    override this per term (a proportion comparison's ``treated`` is a proportion).

    Examples
    --------
    >>> scale_of("percent_change"), scale_of("average_marginal_effect"), scale_of("treated")
    ('percent', 'pp', 'number')
    """
    return _SCALES.get(str(name), "number")
