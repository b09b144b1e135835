r"""Multiple imputation of missing covariates by chained equations, for trial analyses.

:func:`impute` fills the missing values of child-level covariates ``m`` times, each imputed
data set from its own chain of the chained-equations (fully conditional specification) sampler
of van Buuren and Groothuis-Oudshoorn (``mice``):

1. missing values start as random draws from the observed values of their column;
2. each iteration visits the incomplete columns in turn and redraws the missing values of one
   from its model given the current values of every other column
   (:mod:`sfpc_eval.trials.imputation_models`: ``logreg`` for binary columns, ``polyreg`` for
   unordered categories, ``polr`` for ordered ones, ``pmm`` for numbers), parameters drawn from
   their posterior first;
3. after ``iterations`` sweeps the chain's values are one imputed data set.

Each model conditions on the outcome, the treatment, period and council indicators (the design
of the analysis: leaving the outcome out biases its association with the imputed covariate
towards zero, Moons et al. 2006; leaving out the clusters and periods understates their
correlation, Andridge 2011), every other covariate and any ``auxiliary`` columns; with
``interactions`` (an analysis whose effect varies by period or subgroup) also the treatment's
products with those levels, so that the imputation model is at least as rich as the analysis
model. Predictor columns that are combinations of others are dropped once, as ``mice`` removes
linear dependencies.

What this is built on. statsmodels' ``MICEData`` runs the same sampler but imputes every
variable by predictive mean matching from a Gaussian-perturbed fit of one model class, takes
numeric columns only (no unordered categories), and rebuilds each model from a patsy formula at
every step; the SFPC analyses need logistic, multinomial and ordered models for categorical
covariates and speed at 30,000-50,000 children, so the sampler and the four models are written
here (Newton fits warm-started from the previous iteration, as the data change little between
sweeps). The tests check each model's fit against statsmodels' ``Logit``, ``MNLogit`` and
``OrderedModel`` and the imputations against R's ``mice`` (``tests/test_imputation_mice.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval.cells.categorical import is_categorical
from sfpc_eval.cells.collapse import factorize_sorted
from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.panel import numeric_column, require_columns, require_present
from sfpc_eval.trials.analysis_checks import check_missing
from sfpc_eval.trials.effects import drop_aliased
from sfpc_eval.trials.imputation_models import draw_logreg, draw_pmm, draw_polr, draw_polyreg
from sfpc_eval.trials.imputation_result import ImputedColumn, ImputedData

__all__ = ["METHODS", "MultipleImputation", "impute"]

METHODS = ("logreg", "polyreg", "polr", "pmm")
"""Imputation methods by name, as in ``mice``."""


@dataclass(frozen=True, kw_only=True)
class MultipleImputation:
    """Settings for imputing missing covariates by chained equations.

    Pass to ``stepped_wedge(..., imputations=MultipleImputation(m=20, seed=2026))``; see
    :func:`impute` for the meaning of each field.

    Examples
    --------
    >>> MultipleImputation(m=20, seed=1).m
    20
    """

    m: int = 20
    seed: int | None
    methods: Mapping[str, str] = field(default_factory=dict)
    iterations: int = 10
    auxiliary: Sequence[str] = ()
    donors: int = 5
    progress: bool = True

    def __post_init__(self) -> None:
        _check_settings(self.m, self.iterations, self.donors, self.seed)


def _check_settings(m, iterations, donors, seed) -> None:
    def whole(value) -> bool:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)

    if not whole(m) or m < 2:
        raise InvalidValueError(
            f"`m` must be a whole number of imputations, at least 2; got {m!r}. Rubin's rules "
            "estimate the extra variance due to the missing values from the spread between "
            "imputed data sets, which one data set cannot show; 20 or more is usual (at least "
            "the percentage of incomplete children, White, Royston & Wood 2011)."
        )
    if not whole(iterations) or iterations < 1:
        raise InvalidValueError(
            f"`iterations` must be a positive whole number; got {iterations!r}."
        )
    if not whole(donors) or donors < 1:
        raise InvalidValueError(f"`donors` must be a positive whole number; got {donors!r}.")
    if seed is not None and (not whole(seed) or seed < 0):
        raise InvalidValueError(
            f"`seed` must be a non-negative whole number (or None for fresh randomness); got "
            f"{seed!r}."
        )


@dataclass(eq=False)
class _Variable:
    name: str
    kind: str  # binary, categorical, ordered, numeric
    method: str
    levels: tuple
    codes: np.ndarray  # int codes (categorical kinds; -1 missing) or float values
    missing: np.ndarray
    start: np.ndarray | None = None
    hessian: np.ndarray | None = None

    def block_names(self) -> list[str]:
        """Names of the predictor columns of :meth:`block`."""
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}[{lv}]" for lv in self.levels[1:]]

    def block(self) -> np.ndarray:
        """Return the column as predictors: indicators of each level but the first, or values."""
        if self.kind == "numeric":
            return self.codes[:, None]
        return np.column_stack([self.codes == k for k in range(1, len(self.levels))]).astype(
            np.float64
        )


def _kind(series: pd.Series, name: str) -> tuple[str, tuple]:
    observed = series.dropna()
    if is_categorical(series):
        if isinstance(series.dtype, pd.CategoricalDtype):
            present = set(observed.unique())
            levels = tuple(lv for lv in series.cat.categories if lv in present)
            ordered = bool(series.cat.ordered)
        else:
            unique = list(observed.unique())
            try:
                levels = tuple(sorted(unique))
            except TypeError:
                levels = tuple(sorted(unique, key=str))
            ordered = False
        if len(levels) == 2:
            return "binary", levels
        return ("ordered" if ordered else "categorical"), levels
    values = numeric_column(
        pd.DataFrame({name: series}), name, argument="covariates", allow_missing=True
    )
    distinct = np.unique(values.dropna().to_numpy())
    if len(distinct) == 2 and set(distinct.tolist()) == {0.0, 1.0}:
        return "binary", (0.0, 1.0)
    return "numeric", ()


_ALLOWED = {
    "binary": ("logreg", "polyreg", "pmm"),
    "categorical": ("polyreg",),
    "ordered": ("polr", "polyreg", "pmm"),
    "numeric": ("pmm",),
}
_DEFAULT = {"binary": "logreg", "categorical": "polyreg", "ordered": "polr", "numeric": "pmm"}
_WHY = {
    "binary": "a binary column (two values): use logreg (or polyreg, pmm)",
    "categorical": "an unordered category: use polyreg (for polr, make it an ordered pandas "
    "Categorical)",
    "ordered": "an ordered category: use polr, polyreg or pmm",
    "numeric": "a number: use pmm (logreg, polyreg and polr model categories)",
}


def _variable(data, name, method) -> _Variable:
    series = data[name]
    missing = series.isna().to_numpy()
    if missing.all():
        raise InvalidValueError(
            f"covariate {name!r} is missing in every row: there is nothing to impute it from. "
            "Drop it from the covariates."
        )
    kind, levels = _kind(series, name)
    if kind != "numeric" and len(levels) < 2:
        raise DesignError(
            f"covariate {name!r} has one observed level ({levels[0]!r}): imputing it could only "
            "repeat that level, and a constant has no effect to estimate. Drop it."
        )
    if method is None:
        method = _DEFAULT[kind]
    elif method not in METHODS:
        raise InvalidValueError(
            f"`methods[{name!r}]` must be one of {', '.join(METHODS)}; got {method!r}."
        )
    elif method not in _ALLOWED[kind]:
        raise InvalidValueError(
            f"`methods[{name!r}]` is {method!r}, which does not fit the column: {name!r} is "
            f"{_WHY[kind]}."
        )
    if kind == "numeric":
        codes = numeric_column(
            pd.DataFrame({name: series}), name, argument="covariates", allow_missing=True
        ).to_numpy()
    else:
        lookup = {lv: k for k, lv in enumerate(levels)}
        if kind == "binary" and levels == (0.0, 1.0):
            raw = pd.to_numeric(series).to_numpy()
            codes = np.where(missing, -1, np.nan_to_num(raw)).astype(np.int64)
        else:
            codes = np.array(
                [-1 if m else lookup[v] for v, m in zip(series.to_numpy(), missing, strict=True)],
                dtype=np.int64,
            )
    return _Variable(name, kind, method, tuple(levels), codes, missing)


def _design_block(data, outcome, treated, period, cluster, interactions) -> tuple:
    """Outcome, treatment, period and council indicators (and treatment interactions)."""
    columns = {"(intercept)": np.ones(len(data))}
    columns[outcome] = numeric_column(data, outcome, argument="outcome", binary=True).to_numpy()
    status = numeric_column(data, treated, argument="treated", binary=True).to_numpy()
    columns[treated] = status
    for role, column in (("period", period), ("cluster", cluster)):
        codes, levels = factorize_sorted(data[column])
        for k in range(1, len(levels)):
            columns[f"{column}[{levels[k]}]"] = (codes == k).astype(np.float64)
        if role == "period" and interactions == "period":
            for k in range(len(levels)):
                columns[f"{treated}:{column}[{levels[k]}]"] = status * (codes == k)
    if interactions not in (None, "period"):
        codes, levels = factorize_sorted(data[interactions])
        for k in range(len(levels)):
            columns[f"{treated}:{interactions}[{levels[k]}]"] = status * (codes == k)
    return columns


def impute(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    outcome: str,
    cluster: str,
    period: str,
    treated: str,
    m: int = 20,
    seed: int | None,
    methods: Mapping[str, str] | None = None,
    iterations: int = 10,
    auxiliary: Sequence[str] = (),
    donors: int = 5,
    interactions: str | None = None,
    progress: bool = True,
) -> ImputedData:
    """Impute missing covariates ``m`` times by chained equations.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child (not modified).
    covariates : sequence of str
        The analysis covariates; the incomplete ones are imputed, all are predictors.
    outcome, cluster, period, treated : str
        Outcome (complete, 0/1), council, period and treatment columns: predictors of every
        imputation model.
    m : int, default 20
        Imputed data sets (at least 2).
    seed : int or None
        Seed of the ``m`` independent chains (keyword, required: pass None for fresh
        randomness).
    methods : mapping, optional
        Method per column (``logreg``, ``polyreg``, ``polr``, ``pmm``); default ``logreg`` for
        two-valued columns, ``polr`` for ordered categories, ``polyreg`` for other categories,
        ``pmm`` for numbers.
    iterations : int, default 10
        Sweeps of the sampler per chain (``mice``'s ``maxit``).
    auxiliary : sequence of str, default ()
        Extra predictors (imputed too if incomplete) that are not analysis covariates.
    donors : int, default 5
        Predictive mean matching: candidate donors per missing value.
    interactions : str, optional
        ``"period"`` or a column: add the treatment's products with its levels to every model
        (for analyses with ``effect_by``).
    progress : bool, default True
        Show a progress bar (tqdm).

    Returns
    -------
    ImputedData

    Raises
    ------
    InvalidValueError
        ``m`` below 2; an unknown method or one that does not fit the column's type; a
        missing outcome (which is not imputed: the message says why); a covariate missing in
        every row.
    DesignError
        A covariate missing in every row of a council (its model would have nothing to learn
        that council's values from); a categorical covariate with one observed level.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> df = pd.DataFrame({"la": np.repeat([0, 1, 2, 3], 100), "period": np.tile(range(5), 80)})
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> df["eth"] = rng.choice(["White", "Black", "Asian"], 400)
    >>> df["y"] = rng.binomial(1, 0.2, 400)
    >>> df.loc[rng.random(400) < 0.1, "eth"] = None
    >>> imp = impute(df, ["eth"], outcome="y", cluster="la", period="period",
    ...              treated="treated", m=3, seed=1, progress=False)
    >>> int(imp.dataset(0)["eth"].isna().sum()), imp.columns["eth"].method
    (0, 'polyreg')
    """
    from tqdm.auto import tqdm

    _check_settings(m, iterations, donors, seed)
    covariates, auxiliary = list(covariates), list(auxiliary)
    methods = dict(methods or {})
    roles = {"outcome": outcome, "cluster": cluster, "period": period, "treated": treated}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    roles |= {f"auxiliary[{i}]": c for i, c in enumerate(auxiliary)}
    require_columns(data, roles)
    for argument, column in (("cluster", cluster), ("period", period), ("treated", treated)):
        require_present(data, column, argument=argument)
    check_missing(data, [], outcome=outcome)
    every = covariates + [a for a in auxiliary if a not in covariates]
    stray = [c for c in methods if c not in every]
    if stray:
        raise InvalidValueError(
            f"`methods` names {show_values(stray)}, which are not covariates or auxiliary "
            f"columns ({show_values(every)})."
        )
    variables = [_variable(data, c, methods.get(c)) for c in every]
    incomplete = [v for v in variables if v.missing.any()]
    unused = [c for c in methods if not data[c].isna().any()]
    notes = [f"no missing values in {show_values(unused)}: nothing imputed."] if unused else []
    _check_clusters(data, cluster, incomplete)
    design = _design_block(data, outcome, treated, period, cluster, interactions)
    complete_blocks = [v.block() for v in variables if not v.missing.any()]
    fixed = np.column_stack([*design.values(), *complete_blocks])
    names = [*design, *[n for v in variables if not v.missing.any() for n in v.block_names()]]
    fixed, _, dropped = drop_aliased(fixed, names, [])
    if dropped:
        notes.append(
            f"predictors dropped as linear combinations of others: {show_values(dropped)}."
        )
    trace_rows: list[tuple] = []
    draws = {v.name: [] for v in incomplete}
    buffers = {}  # predictors of each incomplete column: the fixed block, then the others
    for v in incomplete:
        width = fixed.shape[1] + sum(w.block().shape[1] for w in incomplete if w is not v)
        buffers[v.name] = np.empty((len(data), width))
        buffers[v.name][:, : fixed.shape[1]] = fixed
    seeds = np.random.SeedSequence(seed).spawn(m)
    bar = tqdm(total=m * iterations, desc="imputing", disable=not progress, leave=False)
    for chain in range(m):
        gen = np.random.default_rng(seeds[chain])
        for v in incomplete:  # start from random draws of the observed values
            observed = v.codes[~v.missing]
            v.codes = v.codes.copy()
            v.codes[v.missing] = gen.choice(observed, size=int(v.missing.sum()))
        for it in range(1, iterations + 1):
            for v in incomplete:
                x = buffers[v.name]
                col = fixed.shape[1]
                for w in incomplete:
                    if w is not v:
                        block = w.block()
                        x[:, col : col + block.shape[1]] = block
                        col += block.shape[1]
                _redraw(v, x, gen, donors, exact=it in (1, iterations))
                trace_rows += _trace(v, chain + 1, it)
            bar.update(1)
        for v in incomplete:
            draws[v.name].append(v.codes[v.missing].copy())
    bar.close()
    columns = {
        v.name: ImputedColumn(
            name=v.name,
            method=v.method,
            kind=v.kind,
            levels=v.levels,
            missing=v.missing,
            draws=np.vstack(draws[v.name]),
        )
        for v in incomplete
    }
    trace = pd.DataFrame(
        trace_rows, columns=["imputation", "iteration", "column", "statistic", "value"]
    )
    return ImputedData(
        data=data,
        columns=columns,
        m=int(m),
        iterations=int(iterations),
        seed=seed,
        predictors=(outcome, treated, period, cluster, *every),
        trace=trace,
        notes=tuple(notes),
    )


def _check_clusters(data, cluster, incomplete) -> None:
    clusters = data[cluster].to_numpy()
    for v in incomplete:
        frame = pd.DataFrame({"c": clusters, "seen": ~v.missing})
        seen = frame.groupby("c")["seen"].sum()
        empty = [c for c, k in seen.items() if k == 0]
        if empty:
            raise DesignError(
                f"covariate {v.name!r} is missing for every child in {cluster} "
                f"{show_values(empty)}: with council indicators in the imputation model there is "
                "nothing to learn that council's values from, and without them its children "
                "would be imputed as if they lived elsewhere. Ask the council for the data, or "
                "leave the covariate out of the analysis (and say so)."
            )


def _redraw(v: _Variable, x: np.ndarray, gen, donors: int, *, exact: bool) -> None:
    """Redraw the missing values of ``v`` from its model given the other columns ``x``.

    The categorical models start Newton's method from the previous sweep's estimates and reuse
    its Hessian for the steps (:func:`~sfpc_eval.trials.imputation_models._newton`); with
    ``exact`` (the first and last sweep of a chain) the parameter draw uses the Hessian at the
    current optimum, otherwise the previous sweep's, which differs only through the few imputed
    values that changed in between. The last sweep, which makes the imputed data set, is always
    exact.
    """
    observed = ~v.missing
    if v.method == "pmm":
        values = v.codes.astype(np.float64)
        new = draw_pmm(x, values, observed, gen, donors)
        v.codes = v.codes.copy()
        v.codes[v.missing] = new.astype(v.codes.dtype)
        return
    k = len(v.levels)
    if v.method == "logreg":
        draw = draw_logreg(x, v.codes, observed, gen, v.start, v.hessian, exact)
    elif v.method == "polyreg":
        draw = draw_polyreg(x, v.codes, observed, k, gen, v.start, v.hessian, exact)
    else:
        draw = draw_polr(x, v.codes, observed, k, gen, v.start)
    new, v.start, v.hessian = draw
    v.codes = v.codes.copy()
    v.codes[v.missing] = new


def _trace(v: _Variable, chain: int, iteration: int) -> list[tuple]:
    imputed = v.codes[v.missing]
    if v.kind == "numeric":
        return [
            (chain, iteration, v.name, "mean", float(imputed.mean())),
            (
                chain,
                iteration,
                v.name,
                "sd",
                float(imputed.std(ddof=1)) if len(imputed) > 1 else 0.0,
            ),
        ]
    shares = np.bincount(imputed, minlength=len(v.levels)) / max(len(imputed), 1)
    return [
        (chain, iteration, v.name, str(level), float(share))
        for level, share in zip(v.levels, shares, strict=True)
    ]
