"""Validation of scalar arguments at the public boundary.

Each checker returns the cleaned value or raises an :mod:`sfpc_eval.errors` exception whose
message names the argument, shows the value and says how to fix it.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from sfpc_eval.errors import (
    InvalidValueError,
    SizeLimitError,
    SuppressedValueError,
    ThousandsSeparatorError,
)

__all__ = [
    "MAX_COUNT",
    "MAX_MAGNITUDE",
    "MAX_RESAMPLES",
    "MIN_POSITIVE",
    "SUPPRESSION_SYMBOLS",
    "check_conf_level",
    "check_count",
    "check_number",
    "check_positive",
    "check_proportion",
    "check_resamples",
    "check_seed",
    "check_size",
]

SUPPRESSION_SYMBOLS: frozenset[str] = frozenset(
    {"c", "x", "z", "u", "..", ":", "[c]", "[x]", "[z]", "[u]", "[low]", "*", "-", "#VALUE!"}
)
"""Symbols the DfE and ONS print in place of a number (suppressed, not applicable, unavailable).

``c`` confidential (suppressed), ``x`` not available, ``z`` not applicable, ``u`` low reliability,
``..`` and ``:`` not available in older releases, bracketed forms from newer ones, ``*`` and ``-``
from Statistical First Release tables, ``#VALUE!`` a spreadsheet error left in a published file.
"""

MAX_MAGNITUDE = 1e100
"""Largest absolute value a scalar argument may have. No count, rate, mean or effect in
children's social care comes near it, and squares of numbers above it (variances, sums of
squares) would overflow to infinity."""

MIN_POSITIVE = 1e-100
"""Smallest positive value a positive argument (a denominator, a standard deviation) may have;
below it a rate or a test statistic overflows."""

MAX_COUNT = 10**15
"""Largest count accepted: above 2**53 (about 9e15) floats no longer hold every whole number,
so a count there would be changed silently."""

THOUSANDS_PATTERN = re.compile(r"^\s*[-+]?\d{1,3}(,\d{3})+(\.\d+)?\s*$")


def is_suppression_symbol(value: object) -> bool:
    """Return True if ``value`` is a string holding a DfE suppression/availability symbol."""
    return isinstance(value, str) and value.strip().lower() in {
        s.lower() for s in SUPPRESSION_SYMBOLS
    }


def _reject_text(value: Any, name: str) -> None:
    if not isinstance(value, str):
        return
    if is_suppression_symbol(value):
        raise SuppressedValueError(
            f"`{name}` is the DfE suppression symbol {value!r}, not a number. The published "
            "value is withheld or unavailable; use a figure that is published, or report the "
            "comparison as not computable."
        )
    if THOUSANDS_PATTERN.match(value):
        raise ThousandsSeparatorError(
            f"`{name}` is the string {value!r} with a thousands separator. Pass the number "
            f"itself, e.g. {value.replace(',', '').strip()}."
        )
    raise InvalidValueError(f"`{name}` must be a number; got the string {value!r}.")


def check_number(value: Any, name: str) -> float:
    """Return ``value`` as a finite float, or raise naming ``name``.

    Examples
    --------
    >>> check_number(3, "before")
    3.0
    """
    _reject_text(value, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValueError(
            f"`{name}` must be a number; got {value!r} ({type(value).__name__})."
        )
    try:
        out = float(value)
    except OverflowError:
        raise InvalidValueError(
            f"`{name}` is too large to be a number here ({str(value)[:20]}..., more than "
            f"{MAX_MAGNITUDE:g}); check the units."
        ) from None
    if math.isnan(out):
        raise InvalidValueError(
            f"`{name}` is NaN (missing). Pass the observed value; a missing figure cannot be "
            "compared."
        )
    if math.isinf(out):
        raise InvalidValueError(f"`{name}` is infinite; pass a finite number.")
    if abs(out) > MAX_MAGNITUDE:
        raise InvalidValueError(
            f"`{name}` = {out:g} is beyond {MAX_MAGNITUDE:g} in size; no figure in this field "
            "comes near it (its square would overflow). Check the units or a misplaced exponent."
        )
    return out


def check_count(value: Any, name: str) -> int:
    """Return ``value`` as a non-negative int, or raise naming ``name``.

    Floats that are whole numbers (``515.0``) are accepted; ``515.5`` is not a count.

    Examples
    --------
    >>> check_count(515.0, "after")
    515
    """
    out = check_number(value, name)
    if out < 0:
        raise InvalidValueError(f"`{name}` is a count and cannot be negative; got {value!r}.")
    if out > MAX_COUNT:
        raise InvalidValueError(
            f"`{name}` = {out:g} is above {MAX_COUNT:.0e}, the largest count accepted (beyond "
            "2**53 a count cannot be held exactly). Check the units."
        )
    if out != math.floor(out):
        raise InvalidValueError(
            f"`{name}` is a count and must be a whole number; got {value!r}. If this is a rate "
            "or a mean, use the estimator for rates (pass `exposure`) or for means."
        )
    return int(out)


def check_positive(value: Any, name: str) -> float:
    """Return ``value`` as a positive finite float, or raise naming ``name``."""
    out = check_number(value, name)
    if out <= 0:
        raise InvalidValueError(f"`{name}` must be positive; got {value!r}.")
    if out < MIN_POSITIVE:
        raise InvalidValueError(
            f"`{name}` = {out:g} is positive but below {MIN_POSITIVE:g}; a rate or test "
            "statistic computed from it would overflow. Check the units."
        )
    return out


def check_proportion(value: Any, name: str) -> float:
    """Return ``value`` as a float in [0, 1], or raise naming ``name``.

    A value in (1, 100] is refused with a hint that it looks like a percentage.
    """
    out = check_number(value, name)
    if not 0 <= out <= 1:
        hint = f" If {value!r} is a percentage, pass {out / 100:g}." if 1 < out <= 100 else ""
        raise InvalidValueError(f"`{name}` must be a proportion in [0, 1]; got {value!r}.{hint}")
    return out


def check_conf_level(value: Any, name: str = "conf_level") -> float:
    """Return ``value`` as a float strictly between 0 and 1, or raise.

    A value in (1, 100) is refused with a hint that it looks like a percentage.
    """
    out = check_number(value, name)
    if not 0 < out < 1:
        hint = f" For {value!r}%, pass {out / 100:g}." if 1 < out < 100 else ""
        raise InvalidValueError(f"`{name}` must be between 0 and 1; got {value!r}.{hint}")
    return out


MAX_RESAMPLES = 1_000_000
"""Most resamples a bootstrap or permutation test may ask for: a p-value's Monte Carlo error is
already below 0.0003 at 999,999 draws, and more only costs memory and time."""


def check_resamples(value: Any, name: str = "n_resamples", *, minimum: int = 99) -> int:
    """Return ``value`` if it is a whole number from ``minimum`` to :data:`MAX_RESAMPLES`.

    Every resampling argument (bootstrap draws, permutations, placebo replications, simulated
    trials, simulation draws for a critical value) goes through this one check.

    Raises
    ------
    InvalidValueError
        Not a whole number, or fewer than ``minimum``.
    SizeLimitError
        More than :data:`MAX_RESAMPLES`.

    Examples
    --------
    >>> check_resamples(199, "bootstrap", minimum=2)
    199
    """
    return check_size(
        value, name, minimum=minimum, maximum=MAX_RESAMPLES, why="draws of a resampling test"
    )


def check_size(value: Any, name: str, *, minimum: int, maximum: int, why: str) -> int:
    """Return ``value`` as an int from ``minimum`` to ``maximum``, or raise naming the limit.

    Parameters
    ----------
    value : Any
        The argument.
    name : str
        Its name, for the message.
    minimum, maximum : int
        Smallest and largest accepted values.
    why : str
        What the number counts (``"simulated children"``), for the message.

    Raises
    ------
    InvalidValueError
        Not a whole number (bools and floats are refused), or below ``minimum``.
    SizeLimitError
        Above ``maximum``: the run would not fit in memory or not finish.

    Examples
    --------
    >>> check_size(999, "n_resamples", minimum=99, maximum=10**6, why="draws")
    999
    >>> check_size(10**8, "n_resamples", minimum=99, maximum=10**6, why="draws")
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.SizeLimitError: `n_resamples` = 100,000,000 draws is above the limit of 1,000,000; ask for at most 1,000,000.
    """  # noqa: E501
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidValueError(
            f"`{name}` must be a whole number ({why}); got {value!r} ({type(value).__name__})."
        )
    out = int(value)
    if out < minimum:
        raise InvalidValueError(f"`{name}` must be at least {minimum:,} ({why}); got {out:,}.")
    if out > maximum:
        raise SizeLimitError(
            f"`{name}` = {out:,} {why} is above the limit of {maximum:,}; ask for at most "
            f"{maximum:,}."
        )
    return out


def check_seed(value: Any, name: str = "rng") -> Any:
    """Return ``value`` if numpy can seed a generator with it, else raise naming the argument.

    Accepted: None (fresh entropy), a non-negative whole number, a sequence of them, a
    :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`.

    Examples
    --------
    >>> check_seed(2024)
    2024
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.InvalidValueError: `rng` must be None, a non-negative whole number (a seed such as 2024) or a numpy Generator; got -1.
    """  # noqa: E501
    import numpy as np

    if value is None or isinstance(value, np.random.Generator | np.random.SeedSequence):
        return value
    items = value if isinstance(value, list | tuple) and value else [value]
    if all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= 0 for v in items
    ):
        return value
    raise InvalidValueError(
        f"`{name}` must be None, a non-negative whole number (a seed such as 2024) or a numpy "
        f"Generator; got {value!r}."
    )
