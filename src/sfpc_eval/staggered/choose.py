"""One entry point for the staggered-adoption estimators."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sfpc_eval.errors import InvalidValueError

__all__ = ["METHODS", "staggered_did"]

METHODS = {
    "callaway_santanna": "callaway_santanna",
    "cs": "callaway_santanna",
    "sun_abraham": "sun_abraham",
    "sa": "sun_abraham",
    "imputation": "imputation",
    "bjs": "imputation",
}
"""Accepted ``method`` names (and short aliases) and the estimator each selects."""


def staggered_did(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    method: str = "callaway_santanna",
    **kwargs: Any,
):
    """Staggered-adoption difference-in-differences by the chosen estimator.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and period. Not modified.
    outcome, unit, time, cohort : str
        Outcome, unit, period and first-treated-period columns (missing cohort = never
        treated).
    method : str, default "callaway_santanna"
        ``"callaway_santanna"`` (alias ``"cs"``): Callaway & Sant'Anna (2021);
        ``"sun_abraham"`` (``"sa"``): Sun & Abraham (2021), see :func:`sun_abraham`;
        ``"imputation"`` (``"bjs"``): Borusyak, Jaravel & Spiess (2024), see
        :func:`imputation`.
    **kwargs
        Passed to the estimator (e.g. ``control``, ``covariates``, ``weights``).

    Returns
    -------
    The estimator's result.

    Raises
    ------
    InvalidValueError
        An unknown ``method`` (the message lists the choices).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame([(u, t) for u in range(12) for t in range(6)], columns=["u", "t"])
    >>> df["g"] = df["u"].map(lambda u: [2, 4, np.nan][u % 3])
    >>> df["y"] = (df["t"] >= df["g"]) * 1.5 + df["u"] + 0.1 * df["t"]
    >>> res = staggered_did(df, "y", "u", "t", "g", method="bjs")
    >>> round(res.att.estimate, 6)
    1.5
    """
    key = method.lower().strip() if isinstance(method, str) else method
    if key not in METHODS:
        raise InvalidValueError(
            f"`method` {method!r} is not a staggered estimator; choose one of "
            "'callaway_santanna' ('cs'), 'sun_abraham' ('sa') or 'imputation' ('bjs')."
        )
    name = METHODS[key]
    if name == "callaway_santanna":
        from sfpc_eval.staggered.callaway import callaway_santanna as estimator
    elif name == "sun_abraham":
        from sfpc_eval.staggered.sun_abraham import sun_abraham as estimator
    else:
        from sfpc_eval.staggered.imputation import imputation as estimator
    return estimator(data, outcome, unit, time, cohort, **kwargs)
