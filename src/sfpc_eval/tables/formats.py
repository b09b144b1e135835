"""How numbers are shown: fixed decimals chosen from their precision, units marked.

A :class:`NumberFormat` says how one kind of number is written (an estimate with two
decimals, a count with thousands separators, a p-value, a standard error in brackets, an
interval) in text and as an Excel number format, so a spreadsheet shows what the text shows
while storing the number itself.

The decimals of a group of numbers (a column of estimates, or one term across models) come
from their precision: two significant figures of the smallest standard error
(:func:`decimals_for`), so estimates are never shown more precisely than they are known and a
column never mixes ``0.2326`` and ``5.000``.

Examples
--------
>>> decimals_for([2.9, 3.4])
1
>>> NumberFormat(decimals=1, unit="pp", signed=True).text(12.142857)
'+12.1 pp'
>>> format_p_value(5.4e-33), format_p_value(0.0421)
('<0.001', '0.042')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "NumberFormat",
    "decimals_for",
    "format_number",
    "format_p_value",
]

MAX_DECIMALS = 4
"""Never more decimals than this, whatever the precision."""

UNITS = {"": "", "%": "%", "pp": " pp"}
KINDS = ("number", "count", "p_value", "se", "interval", "df")


def format_p_value(p: float | None) -> str:
    """Format a p-value the way journals print them (``<0.001`` below one in a thousand).

    Examples
    --------
    >>> format_p_value(5.4e-33), format_p_value(0.0421), format_p_value(float("nan"))
    ('<0.001', '0.042', '')
    """
    if p is None or math.isnan(p):
        return ""
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def format_number(value: float | int | None, digits: int = 4) -> str:
    """Format one number on its own with ``digits`` significant digits (no column to agree with).

    Integers are shown in full with thousands separators; missing values as an empty string.
    Tables use :class:`NumberFormat` instead, which fixes the decimals of a whole column.

    Examples
    --------
    >>> format_number(0.4713142), format_number(974), format_number(float("nan"))
    ('0.4713', '974', '')
    """
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits:
        return f"{value:,.0f}"
    if magnitude < -4:
        return f"{value:.{digits - 1}e}"
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:.{decimals}f}"


def _finite(values: Iterable[float | None]) -> list[float]:
    out = []
    for v in values:
        if v is None:
            continue
        v = float(v)
        if math.isfinite(v) and v != 0:
            out.append(abs(v))
    return out


def decimals_for(
    precisions: Iterable[float | None],
    estimates: Iterable[float | None] = (),
    *,
    max_decimals: int = MAX_DECIMALS,
) -> int:
    """Decimals for a group of numbers: two significant figures of the smallest precision.

    Parameters
    ----------
    precisions : iterable of float
        Standard errors (or interval half-widths divided by the critical value) on the scale
        shown. Zero, missing and infinite values are ignored.
    estimates : iterable of float, optional
        Used when no precision is known (a point estimate without an interval): three
        significant figures of the smallest non-zero estimate.
    max_decimals : int, default 4

    Returns
    -------
    int
        Between 0 and ``max_decimals``.

    Examples
    --------
    >>> decimals_for([0.0289]), decimals_for([38.6]), decimals_for([], [0.5287, 974.0])
    (3, 0, 3)
    """
    known = _finite(precisions)
    if known:
        decimals = 1 - math.floor(math.log10(min(known)))
    else:
        values = _finite(estimates)
        if not values:
            return 0
        decimals = 2 - math.floor(math.log10(min(values)))
    return int(min(max(decimals, 0), max_decimals))


def _fixed(value: float, decimals: int, signed: bool) -> str:
    if math.isinf(value):
        return "\u221e" if value > 0 else "-\u221e"
    text = f"{value:{'+' if signed else ''},.{decimals}f}"
    if signed and float(text.replace(",", "")) == 0:
        text = text[1:]  # no sign on a number that rounds to zero
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0.0"
    return text


@dataclass(frozen=True)
class NumberFormat:
    """How a number is written in a table.

    Parameters
    ----------
    kind : {"number", "count", "p_value", "se", "interval", "df"}
        ``count``: no decimals, thousands separators; ``p_value``: three decimals and
        ``<0.001``; ``se``: in brackets beneath an estimate; ``interval``: ``[low, high]``;
        ``df``: degrees of freedom (one decimal; infinite, a normal reference, is "∞").
    decimals : int
        Digits after the decimal point (ignored by ``count`` and ``p_value``).
    unit : {"", "%", "pp"}
        Appended after the number: percent, or percentage points.
    signed : bool
        Show a ``+`` on positive numbers (changes and differences).

    Examples
    --------
    >>> NumberFormat("count").text(6000000.0)
    '6,000,000'
    >>> NumberFormat("interval", 3).text((0.47427, 0.58894))
    '[0.474, 0.589]'
    >>> NumberFormat("se", 2).excel()
    '"("#,##0.00")"'
    """

    kind: str = "number"
    decimals: int = 2
    unit: str = ""
    signed: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"NumberFormat kind must be one of {KINDS}; got {self.kind!r}")
        if self.unit not in UNITS:
            raise ValueError(f"NumberFormat unit must be one of {tuple(UNITS)}; got {self.unit!r}")

    @property
    def suffix(self) -> str:
        """Text after the number (``"%"``, ``" pp"`` or nothing)."""
        return UNITS[self.unit]

    def text(self, value: object) -> str:
        """Write ``value`` (a number, or a (low, high) pair for intervals); missing is ``""``."""
        if self.kind == "interval":
            return self._interval(value)
        if value is None:
            return ""
        x = float(value)  # type: ignore[arg-type]
        if math.isnan(x):
            return ""
        if self.kind == "p_value":
            return format_p_value(x)
        if self.kind == "count":
            return _fixed(x, 0, self.signed) + self.suffix
        if self.kind == "df":
            return "\u221e" if math.isinf(x) else _fixed(x, 1, False)
        body = _fixed(x, self.decimals, self.signed) + self.suffix
        return f"({body})" if self.kind == "se" else body

    def _interval(self, value: object) -> str:
        if value is None:
            return ""
        low, high = (float(v) for v in value)  # type: ignore[union-attr]
        if math.isnan(low) and math.isnan(high):
            return ""
        if math.isinf(low) or math.isinf(high) or math.isnan(low) or math.isnan(high):
            return "unbounded"
        return f"[{_fixed(low, self.decimals, False)}, {_fixed(high, self.decimals, False)}]"

    def excel(self) -> str:
        """Return the Excel number format that shows a stored number as :meth:`text` writes it.

        Intervals are written to spreadsheets as text, so they have none (``"@"``).
        """
        if self.kind == "interval":
            return "@"
        if self.kind == "p_value":
            return '[<0.001]"<0.001";0.000'
        if self.kind == "df":
            return "#,##0.0"
        decimals = 0 if self.kind == "count" else self.decimals
        body = "#,##0" + ("." + "0" * decimals if decimals else "")
        suffix = f'"{self.suffix}"' if self.suffix else ""
        if self.kind == "se":
            return f'"("{body}{suffix}")"'
        if self.signed:
            return f"+{body}{suffix};-{body}{suffix};{body}{suffix}"
        return f"{body}{suffix}"
