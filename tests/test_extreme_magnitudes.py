"""Extreme magnitudes in the before/after functions: a typed error or a finite result (issue 19).

Before: ``compare_counts(before=1, after=1e100)`` ended in scipy's ``TypeError`` (gammaincinv),
``1e16`` in a ``brentq`` ``ValueError``, ``10**400`` in ``OverflowError``; ``did_from_means``
with standard deviations of 1e100 overflowed squaring them, and with all standard deviations
zero divided by zero. Now scalar inputs have stated bounds (``MAX_MAGNITUDE``, ``MAX_COUNT``,
``MIN_POSITIVE`` in ``sfpc_eval._validate``), Welch degrees of freedom are computed scale-free,
and a zero standard error gives a term with a note and an ``UndefinedIntervalWarning``.
"""

from __future__ import annotations

import math

import pytest

import sfpc_eval as se
from sfpc_eval._validate import MAX_COUNT, MAX_MAGNITUDE, MIN_POSITIVE
from sfpc_eval.errors import InvalidValueError, UndefinedIntervalWarning

REFUSED = {
    "count 1e100": lambda: se.compare_counts(before=1, after=1e100),
    "count 1e16 (above 2**53)": lambda: se.compare_counts(before=1, after=1e16),
    "count 10**400": lambda: se.compare_counts(before=10**400, after=1),
    "exposure 1e-300": lambda: se.compare_counts(before=5, after=7, exposure=(1e-300, 1)),
    "proportion n 1e100": lambda: se.compare_proportions((5, 1e100), (7, 1e100)),
    "mean 1e300": lambda: se.compare_means((1e300, 1, 10), (1, 1, 10)),
    "sd 1e-300": lambda: se.did_from_counts(((5, 1e-300), (6, 1)), ((5, 1), (6, 1))),
    "did mean 10**400": lambda: se.did_from_means((10**400, 1), (1, 1)),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_out_of_range_scalars_are_refused_naming_the_argument(case):
    with pytest.raises(InvalidValueError, match=r"`[a-z_]+[^`]*` "):
        REFUSED[case]()


def test_the_bounds_are_stated():
    assert MAX_MAGNITUDE == 1e100 and MIN_POSITIVE == 1e-100
    assert MAX_COUNT < 2**53  # every accepted count is held exactly as a float
    assert se.compare_counts(before=MAX_COUNT, after=MAX_COUNT - 1).before == MAX_COUNT


def test_welch_degrees_of_freedom_do_not_depend_on_the_scale():
    """(sum v)^2 / sum(v^2/(n-1)) is scale-invariant: SDs of 1e100 give the df of SDs of 1."""
    small = se.did_from_means(((10, 1, 20), (12, 2, 25)), ((10, 1.5, 30), (11, 1, 22)))
    huge = se.did_from_means(
        ((10e98, 1e98, 20), (12e98, 2e98, 25)), ((10e98, 1.5e98, 30), (11e98, 1e98, 22))
    )
    for name in ("treated_change", "did"):
        a, b = small.term(name), huge.term(name)
        assert b.df == pytest.approx(a.df, rel=1e-12)
        assert b.p_value == pytest.approx(a.p_value, rel=1e-9)
        assert b.conf_high / 1e98 == pytest.approx(a.conf_high, rel=1e-9)
    means = se.compare_means((1e99, 1e99, 10), (2e99, 1e99, 12))
    assert math.isfinite(means.term("difference").p_value)


def test_zero_spread_is_said_and_warned_not_divided_by():
    with pytest.warns(UndefinedIntervalWarning, match="standard error is 0"):
        res = se.did_from_means(((10, 0, 20), (12, 0, 25)), ((10, 0, 30), (11, 0, 22)))
    did = res.term("did")
    assert did.estimate == 1.0
    assert "no variation" in did.note and math.isnan(did.p_value)
