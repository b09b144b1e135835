"""The harmonised LA panel: one row per LA and year, counts and rates, every gap explained."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval.data._common import check_years
from sfpc_eval.data._status import (
    LOW_RELIABILITY,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    PUBLISHED,
    SUPPRESSED,
)
from sfpc_eval.data.areas import LOCAL_AUTHORITIES, LocalAuthority, la_by_code
from sfpc_eval.data.boundaries import (
    BoundaryPolicy,
    change_from,
    change_into,
    check_boundaries,
    la_names,
    unit_of,
)
from sfpc_eval.data.folder import read_folder
from sfpc_eval.data.measures import PANEL_MEASURES, rate_of
from sfpc_eval.data.releases import choose_releases
from sfpc_eval.errors import InvalidValueError, YearOutOfRangeError, show_values

__all__ = ["LaPanel", "la_panel"]

_HAS_VALUE = (PUBLISHED, LOW_RELIABILITY)
_STATUS_ORDER = (SUPPRESSED, NOT_AVAILABLE, NOT_APPLICABLE, LOW_RELIABILITY)


@dataclass(frozen=True, eq=False)
class LaPanel:
    """A harmonised LA x year panel and how it was made.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per LA and year. Columns: ``la_code`` (ONS), ``old_la_code`` (DfE), ``la_name``,
        ``year`` (ending 31 March), ``population_0_17`` (ONS mid-year *year - 1*, the DfE
        denominator) and ``population_status``; for each measure *m* (e.g. ``cpp``): ``m`` (the
        count), ``m_status``, ``m_rate`` (per 10,000 aged 0-17), ``m_rate_basis``
        (``"published"``: the rate printed beside the count; ``"computed"``: count / population
        x 10,000; ``"not available"``) and ``m_source`` (the file(s) the count came from); and
        ``boundary_note`` (what was summed, or why a unit cannot be formed that year).
    revisions : pandas.DataFrame
        Every figure from another release that differs from the one used (see
        :func:`~sfpc_eval.data.choose_releases`).
    excluded : pandas.DataFrame
        Published LA-years that the boundary policy cannot place (e.g. Northamptonshire before
        2022 under ``boundaries=2025``), with the reason.
    measures : tuple of str
        Short measure names, in column order.
    years : tuple of int
    boundaries : None, "consistent" or int
    prefer : str
        ``"latest"`` or ``"first"`` release.
    files : dict of str to str
        Files found under the folder and their formats.
    """

    data: pd.DataFrame = field(repr=False)
    revisions: pd.DataFrame = field(repr=False)
    excluded: pd.DataFrame = field(repr=False)
    measures: tuple[str, ...]
    years: tuple[int, ...]
    boundaries: BoundaryPolicy
    prefer: str
    files: dict[str, str] = field(repr=False)

    def __str__(self) -> str:
        """Describe the panel in a few lines: what it holds and where its table is (``.data``)."""
        from sfpc_eval.labels import label

        years = f"{self.years[0]}-{self.years[-1]}" if self.years else "no years"
        measures = "; ".join(f"{label(m)} ({m})" for m in self.measures)
        return "\n".join(
            [
                f"DfE LA panel: {self.n_las} councils x {len(self.years)} years "
                f"(years ending 31 March {years})",
                f"measures: {measures}; counts, rates per 10,000 children and statuses",
                f"boundaries: {self.boundaries}; figures from the {self.prefer} release "
                f"({len(self.revisions):,} revised figures in .revisions)",
                f"the table is .data ({len(self.data):,} rows, one per council and year); "
                ".wide('cla') gives councils x years",
            ]
        )

    @property
    def n_las(self) -> int:
        """Number of distinct LAs (units) in the panel."""
        return int(self.data["old_la_code"].nunique())

    def status_counts(self) -> pd.DataFrame:
        """Count LA-years by measure and status (a quick check of completeness)."""
        out = {m: self.data[f"{m}_status"].value_counts() for m in self.measures}
        return pd.DataFrame(out).fillna(0).astype(int)

    def wide(self, measure: str, *, rate: bool = False) -> pd.DataFrame:
        """Return one measure as an LA x year table (counts, or rates with ``rate=True``)."""
        if measure not in self.measures:
            raise InvalidValueError(
                f"`measure` {measure!r} is not in this panel; it has {', '.join(self.measures)}."
            )
        column = f"{measure}_rate" if rate else measure
        return self.data.pivot_table(
            index="la_name", columns="year", values=column, aggfunc="first", dropna=False
        )


def _check_measures(measures: Iterable[str] | str) -> tuple[str, ...]:
    items = [measures] if isinstance(measures, str) else list(measures)
    long_to_short = {v: k for k, v in PANEL_MEASURES.items()}
    out = []
    for m in items:
        if m in PANEL_MEASURES:
            out.append(m)
        elif m in long_to_short:
            out.append(long_to_short[m])
        else:
            raise InvalidValueError(
                f"`measures` has {m!r}, which la_panel does not know. Use any of "
                f"{', '.join(PANEL_MEASURES)} (or {', '.join(PANEL_MEASURES.values())})."
            )
    if not out:
        raise InvalidValueError("`measures` is empty; pass e.g. ('cla', 'cpp', 'cin').")
    return tuple(dict.fromkeys(out))


def la_panel(
    root: str | os.PathLike[str],
    *,
    measures: Iterable[str] | str = ("cla", "cpp", "cin"),
    years: Iterable[int] | int | None = None,
    boundaries: BoundaryPolicy = "consistent",
    prefer: str = "latest",
) -> LaPanel:
    """Build a harmonised LA x year panel from a folder of official files.

    Every statistics file under ``root`` is read (see :func:`~sfpc_eval.data.read_folder`);
    where releases overlap, one figure is chosen (latest release by default) and the others
    that differ are kept in ``revisions``; LAs are harmonised to a boundary policy; rates are
    the published ones where the count's release prints one, otherwise computed from the ONS
    0-17 population of the previous mid-year (the DfE convention).

    Parameters
    ----------
    root : path-like
        Folder of DfE files (e.g. ``../shared/data/raw``).
    measures : iterable of str, default ("cla", "cpp", "cin")
        Any of ``cla``, ``cpp``, ``cin``, ``referrals``, ``cla_started``, ``cla_ceased``.
    years : int or iterable of int, optional
        Years ending 31 March. Default: from the first year every measure has data to the last
        year any has (2010-2025 for the default measures and the shared folder).
    boundaries : None, "consistent" or int, default "consistent"
        Boundary policy (see :mod:`sfpc_eval.data.boundaries`): ``None`` as published,
        ``"consistent"`` the same units over the whole span, or a year whose LAs to use.
    prefer : {"latest", "first"}, default "latest"
        Which release wins where two primary releases both print a number.

    Returns
    -------
    LaPanel
        ``.data`` has one row per LA and year; no LA-year is duplicated, and every missing
        count has a status that says why.

    Raises
    ------
    YearOutOfRangeError
        A requested year has no data for any of the measures.
    InvalidValueError
        An unknown measure, boundary policy or ``prefer``.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> panel = sd.la_panel("../shared/data/raw", boundaries=2024)  # doctest: +SKIP
    >>> panel.data.query("la_name == 'Leeds' and year == 2017")[["cpp", "cpp_rate"]]
    ... # doctest: +SKIP
    """
    short = _check_measures(measures)
    wanted_years = check_years(years)
    policy = check_boundaries(boundaries)
    if prefer not in ("latest", "first"):
        raise InvalidValueError(f"`prefer` must be 'latest' or 'first'; got {prefer!r}.")
    folder = read_folder(root)
    counts = [PANEL_MEASURES[m] for m in short]
    rates = [r for c in counts if (r := rate_of(c)) is not None]
    rows = folder.rows[folder.rows["measure"].isin([*counts, *rates, "population_0_17"])]
    span_years = _panel_years(rows, counts, wanted_years, root)
    span = (span_years[0], span_years[-1])
    rows = _drop_non_existing(rows)
    chosen, revisions = choose_releases(rows, prefer=prefer)
    lookup = {
        (c, int(y), m): (v, s, f)
        for c, y, m, v, s, f in chosen[
            ["old_la_code", "year", "measure", "value", "status", "source_file"]
        ].itertuples(index=False)
    }
    rate_lookup = _rate_candidates(rows, counts)
    members, excluded = _members(policy, span_years, span)
    records = []
    for unit, year in _unit_years(members, policy, span_years):
        parts = members.get((unit, year), [])
        records.append(_row(unit, year, parts, policy, span, short, lookup, rate_lookup))
    data = pd.DataFrame.from_records(records)
    data = data.sort_values(["la_name", "year"], ignore_index=True)
    return LaPanel(
        data=data,
        revisions=revisions[
            revisions["year"].isin(span_years) | (revisions["measure"] == "population_0_17")
        ].reset_index(drop=True),
        excluded=excluded,
        measures=short,
        years=tuple(span_years),
        boundaries=policy,
        prefer=prefer,
        files=folder.files,
    )


def _panel_years(
    rows: pd.DataFrame, counts: list[str], wanted: list[int] | None, root: object
) -> list[int]:
    covered = {m: sorted(set(rows.loc[rows["measure"] == m, "year"].astype(int))) for m in counts}
    if wanted is None:
        if any(not ys for ys in covered.values()):
            empty = [m for m, ys in covered.items() if not ys]
            raise YearOutOfRangeError(
                f"No file under {root} has {', '.join(empty)}. Add the files that publish it, "
                "or leave it out of `measures`."
            )
        first = max(ys[0] for ys in covered.values())
        last = max(ys[-1] for ys in covered.values())
        return list(range(first, last + 1))
    any_data = set().union(*covered.values()) if covered else set()
    absent = [y for y in wanted if y not in any_data]
    if absent:
        spans = "; ".join(
            f"{m}: {ys[0]}-{ys[-1]}" if ys else f"{m}: none" for m, ys in covered.items()
        )
        raise YearOutOfRangeError(
            f"No file under {root} has data for {show_values(absent)}. The files cover "
            f"{spans}. Ask for years in those ranges, or add the releases that cover the others."
        )
    return wanted


def _rate_candidates(
    rows: pd.DataFrame, counts: list[str]
) -> dict[tuple[str, int, str], list[tuple[float, float]]]:
    """For each LA, year and count: (count, published rate) pairs from the files printing both.

    A published rate is used only beside the count it was computed from, so a pair is taken
    only where its count equals the count chosen for the panel; primary releases come first,
    latest first.
    """
    out: dict[tuple[str, int, str], list[tuple[float, float]]] = {}
    keys = ["old_la_code", "year", "source_file"]
    for count in counts:
        rate = rate_of(count)
        if rate is None:
            continue
        both = rows[rows["measure"] == count].merge(
            rows[rows["measure"] == rate][[*keys, "value"]], on=keys, suffixes=("", "_rate")
        )
        both = both[both["value"].notna() & both["value_rate"].notna()]
        both = both.assign(_primary=(both["source_format"] != "lait").astype(int))
        both = both.sort_values(["_primary", "release"], ascending=False, kind="stable")
        for code, year, value, value_rate in both[
            ["old_la_code", "year", "value", "value_rate"]
        ].itertuples(index=False):
            out.setdefault((code, int(year), count), []).append((value, value_rate))
    return out


def _drop_non_existing(rows: pd.DataFrame) -> pd.DataFrame:
    """Drop rows for LA-years when the LA did not exist (files print them as z or -)."""
    shift = (rows["measure"] == "population_0_17").astype(int)
    codes = rows["old_la_code"].to_numpy()
    years = (rows["year"] + shift).to_numpy()
    exists = np.array([la_by_code(c).exists_in(int(y)) for c, y in zip(codes, years, strict=True)])
    keep = exists | rows["value"].notna().to_numpy()
    return rows[keep]


def _members(
    policy: BoundaryPolicy, years: list[int], span: tuple[int, int]
) -> tuple[dict[tuple[str, int], list[LocalAuthority]], pd.DataFrame]:
    members: dict[tuple[str, int], list[LocalAuthority]] = {}
    excluded = []
    for la in LOCAL_AUTHORITIES:
        unit, _, reason = unit_of(la, policy, span)
        for year in years:
            if not la.exists_in(year):
                continue
            if unit is None:
                excluded.append((la.old_la_code, la.name, year, reason))
            else:
                members.setdefault((unit, year), []).append(la)
    frame = pd.DataFrame(excluded, columns=["old_la_code", "la_name", "year", "reason"])
    return members, frame


def _unit_years(
    members: dict[tuple[str, int], list[LocalAuthority]], policy: BoundaryPolicy, years: list[int]
) -> list[tuple[str, int]]:
    if policy is None:
        return sorted(members)
    units = sorted({unit for unit, _ in members})
    if isinstance(policy, int):
        units = [la.old_la_code for la in LOCAL_AUTHORITIES if la.exists_in(policy)]
    return [(u, y) for u in units for y in years]


def _combine(
    parts: list[LocalAuthority],
    year: int,
    measure: str,
    lookup: dict[tuple[str, int, str], tuple[float, str, str]],
) -> tuple[float, str, str]:
    values, statuses, sources = [], [], []
    for la in parts:
        found = lookup.get((la.old_la_code, year, measure))
        if found is None:
            values.append(math.nan)
            statuses.append(NOT_AVAILABLE)
            continue
        value, status, source = found
        values.append(value)
        statuses.append(status)
        sources.append(source)
    source = "; ".join(dict.fromkeys(sources))
    if all(s in _HAS_VALUE for s in statuses) and not any(math.isnan(v) for v in values):
        status = LOW_RELIABILITY if LOW_RELIABILITY in statuses else PUBLISHED
        return float(sum(values)), status, source
    missing = [s for s in statuses if s != PUBLISHED]
    status = next(s for s in _STATUS_ORDER if s in missing)
    return math.nan, status, source


def _row(
    unit: str,
    year: int,
    parts: list[LocalAuthority],
    policy: BoundaryPolicy,
    span: tuple[int, int],
    short: tuple[str, ...],
    lookup: dict[tuple[str, int, str], tuple[float, str, str]],
    rate_lookup: dict[tuple[str, int, str], list[tuple[float, float]]],
) -> dict[str, object]:
    la = la_by_code(unit)
    if policy is None:
        code = la.ons_code(year)
    elif policy == "consistent":
        code = la.ons_code(span[1])
    else:
        code = la.ons_code(policy)
    row: dict[str, object] = {
        "la_code": code,
        "old_la_code": unit,
        "la_name": la.name,
        "year": year,
    }
    if not parts:
        note = f"not formed in {year}: {_gap_reason(la, year)}"
        row.update(population_0_17=math.nan, population_status=NOT_APPLICABLE)
        for m in short:
            row.update(
                {
                    m: math.nan,
                    f"{m}_status": NOT_APPLICABLE,
                    f"{m}_rate": math.nan,
                    f"{m}_rate_basis": NOT_AVAILABLE,
                    f"{m}_source": "",
                }
            )
        row["boundary_note"] = note
        return row
    population, population_status, _ = _combine(parts, year - 1, "population_0_17", lookup)
    row.update(population_0_17=population, population_status=population_status)
    for m in short:
        count_measure = PANEL_MEASURES[m]
        value, status, source = _combine(parts, year, count_measure, lookup)
        rate, basis = math.nan, NOT_AVAILABLE
        rate_measure = rate_of(count_measure)
        if len(parts) == 1 and rate_measure is not None and not math.isnan(value):
            for count, published in rate_lookup.get(
                (parts[0].old_la_code, year, count_measure), []
            ):
                if count == value:
                    rate, basis = published, "published"
                    break
        if basis != "published" and not math.isnan(value) and population > 0:
            rate, basis = value / population * 10_000, "computed"
        row.update(
            {
                m: value,
                f"{m}_status": status,
                f"{m}_rate": rate,
                f"{m}_rate_basis": basis,
                f"{m}_source": source,
            }
        )
    row["boundary_note"] = _note(unit, parts)
    return row


def _gap_reason(la: LocalAuthority, year: int) -> str:
    """Say why an LA of the boundary year cannot be formed from the LAs published in ``year``."""
    if la.first_year is not None and year < la.first_year:
        change = change_into(la.old_la_code)
        if change is not None and change.kind == "split":
            return (
                f"{la.name} was created in {change.year} from {la_names(change.before)}, whose "
                f"figures cannot be divided between {la_names(change.after)}"
            )
    if la.last_year is not None and year > la.last_year:
        change = change_from(la.old_la_code)
        if change is not None:
            return (
                f"{la.name} became part of {la_names(change.after)} in {change.year}; those "
                "figures cannot be divided back"
            )
    return f"{la.name} did not exist in {year}"  # pragma: no cover - every gap has a change


def _note(unit: str, parts: list[LocalAuthority]) -> str:
    if [la.old_la_code for la in parts] == [unit]:
        return ""
    target = la_by_code(unit).name
    summed = " + ".join(la.name for la in parts)
    approximate = any(la.old_la_code in ("835", "836", "837") for la in parts)
    text = f"{target} = {summed}" if len(parts) > 1 else f"{target} as {summed}"
    if approximate:
        text += " (approximate: Christchurch moved from Dorset to BCP in 2019)"
    return text
