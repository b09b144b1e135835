"""The library's promise, checked on one call: a project error, or a result whose numbers are
finite (a non-finite one only with a note on its row and a project warning), and the caller's
inputs unchanged.

:func:`check_promise` runs a call on deep copies' originals and compares afterwards; any other
exception (numpy's, pandas', a ``KeyError``...) propagates, so hypothesis reports and shrinks it.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import event, settings

from sfpc_eval.errors import SfpcEvalError, SfpcEvalWarning

NUMBER_COLUMNS = ("estimate", "std_error", "p_value", "conf_low", "conf_high")


def budget(weight: float) -> settings:
    """Settings whose ``max_examples`` is the profile's, scaled by the test's cost ``weight``."""
    base = settings.default.max_examples
    return settings(max_examples=max(3, round(base * weight)))


@dataclass
class Outcome:
    """What one call did: its result (None after a project error) and what it warned."""

    result: Any = None
    error: SfpcEvalError | None = None
    warnings: list[warnings.WarningMessage] = field(default_factory=list)

    @property
    def project_warned(self) -> bool:
        return any(issubclass(w.category, SfpcEvalWarning) for w in self.warnings)


def assert_same(before: Any, after: Any, where: str = "input") -> None:
    """Assert ``after`` equals the snapshot ``before`` exactly (values, dtypes, index, order)."""
    if isinstance(before, pd.DataFrame):
        assert isinstance(after, pd.DataFrame), f"{where} is no longer a DataFrame"
        assert list(before.columns) == list(after.columns), f"{where}: columns changed"
        pd.testing.assert_index_equal(before.index, after.index, exact=True)
        for i in range(before.shape[1]):
            pd.testing.assert_series_equal(
                before.iloc[:, i], after.iloc[:, i], check_exact=True, obj=f"{where}[{i}]"
            )
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(before, after, check_exact=True, obj=where)
    elif isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and before.shape == after.shape, where
        assert before.dtype == after.dtype, f"{where}: dtype changed"
        if before.dtype.kind in "fc":
            assert np.array_equal(before, after, equal_nan=True), f"{where}: values changed"
        else:
            for i, (b, a) in enumerate(zip(before.ravel(), after.ravel(), strict=True)):
                assert_same(b, a, f"{where}[{i}]")
    elif isinstance(before, dict):
        assert isinstance(after, dict) and list(before) == list(after), f"{where}: keys changed"
        for key in before:
            assert_same(before[key], after[key], f"{where}[{key!r}]")
    elif isinstance(before, list | tuple):
        assert type(before) is type(after) and len(before) == len(after), f"{where} changed"
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            assert_same(b, a, f"{where}[{i}]")
    elif isinstance(before, float) and math.isnan(before):
        assert isinstance(after, float) and math.isnan(after), f"{where} changed"
    else:
        assert before == after, f"{where} changed: {before!r} -> {after!r}"


def check_promise(call: Callable[[], Any], *inputs: Any) -> Outcome:
    """Run ``call``; assert the promise; return what happened.

    ``inputs`` are the caller's objects the call receives (frames, lists, dicts): each must be
    unchanged afterwards, whether the call succeeded or raised a project error.
    """
    snapshots = [copy.deepcopy(x) for x in inputs]
    outcome = Outcome()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome.result = call()
        except SfpcEvalError as err:
            outcome.error = err
            assert str(err).strip(), f"{type(err).__name__} without a message"
    outcome.warnings = list(caught)
    for i, (snapshot, original) in enumerate(zip(snapshots, inputs, strict=True)):
        assert_same(snapshot, original, f"input {i}")
    if outcome.error is None:
        assert_finite(outcome.result, outcome)
        event("result, project warning" if outcome.project_warned else "result")
    else:
        event(f"error: {type(outcome.error).__name__}")
    return outcome


def _frames_of(result: Any) -> list[pd.DataFrame]:
    tidy = getattr(result, "tidy", None)
    if callable(tidy):
        return [tidy()]
    return []


def assert_finite(result: Any, outcome: Outcome) -> None:
    """The numbers of ``result`` are finite, or their row says why.

    Per ``tidy()`` row:

    - the estimate is finite, or the row has a note and the call raised a project warning;
    - the interval is finite, or the row has a note saying why (bare published means give a
      point estimate only, say);
    - a NaN standard error, statistic or p-value beside a finite interval is allowed: exact
      methods have no standard error, and a level (a count, a mean) has no null hypothesis to
      test (``method`` says which);
    - every p-value is in [0, 1] and every interval has ``conf_low <= conf_high``.
    """
    if isinstance(result, np.ndarray):
        assert np.all(np.isfinite(result)), f"non-finite values in {result!r}"
        return
    for frame in _frames_of(result):
        for _, row in frame.iterrows():
            note = str(row.get("note", "") or "").strip()
            term = row["term"]
            numbers = {c: float(row[c]) for c in NUMBER_COLUMNS if c in frame.columns}
            if not math.isfinite(numbers["estimate"]):
                assert note, f"term {term!r}: estimate {numbers['estimate']} and no note"
                assert outcome.project_warned, (
                    f"term {term!r}: estimate {numbers['estimate']} (note {note!r}) but no "
                    f"project warning (warnings: {[str(w.message) for w in outcome.warnings]})"
                )
                continue
            low, high = numbers.get("conf_low", 0.0), numbers.get("conf_high", 0.0)
            if not (math.isfinite(low) and math.isfinite(high)):
                assert note, f"term {term!r}: interval [{low}, {high}] and no note saying why"
            else:
                assert low <= high + 1e-9 * max(1.0, abs(high)), (
                    f"term {term!r}: interval [{low}, {high}] is reversed"
                )
            p = numbers.get("p_value", math.nan)
            assert math.isnan(p) or 0.0 <= p <= 1.0, f"term {term!r}: p-value {p}"
            se = numbers.get("std_error", math.nan)
            assert math.isnan(se) or se >= 0, f"term {term!r}: standard error {se}"
            if math.isinf(se) or math.isinf(p):
                assert note, f"term {term!r}: infinite standard error or p-value and no note"
