"""Claims that are arithmetic on published totals (a cost, a return per pound, a net saving).

A cost from cases times cost per case, a return per pound from savings over cost, a net saving.
Such a figure has no sampling uncertainty to carry (its inputs are published totals, not
estimates from a sample), so the result has an estimate and no interval; the registry says which
two published numbers it combines and how.

Examples
--------
>>> from sfpc_eval.evidence.arithmetic import combine
>>> combine("ratio", 1_290_000, 560_000, "gross savings", "cost").term("value").estimate
2.3035714285714284
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.results import ResultMixin, Term

__all__ = ["ARITHMETIC", "ArithmeticResult", "combine"]

ARITHMETIC: dict[str, str] = {
    "product": "first x second (cases x cost per case)",
    "ratio": "first / second (savings per pound spent, saving per case)",
    "difference": "first - second (gross saving less cost)",
    "sum": "first + second",
}
"""Operations an ``arithmetic`` claim can combine its two published numbers with."""

NO_INTERVAL = "arithmetic on published totals: no sampling uncertainty to carry"


@dataclass(frozen=True)
class ArithmeticResult(ResultMixin):
    """Two published numbers combined; ``term("value")`` is the result (no interval)."""

    operation: str
    first: float
    second: float
    first_is: str
    second_is: str
    conf_level: float = 0.95
    terms: tuple[Term, ...] = field(default=(), repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Arithmetic on published figures: {self.operation}"

    def facts(self) -> list[tuple[str, str]]:
        """List the two numbers and what they are."""
        return [
            ("first", f"{self.first:,.6g} ({self.first_is})"),
            ("second", f"{self.second:,.6g} ({self.second_is})"),
        ]

    def _refit(self, conf_level: float) -> ArithmeticResult:
        return combine(self.operation, self.first, self.second, self.first_is, self.second_is)


def combine(
    operation: str, first: float, second: float, first_is: str, second_is: str
) -> ArithmeticResult:
    """Combine two published numbers with one of :data:`ARITHMETIC`."""
    if operation not in ARITHMETIC:
        raise InvalidValueError(
            f"`operation` must be one of {', '.join(ARITHMETIC)}; got {operation!r}."
        )
    if operation == "ratio" and second == 0:
        raise InvalidValueError("a ratio needs a non-zero `second`.")
    value = {
        "product": first * second,
        "ratio": first / second if second else 0.0,
        "difference": first - second,
        "sum": first + second,
    }[operation]
    term = Term("value", value, method=f"{operation} of two published figures", note=NO_INTERVAL)
    return ArithmeticResult(operation, first, second, first_is, second_is, terms=(term,))
