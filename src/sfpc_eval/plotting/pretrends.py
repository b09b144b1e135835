"""The pre-period check: leads with their intervals, the joint test and the placebo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sfpc_eval.plotting.staggered import plot_event_study

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_pretrends"]


def plot_pretrends(result: Any, ax: Axes | None = None) -> Axes:
    """Draw a :class:`~sfpc_eval.diff_in_diff.pretrends_result.PretrendResult`.

    The leads with their pointwise intervals (points only where the inference gives no
    interval, as randomization inference does), the reference period at 0, and in the title the
    joint test and the placebo estimate.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval as se
    >>> rng = np.random.default_rng(2)
    >>> panel = pd.DataFrame([(la, y) for la in range(12) for y in range(2010, 2020)],
    ...                      columns=["la", "year"])
    >>> panel["treated"] = ((panel["la"] < 4) & (panel["year"] >= 2015)).astype(int)
    >>> panel["rate"] = 50 + panel["la"] + rng.normal(0, 1, len(panel))
    >>> res = se.did(panel, outcome="rate", unit="la", time="year", treated="treated")
    >>> plot_pretrends(res.pretrends(placebo_shift=2)).get_xlabel()
    'periods since adoption'
    """
    table = result.lead_table()
    no_intervals = bool(table["conf_low"].isna().all())
    for side in ("conf_low", "conf_high"):
        missing = table[side].isna()
        table.loc[missing, side] = table.loc[missing, "estimate"]
    parts = []
    joint = result.joint_test
    if joint is not None and not np.isnan(joint.p_value):
        parts.append(
            f"leads jointly p = {joint.p_value:.3g}" + ("" if joint.valid else " (not valid)")
        )
    placebo = result.placebo
    if placebo is not None:
        parts.append(
            f"placebo {result.placebo_shift} earlier {placebo.estimate:+.3g}, "
            f"p = {placebo.p_value:.3g}" + ("" if placebo.valid else " (not valid)")
        )
    verdict = {True: "passed", False: "failed", None: "no valid test"}[result.passed]
    title = f"Pre-period check {verdict}" + (": " + "; ".join(parts) if parts else "")
    if no_intervals:
        title += "\n(randomization inference: p-values, no intervals)"
    return plot_event_study(
        table, reference=result.reference, level=result.conf_level, title=title, ax=ax
    )
