"""validate_panel: each problem it must catch, and that it never changes the caller's data."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sfpc_eval as se
from sfpc_eval import errors
from sfpc_eval._validate import SUPPRESSION_SYMBOLS


def leeds_panel() -> pd.DataFrame:
    """Leeds children on child protection plans at 31 March (DfE CIN census), two neighbours."""
    return pd.DataFrame(
        {
            "la": ["Leeds"] * 3 + ["Bradford"] * 3,
            "year": [2011, 2012, 2013] * 2,
            "cpp": [974, 890, 983, 500, 510, 520],
        }
    )


def validate(frame: pd.DataFrame, **kwargs):
    return se.validate_panel(frame, unit="la", time="year", outcome="cpp", **kwargs)


def test_describes_a_clean_panel():
    spec = validate(leeds_panel(), count=True)
    assert (spec.n_units, spec.n_periods, spec.n_rows) == (2, 3, 6)
    assert spec.balanced and spec.periods == (2011, 2012, 2013)
    assert spec.data["cpp"].dtype == np.float64


def test_unbalanced_panel_is_described_not_refused():
    spec = validate(leeds_panel().iloc[:5])
    assert not spec.balanced and spec.n_rows == 5


@pytest.mark.parametrize("symbol", sorted(SUPPRESSION_SYMBOLS))
def test_every_suppression_symbol_is_reported_with_its_row(symbol):
    frame = leeds_panel().astype({"cpp": object})
    frame.loc[4, "cpp"] = symbol
    with pytest.raises(errors.SuppressedValueError) as info:
        validate(frame)
    message = str(info.value)
    assert repr(symbol) in message and "rows 4" in message and "`outcome`" in message


def test_thousands_separators_are_reported_or_parsed_on_request():
    frame = leeds_panel().astype({"cpp": object})
    frame.loc[0, "cpp"] = "1,234"
    with pytest.raises(errors.ThousandsSeparatorError, match=r"'1,234'.*rows 0.*thousands=','"):
        validate(frame)
    spec = validate(frame, thousands=",")
    assert spec.data.loc[0, "cpp"] == 1234.0
    assert frame.loc[0, "cpp"] == "1,234"  # caller's frame unchanged


def test_other_text_is_never_coerced_to_nan():
    frame = leeds_panel().astype({"cpp": object})
    frame.loc[2, "cpp"] = "n/a"
    with pytest.raises(errors.InvalidValueError, match=r"'n/a'.*rows 2"):
        validate(frame)


def test_duplicate_unit_time_rows():
    frame = pd.concat([leeds_panel(), leeds_panel().iloc[[1]]], ignore_index=True)
    with pytest.raises(errors.DuplicateObservationError) as info:
        validate(frame)
    message = str(info.value)
    assert "(Leeds, 2012)" in message and "rows 1, 6" in message


def test_missing_outcome_is_refused_unless_allowed_and_then_counted():
    frame = leeds_panel()
    frame.loc[3, "cpp"] = np.nan
    with pytest.raises(errors.InvalidValueError, match=r"missing values.*rows 3"):
        validate(frame)
    spec = validate(frame, allow_missing=True)
    assert spec.n_missing_outcome == 1 and spec.n_rows == 6


def test_negative_and_fractional_counts():
    frame = leeds_panel().astype({"cpp": float})
    frame.loc[1, "cpp"] = -5
    with pytest.raises(errors.InvalidValueError, match=r"negative in rows 1"):
        validate(frame, count=True)
    validate(frame)  # not a count: negative values are allowed
    frame.loc[1, "cpp"] = 5.5
    with pytest.raises(errors.InvalidValueError, match=r"whole numbers.*rows 1"):
        validate(frame, count=True)


def test_missing_unit_or_time_values():
    frame = leeds_panel()
    frame.loc[2, "la"] = None
    with pytest.raises(errors.InvalidValueError, match=r"`unit` column 'la'.*rows 2"):
        validate(frame)


def test_treated_must_be_binary_and_weights_nonnegative():
    frame = leeds_panel().assign(treated=[0, 1, 2, 0, 0, 0], w=[1.0, 1, 1, 1, -1, 1])
    with pytest.raises(errors.InvalidValueError, match=r"`treated`.*2"):
        validate(frame, treated="treated")
    with pytest.raises(errors.InvalidValueError, match=r"`weights`.*negative in rows 4"):
        validate(frame, weights="w")


def test_not_a_dataframe():
    with pytest.raises(errors.InvalidValueError, match=r"DataFrame"):
        se.validate_panel([1, 2], unit="la", time="year", outcome="cpp")  # type: ignore[arg-type]


cell = st.one_of(
    st.integers(-5, 2000),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.sampled_from(["c", "[x]", "1,234", "12", " 7 ", "", "n/a"]),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(cell, min_size=1, max_size=8), st.booleans(), st.booleans())
def test_never_modifies_the_callers_data(values, count, allow_missing):
    frame = pd.DataFrame(
        {"la": [f"LA{i % 3}" for i in range(len(values))], "year": range(len(values))}
    )
    frame["cpp"] = pd.Series(values, dtype=object)
    before = frame.copy(deep=True)
    with contextlib.suppress(errors.SfpcEvalError):
        validate(frame, count=count, allow_missing=allow_missing, thousands=",")
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_integer_columns_are_checked_like_floats(dtype):
    """Integer columns take a faster path; the same values are refused with the same rows."""
    frame = leeds_panel().assign(treated=np.array([0, 1, 1, 0, 0, 0], dtype=dtype))
    validate(frame, treated="treated")
    bad = frame.assign(treated=np.array([0, 1, 2, 0, 0, 0], dtype=dtype))
    with pytest.raises(errors.InvalidValueError, match=r"`treated`.*other values 2.*rows 2"):
        validate(bad, treated="treated")
    if dtype.startswith("int"):  # -1 is 255 or 2**64 - 1 as unsigned: still not 0 or 1
        bad = frame.assign(treated=np.array([0, 1, -1, 0, 0, 0], dtype=dtype))
        with pytest.raises(errors.InvalidValueError, match=r"`treated`.*other values -1.*rows 2"):
            validate(bad, treated="treated")
        counts = frame.assign(cpp=np.array([97, -5, 98, 50, 51, 52], dtype=dtype))
        with pytest.raises(errors.InvalidValueError, match=r"negative in rows 1"):
            validate(counts, count=True)
