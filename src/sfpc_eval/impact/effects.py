"""An effect on a scale that can be turned into children (or days), with its sampling distribution.

An :class:`Effect` is a point estimate, its standard error and its scale. Differences
(``risk_difference``, ``rate_difference``, ``days_difference``) are normal (or Student t) on their
own scale; ratios (``risk_ratio``, ``rate_ratio``) are normal on the log scale, with a baseline
risk or rate that turns them into an absolute change. :meth:`Effect.per_person` is that change
for one child (or one child-year) of the population, :meth:`Effect.draws` samples it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sfpc_eval._validate import (
    check_conf_level,
    check_number,
    check_positive,
    check_proportion,
)
from sfpc_eval.errors import EffectScaleError, InvalidValueError
from sfpc_eval.results import ResultMixin, Term

__all__ = ["SCALES", "Effect", "as_effect"]

SCALES: dict[str, str] = {
    "risk_difference": "difference in the share of children with the outcome (0.086 = 8.6 points)",
    "rate_difference": "difference in a rate per `per` children a year (per=10000 for per 10,000)",
    "days_difference": "difference in days (in care, on a plan) per child",
    "risk_ratio": "ratio of risks, with the baseline risk of the population (a share)",
    "rate_ratio": "ratio of rates, with the baseline rate of the population per `per` children",
}
"""Scales an effect can be on to be turned into children (or days) per year."""

_RATIOS = ("risk_ratio", "rate_ratio")
_NOT_CONVERTIBLE = {
    "odds_ratio": "an odds ratio needs a model to become a change in risk; report the marginal "
    "risk difference (an average marginal effect) and pass it as 'risk_difference'",
    "percent_change": "a percentage change is a ratio: pass it as 'rate_ratio' "
    "(estimate = 1 + change/100) with the baseline rate",
    "hazard_ratio": "a hazard ratio needs the follow-up and baseline hazard; pass the risk "
    "difference at a fixed time",
    "standardised_mean_difference": "a standardised difference has no unit; pass the difference "
    "on the outcome's own scale",
}
_TERM_SCALES = {
    "risk_difference": "risk_difference",
    "risk_ratio": "risk_ratio",
    "rate_ratio": "rate_ratio",
    "ratio": None,
    "difference": None,
}


def _scale_error(scale: object) -> EffectScaleError:
    allowed = "; ".join(f"{k!r} ({v})" for k, v in SCALES.items())
    why = _NOT_CONVERTIBLE.get(str(scale))
    hint = f" For {scale!r}: {why}." if why else ""
    return EffectScaleError(
        f"`scale` is {scale!r}, which cannot be turned into a number of children or days.{hint} "
        f"Scales that can: {allowed}."
    )


@dataclass(frozen=True)
class Effect:
    """An estimated effect and its sampling distribution.

    Parameters
    ----------
    estimate : float
        The effect: a difference on its own scale (a risk difference as a share, -0.086 for 8.6
        points fewer), or a ratio (0.81).
    std_error : float
        Standard error of a difference on its own scale, or of the **log** of a ratio. Zero
        means the effect is taken as known (no interval).
    scale : str
        One of :data:`SCALES`.
    per : float, default 1
        For ``rate_difference`` and ``rate_ratio``: the rate is per this many children a year
        (10,000 for the DfE's rates per 10,000).
    baseline : float, optional
        For ratios: the risk (a share, ``risk_ratio``) or the rate per ``per`` (``rate_ratio``)
        without the programme, in the population the effect is applied to. Taken as known.
    df : float, default inf
        Degrees of freedom of the estimate's t reference (inf for a normal reference).
    label : str, optional
        What the effect is (shown in tables).
    source : str, optional
        Where it comes from (a claim id, a report, a model).

    Examples
    --------
    >>> fgc = Effect(-0.086, 0.019, "risk_difference", label="looked after at 12 months")
    >>> fgc.per_person()
    -0.086
    >>> round(Effect(0.8, 0.1, "rate_ratio", per=10_000, baseline=70).per_person(), 6)
    -0.0014
    """

    estimate: float
    std_error: float
    scale: str
    per: float = 1.0
    baseline: float | None = None
    df: float = math.inf
    label: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise _scale_error(self.scale)
        estimate = check_number(self.estimate, "estimate")
        std_error = check_number(self.std_error, "std_error")
        if std_error < 0:
            raise InvalidValueError(f"`std_error` cannot be negative; got {self.std_error!r}.")
        per = check_positive(self.per, "per")
        df = float(self.df)
        if math.isnan(df) or df <= 0:
            raise InvalidValueError(f"`df` must be positive (inf for normal); got {self.df!r}.")
        if self.scale in _RATIOS:
            if estimate <= 0:
                raise InvalidValueError(
                    f"`estimate` is a {self.scale} and must be positive; got {self.estimate!r}."
                )
            if self.baseline is None:
                what = "risk (a share)" if self.scale == "risk_ratio" else f"rate per {per:g}"
                raise InvalidValueError(
                    f"a {self.scale} needs `baseline`: the {what} without the programme in the "
                    "population, so the ratio can become a number of children."
                )
        if self.scale == "risk_difference" and not -1 <= estimate <= 1:
            hint = (
                f" If {estimate:g} is in points, pass {estimate / 100:g}."
                if abs(estimate) <= 100
                else ""
            )
            raise InvalidValueError(
                f"`estimate` is a risk difference and must be between -1 and 1; got "
                f"{self.estimate!r}.{hint}"
            )
        if self.baseline is not None:
            if self.scale not in _RATIOS:
                raise InvalidValueError(
                    f"`baseline` is used only by ratios ({', '.join(_RATIOS)}); a {self.scale} "
                    "is already a change. Leave `baseline` out."
                )
            base = (
                check_proportion(self.baseline, "baseline")
                if self.scale == "risk_ratio"
                else check_number(self.baseline, "baseline")
            )
            if base < 0:
                raise InvalidValueError(f"`baseline` cannot be negative; got {self.baseline!r}.")
            object.__setattr__(self, "baseline", base)
        object.__setattr__(self, "estimate", estimate)
        object.__setattr__(self, "std_error", std_error)
        object.__setattr__(self, "per", per)
        object.__setattr__(self, "df", df)

    @property
    def is_ratio(self) -> bool:
        """True for ``risk_ratio`` and ``rate_ratio`` (normal on the log scale)."""
        return self.scale in _RATIOS

    @property
    def unit(self) -> str:
        """``"days"`` for a difference in days, else ``"children"``."""
        return "days" if self.scale == "days_difference" else "children"

    def _factor(self) -> float:
        # per-person change = factor * (estimate - 1) for ratios, factor * estimate otherwise
        if self.scale == "risk_ratio":
            return float(self.baseline)  # type: ignore[arg-type]
        if self.scale == "rate_ratio":
            return float(self.baseline) / self.per  # type: ignore[arg-type]
        if self.scale == "rate_difference":
            return 1.0 / self.per
        return 1.0

    def per_person(self, value: float | np.ndarray | None = None) -> Any:
        """Change per child of the population a year (days per child for days).

        Parameters
        ----------
        value : float or array, optional
            An effect on the estimate's scale (a ratio for ratios); defaults to the estimate.
        """
        theta = self.estimate if value is None else value
        if self.is_ratio:
            return self._factor() * (theta - 1.0)
        return self._factor() * theta

    def per_person_std_error(self) -> float:
        """Delta-method standard error of :meth:`per_person`."""
        if self.is_ratio:
            return self._factor() * self.estimate * self.std_error
        return self._factor() * self.std_error

    def critical_value(self, conf_level: float) -> float:
        """Two-sided quantile of the estimate's reference distribution (normal or t)."""
        upper = 1 - (1 - conf_level) / 2
        return float(stats.norm.ppf(upper) if math.isinf(self.df) else stats.t.ppf(upper, self.df))

    def interval(self, conf_level: float) -> tuple[float, float]:
        """Interval of the effect on its own scale (ratios: exponentiated log-scale limits)."""
        z = self.critical_value(conf_level)
        if self.is_ratio:
            log = math.log(self.estimate)
            return math.exp(log - z * self.std_error), math.exp(log + z * self.std_error)
        return self.estimate - z * self.std_error, self.estimate + z * self.std_error

    def draws(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw effects from the sampling distribution (ratios on the log scale)."""
        noise = rng.standard_normal(size) if math.isinf(self.df) else rng.standard_t(self.df, size)
        if self.is_ratio:
            return np.exp(math.log(self.estimate) + self.std_error * noise)
        return self.estimate + self.std_error * noise

    def describe(self) -> str:
        """One line: the effect, its standard error and scale."""
        if self.is_ratio:
            text = f"{self.scale} {self.estimate:.4g} (SE of log {self.std_error:.4g})"
            return (
                text
                + f", baseline {self.baseline:.4g}"
                + (f" per {self.per:,.0f}" if self.scale == "rate_ratio" else "")
            )
        per = f" per {self.per:,.0f}" if self.scale == "rate_difference" else ""
        return f"{self.scale} {self.estimate:.4g}{per} (SE {self.std_error:.4g})"


def _std_error_from(term: Term, scale: str, conf_level: float) -> float:
    """Return a term's standard error, or one read back from its interval when it has none."""
    ratio = scale in _RATIOS
    if not math.isnan(term.std_error) and not ratio:
        return term.std_error
    if math.isnan(term.conf_low) or math.isnan(term.conf_high):
        raise InvalidValueError(
            f"term {term.term!r} has neither a standard error nor an interval, so its "
            "uncertainty is unknown; pass the group sizes to the estimator, or build an "
            "`Effect` with the standard error from the source."
        )
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    if ratio:
        if term.conf_low <= 0 or math.isinf(term.conf_high):
            raise InvalidValueError(
                f"term {term.term!r} has the interval [{term.conf_low}, {term.conf_high}], "
                "whose log is not finite; the ratio's uncertainty cannot be read from it."
            )
        return (math.log(term.conf_high) - math.log(term.conf_low)) / (2 * z)
    return (term.conf_high - term.conf_low) / (2 * z)


def _t_reference(term: Term, std_error: float, scale: str, conf_level: float) -> float:
    """Return the term's df when its interval is ``estimate +- t(df) * SE``, else inf.

    A term's ``df`` can also be a chi-square test's; it is taken as a t reference only when the
    interval's half-width is the t quantile times the standard error.
    """
    df = term.df
    if scale in _RATIOS or not (df > 0) or math.isinf(df) or std_error == 0:
        return math.inf
    half = (term.conf_high - term.conf_low) / 2
    t_quantile = float(stats.t.ppf(1 - (1 - conf_level) / 2, df))
    return df if math.isclose(half / std_error, t_quantile, rel_tol=1e-6) else math.inf


def as_effect(
    effect: Effect | Term | ResultMixin,
    *,
    term: str | None = None,
    scale: str | None = None,
    per: float | None = None,
    baseline: float | None = None,
    label: str = "",
    conf_level: float = 0.95,
) -> Effect:
    """Turn an effect, a result's term or a result into an :class:`Effect`.

    Parameters
    ----------
    effect : Effect, Term or result
        A result of the library (``compare_proportions``, ``did``...), one of its terms, or an
        :class:`Effect` (returned unchanged).
    term : str, optional
        Which term of a result (default: ``risk_difference`` where the result has one).
    scale : str, optional
        The scale (one of :data:`SCALES`); read from the term's name where it says
        (``risk_difference``, ``risk_ratio``, ``rate_ratio``), else required.
    per, baseline : float, optional
        As for :class:`Effect`; ``per`` defaults to the result's own ``per`` where it has one.
    label : str, optional
        What the effect is.
    conf_level : float, default 0.95
        For a bare :class:`~sfpc_eval.Term`: the level of its interval (a result knows its own).

    Returns
    -------
    Effect
        With the term's standard error, or one read back from its interval
        (``(high - low) / (2 z)``, on the log scale for ratios) where the term has none.

    Raises
    ------
    EffectScaleError
        The scale cannot be turned into children (the message lists the scales that can).

    Examples
    --------
    >>> import sfpc_eval as se
    >>> trial = se.compare_proportions((362, 1000), (448, 1000))
    >>> effect = as_effect(trial, label="looked after at 12 months")
    >>> effect.scale, round(effect.estimate, 3), round(effect.std_error, 4)
    ('risk_difference', -0.086, 0.0219)
    """
    if isinstance(effect, Effect):
        given = {
            k: v
            for k, v in {"term": term, "scale": scale, "per": per, "baseline": baseline}.items()
            if v is not None
        }
        if given or label:
            names = ", ".join([*given, *(["label"] if label else [])])
            raise InvalidValueError(
                f"{names} apply to results and terms; an Effect already has them. Build the "
                "Effect with those values instead."
            )
        return effect
    conf_level = check_conf_level(conf_level)
    if isinstance(effect, Term):
        chosen = effect
    elif isinstance(effect, ResultMixin):
        names = [t.term for t in effect.terms]
        name = term or ("risk_difference" if "risk_difference" in names else None)
        if name is None:
            raise InvalidValueError(
                f"`term` is needed to say which term of the result is the effect; the result "
                f"has: {', '.join(names)}."
            )
        if name not in names:
            raise InvalidValueError(
                f"`term` {name!r} is not a term of the result; it has: {', '.join(names)}."
            )
        chosen = effect.term(name)
        conf_level = effect.conf_level
        if per is None and getattr(effect, "per", None) is not None and name == "difference":
            per = float(effect.per)
    else:
        raise InvalidValueError(
            f"`effect` must be an Effect, a Term or a result; got {type(effect).__name__}."
        )
    chosen_scale = scale or _TERM_SCALES.get(chosen.term)
    if chosen_scale is None:
        if chosen.term in _NOT_CONVERTIBLE:
            raise _scale_error(chosen.term)
        raise EffectScaleError(
            f"term {chosen.term!r} does not say its scale; pass `scale`, one of "
            f"{', '.join(SCALES)}."
        )
    if chosen_scale not in SCALES:
        raise _scale_error(chosen_scale)
    if not chosen.valid:
        raise InvalidValueError(
            f"term {chosen.term!r} is marked not valid for its design ({chosen.note}); an "
            "impact built on it would carry an invalid interval. Re-estimate with inference "
            "valid for the design."
        )
    std_error = _std_error_from(chosen, chosen_scale, conf_level)
    return Effect(
        estimate=chosen.estimate,
        std_error=std_error,
        scale=chosen_scale,
        per=1.0 if per is None else per,
        baseline=baseline,
        df=_t_reference(chosen, std_error, chosen_scale, conf_level),
        label=label or chosen.term,
    )
