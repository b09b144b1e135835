"""Every bad input named in the foundation issue gets a typed error whose message names it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval import errors


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"before": -3, "after": 5}, errors.InvalidValueError, ["`before`", "negative"]),
        ({"before": 10, "after": -1}, errors.InvalidValueError, ["`after`", "negative"]),
        ({"before": 974.5, "after": 515}, errors.InvalidValueError, ["`before`", "whole"]),
        ({"before": math.nan, "after": 515}, errors.InvalidValueError, ["`before`", "NaN"]),
        ({"before": 0, "after": 5}, errors.UndefinedEffectError, ["`before` is 0", "undefined"]),
        ({"before": "c", "after": 5}, errors.SuppressedValueError, ["`before`", "'c'"]),
        ({"before": "[x]", "after": 5}, errors.SuppressedValueError, ["`before`", "'[x]'"]),
        ({"before": "1,234", "after": 5}, errors.ThousandsSeparatorError, ["`before`", "1234"]),
        ({"before": True, "after": 5}, errors.InvalidValueError, ["`before`", "number"]),
        (
            {"before": 10, "after": 5, "exposure": (100, 0)},
            errors.InvalidValueError,
            ["exposure[1]", "positive"],
        ),
        (
            {"before": 10, "after": 5, "per": 1000},
            errors.InvalidValueError,
            ["`per`", "`exposure`"],
        ),
        (
            {"before": 10, "after": 5, "conf_level": 95},
            errors.InvalidValueError,
            ["`conf_level`", "0.95"],
        ),
    ],
)
def test_compare_counts_rejects(kwargs, error, words):
    with pytest.raises(error) as info:
        se.compare_counts(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_both_counts_zero_is_undefined():
    with pytest.raises(errors.UndefinedEffectError, match="undefined"):
        se.compare_counts(0, 0)


@pytest.mark.parametrize(
    ("treated", "control", "error", "words"),
    [
        ((12, 10), (3, 10), errors.InvalidValueError, ["`treated`", "more events (12)", "(10)"]),
        ((-1, 10), (3, 10), errors.InvalidValueError, ["`treated events`", "negative"]),
        ((2.5, 10), (3, 10), errors.InvalidValueError, ["`treated events`", "whole"]),
        ((2, 10), (math.nan, 10), errors.InvalidValueError, ["`control events`", "NaN"]),
        ((2, 0), (3, 10), errors.InvalidValueError, ["`treated` group size is 0"]),
        (36.2, 0.448, errors.InvalidValueError, ["`treated`", "0.362"]),
        ((2, 10, 3), (3, 10), errors.InvalidValueError, ["`treated`", "(events, group size)"]),
        (("c", 10), (3, 10), errors.SuppressedValueError, ["`treated events`", "'c'"]),
    ],
)
def test_compare_proportions_rejects(treated, control, error, words):
    with pytest.raises(error) as info:
        se.compare_proportions(treated, control)
    for word in words:
        assert word in str(info.value)


def test_compare_proportions_rejects_unknown_method():
    with pytest.raises(errors.InvalidValueError, match="odds_ratio_method"):
        se.compare_proportions((2, 10), (3, 10), odds_ratio_method="wald")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("treated", "control", "error", "words"),
    [
        ((87.0, -1.0, 30), (115.0, 10.0, 30), errors.InvalidValueError, ["sd", "negative"]),
        ((87.0, 1.0, 1), (115.0, 10.0, 30), errors.InvalidValueError, ["`treated` n is 1"]),
        ((87.0, math.nan, 30), (115.0, 1, 30), errors.InvalidValueError, ["`treated sd`", "NaN"]),
        (87.0, 0.0, errors.UndefinedEffectError, ["`control` mean is 0"]),
    ],
)
def test_compare_means_rejects(treated, control, error, words):
    with pytest.raises(error) as info:
        se.compare_means(treated, control)
    for word in words:
        assert word in str(info.value)


def _days(**columns):
    base = {"child": [1, 2, 3], "before": [10, 20, 30], "after": [5, 25, 0]}
    base.update(columns)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "words"),
    [
        (_days(), {"before": "days_before"}, errors.MissingColumnError, ["days_before", "child"]),
        (_days(after=[5, "c", 0]), {}, errors.SuppressedValueError, ["'after'", "'c'", "rows 1"]),
        (
            _days(before=["1,234", "20", "30"]),
            {},
            errors.ThousandsSeparatorError,
            ["'before'", "'1,234'", "thousands"],
        ),
        (_days(after=[5, math.nan, 0]), {}, errors.InvalidValueError, ["'after'", "missing"]),
        (_days(before=[0, 0, 0]), {}, errors.UndefinedEffectError, ["total of `before`"]),
        (_days(child=[1, 1, 3]), {"unit": "child"}, errors.DuplicateObservationError, ["'child'"]),
        (_days(), {"ratio_method": "jackknife"}, errors.InvalidValueError, ["ratio_method"]),
        (
            _days(),
            {"ratio_method": "bootstrap", "n_resamples": 10},
            errors.InvalidValueError,
            ["n_resamples"],
        ),
    ],
)
def test_paired_change_rejects(frame, kwargs, error, words):
    with pytest.raises(error) as info:
        se.paired_change(frame, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_missing_column_error_is_a_key_error_and_lists_columns():
    frame = pd.DataFrame({"la": ["Leeds"], "year": [2011], "cpp": [974]})
    with pytest.raises(KeyError) as info:
        se.validate_panel(frame, unit="la", time="yr", outcome="cpp")
    message = str(info.value)
    assert "`time`" in message and "'yr'" in message
    assert "la, year, cpp" in message
    assert isinstance(info.value, se.SfpcEvalError)
