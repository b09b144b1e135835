"""Choose one figure per LA, year and measure when several releases give one (revisions).

The policy, in order:

1. a published number beats a symbol: a newer release printing ``x`` or ``z`` where an older
   one printed a number (as the 2024 ONS file does for the pre-2019 Dorset councils) does not
   erase the number;
2. a primary publication (an EES release or an SFR) beats LAIT, which copies the EES figures
   without saying from which release;
3. the latest release wins (``prefer="latest"``, the default), or the first one
   (``prefer="first"``, to reproduce figures as they were first published).

:func:`choose_releases` returns the chosen rows and a table of every other figure that
differs from the chosen one, so no revision goes unreported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sfpc_eval.errors import InvalidValueError

__all__ = ["REVISION_COLUMNS", "choose_releases"]

KEYS = ["old_la_code", "year", "measure"]

REVISION_COLUMNS: tuple[str, ...] = (
    "old_la_code",
    "la_name",
    "year",
    "measure",
    "chosen_value",
    "chosen_status",
    "chosen_source",
    "other_value",
    "other_status",
    "other_source",
    "difference",
)
"""Columns of the revisions table: the figure used, and another release's different figure."""


def choose_releases(
    rows: pd.DataFrame, *, prefer: str = "latest"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pick one row per LA, year and measure; report the figures not chosen that differ.

    Parameters
    ----------
    rows : pandas.DataFrame
        Tidy rows from several files (:data:`~sfpc_eval.data.TIDY_COLUMNS`).
    prefer : {"latest", "first"}, default "latest"
        Which release wins among primary publications that both give a number.

    Returns
    -------
    chosen : pandas.DataFrame
        One row per ``old_la_code, year, measure``.
    revisions : pandas.DataFrame
        Columns :data:`REVISION_COLUMNS`, one row per other figure that differs in value or
        status (``difference`` is other minus chosen where both are numbers).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({
    ...     "old_la_code": ["383", "383"], "la_name": ["Leeds", "Leeds"], "year": [2022, 2022],
    ...     "measure": ["cla_at_31_march"] * 2, "value": [1373.0, 1374.0],
    ...     "status": ["published"] * 2, "source_file": ["cla_2022.csv", "cla_2025.csv"],
    ...     "source_format": ["ees", "ees"], "release": [2022, 2025]})
    >>> chosen, revisions = choose_releases(rows)
    >>> chosen.value.item(), revisions.other_value.item(), revisions.difference.item()
    (1374.0, 1373.0, -1.0)
    """
    if prefer not in ("latest", "first"):
        raise InvalidValueError(f"`prefer` must be 'latest' or 'first'; got {prefer!r}.")
    ranked = rows.assign(
        _has_value=rows["value"].notna().astype(int),
        _primary=(rows["source_format"] != "lait").astype(int),
        _release=rows["release"] if prefer == "latest" else -rows["release"],
    ).sort_values(
        [*KEYS, "_has_value", "_primary", "_release", "source_file"],
        ascending=[True, True, True, False, False, False, True],
        kind="stable",
    )
    first = ~ranked.duplicated(KEYS, keep="first")
    chosen = ranked[first.to_numpy()]
    others = ranked[~first.to_numpy()]
    helper = ["_has_value", "_primary", "_release"]
    revisions = _differences(chosen.drop(columns=helper), others.drop(columns=helper))
    return chosen.drop(columns=helper).reset_index(drop=True), revisions


def _differences(chosen: pd.DataFrame, others: pd.DataFrame) -> pd.DataFrame:
    if others.empty:
        return pd.DataFrame(columns=list(REVISION_COLUMNS))
    merged = others.merge(
        chosen[[*KEYS, "value", "status", "source_file"]],
        on=KEYS,
        suffixes=("_other", "_chosen"),
    )
    a, b = merged["value_chosen"].to_numpy(), merged["value_other"].to_numpy()
    both = ~np.isnan(a) & ~np.isnan(b)
    value_differs = both & ~np.isclose(a, b, rtol=1e-9, atol=1e-9)
    status_differs = (merged["status_chosen"] != merged["status_other"]).to_numpy()
    differs = value_differs | status_differs | (np.isnan(a) != np.isnan(b))
    out = merged[differs]
    return pd.DataFrame(
        {
            "old_la_code": out["old_la_code"].to_numpy(),
            "la_name": out["la_name"].to_numpy(),
            "year": out["year"].to_numpy(),
            "measure": out["measure"].to_numpy(),
            "chosen_value": out["value_chosen"].to_numpy(),
            "chosen_status": out["status_chosen"].to_numpy(),
            "chosen_source": out["source_file_chosen"].to_numpy(),
            "other_value": out["value_other"].to_numpy(),
            "other_status": out["status_other"].to_numpy(),
            "other_source": out["source_file_other"].to_numpy(),
            "difference": (out["value_other"] - out["value_chosen"]).to_numpy(),
        }
    ).sort_values(["measure", "old_la_code", "year"], ignore_index=True)
