"""Every figure of the library. Each function takes an optional ``ax`` and returns the Axes.

Results draw themselves with ``result.plot()``, which imports this package only when called:
nothing below the report layer imports plotting at module level, so estimating never loads
matplotlib. Plotting builds on results and on :mod:`sfpc_eval.evidence` (the claims figure),
never the other way round.

Every figure uses the house style of :mod:`~sfpc_eval.plotting.style` (GSS accessible colours,
main-message titles, source lines, vocabulary labels, alt text) and the layout of
:mod:`~sfpc_eval.plotting.layout` (direct labels, else a legend that covers no data).

Modules: :mod:`~sfpc_eval.plotting.over_time` (councils' rates over time with lockdowns shaded
and each council's start marked; treated and comparison lines), :mod:`~sfpc_eval.plotting.forest`
(one effect under several models or inference methods; the terms of one result),
:mod:`~sfpc_eval.plotting.comparisons` (two-group comparisons),
:mod:`~sfpc_eval.plotting.staggered` (event studies, Callaway-Sant'Anna aggregations,
Bacon decomposition), :mod:`~sfpc_eval.plotting.honest` (HonestDiD sensitivity),
:mod:`~sfpc_eval.plotting.single_unit` (interrupted time series, synthetic
control and its placebos), :mod:`~sfpc_eval.plotting.trial_design` (stepped-wedge diagram),
:mod:`~sfpc_eval.plotting.claims` (the published-claims audit),
:mod:`~sfpc_eval.plotting.pretrends` (the pre-period check of a DiD),
:mod:`~sfpc_eval.plotting.impact` (children a year and the savings tornado),
:mod:`~sfpc_eval.plotting.imputation` (imputation diagnostics and the trial's balance plot).
"""

from sfpc_eval.plotting.claims import plot_claims
from sfpc_eval.plotting.comparisons import plot_comparison
from sfpc_eval.plotting.forest import plot_forest, plot_terms
from sfpc_eval.plotting.honest import plot_honest_did
from sfpc_eval.plotting.impact import plot_impact, plot_tornado
from sfpc_eval.plotting.imputation import plot_balance, plot_imputation_trace, plot_observed_imputed
from sfpc_eval.plotting.over_time import plot_rates, plot_trends
from sfpc_eval.plotting.pretrends import plot_pretrends
from sfpc_eval.plotting.single_unit import (
    plot_conformal,
    plot_its,
    plot_leave_one_out,
    plot_placebo_gaps,
    plot_synthetic,
)
from sfpc_eval.plotting.staggered import plot_aggregate, plot_bacon, plot_event_study
from sfpc_eval.plotting.trial_design import plot_design

__all__ = [
    "plot_aggregate",
    "plot_bacon",
    "plot_balance",
    "plot_claims",
    "plot_comparison",
    "plot_conformal",
    "plot_design",
    "plot_event_study",
    "plot_forest",
    "plot_honest_did",
    "plot_impact",
    "plot_imputation_trace",
    "plot_its",
    "plot_leave_one_out",
    "plot_observed_imputed",
    "plot_placebo_gaps",
    "plot_pretrends",
    "plot_rates",
    "plot_synthetic",
    "plot_terms",
    "plot_tornado",
    "plot_trends",
]
