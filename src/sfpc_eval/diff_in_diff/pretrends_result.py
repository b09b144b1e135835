"""The result of the pre-period diagnostics: leads, their joint test and a placebo in time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pandas as pd

from sfpc_eval.diff_in_diff.event_study_fit import JointTest
from sfpc_eval.results import ResultMixin, Term

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["JOINT_TERM", "PLACEBO_TERM", "PretrendResult"]

JOINT_TERM = "leads_joint_test"
PLACEBO_TERM = "placebo"


def _fmt(value: float) -> str:
    """Show an estimate with a sign and up to 3 significant figures (``+15.0``, ``-0.0123``)."""
    if math.isnan(value):
        return "n/a"
    digits = max(0, 2 - math.floor(math.log10(abs(value)))) if value else 1
    return f"{value:+.{digits}f}"


@dataclass(frozen=True)
class PretrendResult(ResultMixin):
    """Pre-period diagnostics of a difference-in-differences result.

    Attributes
    ----------
    design : str
        The estimator the diagnostics come from (``"did"``, ``"event_study"``,
        ``"callaway_santanna"``, ``"sun_abraham"``, ``"imputation"``).
    outcome : str
        Outcome column.
    conf_level : float
        Confidence level (the tests are read at ``1 - conf_level``).
    event_times : tuple of int
        Event time of each lead (periods relative to adoption, negative).
    reference : int or None
        The event time the leads are measured against (-1), None where each lead is its own
        comparison (Callaway-Sant'Anna with a varying base period).
    joint : JointTest or None
        The joint test that every lead is zero, under the result's own inference.
    placebo_shift : int or None
        Periods by which adoption was moved earlier for the placebo estimate.
    n_clusters, n_treated_clusters : int
        Clusters, and clusters with a treated unit.
    terms : tuple of Term
        One per lead (``"e=-3"``...), then ``"leads_joint_test"`` (statistic, p-value; NaN
        estimate), then ``"placebo"`` when a placebo shift was asked for. Rows whose inference
        is not valid for the design have ``valid=False`` and say why in ``note``.
    """

    design: str
    outcome: str
    conf_level: float
    event_times: tuple[int, ...]
    reference: int | None
    joint: JointTest | None
    placebo_shift: int | None
    n_clusters: int
    n_treated_clusters: int
    terms: tuple[Term, ...] = field(repr=False)
    _refit_leads: object = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Pre-period diagnostics ({self.design}): {self.outcome}"

    @property
    def leads(self) -> tuple[Term, ...]:
        """The lead terms (estimates before adoption)."""
        return self.terms[: len(self.event_times)]

    @property
    def joint_test(self) -> Term | None:
        """The joint test row, or None when there is no test."""
        return next((t for t in self.terms if t.term == JOINT_TERM), None)

    @property
    def placebo(self) -> Term | None:
        """The placebo-in-time row, or None when no shift was asked for."""
        return next((t for t in self.terms if t.term == PLACEBO_TERM), None)

    @property
    def passed(self) -> bool | None:
        """Whether the valid tests found no evidence against parallel trends.

        True when every valid test (the joint test of the leads, the placebo) has
        ``p >= 1 - conf_level``; False when one of them rejects; None when no valid test exists.
        """
        alpha = 1 - self.conf_level
        tests = [t for t in (self.joint_test, self.placebo) if t is not None and t.valid]
        tests = [t for t in tests if not math.isnan(t.p_value)]
        if not tests:
            return None
        return all(t.p_value >= alpha for t in tests)

    def verdict(self) -> str:
        """Say how the pre-period check came out, in one or two sentences for a summary."""
        alpha = 1 - self.conf_level
        values = ", ".join(_fmt(t.estimate) for t in self.leads)
        times = ", ".join(str(e) for e in self.event_times)
        leads = f"the leads (event times {times}) are {values}" if self.leads else "no leads"
        joint, placebo = self.joint_test, self.placebo
        parts = []
        if joint is not None:
            how = f"p = {joint.p_value:.3g}, {joint.method}"
            parts.append(f"jointly {how}" + ("" if joint.valid else " (not valid here)"))
        if placebo is not None:
            parts.append(
                f"placebo with adoption {self.placebo_shift} period(s) earlier "
                f"{_fmt(placebo.estimate)}, p = {placebo.p_value:.3g}"
                + ("" if placebo.valid else " (not valid here)")
            )
        detail = "; ".join(parts)
        passed = self.passed
        if passed is None:
            return (
                f"No valid test of the pre-period is available for this design ({leads}"
                + (f"; {detail}" if detail else "")
                + "): parallel trends before adoption cannot be checked formally."
            )
        if not passed:
            return (
                f"The pre-period check failed: {leads}, and they differ from zero at the "
                f"{alpha:.0%} level ({detail}). Parallel trends before adoption are not "
                "supported, so the estimate may be biased."
            )
        caution = ""
        if self.n_treated_clusters < 5:
            caution = (
                f" With {self.n_treated_clusters} treated cluster(s) this test has little power: "
                "passing it is weak evidence of parallel trends."
            )
        return (
            f"The pre-period check passed: {leads}, not jointly different from zero at the "
            f"{alpha:.0%} level ({detail}).{caution}"
        )

    def lead_table(self) -> pd.DataFrame:
        """Return the lead rows of ``tidy()`` with an ``event_time`` column (for plots)."""
        frame = self.tidy().iloc[: len(self.event_times)].copy()
        frame.insert(1, "event_time", list(self.event_times))
        return frame.reset_index(drop=True)

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        lines = [
            ("leads", ", ".join(str(e) for e in self.event_times) or "none"),
            (
                "reference",
                "each lead its own comparison"
                if self.reference is None
                else f"event time {self.reference}",
            ),
            ("clusters (treated)", f"{self.n_clusters} ({self.n_treated_clusters})"),
        ]
        if self.joint is not None:
            lines.append(("joint test", self.joint.method))
        if self.placebo_shift is not None:
            lines.append(("placebo", f"adoption moved {self.placebo_shift} period(s) earlier"))
        verdict = {True: "passed", False: "failed", None: "no valid test"}[self.passed]
        lines.append(("pre-period check", verdict))
        return lines

    def _refit(self, conf_level: float) -> PretrendResult:
        if self._refit_leads is None:  # pragma: no cover - every builder sets it
            return replace(self, conf_level=conf_level)
        return self._refit_leads(conf_level)  # type: ignore[operator]

    def plot(self, ax: Axes | None = None) -> Axes:  # type: ignore[override]
        """Leads with their intervals, the joint test and the placebo in the title."""
        from sfpc_eval.plotting import plot_pretrends

        return plot_pretrends(self, ax=ax)
