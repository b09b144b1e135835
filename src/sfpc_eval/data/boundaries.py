"""Boundary policies: which LAs a panel has, and which published LAs are summed into each.

``boundaries=None``
    As published: each LA is its own unit in the years it existed. Predecessors and successors
    are different units (Northamptonshire to 2021; North and West Northamptonshire from 2022).
``boundaries="consistent"`` (the default of :func:`~sfpc_eval.data.la_panel`)
    The finest units whose boundaries are the same over the panel's whole span: an LA split
    within the span is kept whole (North + West Northamptonshire are summed into
    Northamptonshire from 2022; Cumberland + Westmorland and Furness into Cumbria from 2024),
    and LAs merged within the span are summed before the merger (Bournemouth + Poole into BCP
    before 2020; Dorset county into Dorset). 151 LAs over 2010-2025.
``boundaries=Y`` (a year ending 31 March, e.g. 2025)
    The LAs that existed in year *Y*. Predecessors merged by *Y* are summed into their
    successor (Bournemouth + Poole into BCP), successors of splits after *Y* are summed into the
    predecessor, and where an LA existing in *Y* cannot be formed from the published LAs of a
    year (North Northamptonshire before 2022, when its figures are inside Northamptonshire's),
    its row for that year has status "not applicable" and says why.

Counts and populations are summed; rates are recomputed from the summed count and population
(a published rate is kept only where a unit is one published LA). The 2019 Dorset change is not
exact (Christchurch moved from Dorset county to BCP and is not published separately), so those
rows carry a ``boundary_note`` saying the sum is approximate.
"""

from __future__ import annotations

from sfpc_eval.data.areas import BOUNDARY_CHANGES, BoundaryChange, LocalAuthority, la_by_code
from sfpc_eval.errors import InvalidValueError

__all__ = [
    "BoundaryPolicy",
    "change_from",
    "change_into",
    "check_boundaries",
    "la_names",
    "unit_of",
]

BoundaryPolicy = str | int | None

FIRST_KNOWN, LAST_KNOWN = 2006, 2025


def check_boundaries(boundaries: object) -> BoundaryPolicy:
    """Validate a ``boundaries`` argument and return it.

    Examples
    --------
    >>> check_boundaries(2024), check_boundaries("consistent"), check_boundaries(None)
    (2024, 'consistent', None)
    """
    if boundaries is None:
        return None
    if boundaries == "consistent":
        return "consistent"
    if isinstance(boundaries, int) and not isinstance(boundaries, bool):
        if FIRST_KNOWN <= boundaries <= LAST_KNOWN:
            return boundaries
        raise InvalidValueError(
            f"`boundaries`={boundaries} is outside the years sfpc_eval knows the LA boundaries "
            f"of ({FIRST_KNOWN}-{LAST_KNOWN}); pass a year in that range, 'consistent' or None."
        )
    raise InvalidValueError(
        f"`boundaries` must be None (as published), 'consistent' or a year ending 31 March such "
        f"as 2024; got {boundaries!r}."
    )


def change_from(code: str) -> BoundaryChange | None:
    """Return the boundary change that ended LA ``code`` (recodes aside), if any."""
    return next((c for c in BOUNDARY_CHANGES if code in c.before and c.kind != "recode"), None)


def change_into(code: str) -> BoundaryChange | None:
    """Return the boundary change that created LA ``code`` (recodes aside), if any."""
    return next((c for c in BOUNDARY_CHANGES if code in c.after and c.kind != "recode"), None)


def la_names(codes: tuple[str, ...]) -> str:
    """Join the names of LAs given by DfE code: ``"Bournemouth and Poole"``."""
    return " and ".join(la_by_code(c).name for c in codes)


def unit_of(
    la: LocalAuthority, policy: BoundaryPolicy, span: tuple[int, int]
) -> tuple[str | None, bool, str]:
    """Return the unit an LA's figures go to under a policy.

    Parameters
    ----------
    la : LocalAuthority
        A published LA.
    policy : None, "consistent" or int
        See the module docstring.
    span : (int, int)
        First and last year of the panel.

    Returns
    -------
    unit : str or None
        DfE code of the unit, or None if the LA's figures cannot be placed (the reason says why).
    exact : bool
        False if the mapping crosses the approximate 2019 Dorset change.
    reason : str
        Why ``unit`` is None (empty otherwise).

    Examples
    --------
    >>> from sfpc_eval.data.areas import la_by_code
    >>> unit_of(la_by_code("940"), "consistent", (2010, 2025))
    ('928', True, '')
    >>> unit_of(la_by_code("928"), 2025, (2010, 2025))[0] is None
    True
    """
    if policy is None:
        return la.old_la_code, True, ""
    if policy == "consistent":
        return _consistent(la.old_la_code, span)
    return _at_year(la.old_la_code, int(policy))


def _consistent(code: str, span: tuple[int, int]) -> tuple[str, bool, str]:
    exact = True
    seen = set()
    while code not in seen:
        seen.add(code)
        forward = change_from(code)
        backward = change_into(code)
        if forward and forward.kind == "merger" and span[0] < forward.year <= span[1]:
            exact &= forward.exact
            code = forward.after[0]
        elif backward and backward.kind == "split" and span[0] < backward.year <= span[1]:
            exact &= backward.exact
            code = backward.before[0]
        else:
            break
    return code, exact, ""


def _at_year(code: str, year: int) -> tuple[str | None, bool, str]:
    exact = True
    for _ in range(10):
        la = la_by_code(code)
        if la.exists_in(year):
            return code, exact, ""
        if la.last_year is not None and la.last_year < year:
            change = change_from(code)
            if change is None:  # pragma: no cover - every abolished LA has a change
                return None, exact, f"{la.name} was abolished after {la.last_year}"
            if change.kind == "split":
                return (
                    None,
                    exact,
                    (
                        f"{la.name} was split into {la_names(change.after)} in {change.year}; its "
                        f"figures cannot be divided between them"
                    ),
                )
            exact &= change.exact
            code = change.after[0]
        else:
            change = change_into(code)
            if change is None:  # pragma: no cover - every new LA has a change
                return None, exact, f"{la.name} did not exist before {la.first_year}"
            if len(change.before) > 1:
                return (
                    None,
                    exact,
                    (
                        f"{la.name} was formed from {la_names(change.before)} in "
                        f"{change.year}; its figures cannot be divided back between them"
                    ),
                )
            exact &= change.exact
            code = change.before[0]
    return None, exact, "boundary history too long"  # pragma: no cover
