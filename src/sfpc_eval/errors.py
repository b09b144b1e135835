"""Exceptions and warnings raised by sfpc_eval.

Every error the library raises on purpose is a subclass of :class:`SfpcEvalError`, which is
itself a :class:`ValueError` (or a :class:`KeyError` for missing columns and unknown keys), so
``except ValueError`` keeps working in code that does not know this package.

Messages follow one pattern: what is wrong (naming the argument or column), the offending
values or rows (the first few and a count), and what to do about it.

Examples
--------
>>> import sfpc_eval as se
>>> try:
...     se.compare_counts(before=-3, after=5)
... except se.InvalidValueError as err:
...     print(type(err).__name__)
InvalidValueError
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "DataFileError",
    "DesignError",
    "DisclosureError",
    "DonorExclusionWarning",
    "DuplicateObservationError",
    "EffectScaleError",
    "EmptyFileError",
    "ExportError",
    "FewClustersWarning",
    "FewTreatedClustersWarning",
    "FileColumnsError",
    "FileEncodingError",
    "InvalidValueError",
    "LabelError",
    "MissingColumnError",
    "PoorPreFitWarning",
    "RegistryError",
    "SeparationError",
    "SfpcEvalError",
    "SfpcEvalWarning",
    "SingleUnitCohortWarning",
    "SingularFitWarning",
    "SizeLimitError",
    "SpecError",
    "SuppressedValueError",
    "TableError",
    "ThousandsSeparatorError",
    "TooFewPeriodsError",
    "UndefinedEffectError",
    "UndefinedIntervalWarning",
    "UnitCostError",
    "UnknownAreaError",
    "YearOutOfRangeError",
    "show_values",
]

_SHOW = 5


def show_values(values: Iterable[Any], *, limit: int = _SHOW) -> str:
    """Render the first few offending values and how many there are in all.

    Parameters
    ----------
    values : iterable
        The offending values (or row labels).
    limit : int, default 5
        How many to show before summarising the rest as a count.

    Returns
    -------
    str
        For example ``"'c', 'x' (2 values)"`` or ``"3, 7, 9, 12, 15 and 4 more (9 values)"``.

    Examples
    --------
    >>> show_values([3, 7, 9, 12, 15, 16, 20])
    '3, 7, 9, 12, 15 and 2 more (7 values)'
    """
    items = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    noun = "value" if len(items) == 1 else "values"
    return f"{shown}{more} ({len(items)} {noun})"


class SfpcEvalError(ValueError):
    """Base class of every error sfpc_eval raises on purpose."""


class InvalidValueError(SfpcEvalError):
    """An argument or column holds values the method cannot use (negative, NaN, non-integer...)."""


class MissingColumnError(SfpcEvalError, KeyError):
    """A column named in an argument is not in the data.

    Parameters
    ----------
    argument : str
        The argument that named the column (e.g. ``"outcome"``).
    missing : sequence of str
        The column names that were asked for and are absent.
    available : sequence of str
        The columns the data does have.
    """

    def __init__(self, argument: str, missing: Sequence[str], available: Sequence[str]):
        self.argument = argument
        self.missing = list(missing)
        self.available = list(available)
        super().__init__(
            f"`{argument}` names column(s) not in the data: {show_values(self.missing)}. "
            f"The data has these columns: {', '.join(map(str, self.available))}. "
            "Pass one of them, or rename the column first."
        )

    def __str__(self) -> str:
        # KeyError would otherwise quote the whole message.
        return str(self.args[0])


class DuplicateObservationError(SfpcEvalError):
    """More than one row for the same unit and time."""


class SuppressedValueError(SfpcEvalError):
    """A DfE suppression or availability symbol (``c``, ``x``, ``[z]``...) in a numeric column."""


class ThousandsSeparatorError(SfpcEvalError):
    """Numbers written with thousands separators (``"1,234"``) in a numeric column."""


class UndefinedEffectError(SfpcEvalError):
    """The requested effect is undefined for these data (e.g. a percentage change from zero)."""


class DesignError(SfpcEvalError):
    """The data cannot support the requested design (no comparison group, one period...)."""


class RegistryError(SfpcEvalError):
    """The published-claims registry file is malformed (missing or unknown field, bad value)."""


class SfpcEvalWarning(UserWarning):
    """Base class of every warning sfpc_eval issues."""


class UndefinedIntervalWarning(SfpcEvalWarning):
    """An interval cannot be computed for these data (e.g. a zero cell); it is left empty."""


class DataFileError(SfpcEvalError):
    """A data file cannot be read as the official format it should be in.

    The message names the file, says what is wrong and how to fix it. The subclasses below
    single out the common cases; ``path`` is the file concerned.
    """

    def __init__(self, message: str, *, path: object = None):
        self.path = path
        super().__init__(message)


class EmptyFileError(DataFileError):
    """A data file has no data rows (zero bytes, or a header and nothing else)."""


class FileEncodingError(DataFileError):
    """A text data file is not in the character encoding its format uses (UTF-8, Latin-1)."""


class FileColumnsError(DataFileError, KeyError):
    """A data file lacks columns its format must have (missing or renamed).

    Attributes
    ----------
    expected : list of str
        The columns (or column patterns) the format needs.
    found : list of str
        The columns the file has.
    """

    def __init__(
        self, message: str, *, path: object, expected: Sequence[str], found: Sequence[str]
    ):
        self.expected = list(expected)
        self.found = list(found)
        super().__init__(message, path=path)

    def __str__(self) -> str:
        # KeyError would otherwise quote the whole message.
        return str(self.args[0])


class UnknownAreaError(SfpcEvalError, KeyError):
    """A local authority name or code is not one sfpc_eval knows.

    Attributes
    ----------
    value : str
        The name or code given.
    suggestions : list of str
        The closest known names (possibly empty).
    """

    def __init__(self, message: str, *, value: object, suggestions: Sequence[str] = ()):
        self.value = value
        self.suggestions = list(suggestions)
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


class YearOutOfRangeError(SfpcEvalError):
    """A year was asked for that the data (a file, a folder) do not cover."""


class FewTreatedClustersWarning(SfpcEvalWarning):
    """Only one cluster is ever treated: cluster-robust standard errors are unreliable.

    With a single treated cluster the treated cluster's own residuals are absorbed by its fixed
    effect and the treatment dummy, so every cluster-robust variance (CR0 to CR3) is estimated
    from the comparison clusters alone and misses the treated cluster's own variability.
    """


class SingleUnitCohortWarning(SfpcEvalWarning):
    """A staggered-adoption cohort has a single unit: inference for its effects is fragile.

    Its group-time effects rest on one unit, so their standard errors come from that unit's own
    deviation alone (and a cluster-robust variance with one treated cluster is unreliable).
    """


class SpecError(SfpcEvalError):
    """A report spec (TOML) is invalid: unknown or missing key, bad value, missing path.

    Raised by :func:`sfpc_eval.report.load_spec` before any data are read or estimated.

    Attributes
    ----------
    key : str
        The dotted key concerned (e.g. ``"analysis[1].design"``), or ``""``.
    """

    def __init__(self, message: str, *, key: str = ""):
        self.key = key
        super().__init__(message)


class DisclosureError(SfpcEvalError):
    """A built report still shows a disclosive cell (a small count from child-level data).

    Attributes
    ----------
    cells : list of str
        Where each disclosive cell is (table, row, column) and why.
    """

    def __init__(self, message: str, *, cells: Sequence[str] = ()):
        self.cells = list(cells)
        super().__init__(message)


class PoorPreFitWarning(SfpcEvalWarning):
    """A synthetic council does not track the treated council before the programme.

    Raised by :func:`sfpc_eval.synthetic_control` when the treated council's pre-period root
    mean squared prediction error is larger than that of most placebo councils: its gaps after
    the start then mix the effect with the misfit, and the placebo p-value is not reliable.
    """


class UnreliableInferenceWarning(SfpcEvalWarning):
    """An interval or p-value was computed as asked, but the setting makes it unreliable.

    For example Newey-West standard errors with more lags than a quarter of the series: the
    sample autocovariances of regression residuals sum to zero over all lags, so with many lags
    the long-run variance shrinks towards zero and intervals become far too narrow. The message
    and the result's note say what to change.
    """


class SingularFitWarning(SfpcEvalWarning):
    """A mixed model's random-effect variance is estimated at (or next to) zero.

    As ``lme4::glmer`` reports a "boundary (singular) fit": the message shows the variance
    estimate. The fixed effects are then those of the model without the random effect.
    """


class SeparationError(DesignError):
    """Perfect separation in a logistic model: some regressor predicts the outcome exactly.

    The maximum-likelihood estimate is infinite; the message names the regressor and the
    groups whose outcome is all 0 or all 1.
    """


class TooFewPeriodsError(DesignError):
    """The data have too few periods for the inference asked for.

    Raised by the conformal inference of a single-council design: its permutation p-values
    cannot fall to ``1 - conf_level`` without enough pre-periods, so every effect would be
    accepted. The message states the minimum number of pre-periods and the alternatives (a
    lower ``conf_level``, or no interval for the average effect).
    """


class DonorExclusionWarning(SfpcEvalWarning):
    """Donors named in ``donors`` were left out because they ran a similar programme.

    A single-council design drops from its donor pool the councils on the exclusion list
    (:func:`sfpc_eval.single_unit.excluded_donors`), also when the caller named them; the
    message lists them with the programme, and ``exclude_donors=None`` keeps them.
    """


class SizeLimitError(SfpcEvalError):
    """A request is too large to run: too much memory, or too long to finish.

    Raised before any work starts. From a database or Spark: the request would bring more rows
    or cells into memory than ``max_cells`` of :func:`sfpc_eval.engines.source` allows; the
    message names the estimator, says why the request needs that much data and gives the
    cell-based alternative. For a size argument (resamples, simulated children): the value is
    above the stated limit; the message gives the limit and what it would cost.
    """


class EffectScaleError(InvalidValueError):
    """An effect is on a scale that cannot be turned into a number of children or days.

    The scales that can are listed in :data:`sfpc_eval.impact.SCALES`.
    """


class UnitCostError(InvalidValueError):
    """A unit cost without its source or price year, or with an uncertainty it cannot hold.

    The library never invents a unit cost: every cost is supplied by the user with where it
    comes from and the year its prices are in.
    """


class TableError(InvalidValueError):
    """A table cannot be laid out as asked.

    A term renamed onto another, mixed confidence levels, a model name used twice...
    """


class ExportError(InvalidValueError):
    """A table cannot be written.

    An unknown format, or a folder that is missing or not writable.
    """


class LabelError(SfpcEvalError, KeyError):
    """A ``labels`` mapping names something the figure or table does not show.

    Raised by the plotting functions (and every ``result.plot()``) when a key of ``labels`` is
    not one of the names the figure words: its columns, groups, councils or terms. A misspelt
    key would otherwise be ignored silently and the code name would stay on the chart.

    Attributes
    ----------
    unknown : list of str
        The keys that name nothing in the figure.
    known : list of str
        The names the figure can relabel.
    """

    def __init__(self, message: str, *, unknown: Sequence[str] = (), known: Sequence[str] = ()):
        self.unknown = list(unknown)
        self.known = list(known)
        super().__init__(message)

    def __str__(self) -> str:
        # KeyError would otherwise quote the whole message.
        return str(self.args[0])


class FewClustersWarning(SfpcEvalWarning):
    """An inference method was requested that is not valid with this few clusters.

    For example the normal (Wald z) reference of a mixed model with fewer than about 30
    clusters, which treats the estimated between-cluster variance as known. The message names
    the method, the number of clusters and the default that holds its level.
    """
