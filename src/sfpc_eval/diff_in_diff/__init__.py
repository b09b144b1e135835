"""Difference-in-differences on a panel: two-way fixed effects and the event study.

:mod:`~sfpc_eval.diff_in_diff.twfe` is :func:`did` (linear, Poisson and logistic, on weighted
cells, any inference object; a DataFrame, or a DuckDB/Parquet/Spark input collapsed by
:mod:`sfpc_eval.engines`), with its input checks in
:mod:`~sfpc_eval.diff_in_diff.twfe_checks` and its result in
:mod:`~sfpc_eval.diff_in_diff.twfe_result`. :mod:`~sfpc_eval.diff_in_diff.event_study` is the
dynamic specification (leads and lags around adoption) with its fit and pre-trend test in
:mod:`~sfpc_eval.diff_in_diff.event_study_fit`; :mod:`~sfpc_eval.diff_in_diff.cohorts`
validates adoption cohorts (first treated period), which the staggered estimators share.
:mod:`~sfpc_eval.diff_in_diff.honest` is :func:`honest_did`, the HonestDiD sensitivity analysis
of any event-study result (numerics in :mod:`~sfpc_eval.diff_in_diff.honest_core`,
:mod:`~sfpc_eval.diff_in_diff.honest_flci` and :mod:`~sfpc_eval.diff_in_diff.honest_arp`).
:mod:`~sfpc_eval.diff_in_diff.pretrends` gives every DiD-type result its pre-period check
(leads, their joint test, a placebo in time); :mod:`~sfpc_eval.diff_in_diff.power` and
:mod:`~sfpc_eval.diff_in_diff.power_sim` the power of a DiD design (analytic, and by
simulation with the library's inference); :mod:`~sfpc_eval.diff_in_diff.pretrend_power` the
power of the pre-trend test and the bias after passing it (Roth 2022).

Builds on :mod:`sfpc_eval.cells`, :mod:`sfpc_eval.inference` and :mod:`sfpc_eval.engines`;
:mod:`sfpc_eval.staggered` builds on it.
"""

from sfpc_eval.diff_in_diff.event_study import EventStudyResult, event_study
from sfpc_eval.diff_in_diff.honest import EventTimeEstimates, HonestDiDResult, honest_did
from sfpc_eval.diff_in_diff.power import DidPowerResult, did_power
from sfpc_eval.diff_in_diff.power_sim import SimulatedDidPowerResult, simulated_did_power
from sfpc_eval.diff_in_diff.pretrend_power import PretrendPowerResult, pretrend_power
from sfpc_eval.diff_in_diff.pretrends import PretrendResult, pretrends
from sfpc_eval.diff_in_diff.twfe import did
from sfpc_eval.diff_in_diff.twfe_result import DidResult

__all__ = [
    "DidPowerResult",
    "DidResult",
    "EventStudyResult",
    "EventTimeEstimates",
    "HonestDiDResult",
    "PretrendPowerResult",
    "PretrendResult",
    "SimulatedDidPowerResult",
    "did",
    "did_power",
    "event_study",
    "honest_did",
    "pretrend_power",
    "pretrends",
    "simulated_did_power",
]
