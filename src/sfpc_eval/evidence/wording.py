"""What a published phrase commits its author to: the set of true values it allows.

A published figure is rarely the exact number. "Nearly 50%" allows 47.1%; "49%" allows
[48.5, 49.5); "more than half" allows anything above 50. Each wording rule below turns the
stated value into an interval of admissible true values, so a claim can be checked against a
recomputed value, and two claims about the same measure can be checked against each other
(they conflict when their intervals do not meet).

Rules
-----
``rounded``
    The true value rounds (half up) to ``value`` at ``decimals`` decimals: "49%" is
    [48.5, 49.5); "five times" with ``decimals = 0`` on a ratio is [4.5, 5.5).
``nearly``
    Within :data:`NEARLY_MARGIN` (10%) below the value, and not above it: "nearly 50%" is
    [45, 50]. "Almost" means the same.
``about``
    Within :data:`ABOUT_MARGIN` (10%) either side: "halved" (a reduction of about 50%) is
    [45, 55]; "around a third" likewise.
``more_than``, ``at_least``, ``less_than``
    Open or closed half-lines.
``fraction``
    The value is the nearest fraction on the ladder :data:`FRACTION_LADDER`
    (1/5, 1/4, 1/3, 1/2, 2/3, 3/4): "half as likely" allows ratios whose nearest common
    fraction is 1/2, i.e. [0.4167, 0.5833).
``significant``
    A statement of statistical significance: it holds when the recomputed confidence interval
    excludes no difference. It allows every value, so it never conflicts on value.
``exact``
    Exactly the value.

The 10% margins are a convention of this library, stated so that a reader can disagree with
it; they are parameters of :func:`admissible`.

Rounding-level and substantive disagreements
--------------------------------------------
A disagreement is **rounding-level** when it is no larger than one unit in the last digit the
figures were published to (:func:`resolution`: ``10 ** -decimals``, so 1 for "66%", £100,000
for "£4.8m"), and **substantive** otherwise. Precisely (:func:`rounding_level`):

- two claims on the same measure that conflict disagree at rounding level when both are stated
  as numbers (rule ``rounded`` or ``exact``) and their stated values differ by at most the
  coarser of their two resolutions: "66%" against "67%", "£4.8m" against "£4.9m". "1,474"
  against "a high of 1,800", or "39%" against "more than half", are substantive;
- a wording that does not hold for the recomputed value fails at rounding level when it is a
  rounded number (rule ``rounded``) and the recomputed value is within one resolution of the
  stated value (a published "49%" for a recomputed 49.7%).

The audit gives claims whose every disagreement is rounding-level the status ``rounding
difference``, and keeps ``conflict`` and ``wording does not hold`` for substantive ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ABOUT_MARGIN",
    "FRACTION_LADDER",
    "NEARLY_MARGIN",
    "RULES",
    "Admissible",
    "admissible",
    "resolution",
    "rounding_level",
]

NEARLY_MARGIN = 0.10
ABOUT_MARGIN = 0.10
FRACTION_LADDER: tuple[float, ...] = (1 / 5, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4)
RULES: frozenset[str] = frozenset(
    {
        "rounded",
        "nearly",
        "about",
        "more_than",
        "at_least",
        "less_than",
        "fraction",
        "significant",
        "exact",
    }
)


@dataclass(frozen=True)
class Admissible:
    """An interval of true values that a wording allows.

    Examples
    --------
    >>> a = Admissible(48.5, 49.5, low_closed=True, high_closed=False)
    >>> a.contains(48.64), a.contains(49.5), str(a)
    (True, False, '[48.5, 49.5)')
    """

    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True

    def contains(self, value: float) -> bool:
        """Return True if ``value`` lies in the interval."""
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below

    def overlaps(self, other: Admissible) -> bool:
        """Return True if the two intervals share at least one value."""
        low, low_closed = max(
            (self.low, self.low_closed), (other.low, other.low_closed), key=_low_key
        )
        high, high_closed = min(
            (self.high, self.high_closed), (other.high, other.high_closed), key=_high_key
        )
        if low < high:
            return True
        return low == high and low_closed and high_closed

    def __str__(self) -> str:
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"{left}{_show(self.low)}, {_show(self.high)}{right}"


def _low_key(bound: tuple[float, bool]) -> tuple[float, bool]:
    # For lower bounds, an open bound at the same value is the tighter one.
    return (bound[0], not bound[1])


def _high_key(bound: tuple[float, bool]) -> tuple[float, bool]:
    # For upper bounds, an open bound at the same value is the tighter one.
    return (bound[0], bound[1])


def _show(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if abs(x) >= 1e5 and x == round(x):
        return f"{x:,.0f}"
    return f"{x:.6g}"


def admissible(
    rule: str,
    value: float,
    *,
    decimals: int = 0,
    nearly_margin: float = NEARLY_MARGIN,
    about_margin: float = ABOUT_MARGIN,
) -> Admissible:
    """Return the interval of true values that ``rule`` applied to ``value`` allows.

    Parameters
    ----------
    rule : str
        One of :data:`RULES`.
    value : float
        The stated value (on the claim's metric, e.g. 49 for "49%").
    decimals : int, default 0
        Decimals of the stated value (``rounded`` only).
    nearly_margin, about_margin : float, default 0.10
        Relative margins for ``nearly`` and ``about``.

    Returns
    -------
    Admissible

    Raises
    ------
    ValueError
        An unknown rule, or a ``fraction`` value not on the ladder.

    Examples
    --------
    >>> str(admissible("nearly", 50)), str(admissible("rounded", 49))
    ('[45, 50]', '[48.5, 49.5)')
    >>> admissible("more_than", 50).contains(39)
    False
    """
    inf = math.inf
    if rule == "rounded":
        half = 0.5 * 10.0 ** (-decimals)
        return Admissible(value - half, value + half, True, False)
    if rule == "nearly":
        return Admissible(value - abs(value) * nearly_margin, value)
    if rule == "about":
        return Admissible(value - abs(value) * about_margin, value + abs(value) * about_margin)
    if rule == "more_than":
        return Admissible(value, inf, False, False)
    if rule == "at_least":
        return Admissible(value, inf, True, False)
    if rule == "less_than":
        return Admissible(-inf, value, False, False)
    if rule == "exact":
        return Admissible(value, value)
    if rule == "significant":
        return Admissible(-inf, inf, False, False)
    if rule == "fraction":
        return _fraction_interval(value)
    raise ValueError(f"unknown wording rule {rule!r}; rules are {', '.join(sorted(RULES))}")


def _fraction_interval(value: float) -> Admissible:
    ladder = FRACTION_LADDER
    matches = [i for i, f in enumerate(ladder) if math.isclose(f, value, rel_tol=1e-3)]
    if not matches:
        shown = ", ".join(f"{f:.4g}" for f in ladder)
        raise ValueError(f"fraction {value!r} is not on the ladder ({shown})")
    i = matches[0]
    low = (ladder[i - 1] + ladder[i]) / 2 if i > 0 else -math.inf
    high = (ladder[i] + ladder[i + 1]) / 2 if i + 1 < len(ladder) else math.inf
    return Admissible(low, high, True, False)


def resolution(decimals: int = 0) -> float:
    """One unit in the last published digit of a figure with ``decimals`` decimals.

    Examples
    --------
    >>> resolution(0), resolution(1), resolution(-5)
    (1.0, 0.1, 100000.0)
    """
    return 10.0 ** (-int(decimals))


NUMBER_RULES = frozenset({"rounded", "exact"})
"""Rules under which a wording states a number (not a range or a direction)."""


def rounding_level(
    rule: str,
    value: float,
    other: float,
    *,
    decimals: int = 0,
    other_rule: str | None = None,
    other_decimals: int | None = None,
) -> bool:
    """Whether a disagreement is rounding-level (see the module's rule), not substantive.

    Parameters
    ----------
    rule, value, decimals
        The claim: its wording rule, stated value and decimals.
    other : float
        The value it disagrees with: another claim's stated value (give ``other_rule`` and
        ``other_decimals`` too), or the value recomputed from the published inputs (leave
        them None).
    other_rule : str, optional
        The other claim's rule, when ``other`` is a claim.
    other_decimals : int, optional
        The other claim's decimals (default 0).

    Returns
    -------
    bool

    Examples
    --------
    >>> rounding_level("rounded", 66, 67, other_rule="rounded")
    True
    >>> rounding_level("exact", 1474, 1800, other_rule="about")
    False
    >>> rounding_level("rounded", 49, 49.7), rounding_level("rounded", 49, 47.1)
    (True, False)
    >>> rounding_level("nearly", 50, 44.0)
    False
    """
    if math.isnan(value) or math.isnan(other):
        return False
    if other_rule is None:  # against a recomputed value
        return rule == "rounded" and abs(value - other) <= resolution(decimals) * (1 + 1e-9)
    if rule not in NUMBER_RULES or other_rule not in NUMBER_RULES:
        return False
    unit = max(resolution(decimals), resolution(0 if other_decimals is None else other_decimals))
    return abs(value - other) <= unit * (1 + 1e-9)
