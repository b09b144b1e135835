"""No NaN or infinite standard error, interval or p-value without a note and a warning (issue 19).

Every kind of result (``tests/_every_result.py``) is built on ordinary data, and the estimators
are run on degenerate data (no variation, one treated and one comparison council, zero cells),
recording the warnings each call raises. For every term:

- an interval limit or p-value that is NaN or infinite, or an infinite standard error, needs a
  ``note`` saying why, and the call must have raised a project warning -- unless the term has
  no such quantity by design: a level (``before``, ``treated``...) is described, not tested; an
  interval from a method that needs no standard error (exact, Wilson, a ratio's interval
  carried to a percentage change) leaves ``std_error`` NaN; results the caller asked to carry
  no inference (a decomposition, a synthetic control without placebos) say so in a note; and a
  method's honest answer is said in the note, not warned (a robust HonestDiD interval has no
  p-value; a randomization test with too few assignments rejects no value, so its confidence
  set is unbounded, or gives no interval for a Poisson model);
- a NaN standard error beside a finite interval is the method's choice, not a failure.

Before: ``did_from_means`` with zero spreads divided by zero; ``compare_means`` with standard
deviations of zero returned p = NaN with an empty note and no warning, as did the Callaway and
Sant'Anna cells with no variation (p NaN, no warning); an outcome flat within every council is
now refused by every staggered estimator, as by did().
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from _every_result import builders
from sfpc_eval import datasets
from sfpc_eval.errors import SfpcEvalWarning

LEVELS = {"before", "after", "treated", "control"}  # described, not tested
NO_INFERENCE = {"bacon"}  # a decomposition: no term carries inference


def _degenerate() -> dict[str, Callable[[], object]]:
    council = datasets.council_panel()
    comparison = council.loc[council["treated"] == 0, "la"].iloc[0]
    two = council[council["la"].isin(["Leeds", comparison])]
    return {
        "did one treated, one comparison": lambda: se.did(
            two, outcome="cpp_rate", unit="la", time="year", treated="treated"
        ),
        "means with zero spread": lambda: se.compare_means((6.0, 0.0, 10), (5.0, 0.0, 12)),
        "did_from_means with zero spread": lambda: se.did_from_means(
            ((10, 0, 20), (12, 0, 25)), ((10, 0, 30), (11, 0, 22))
        ),
        "paired, equal differences": lambda: se.paired_change(
            pd.DataFrame({"before": [10, 20, 30], "after": [8, 18, 28]})
        ),
        "proportions, zero cells": lambda: se.compare_proportions((0, 50), (5, 60)),
        "proportions, all events": lambda: se.compare_proportions((50, 50), (60, 60)),
    }


@pytest.mark.parametrize("estimator", ["callaway_santanna", "imputation"])
def test_a_flat_outcome_is_refused_rather_than_given_empty_numbers(estimator):
    """These two cases used to return p = NaN with a note and a warning; an outcome constant
    within every council now stops every staggered estimator before fitting (as did() does),
    since every effect is exactly 0 and no inference means anything."""
    staggered = datasets.staggered_panel()
    flat = staggered[staggered["year"] >= 2015].assign(cla_rate=1.0)
    with pytest.raises(se.DesignError, match="constant within every la"):
        getattr(se, estimator)(flat, "cla_rate", "la", "year", "cohort")


def _cases() -> dict[str, Callable[[], object]]:
    return {**builders(), **_degenerate()}


def _unexplained(name: str, result: object, warned: bool) -> list[str]:
    problems = []
    for t in result.terms:
        limits = (t.conf_low, t.conf_high)
        no_test = t.term in LEVELS and math.isnan(t.statistic) and np.isfinite(limits).all()
        bad = [
            f for f, v in zip(("conf_low", "conf_high"), limits, strict=True) if not np.isfinite(v)
        ]
        if not np.isfinite(t.p_value) and not no_test:
            bad.append("p_value")
        if math.isinf(t.std_error):
            bad.append("std_error")
        if not bad:
            continue
        if not t.note and name not in NO_INFERENCE:
            problems.append(f"{name}: {t.term}: {bad} with no note")
        # asked for (no inference), or the honest answer of the method: a robust interval has
        # no p-value; a randomization test with few assignments rejects no value (its
        # confidence set is the whole line) or gives no interval for the model; placebo
        # inference gives a p-value, not an interval
        by_design = ("robust interval", "interval unbounded", "no interval")
        by_request = name in NO_INFERENCE or "no inference" in t.method
        by_request |= t.note.startswith(by_design)
        if not warned and not by_request:
            problems.append(f"{name}: {t.term}: {bad} ({t.note!r}) without a warning")
    return problems


@pytest.mark.parametrize("name", list(_cases()))
def test_every_undefined_number_is_explained_and_warned(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _cases()[name]()
    warned = any(issubclass(w.category, SfpcEvalWarning) for w in caught)
    assert _unexplained(name, result, warned) == []
