"""Stepped-wedge cluster randomised trials: design, power, simulation and analysis."""

from sfpc_eval.trials.analysis import SteppedWedgeResult, stepped_wedge
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization
from sfpc_eval.trials.balance import baseline_table, flow_table
from sfpc_eval.trials.child_exposure import child_exposure
from sfpc_eval.trials.compare import RandomEffectsComparison, compare_random_effects
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.imputation import MultipleImputation, impute
from sfpc_eval.trials.marginal import average_predictions, marginal_effects
from sfpc_eval.trials.model_checks import (
    compare_optimizers,
    information_criteria,
    leave_one_out,
    lr_test,
    vif,
)
from sfpc_eval.trials.null_size import NullSizeResult, null_size
from sfpc_eval.trials.pooling import PooledResult, fit_each, pool
from sfpc_eval.trials.power import PowerResult, sw_mdes, sw_power, treatment_variance
from sfpc_eval.trials.power_counts import sw_mdes_counts, sw_power_counts
from sfpc_eval.trials.prepare import (
    council_exposure,
    first_referrals,
    outcome_within,
    trial_periods,
)
from sfpc_eval.trials.simpower import SimulatedPowerResult, simulated_power
from sfpc_eval.trials.simulate import (
    FAMILY_SAFEGUARDING,
    NO_WRONG_DOOR,
    TrialSpec,
    TrialTruth,
    simulate_trial,
    trial_spec,
)
from sfpc_eval.trials.simulate_extract import simulate_referrals

__all__ = [
    "FAMILY_SAFEGUARDING",
    "NO_WRONG_DOOR",
    "MultipleImputation",
    "NullSizeResult",
    "PooledResult",
    "PowerResult",
    "RandomEffectsComparison",
    "SimulatedPowerResult",
    "SteppedWedgeDesign",
    "SteppedWedgeRandomization",
    "SteppedWedgeResult",
    "TrialSpec",
    "TrialTruth",
    "average_predictions",
    "baseline_table",
    "child_exposure",
    "compare_optimizers",
    "compare_random_effects",
    "council_exposure",
    "first_referrals",
    "fit_each",
    "flow_table",
    "impute",
    "information_criteria",
    "leave_one_out",
    "lr_test",
    "marginal_effects",
    "null_size",
    "outcome_within",
    "pool",
    "simulate_referrals",
    "simulate_trial",
    "simulated_power",
    "stepped_wedge",
    "sw_mdes",
    "sw_mdes_counts",
    "sw_power",
    "sw_power_counts",
    "treatment_variance",
    "trial_periods",
    "trial_spec",
    "vif",
]
