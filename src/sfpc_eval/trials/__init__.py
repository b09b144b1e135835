"""Stepped-wedge cluster randomised trials: design, power, simulation and analysis."""

from sfpc_eval.trials.analysis import SteppedWedgeResult, stepped_wedge
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization
from sfpc_eval.trials.compare import RandomEffectsComparison, compare_random_effects
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.pooling import PooledResult, fit_each, pool
from sfpc_eval.trials.power import PowerResult, sw_mdes, sw_power, treatment_variance
from sfpc_eval.trials.simpower import SimulatedPowerResult, simulated_power
from sfpc_eval.trials.simulate import (
    FAMILY_SAFEGUARDING,
    NO_WRONG_DOOR,
    TrialSpec,
    TrialTruth,
    simulate_trial,
    trial_spec,
)

__all__ = [
    "FAMILY_SAFEGUARDING",
    "NO_WRONG_DOOR",
    "PooledResult",
    "PowerResult",
    "RandomEffectsComparison",
    "SimulatedPowerResult",
    "SteppedWedgeDesign",
    "SteppedWedgeRandomization",
    "SteppedWedgeResult",
    "TrialSpec",
    "TrialTruth",
    "compare_random_effects",
    "fit_each",
    "pool",
    "simulate_trial",
    "simulated_power",
    "stepped_wedge",
    "sw_mdes",
    "sw_power",
    "treatment_variance",
    "trial_spec",
]
