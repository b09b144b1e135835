"""Unit costs with their source, price year and uncertainty; inflation; discounting.

Nothing here invents a cost. A :class:`UnitCost` is what the user supplies (or what
:func:`read_unit_costs` reads from the user's file): an amount, what it is per, where it comes
from and the year its prices are in, with a range or a distribution for its uncertainty. A unit
cost without a source or price year is a :class:`~sfpc_eval.errors.UnitCostError`.
"""

from __future__ import annotations

import math
import numbers
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._validate import check_number
from sfpc_eval.errors import InvalidValueError, UnitCostError, show_values

__all__ = [
    "DISTRIBUTIONS",
    "PriceIndex",
    "UnitCost",
    "discount_factors",
    "inflate",
    "read_unit_costs",
]

DISTRIBUTIONS: dict[str, str] = {
    "fixed": "no uncertainty: the amount is taken as known",
    "uniform": "any value from `low` to `high` equally likely (a range)",
    "triangular": "from `low` to `high`, most likely at the amount",
    "normal": "normal with mean the amount and standard deviation `sd`",
    "gamma": "gamma with mean the amount and standard deviation `sd` (never negative)",
    "lognormal": "log-normal with mean the amount and standard deviation `sd`",
}
"""Uncertainty a unit cost can carry."""

_RANGE = ("uniform", "triangular")
_SPREAD = ("normal", "gamma", "lognormal")
_YEARS = (1900, 2100)


def _check_year(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
        raise UnitCostError(
            f"{where}: `{name}` must be a year such as 2023 (the year the prices are in); got "
            f"{value!r}."
        )
    year = int(value)
    if not _YEARS[0] <= year <= _YEARS[1]:
        raise UnitCostError(f"{where}: `{name}` = {year} is not a plausible price year.")
    return year


@dataclass(frozen=True)
class UnitCost:
    """A unit cost supplied by the user, with where it comes from.

    Parameters
    ----------
    name : str
        What is costed ("a child looked after for a year").
    amount : float
        The central cost in pounds, in ``price_year`` prices.
    unit : str
        What it is per ("per child per year", "per day in care", "per family").
    source : str
        Where the figure comes from (publication, table, page). Required.
    price_year : int
        The year the prices are in. Required.
    distribution : str, optional
        One of :data:`DISTRIBUTIONS`. Defaults to ``"uniform"`` when ``low``/``high`` are
        given, ``"gamma"`` when ``sd`` is, else ``"fixed"``.
    low, high : float, optional
        A range (for ``uniform`` and ``triangular``; ``low <= amount <= high``).
    sd : float, optional
        A standard deviation (for ``normal``, ``gamma``, ``lognormal``).
    note : str, optional
        Anything else a reader must know (inflation applied...).

    Raises
    ------
    UnitCostError
        No source, no price year, or an uncertainty that does not fit the distribution.

    Examples
    --------
    >>> cost = UnitCost("child looked after", 60_000, "per child per year",
    ...                 source="user's own costing, table 3", price_year=2023,
    ...                 low=50_000, high=70_000)
    >>> cost.distribution, round(cost.std_dev)
    ('uniform', 5774)
    >>> UnitCost("child looked after", 60_000, "per child per year", source="",
    ...          price_year=2023)
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.UnitCostError: unit cost 'child looked after': `source` is empty. ...
    """

    name: str
    amount: float
    unit: str
    source: str
    price_year: int
    distribution: str | None = None
    low: float | None = None
    high: float | None = None
    sd: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        where = f"unit cost {self.name!r}"
        if not isinstance(self.source, str) or not self.source.strip():
            raise UnitCostError(
                f"{where}: `source` is {'empty' if isinstance(self.source, str) else 'missing'}. "
                "The library never invents a unit cost: say where the figure comes from "
                "(publication, table and page), e.g. source='PSSRU Unit Costs 2023, table 7.1'."
            )
        if self.price_year is None:
            raise UnitCostError(
                f"{where}: `price_year` is missing. Give the year the prices are in, so the cost "
                "can be inflated to a common year."
            )
        object.__setattr__(self, "price_year", _check_year(self.price_year, "price_year", where))
        amount = check_number(self.amount, "amount")
        if amount < 0:
            raise UnitCostError(f"{where}: `amount` cannot be negative; got {self.amount!r}.")
        object.__setattr__(self, "amount", amount)
        dist = self.distribution
        if dist is None:
            dist = (
                "uniform"
                if self.low is not None or self.high is not None
                else ("gamma" if self.sd is not None else "fixed")
            )
        if dist not in DISTRIBUTIONS:
            raise UnitCostError(
                f"{where}: `distribution` must be one of {', '.join(DISTRIBUTIONS)}; got {dist!r}."
            )
        object.__setattr__(self, "distribution", dist)
        self._check_uncertainty(where, dist, amount)

    def _check_uncertainty(self, where: str, dist: str, amount: float) -> None:
        if dist in _RANGE:
            if self.low is None or self.high is None or self.sd is not None:
                raise UnitCostError(f"{where}: a {dist} cost needs `low` and `high` (and no `sd`).")
            low, high = check_number(self.low, "low"), check_number(self.high, "high")
            if not 0 <= low <= amount <= high or low == high:
                raise UnitCostError(
                    f"{where}: the range must satisfy 0 <= low <= amount <= high with low < "
                    f"high; got low={self.low!r}, amount={amount!r}, high={self.high!r}."
                )
            object.__setattr__(self, "low", low)
            object.__setattr__(self, "high", high)
        elif dist in _SPREAD:
            if self.sd is None or self.low is not None or self.high is not None:
                raise UnitCostError(f"{where}: a {dist} cost needs `sd` (and no `low`/`high`).")
            sd = check_number(self.sd, "sd")
            if sd <= 0:
                raise UnitCostError(f"{where}: `sd` must be positive; got {self.sd!r}.")
            if dist != "normal" and amount <= 0:
                raise UnitCostError(f"{where}: a {dist} cost needs a positive amount.")
            object.__setattr__(self, "sd", sd)
        elif any(v is not None for v in (self.low, self.high, self.sd)):
            raise UnitCostError(
                f"{where}: a fixed cost takes no `low`, `high` or `sd`; name the distribution "
                f"({', '.join(DISTRIBUTIONS)})."
            )

    def _frozen(self) -> Any:
        """Return the scipy distribution (None for a fixed cost)."""
        a, dist = self.amount, self.distribution
        if dist == "uniform":
            return stats.uniform(loc=self.low, scale=self.high - self.low)  # type: ignore[operator]
        if dist == "triangular":
            width = self.high - self.low  # type: ignore[operator]
            return stats.triang((a - self.low) / width, loc=self.low, scale=width)  # type: ignore[operator]
        if dist == "normal":
            return stats.norm(loc=a, scale=self.sd)
        if dist == "gamma":
            shape = (a / self.sd) ** 2  # type: ignore[operator]
            return stats.gamma(shape, scale=a / shape)
        if dist == "lognormal":
            sigma2 = math.log1p((self.sd / a) ** 2)  # type: ignore[operator]
            return stats.lognorm(math.sqrt(sigma2), scale=a * math.exp(-sigma2 / 2))
        return None

    @property
    def mean(self) -> float:
        """Mean of the cost's distribution (the amount, except for a skewed range)."""
        frozen = self._frozen()
        return self.amount if frozen is None else float(frozen.mean())

    @property
    def std_dev(self) -> float:
        """Standard deviation of the cost's distribution (0 for a fixed cost)."""
        frozen = self._frozen()
        return 0.0 if frozen is None else float(frozen.std())

    def quantiles(self, conf_level: float) -> tuple[float, float]:
        """Return the range given, or the central ``conf_level`` interval of the distribution."""
        if self.distribution in _RANGE:
            return float(self.low), float(self.high)  # type: ignore[arg-type]
        frozen = self._frozen()
        if frozen is None:
            return self.amount, self.amount
        tail = (1 - conf_level) / 2
        return float(frozen.ppf(tail)), float(frozen.ppf(1 - tail))

    def draws(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw costs from the distribution (the amount, repeated, for a fixed cost)."""
        frozen = self._frozen()
        if frozen is None:
            return np.full(size, self.amount)
        return np.asarray(frozen.rvs(size=size, random_state=rng), dtype=float)

    def uncertainty(self) -> str:
        """Describe the uncertainty in words (for the assumptions table)."""
        if self.distribution == "fixed":
            return "fixed (no uncertainty)"
        if self.distribution in _RANGE:
            return f"{self.distribution}, £{self.low:,.0f} to £{self.high:,.0f}"
        return f"{self.distribution}, sd £{self.sd:,.0f}"


@dataclass(frozen=True)
class PriceIndex:
    """A price index supplied by the user (e.g. the GDP deflator), by year.

    Parameters
    ----------
    values : mapping of int to float
        Index value for each year (any base).
    name : str
        The index ("GDP deflator at market prices").
    source : str
        Where the values come from. Required.

    Examples
    --------
    >>> index = PriceIndex({2019: 100.0, 2023: 118.0}, "my deflator", source="my table")
    >>> index.factor(2019, 2023)
    1.18
    """

    values: Mapping[int, float]
    name: str
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise UnitCostError(
                f"price index {self.name!r}: `source` is empty; say where it is from."
            )
        clean: dict[int, float] = {}
        for year, value in dict(self.values).items():
            y = _check_year(year, "year", f"price index {self.name!r}")
            v = check_number(value, f"values[{year}]")
            if v <= 0:
                raise InvalidValueError(
                    f"price index {self.name!r}: values[{year}] must be positive; got {value!r}."
                )
            clean[y] = v
        if not clean:
            raise InvalidValueError(f"price index {self.name!r} has no values.")
        object.__setattr__(self, "values", clean)

    def factor(self, from_year: int, to_year: int) -> float:
        """Multiply ``from_year`` prices by this to get ``to_year`` prices."""
        missing = [y for y in (from_year, to_year) if y not in self.values]
        if missing:
            raise InvalidValueError(
                f"price index {self.name!r} has no value for {show_values(missing)}; it covers "
                f"{min(self.values)}-{max(self.values)}. Add those years to the index."
            )
        return self.values[to_year] / self.values[from_year]


def inflate(cost: UnitCost, to_year: int, index: PriceIndex) -> UnitCost:
    """Restate a unit cost in ``to_year`` prices with a user-supplied index.

    The amount, range and standard deviation are all multiplied by
    ``index[to_year] / index[price_year]``; the note records the factor and the index.

    Examples
    --------
    >>> index = PriceIndex({2019: 100.0, 2023: 118.0}, "my deflator", source="my table")
    >>> cost = UnitCost("care", 50_000, "per child per year", source="my costing",
    ...                 price_year=2019)
    >>> new = inflate(cost, 2023, index)
    >>> new.amount, new.price_year
    (59000.0, 2023)
    """
    to_year = _check_year(to_year, "to_year", f"inflating {cost.name!r}")
    factor = index.factor(cost.price_year, to_year)

    def scaled(value: float | None) -> float | None:
        return None if value is None else value * factor

    note = (
        f"inflated from {cost.price_year} to {to_year} prices with {index.name} "
        f"(x{factor:.4f}; {index.source})"
    )
    return replace(
        cost,
        amount=cost.amount * factor,
        low=scaled(cost.low),
        high=scaled(cost.high),
        sd=scaled(cost.sd),
        price_year=to_year,
        note="; ".join(n for n in (cost.note, note) if n),
    )


def discount_factors(rate: float, horizon: int) -> np.ndarray:
    """Discount factors ``1 / (1 + rate) ** t`` for years ``t = 0 .. horizon - 1``.

    The first year is not discounted (HM Treasury Green Book convention).

    Raises
    ------
    InvalidValueError
        ``rate`` outside [0, 1) or ``horizon`` not a whole number of years from 1.

    Examples
    --------
    >>> discount_factors(0.035, 3).round(4).tolist()
    [1.0, 0.9662, 0.9335]
    """
    r = check_number(rate, "discount_rate")
    if not 0 <= r < 1:
        hint = f" For {r:g}%, pass {r / 100:g}." if 1 <= r < 100 else ""
        raise InvalidValueError(
            f"`discount_rate` must be in [0, 1) (0.035 for the Green Book's 3.5%); got "
            f"{rate!r}.{hint}"
        )
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral):
        raise InvalidValueError(
            f"`horizon` must be a whole number of years; got {horizon!r} "
            f"({type(horizon).__name__})."
        )
    if horizon < 1:
        raise InvalidValueError(
            f"`horizon` must be at least 1 year; got {horizon!r}. A horizon of zero years has "
            "no savings to count."
        )
    if horizon > 100:
        raise InvalidValueError(
            f"`horizon` of {horizon} years is beyond any appraisal; use <= 100."
        )
    return (1.0 + r) ** -np.arange(int(horizon), dtype=float)


_FILE_COLUMNS = ("name", "amount", "unit", "source", "price_year")
_OPTIONAL_COLUMNS = ("distribution", "low", "high", "sd", "note")


def _records_from_file(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".toml":
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise UnitCostError(f"unit-cost file {path} is not valid TOML: {err}") from None
        records = document.get("cost")
        if not isinstance(records, list) or not records:
            raise UnitCostError(f"unit-cost file {path} has no [[cost]] tables.")
        return [dict(r) for r in records]
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return [
            {k: v for k, v in row.items() if v.strip() != ""}
            for row in frame.to_dict(orient="records")
        ]
    raise UnitCostError(f"unit-cost file {path}: use a .csv or .toml file; got {path.suffix!r}.")


def _number(value: Any, column: str, where: str) -> float:
    if isinstance(value, str):
        try:
            return float(value.replace("£", "").strip())
        except ValueError:
            raise UnitCostError(f"{where}: `{column}` must be a number; got {value!r}.") from None
    return value


def read_unit_costs(path: str | Path) -> dict[str, UnitCost]:
    """Read unit costs from the user's CSV or TOML file.

    Each row (CSV) or ``[[cost]]`` table (TOML) has ``name``, ``amount``, ``unit``, ``source``
    and ``price_year``, and optionally ``distribution``, ``low``, ``high``, ``sd``, ``note``.

    Returns
    -------
    dict of str to UnitCost
        Keyed by ``name``.

    Raises
    ------
    UnitCostError
        A missing column, a row without a source or price year (the message lists the rows), a
        repeated name, or a value that is not a number.
    """
    file = Path(path)
    if not file.is_file():
        raise UnitCostError(f"unit-cost file {file} does not exist.")
    records = _records_from_file(file)
    for column in _FILE_COLUMNS:
        missing = [r.get("name", f"row {i + 1}") for i, r in enumerate(records) if column not in r]
        if missing:
            raise UnitCostError(
                f"unit-cost file {file}: {column!r} is missing for {show_values(missing)}. "
                "Every cost needs a name, amount, unit, source and price year; the library "
                "never fills one in."
            )
    costs: dict[str, UnitCost] = {}
    for i, record in enumerate(records):
        where = f"unit-cost file {file}, row {i + 1} ({record['name']!r})"
        unknown = set(record) - set(_FILE_COLUMNS) - set(_OPTIONAL_COLUMNS)
        if unknown:
            raise UnitCostError(f"{where}: unknown field(s) {sorted(unknown)}.")
        values = dict(record)
        for column in ("amount", "low", "high", "sd"):
            if column in values:
                values[column] = _number(values[column], column, where)
        values["price_year"] = _number(values["price_year"], "price_year", where)
        if values["name"] in costs:
            raise UnitCostError(f"{where}: the name {values['name']!r} is used twice.")
        try:
            costs[values["name"]] = UnitCost(**values)
        except UnitCostError as err:
            raise UnitCostError(f"{where}: {err}") from None
    return costs
