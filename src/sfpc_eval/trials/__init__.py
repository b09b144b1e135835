"""Stepped-wedge cluster randomised trials: design, power, simulation and analysis."""
