"""Categorical covariates turned into indicator columns, with a chosen reference level.

The child-level covariates of the SFPC analyses are mostly categories: age band at referral,
gender, ethnicity, disability, unaccompanied asylum-seeking status, month of referral. R's model
formulas expand such a factor into one indicator per level but the first; :func:`expand_covariates`
does the same for text, ``category`` and boolean columns so that every estimator built on
numeric regressors (``stepped_wedge``, ``did``, the event study) takes them as they come:

- a column is **categorical** when it is a pandas ``category``, boolean or text column (unless
  every value of the text is a number, which is read as a number as before), or when it is
  named in ``categorical=``; other columns are numeric and enter as they are;
- the **levels** are those present in the data: the declared order of a ``category`` column
  (declared levels with no rows are dropped, with a note), otherwise sorted as R's
  ``factor()`` sorts them; ``False`` before ``True``;
- the **reference** level is the first unless ``reference={"column": level}`` says otherwise;
- each other level gets a column named ``"column[level]"`` (``"ethnicity[Black]"``: level
  ``Black`` of ``ethnicity``), 1 for rows at that level and 0 otherwise;
- levels with fewer than ``rare`` rows are reported in the notes (their effects are imprecise;
  merging them is the usual remedy), and a column with a single level is refused (a constant
  has no effect to estimate).

The result, :class:`CovariateCoding`, rebuilds the same columns for other rows
(:meth:`CovariateCoding.matrix`), which is what predictions and marginal effects on new or
counterfactual data need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._validate import is_suppression_symbol
from sfpc_eval.errors import DesignError, InvalidValueError, show_values

__all__ = [
    "CovariateCoding",
    "VariableCoding",
    "expand_covariates",
    "is_categorical",
    "with_indicators",
]

RARE = 10
"""Default ``rare``: levels with fewer rows than this are listed in the notes."""

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_CODE = re.compile(r"^0\d+$")  # "01", "007": a code written with its leading zero


@dataclass(frozen=True)
class VariableCoding:
    """How one covariate enters the model.

    Attributes
    ----------
    variable : str
        The data column.
    kind : {"numeric", "categorical"}
    levels : tuple
        Categorical: the levels present, the reference first and the others in their order.
        Numeric: empty.
    reference : object
        The reference level (categorical) or None.
    columns : tuple of str
        The model columns: the variable itself (numeric) or ``variable[level]`` per non-reference
        level.
    counts : tuple of int
        Rows at each level (categorical), in the order of ``levels``.
    """

    variable: str
    kind: str
    levels: tuple = ()
    reference: object = None
    columns: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()

    def level_of(self, column: str) -> object:
        """Return the level a model column stands for."""
        others = [lv for lv in self.levels if lv != self.reference]
        return others[self.columns.index(column)]


@dataclass(frozen=True)
class CovariateCoding:
    """The numeric model columns built from a list of covariates.

    Attributes
    ----------
    variables : tuple of VariableCoding
        One per covariate, in the order given.
    notes : tuple of str
        Rare levels and declared levels with no rows.
    """

    variables: tuple[VariableCoding, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        """Every model column, in order."""
        return tuple(c for v in self.variables for c in v.columns)

    @property
    def categorical(self) -> tuple[str, ...]:
        """The covariates coded as categories."""
        return tuple(v.variable for v in self.variables if v.kind == "categorical")

    def variable_of(self, column: str) -> VariableCoding:
        """Return the coding a model column belongs to."""
        for v in self.variables:
            if column in v.columns:
                return v
        raise KeyError(f"{column!r} is not a model column; columns are {self.columns}")

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Build the model columns for ``data`` (rows x columns, float64).

        Levels not seen when the coding was made are refused.
        """
        parts = []
        for v in self.variables:
            if v.kind == "numeric":
                parts.append(pd.to_numeric(data[v.variable]).to_numpy(dtype=np.float64)[:, None])
                continue
            values = data[v.variable].to_numpy()
            known = set(v.levels)
            unseen = sorted({x for x in values if x not in known}, key=str)
            if unseen:
                raise InvalidValueError(
                    f"covariate {v.variable!r} has levels {show_values(unseen)} that the model "
                    f"was not fitted with (its levels are {show_values(list(v.levels))})."
                )
            others = [lv for lv in v.levels if lv != v.reference]
            parts.append(np.column_stack([values == lv for lv in others]).astype(np.float64))
        if not parts:
            return np.zeros((len(data), 0))
        return np.hstack(parts)

    def frame(self, data: pd.DataFrame) -> pd.DataFrame:
        """Build the model columns for ``data`` as a DataFrame with ``data``'s index."""
        return pd.DataFrame(self.matrix(data), index=data.index, columns=list(self.columns))


def is_categorical(series: pd.Series) -> bool:
    """Tell whether a column is a category: ``category``, boolean, or text not all numbers.

    Text mixing numbers with DfE suppression symbols (``"12"``, ``"c"``) is a numeric column
    with suppressed cells, not a category: it is left to the numeric checks, which refuse it.
    Text numbers written with a leading zero (``"01"`` ... ``"12"`` for months, ``"08"`` for a
    code) are codes, not quantities: a category.

    Examples
    --------
    >>> import pandas as pd
    >>> is_categorical(pd.Series(["White", "Black"])), is_categorical(pd.Series(["1", "2"]))
    (True, False)
    >>> is_categorical(pd.Series(["01", "02", "11"]))
    True
    """
    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series):
        return False
    values = [v for v in series.dropna().unique() if not (isinstance(v, str) and not v.strip())]
    if not values:
        return False
    if all(isinstance(v, bool | np.bool_) for v in values):
        return True
    numbers = [
        v
        for v in values
        if (isinstance(v, str) and _NUMBER.match(v))
        or (isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_))
    ]
    symbols = [v for v in values if is_suppression_symbol(v)]
    if any(isinstance(v, str) and _CODE.match(v.strip()) for v in numbers):
        return True
    return len(numbers) + len(symbols) < len(values) or not numbers


def _levels(series: pd.Series) -> tuple[list, list[str]]:
    """Levels present in ``series`` (declared order or sorted) and notes on empty ones."""
    notes = []
    present = series.dropna()
    if isinstance(series.dtype, pd.CategoricalDtype):
        counts = present.value_counts()
        declared = list(series.cat.categories)
        levels = [lv for lv in declared if counts.get(lv, 0) > 0]
        empty = [lv for lv in declared if counts.get(lv, 0) == 0]
        if empty:
            notes.append(
                f"{series.name!r}: declared level(s) {show_values(empty)} have no rows in these "
                "data and are left out of the model."
            )
        return levels, notes
    unique = list(present.unique())
    try:
        levels = sorted(unique)
    except TypeError:
        levels = sorted(unique, key=str)
    return levels, notes


def _column_name(variable: str, level: object) -> str:
    if isinstance(level, bool | np.bool_):
        return f"{variable}[{bool(level)}]"
    return f"{variable}[{level}]"


def expand_covariates(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    reference: Mapping[str, object] | None = None,
    categorical: Iterable[str] = (),
    rare: int = RARE,
    argument: str = "covariates",
) -> tuple[pd.DataFrame, CovariateCoding]:
    """Turn categorical covariates into indicator columns with a chosen reference level.

    Parameters
    ----------
    data : pandas.DataFrame
        The rows (not modified). Covariates must have no missing values here (impute first).
    covariates : sequence of str
        Covariate columns: numeric ones enter as they are; categorical ones (see
        :func:`is_categorical`, or named in ``categorical``) become indicators.
    reference : mapping, optional
        Reference level per categorical covariate (default: the first level).
    categorical : iterable of str, default ()
        Numeric columns to treat as categories (e.g. a month coded 1-12).
    rare : int, default 10
        Levels with fewer rows are named in the notes.
    argument : str, default "covariates"
        The argument name used in messages.

    Returns
    -------
    frame : pandas.DataFrame
        The model columns (numeric covariates and indicators), with ``data``'s index.
    coding : CovariateCoding
        How each covariate was coded, with the notes.

    Raises
    ------
    InvalidValueError
        A reference level not in the data, ``reference`` or ``categorical`` naming a column
        that is not a covariate, a model column name that already exists in the data.
    DesignError
        A categorical covariate with a single level.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"eth": ["White", "Black", "Asian", "White"], "age": [1, 4, 9, 15]})
    >>> frame, coding = expand_covariates(df, ["eth", "age"], reference={"eth": "White"})
    >>> list(frame.columns)
    ['eth[Asian]', 'eth[Black]', 'age']
    >>> frame["eth[Black]"].tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    covariates = list(covariates)
    reference = dict(reference or {})
    categorical = set(categorical)
    for name, given in (("reference", reference), ("categorical", categorical)):
        stray = [c for c in given if c not in covariates]
        if stray:
            raise InvalidValueError(
                f"`{name}` names {show_values(stray)}, which are not among the {argument} "
                f"({show_values(covariates)})."
            )
    variables, notes, columns = [], [], {}
    for c in covariates:
        series = data[c]
        if c not in categorical and not is_categorical(series):
            variables.append(VariableCoding(variable=c, kind="numeric", columns=(c,)))
            columns[c] = series
            if not pd.api.types.is_numeric_dtype(series):
                notes.append(
                    f"{c!r} is text holding numbers and is used as a number; name it in "
                    "categorical= to treat its values as categories."
                )
            continue
        levels, empty = _levels(series.rename(c))
        notes += empty
        if len(levels) < 2:
            shown = f"one level ({levels[0]!r})" if levels else "no observed level"
            raise DesignError(
                f"categorical covariate {c!r} has {shown} in these data: it is the same for "
                "every child, so it has no effect to estimate. Drop it from the covariates (or, "
                "in a subset such as one council, check that the subset is the one intended)."
            )
        ref = reference.get(c, levels[0])
        if ref not in levels:
            raise InvalidValueError(
                f"`reference` for {c!r} is {ref!r}, which is not one of its levels in these data: "
                f"{show_values(levels)}."
            )
        ordered = [ref, *[lv for lv in levels if lv != ref]]
        values = series.to_numpy()
        counts = tuple(int(np.sum(values == lv)) for lv in ordered)
        names = tuple(_column_name(c, lv) for lv in ordered[1:])
        clash = [n for n in names if n in data.columns]
        if clash:
            raise InvalidValueError(
                f"the indicator columns of {c!r} would be called {show_values(clash)}, but the "
                "data already have columns with those names; rename them."
            )
        few = [f"{lv!r} ({k} rows)" for lv, k in zip(ordered, counts, strict=True) if k < rare]
        if few:
            notes.append(
                f"{c!r}: rare level(s) {', '.join(few)}: their effects are imprecise; consider "
                "merging them with a neighbouring level."
            )
        for lv, name in zip(ordered[1:], names, strict=True):
            columns[name] = (values == lv).astype(np.float64)
        variables.append(
            VariableCoding(
                variable=c,
                kind="categorical",
                levels=tuple(ordered),
                reference=ref,
                columns=names,
                counts=counts,
            )
        )
    frame = pd.DataFrame(columns, index=data.index)
    return frame, CovariateCoding(variables=tuple(variables), notes=tuple(notes))


def with_indicators(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    reference: Mapping[str, object] | None = None,
    categorical: Iterable[str] = (),
) -> tuple[pd.DataFrame, tuple[str, ...], CovariateCoding | None]:
    """Add indicator columns for the categorical covariates to a copy of ``data``.

    Returns the data (``data`` itself when every covariate is numeric and nothing is named in
    ``reference`` or ``categorical``), the model's covariate columns and the coding (None when
    nothing was expanded). Used by ``did`` and ``event_study``, whose fits take numeric columns.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["a", "b", "a"]})
    >>> out, names, _ = with_indicators(df, ["x", "g"])
    >>> names, "g" in df and "g[b]" not in df
    (('x', 'g[b]'), True)
    """
    categorical = tuple(categorical)
    needed = (
        reference
        or categorical
        or any(c in data.columns and is_categorical(data[c]) for c in covariates)
    )
    if not needed:
        return data, tuple(covariates), None
    frame, coding = expand_covariates(
        data, covariates, reference=reference, categorical=categorical
    )
    added = frame[[c for c in frame.columns if c not in data.columns]]
    return pd.concat([data, added], axis=1), coding.columns, coding
