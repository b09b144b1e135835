"""Screen LAs against the SFPC eligibility criteria at a date.

The DfE's Strengthening Families, Protecting Children (SFPC) programme offered its models to LAs
whose children's services Ofsted judged "requires improvement to be good" and whose rate of
children looked after was high (above their statistical neighbours' median) or rising.
:func:`sfpc_eligibility` applies those criteria to the official files as they stood at a date,
and shows the numbers behind each answer.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sfpc_eval.data.areas import la_by_code
from sfpc_eval.data.boundaries import unit_of
from sfpc_eval.data.folder import read_folder
from sfpc_eval.data.panel import la_panel
from sfpc_eval.data.reference import read_ofsted_inspections, read_statistical_neighbours
from sfpc_eval.errors import DataFileError, InvalidValueError

__all__ = ["EligibilityScreen", "sfpc_eligibility"]

REQUIRES_IMPROVEMENT = "Requires improvement to be good"
UNKNOWN = "unknown"

# When each statistical-neighbour model was published (first day it could be used).
_SN_PUBLISHED = {"2021": dt.date(2021, 4, 1), "2025": dt.date(2025, 5, 1)}


@dataclass(frozen=True, eq=False)
class EligibilityScreen:
    """The SFPC eligibility screen at a date.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per LA (boundaries as at ``as_of``). Criterion columns hold ``"yes"``, ``"no"``
        or ``"unknown"``: ``ofsted_ri`` (overall judgement "requires improvement to be good"
        at ``as_of``; unknown when no ILACS judgement had been published by then, i.e. the
        judgement in force predates the Ofsted file, which starts in 2018), ``above_sn_median``
        (CLA rate above the statistical-neighbour median in each of the three years),
        ``rising`` (CLA rate higher than the year before in each of the three years),
        ``cla_criterion`` (above or rising) and ``eligible`` (``ofsted_ri`` and
        ``cla_criterion``). The numbers behind them: ``ofsted_judgement``,
        ``ofsted_published``, ``cla_rate_YYYY`` for the three years and the year before,
        ``sn_median_YYYY`` and ``n_neighbours``.
    as_of : datetime.date
    years : tuple of int
        The three years ending 31 March whose rates were compared.
    sn_model : str
        The statistical-neighbour model used.
    notes : tuple of str
        Caveats (e.g. a neighbour model published after ``as_of``).
    """

    table: pd.DataFrame = field(repr=False)
    as_of: dt.date
    years: tuple[int, ...]
    sn_model: str
    notes: tuple[str, ...]

    def council(self, name: str) -> pd.Series:
        """Return the row of one LA, found by name as any DfE file spells it."""
        from sfpc_eval.data.areas import find_la

        la = find_la(name)
        hit = self.table[self.table["old_la_code"] == la.old_la_code]
        if hit.empty:
            raise InvalidValueError(
                f"{la.name} did not exist at {self.as_of} (boundaries as at that date)."
            )
        return hit.iloc[0]


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidValueError(
        f"`as_of` must be a date such as '2019-12-31' or datetime.date(2019, 12, 31); got "
        f"{value!r}."
    )


def _yes_no(flag: bool | None) -> str:
    return UNKNOWN if flag is None else ("yes" if flag else "no")


def _pick_sn_files(
    root: os.PathLike[str] | str, as_of: dt.date, sn_model: str | None
) -> tuple[Path, str, list[str]]:
    folder = read_folder(root)
    files = folder.files_of("statistical_neighbours")
    by_model: dict[str, Path] = {}
    for path in files:
        year = re.search(r"(19|20)\d\d", path.name)
        label = year.group(0) if year else path.stem
        by_model.setdefault(label, path)
    if not by_model:
        raise DataFileError(
            f"No statistical neighbours file under {root}. Add the DfE SN model (e.g. "
            "sn_model_2025_wide.csv).",
            path=root,
        )
    notes = []
    if sn_model is None:
        usable = [m for m in by_model if _SN_PUBLISHED.get(m, dt.date.max) <= as_of]
        if usable:
            sn_model = max(usable)
        else:
            sn_model = min(by_model)
            notes.append(
                f"No statistical-neighbour model in the folder was published by {as_of}; the "
                f"{sn_model} model (the earliest available) is used."
            )
    elif sn_model not in by_model:
        raise InvalidValueError(
            f"`sn_model`={sn_model!r} is not in the folder; it has {', '.join(sorted(by_model))}."
        )
    return by_model[sn_model], sn_model, notes


def sfpc_eligibility(
    root: str | os.PathLike[str],
    *,
    as_of: dt.date | str,
    last_year: int | None = None,
    sn_model: str | None = None,
) -> EligibilityScreen:
    """Screen every LA against the SFPC eligibility criteria as they stood at ``as_of``.

    Parameters
    ----------
    root : path-like
        Folder of official files: the CLA files, ONS population, a statistical-neighbours model
        and Ofsted's inspection outcomes (e.g. ``../shared/data/raw``).
    as_of : datetime.date or str
        The date of the screen (``"2019-12-31"``).
    last_year : int, optional
        The last of the three years ending 31 March compared. Default: the latest year whose
        CLA figures were out by ``as_of``, taking the DfE's usual publication by 1 December
        (so ``as_of="2019-12-31"`` uses 2017-2019).
    sn_model : str, optional
        Statistical-neighbour model (``"2021"`` or ``"2025"``). Default: the latest published
        by ``as_of``, else the earliest in the folder (with a note).

    Returns
    -------
    EligibilityScreen
        ``.table`` has one row per LA existing at ``as_of``.

    Notes
    -----
    Rates are those of :func:`~sfpc_eval.data.la_panel` with boundaries as at ``as_of``
    (published where printed, else computed from the ONS population). "Rising" means higher
    than the year before in each of the three years (so four years of data are read).

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> screen = sd.sfpc_eligibility("../shared/data/raw", as_of="2019-12-31")  # doctest: +SKIP
    >>> screen.council("Walsall")[["ofsted_ri", "cla_criterion", "eligible"]]  # doctest: +SKIP
    """
    date = _as_date(as_of)
    if last_year is None:
        last_year = date.year if date.month == 12 else date.year - 1
    boundary_year = date.year + (1 if date.month >= 4 else 0)
    boundary_year = min(max(boundary_year, 2010), 2025)
    years = [last_year - 3, last_year - 2, last_year - 1, last_year]
    panel = la_panel(root, measures=("cla",), years=years, boundaries=boundary_year)
    rates = panel.data.pivot_table(
        index="old_la_code", columns="year", values="cla_rate", aggfunc="first", dropna=False
    )
    sn_path, model, notes = _pick_sn_files(root, date, sn_model)
    neighbours = read_statistical_neighbours(sn_path, model=model)
    ofsted = read_ofsted_inspections(_one(read_folder(root).files_of("ofsted"), root))
    published = ofsted[ofsted["publication_date"].dt.date <= date]
    latest = published.groupby("old_la_code").tail(1).set_index("old_la_code")
    span = (years[0], years[-1])
    rows = []
    for code in rates.index:
        la = la_by_code(code)
        sns = neighbours[neighbours["old_la_code"] == code]["neighbour_old_la_code"].tolist()
        units = {u for c in sns if (u := unit_of(la_by_code(c), boundary_year, span)[0])}
        units.discard(code)
        row: dict[str, object] = {
            "la_code": la.ons_code(boundary_year),
            "old_la_code": code,
            "la_name": la.name,
        }
        judgement = latest["overall_effectiveness"].get(code)
        row["ofsted_judgement"] = judgement if judgement is not None else UNKNOWN
        row["ofsted_published"] = latest["publication_date"].get(code, pd.NaT)
        ofsted_ri = None if judgement is None else judgement == REQUIRES_IMPROVEMENT
        above: list[bool | None] = []
        rising: list[bool | None] = []
        for i, year in enumerate(years):
            own = rates.loc[code, year]
            row[f"cla_rate_{year}"] = own
            if i == 0:
                continue
            others = rates.loc[sorted(units & set(rates.index)), year].dropna()
            median = float(np.median(others)) if len(others) else np.nan
            row[f"sn_median_{year}"] = median
            above.append(None if np.isnan(own) or np.isnan(median) else bool(own > median))
            before = rates.loc[code, years[i - 1]]
            rising.append(None if np.isnan(own) or np.isnan(before) else bool(own > before))
        row["n_neighbours"] = len(units)
        above_all = _all(above)
        rising_all = _all(rising)
        cla = _any([above_all, rising_all])
        row.update(
            ofsted_ri=_yes_no(ofsted_ri),
            above_sn_median=_yes_no(above_all),
            rising=_yes_no(rising_all),
            cla_criterion=_yes_no(cla),
            eligible=_yes_no(_all([ofsted_ri, cla])),
        )
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("la_name", ignore_index=True)
    return EligibilityScreen(
        table=table, as_of=date, years=tuple(years[1:]), sn_model=model, notes=tuple(notes)
    )


def _all(flags: list[bool | None]) -> bool | None:
    if any(f is False for f in flags):
        return False
    if any(f is None for f in flags):
        return None
    return True


def _any(flags: list[bool | None]) -> bool | None:
    if any(f is True for f in flags):
        return True
    if any(f is None for f in flags):
        return None
    return False


def _one(paths: list[Path], root: object) -> Path:
    if not paths:
        raise DataFileError(
            f"No Ofsted inspection outcomes file under {root}. Add Ofsted's 'LA inspection "
            "outcomes' ODS (with the ILACS_inspection_history sheet).",
            path=root,
        )
    return paths[-1]
