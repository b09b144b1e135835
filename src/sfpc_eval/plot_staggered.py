"""Former home of the staggered-adoption figures; they live in :mod:`sfpc_eval.plotting` now."""

from sfpc_eval.plotting.staggered import plot_aggregate, plot_bacon, plot_event_study

__all__ = ["plot_aggregate", "plot_bacon", "plot_event_study"]
