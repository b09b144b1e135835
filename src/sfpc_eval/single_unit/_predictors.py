"""Predictors of a synthetic control: what the donor weights match before the programme.

Each predictor is the outcome in one pre-period, or the mean of a column over some pre-periods.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.panel import match_period, numeric_column, period_column

__all__ = ["predictor_matrix"]


def predictor_matrix(
    data: pd.DataFrame,
    wide: pd.DataFrame,
    predictors: Sequence | None,
    unit: str,
    time: str,
    pre: np.ndarray,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Predictors x councils (columns as in ``wide``) and their names.

    ``predictors`` None means the outcome in every pre-period ``pre``. Raises
    :class:`DesignError` for a predictor measured after the start or missing for a council.
    """
    outcome_name = wide.columns.name or "outcome"
    if predictors is None:
        return wide.loc[pre].to_numpy(), tuple(f"{outcome_name}@{p}" for p in pre)
    rows, names = [], []
    periods = period_column(data, time, argument="time")
    for spec in predictors:
        if isinstance(spec, tuple):
            if len(spec) != 2:
                raise InvalidValueError(
                    f"predictor {spec!r} must be a period or a pair (column, periods)."
                )
            column, spans = spec
            spans = list(spans) if isinstance(spans, list | tuple | range) else [spans]
            spans = [match_period(p, data[time], periods) for p in spans]
            late = [s for s in spans if s not in set(pre)]
            if late:
                raise DesignError(
                    f"predictor {spec!r} uses periods {show_values(late)} that are not before "
                    "the start; predictors must be measured before the programme."
                )
            values = numeric_column(data, column, argument="predictors")
            sub = pd.DataFrame({unit: data[unit], time: periods, "v": values})
            sub = sub[sub[time].isin(spans) & sub[unit].isin(wide.columns)]
            means = sub.groupby(unit)["v"].mean().reindex(wide.columns)
            counts = sub.dropna().groupby(unit)["v"].size().reindex(wide.columns).fillna(0)
            short = list(wide.columns[(counts < len(spans)).to_numpy()])
            if short:
                raise DesignError(
                    f"predictor {spec!r}: councils {show_values(short)} lack {column!r} in some "
                    "of those periods; drop them from `donors` or fill the gaps."
                )
            rows.append(means.to_numpy())
            names.append(f"{column}@mean({spans[0]}-{spans[-1]})")
        else:
            spec = match_period(spec, data[time], periods)
            if spec not in set(pre):
                raise DesignError(
                    f"predictor period {spec!r} is not a pre-period (before the start); "
                    f"pre-periods are {show_values(list(pre))}."
                )
            rows.append(wide.loc[spec].to_numpy())
            names.append(f"{outcome_name}@{spec}")
    return np.vstack(rows), tuple(names)
