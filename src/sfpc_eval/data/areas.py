"""English local authorities: DfE and ONS codes, names as published, and boundary changes.

The DfE's 3-digit LA code (``old_la_code``) is the key that every official file carries (the
older files have no ONS code) and that stays the same when the ONS recodes an area without
changing it (North Yorkshire, Somerset, Buckinghamshire). sfpc_eval therefore identifies an LA
by its DfE code and derives the ONS code (``la_code``) for each year from this table.

Boundary changes (:data:`BOUNDARY_CHANGES`) are dated by the first year ending 31 March under
the new boundaries: a change on 1 April 2019 applies from the year ending 31 March 2020.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sfpc_eval.errors import UnknownAreaError

__all__ = [
    "BOUNDARY_CHANGES",
    "LOCAL_AUTHORITIES",
    "BoundaryChange",
    "LocalAuthority",
    "find_la",
    "la_by_code",
    "las_in_year",
    "normalise_name",
]


@dataclass(frozen=True)
class LocalAuthority:
    """One English local authority with children's services responsibilities.

    Attributes
    ----------
    old_la_code : str
        The DfE 3-digit code (e.g. ``"383"`` for Leeds).
    name : str
        The name as the latest DfE releases print it.
    ons_codes : tuple of (int or None, str)
        ONS (GSS) codes with the first year ending 31 March each applies from (``None``: from
        the start of the records).
    first_year, last_year : int or None
        First and last year ending 31 March in which the LA existed (``None``: open-ended).
    """

    old_la_code: str
    name: str
    ons_codes: tuple[tuple[int | None, str], ...]
    first_year: int | None = None
    last_year: int | None = None

    def exists_in(self, year: int) -> bool:
        """Return True if the LA existed in the year ending 31 March ``year``."""
        return (self.first_year is None or year >= self.first_year) and (
            self.last_year is None or year <= self.last_year
        )

    def ons_code(self, year: int | None = None) -> str:
        """Return the ONS code in force in ``year`` (the latest code if ``year`` is None)."""
        if not self.ons_codes:
            return ""
        if year is None:
            return self.ons_codes[-1][1]
        code = self.ons_codes[0][1]
        for start, candidate in self.ons_codes:
            if start is None or year >= start:
                code = candidate
        return code


def _la(
    code: str,
    name: str,
    ons: tuple[tuple[int | None, str], ...],
    first: int | None,
    last: int | None,
) -> LocalAuthority:
    return LocalAuthority(code, name, ons, first, last)


LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    _la("201", "City of London", ((None, "E09000001"),), None, None),
    _la("202", "Camden", ((None, "E09000007"),), None, None),
    _la("203", "Greenwich", ((None, "E09000011"),), None, None),
    _la("204", "Hackney", ((None, "E09000012"),), None, None),
    _la("205", "Hammersmith and Fulham", ((None, "E09000013"),), None, None),
    _la("206", "Islington", ((None, "E09000019"),), None, None),
    _la("207", "Kensington and Chelsea", ((None, "E09000020"),), None, None),
    _la("208", "Lambeth", ((None, "E09000022"),), None, None),
    _la("209", "Lewisham", ((None, "E09000023"),), None, None),
    _la("210", "Southwark", ((None, "E09000028"),), None, None),
    _la("211", "Tower Hamlets", ((None, "E09000030"),), None, None),
    _la("212", "Wandsworth", ((None, "E09000032"),), None, None),
    _la("213", "Westminster", ((None, "E09000033"),), None, None),
    _la("301", "Barking and Dagenham", ((None, "E09000002"),), None, None),
    _la("302", "Barnet", ((None, "E09000003"),), None, None),
    _la("303", "Bexley", ((None, "E09000004"),), None, None),
    _la("304", "Brent", ((None, "E09000005"),), None, None),
    _la("305", "Bromley", ((None, "E09000006"),), None, None),
    _la("306", "Croydon", ((None, "E09000008"),), None, None),
    _la("307", "Ealing", ((None, "E09000009"),), None, None),
    _la("308", "Enfield", ((None, "E09000010"),), None, None),
    _la("309", "Haringey", ((None, "E09000014"),), None, None),
    _la("310", "Harrow", ((None, "E09000015"),), None, None),
    _la("311", "Havering", ((None, "E09000016"),), None, None),
    _la("312", "Hillingdon", ((None, "E09000017"),), None, None),
    _la("313", "Hounslow", ((None, "E09000018"),), None, None),
    _la("314", "Kingston upon Thames", ((None, "E09000021"),), None, None),
    _la("315", "Merton", ((None, "E09000024"),), None, None),
    _la("316", "Newham", ((None, "E09000025"),), None, None),
    _la("317", "Redbridge", ((None, "E09000026"),), None, None),
    _la("318", "Richmond upon Thames", ((None, "E09000027"),), None, None),
    _la("319", "Sutton", ((None, "E09000029"),), None, None),
    _la("320", "Waltham Forest", ((None, "E09000031"),), None, None),
    _la("330", "Birmingham", ((None, "E08000025"),), None, None),
    _la("331", "Coventry", ((None, "E08000026"),), None, None),
    _la("332", "Dudley", ((None, "E08000027"),), None, None),
    _la("333", "Sandwell", ((None, "E08000028"),), None, None),
    _la("334", "Solihull", ((None, "E08000029"),), None, None),
    _la("335", "Walsall", ((None, "E08000030"),), None, None),
    _la("336", "Wolverhampton", ((None, "E08000031"),), None, None),
    _la("340", "Knowsley", ((None, "E08000011"),), None, None),
    _la("341", "Liverpool", ((None, "E08000012"),), None, None),
    _la("342", "St. Helens", ((None, "E08000013"),), None, None),
    _la("343", "Sefton", ((None, "E08000014"),), None, None),
    _la("344", "Wirral", ((None, "E08000015"),), None, None),
    _la("350", "Bolton", ((None, "E08000001"),), None, None),
    _la("351", "Bury", ((None, "E08000002"),), None, None),
    _la("352", "Manchester", ((None, "E08000003"),), None, None),
    _la("353", "Oldham", ((None, "E08000004"),), None, None),
    _la("354", "Rochdale", ((None, "E08000005"),), None, None),
    _la("355", "Salford", ((None, "E08000006"),), None, None),
    _la("356", "Stockport", ((None, "E08000007"),), None, None),
    _la("357", "Tameside", ((None, "E08000008"),), None, None),
    _la("358", "Trafford", ((None, "E08000009"),), None, None),
    _la("359", "Wigan", ((None, "E08000010"),), None, None),
    _la("370", "Barnsley", ((None, "E08000016"),), None, None),
    _la("371", "Doncaster", ((None, "E08000017"),), None, None),
    _la("372", "Rotherham", ((None, "E08000018"),), None, None),
    _la("373", "Sheffield", ((None, "E08000019"),), None, None),
    _la("380", "Bradford", ((None, "E08000032"),), None, None),
    _la("381", "Calderdale", ((None, "E08000033"),), None, None),
    _la("382", "Kirklees", ((None, "E08000034"),), None, None),
    _la("383", "Leeds", ((None, "E08000035"),), None, None),
    _la("384", "Wakefield", ((None, "E08000036"),), None, None),
    _la("390", "Gateshead", ((None, "E08000037"),), None, None),
    _la("391", "Newcastle upon Tyne", ((None, "E08000021"),), None, None),
    _la("392", "North Tyneside", ((None, "E08000022"),), None, None),
    _la("393", "South Tyneside", ((None, "E08000023"),), None, None),
    _la("394", "Sunderland", ((None, "E08000024"),), None, None),
    _la("420", "Isles of Scilly", ((None, "E06000053"),), None, None),
    _la("800", "Bath and North East Somerset", ((None, "E06000022"),), None, None),
    _la("801", "Bristol, City of", ((None, "E06000023"),), None, None),
    _la("802", "North Somerset", ((None, "E06000024"),), None, None),
    _la("803", "South Gloucestershire", ((None, "E06000025"),), None, None),
    _la("805", "Hartlepool", ((None, "E06000001"),), None, None),
    _la("806", "Middlesbrough", ((None, "E06000002"),), None, None),
    _la("807", "Redcar and Cleveland", ((None, "E06000003"),), None, None),
    _la("808", "Stockton-on-Tees", ((None, "E06000004"),), None, None),
    _la("810", "Kingston upon Hull, City of", ((None, "E06000010"),), None, None),
    _la("811", "East Riding of Yorkshire", ((None, "E06000011"),), None, None),
    _la("812", "North East Lincolnshire", ((None, "E06000012"),), None, None),
    _la("813", "North Lincolnshire", ((None, "E06000013"),), None, None),
    _la("815", "North Yorkshire", ((None, "E10000023"), (2024, "E06000065")), None, None),
    _la("816", "York", ((None, "E06000014"),), None, None),
    _la("821", "Luton", ((None, "E06000032"),), None, None),
    _la("822", "Bedford", ((None, "E06000055"),), 2010, None),
    _la("823", "Central Bedfordshire", ((None, "E06000056"),), 2010, None),
    _la("825", "Buckinghamshire", ((None, "E10000002"), (2021, "E06000060")), None, None),
    _la("826", "Milton Keynes", ((None, "E06000042"),), None, None),
    _la("830", "Derbyshire", ((None, "E10000007"),), None, None),
    _la("831", "Derby", ((None, "E06000015"),), None, None),
    _la("835", "Dorset", ((None, "E10000009"),), None, 2019),
    _la("836", "Poole", ((None, "E06000029"),), None, 2019),
    _la("837", "Bournemouth", ((None, "E06000028"),), None, 2019),
    _la("838", "Dorset", ((None, "E06000059"),), 2020, None),
    _la("839", "Bournemouth, Christchurch and Poole", ((None, "E06000058"),), 2020, None),
    _la("840", "County Durham", ((None, "E06000047"),), None, None),
    _la("841", "Darlington", ((None, "E06000005"),), None, None),
    _la("845", "East Sussex", ((None, "E10000011"),), None, None),
    _la("846", "Brighton and Hove", ((None, "E06000043"),), None, None),
    _la("850", "Hampshire", ((None, "E10000014"),), None, None),
    _la("851", "Portsmouth", ((None, "E06000044"),), None, None),
    _la("852", "Southampton", ((None, "E06000045"),), None, None),
    _la("855", "Leicestershire", ((None, "E10000018"),), None, None),
    _la("856", "Leicester", ((None, "E06000016"),), None, None),
    _la("857", "Rutland", ((None, "E06000017"),), None, None),
    _la("860", "Staffordshire", ((None, "E10000028"),), None, None),
    _la("861", "Stoke-on-Trent", ((None, "E06000021"),), None, None),
    _la("865", "Wiltshire", ((None, "E06000054"),), None, None),
    _la("866", "Swindon", ((None, "E06000030"),), None, None),
    _la("867", "Bracknell Forest", ((None, "E06000036"),), None, None),
    _la("868", "Windsor and Maidenhead", ((None, "E06000040"),), None, None),
    _la("869", "West Berkshire", ((None, "E06000037"),), None, None),
    _la("870", "Reading", ((None, "E06000038"),), None, None),
    _la("871", "Slough", ((None, "E06000039"),), None, None),
    _la("872", "Wokingham", ((None, "E06000041"),), None, None),
    _la("873", "Cambridgeshire", ((None, "E10000003"),), None, None),
    _la("874", "Peterborough", ((None, "E06000031"),), None, None),
    _la("876", "Halton", ((None, "E06000006"),), None, None),
    _la("877", "Warrington", ((None, "E06000007"),), None, None),
    _la("878", "Devon", ((None, "E10000008"),), None, None),
    _la("879", "Plymouth", ((None, "E06000026"),), None, None),
    _la("880", "Torbay", ((None, "E06000027"),), None, None),
    _la("881", "Essex", ((None, "E10000012"),), None, None),
    _la("882", "Southend-on-Sea", ((None, "E06000033"),), None, None),
    _la("883", "Thurrock", ((None, "E06000034"),), None, None),
    _la("884", "Herefordshire, County of", ((None, "E06000019"),), None, None),
    _la("885", "Worcestershire", ((None, "E10000034"),), None, None),
    _la("886", "Kent", ((None, "E10000016"),), None, None),
    _la("887", "Medway", ((None, "E06000035"),), None, None),
    _la("888", "Lancashire", ((None, "E10000017"),), None, None),
    _la("889", "Blackburn with Darwen", ((None, "E06000008"),), None, None),
    _la("890", "Blackpool", ((None, "E06000009"),), None, None),
    _la("891", "Nottinghamshire", ((None, "E10000024"),), None, None),
    _la("892", "Nottingham", ((None, "E06000018"),), None, None),
    _la("893", "Shropshire", ((None, "E06000051"),), None, None),
    _la("894", "Telford and Wrekin", ((None, "E06000020"),), None, None),
    _la("895", "Cheshire East", ((None, "E06000049"),), 2010, None),
    _la("896", "Cheshire West and Chester", ((None, "E06000050"),), 2010, None),
    _la("908", "Cornwall", ((None, "E06000052"),), None, None),
    _la("909", "Cumbria", ((None, "E10000006"),), None, 2023),
    _la("916", "Gloucestershire", ((None, "E10000013"),), None, None),
    _la("919", "Hertfordshire", ((None, "E10000015"),), None, None),
    _la("921", "Isle of Wight", ((None, "E06000046"),), None, None),
    _la("925", "Lincolnshire", ((None, "E10000019"),), None, None),
    _la("926", "Norfolk", ((None, "E10000020"),), None, None),
    _la("928", "Northamptonshire", ((None, "E10000021"),), None, 2021),
    _la("929", "Northumberland", ((None, "E06000057"),), None, None),
    _la("931", "Oxfordshire", ((None, "E10000025"),), None, None),
    _la("933", "Somerset", ((None, "E10000027"), (2024, "E06000066")), None, None),
    _la("935", "Suffolk", ((None, "E10000029"),), None, None),
    _la("936", "Surrey", ((None, "E10000030"),), None, None),
    _la("937", "Warwickshire", ((None, "E10000031"),), None, None),
    _la("938", "West Sussex", ((None, "E10000032"),), None, None),
    _la("940", "North Northamptonshire", ((None, "E06000061"),), 2022, None),
    _la("941", "West Northamptonshire", ((None, "E06000062"),), 2022, None),
    _la("942", "Cumberland", ((None, "E06000063"),), 2024, None),
    _la("943", "Westmorland and Furness", ((None, "E06000064"),), 2024, None),
    # Abolished in the 2009 reorganisation (year ending 31 March 2009 was their last); they
    # appear in the 2006-2009 columns of the SFR 2010 workbook. They never had GSS codes.
    _la("820", "Bedfordshire", (), None, 2009),
    _la("875", "Cheshire", (), None, 2009),
)
"""Every LA in the files sfpc_eval reads, 2006-2025 (160 DfE codes)."""

_BY_CODE = {la.old_la_code: la for la in LOCAL_AUTHORITIES}
_BY_ONS = {code: la for la in LOCAL_AUTHORITIES for _, code in la.ons_codes}


@dataclass(frozen=True)
class BoundaryChange:
    """A change to LA boundaries or codes.

    Attributes
    ----------
    year : int
        First year ending 31 March under the new arrangement.
    kind : {"split", "merger", "recode"}
        ``split``: one LA became several; ``merger``: several became one; ``recode``: the same
        area got a new ONS code.
    before, after : tuple of str
        DfE codes of the LAs before and after.
    exact : bool
        False where the new LAs are not unions of the old ones (Christchurch moved from Dorset
        to BCP in 2019, so Bournemouth + Poole is only approximately BCP).
    description : str
        One line for reports.
    """

    year: int
    kind: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    exact: bool
    description: str


BOUNDARY_CHANGES: tuple[BoundaryChange, ...] = (
    BoundaryChange(
        2010,
        "split",
        ("820",),
        ("822", "823"),
        True,
        "1 April 2009: Bedfordshire split into Bedford and Central Bedfordshire",
    ),
    BoundaryChange(
        2010,
        "split",
        ("875",),
        ("895", "896"),
        True,
        "1 April 2009: Cheshire split into Cheshire East and Cheshire West and Chester",
    ),
    BoundaryChange(
        2020,
        "merger",
        ("836", "837"),
        ("839",),
        False,
        "1 April 2019: Bournemouth and Poole (with Christchurch, from Dorset) became "
        "Bournemouth, Christchurch and Poole (BCP)",
    ),
    BoundaryChange(
        2020,
        "merger",
        ("835",),
        ("838",),
        False,
        "1 April 2019: Dorset county (less Christchurch) became the Dorset unitary council",
    ),
    BoundaryChange(
        2021,
        "recode",
        ("825",),
        ("825",),
        True,
        "1 April 2020: Buckinghamshire became a unitary council (E10000002 -> E06000060)",
    ),
    BoundaryChange(
        2022,
        "split",
        ("928",),
        ("940", "941"),
        True,
        "1 April 2021: Northamptonshire split into North and West Northamptonshire",
    ),
    BoundaryChange(
        2024,
        "split",
        ("909",),
        ("942", "943"),
        True,
        "1 April 2023: Cumbria split into Cumberland and Westmorland and Furness",
    ),
    BoundaryChange(
        2024,
        "recode",
        ("815",),
        ("815",),
        True,
        "1 April 2023: North Yorkshire became a unitary council (E10000023 -> E06000065)",
    ),
    BoundaryChange(
        2024,
        "recode",
        ("933",),
        ("933",),
        True,
        "1 April 2023: Somerset became a unitary council (E10000027 -> E06000066)",
    ),
)
"""The boundary and code changes between 2006 and 2025, oldest first."""

_FOOTNOTE = re.compile(r"(?<=[a-z)])\d+$")
_PRE_LG = re.compile(r"\(pre lg\)")
_SUFFIXES = (" city of", " county of")
_ALIASES = {
    "durham": "840",
    "county durham": "840",
    "bedford borough": "822",
    "medway towns": "887",
    "bcp": "839",
    "bournemouth christchurch and poole": "839",
    "herefordshire": "884",
    "bristol": "801",
    "kingston upon hull": "810",
    "hull": "810",
    "st helens": "342",
    "saint helens": "342",
    "isles of scilly": "420",
}


def normalise_name(name: str) -> str:
    """Return a comparison key for an LA name as any DfE file spells it.

    Lower case; footnote digits, punctuation and "(Pre LG)" removed; ``&`` read as "and";
    "Bristol, City of" read as "bristol".

    Examples
    --------
    >>> normalise_name("Newcastle Upon Tyne"), normalise_name("Cheshire5")
    ('newcastle upon tyne', 'cheshire')
    >>> normalise_name("Kingston upon Hull, City of"), normalise_name("St. Helens")
    ('kingston upon hull', 'st helens')
    """
    text = _FOOTNOTE.sub("", str(name).strip().lower())
    text = _PRE_LG.sub("", text).replace("&", " and ")
    text = re.sub(r"[.,'’]", " ", text).replace("-", " ")
    text = re.sub(r"\s+", " ", text).strip()
    for suffix in _SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
    return text


def _name_index() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for la in LOCAL_AUTHORITIES:
        index.setdefault(normalise_name(la.name), []).append(la.old_la_code)
    for alias, code in _ALIASES.items():
        codes = index.setdefault(alias, [])
        if code not in codes:
            codes.append(code)
    return index


_BY_NAME = _name_index()


def _suggest(value: str) -> list[str]:
    keys = difflib.get_close_matches(normalise_name(value), list(_BY_NAME), n=3, cutoff=0.5)
    return [_BY_CODE[_BY_NAME[k][0]].name for k in keys]


def la_by_code(code: object, *, source: object = None) -> LocalAuthority:
    """Return the LA with this DfE 3-digit code or ONS code.

    Parameters
    ----------
    code : str or int or float
        ``"383"``, ``383``, ``383.0`` (LAIT stores codes as floats) or ``"E08000035"``.
    source : path-like, optional
        The file the code came from, named in the error message.

    Raises
    ------
    UnknownAreaError
        The code is not an English LA code; the message lists the closest codes.

    Examples
    --------
    >>> la_by_code(383).name, la_by_code("E06000065").name
    ('Leeds', 'North Yorkshire')
    """
    text = str(code).strip()
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    if text in _BY_CODE:
        return _BY_CODE[text]
    if text.upper() in _BY_ONS:
        return _BY_ONS[text.upper()]
    pool = list(_BY_CODE) + list(_BY_ONS)
    close = difflib.get_close_matches(text, pool, n=3, cutoff=0.6)
    shown = [f"{c} ({(_BY_CODE.get(c) or _BY_ONS[c]).name})" for c in close]
    where = f"{source}: " if source is not None else ""
    raise UnknownAreaError(
        f"{where}{text!r} is not a DfE 3-digit or ONS code of an English local authority."
        + (f" Closest codes: {', '.join(shown)}." if shown else "")
        + " Check the code (regional and national rows carry other codes), or use the LA name.",
        value=code,
        suggestions=[(_BY_CODE.get(c) or _BY_ONS[c]).name for c in close],
    )


def find_la(name: str, *, year: int | None = None, source: object = None) -> LocalAuthority:
    """Return the LA with this name, as any DfE, ONS or Ofsted file spells it.

    Parameters
    ----------
    name : str
        The name (``"Leeds"``, ``"Newcastle Upon Tyne"``, ``"Dorset (Pre LG)"``...).
    year : int, optional
        Year ending 31 March, used where a name was reused: "Dorset" is the county council up
        to 2019 and the unitary council from 2020. Without it, the current LA is returned.
    source : path-like, optional
        The file the name came from, named in the error message.

    Raises
    ------
    UnknownAreaError
        The name matches no English LA; the message suggests the closest names.

    Examples
    --------
    >>> find_la("Telford & Wrekin").old_la_code
    '894'
    >>> find_la("Dorset", year=2015).old_la_code, find_la("Dorset").old_la_code
    ('835', '838')
    """
    key = normalise_name(name)
    codes = _BY_NAME.get(key)
    if not codes:
        suggestions = _suggest(name)
        where = f"{source}: " if source is not None else ""
        raise UnknownAreaError(
            f"{where}{name!r} is not the name of an English local authority."
            + (f" Did you mean: {', '.join(suggestions)}?" if suggestions else "")
            + " Use the name as the DfE prints it, or pass the DfE 3-digit or ONS code.",
            value=name,
            suggestions=suggestions,
        )
    candidates = [_BY_CODE[c] for c in codes]
    if "(pre lg)" in str(name).lower():
        candidates = [la for la in candidates if la.last_year is not None] or candidates
    if len(candidates) == 1:
        return candidates[0]
    if year is not None:
        existing = [la for la in candidates if la.exists_in(year)]
        if existing:
            return existing[0]
    current = [la for la in candidates if la.last_year is None]
    return (current or candidates)[-1]


def las_in_year(year: int) -> list[LocalAuthority]:
    """Return the LAs that existed in the year ending 31 March ``year``.

    Examples
    --------
    >>> len(las_in_year(2019)), len(las_in_year(2020)), len(las_in_year(2025))
    (152, 151, 153)
    """
    return [la for la in LOCAL_AUTHORITIES if la.exists_in(year)]
