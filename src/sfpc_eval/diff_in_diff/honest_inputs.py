"""Event-time coefficients and their covariance, as HonestDiD needs them.

Every event-study-type result (:func:`~sfpc_eval.event_study`, :func:`~sfpc_eval.sun_abraham`,
:func:`~sfpc_eval.imputation`, the dynamic aggregation of
:func:`~sfpc_eval.callaway_santanna`) hands its estimates over as :class:`EventTimeEstimates`
through an ``event_time_estimates()`` method; :func:`~sfpc_eval.honest_did` reads only that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sfpc_eval.errors import DesignError, InvalidValueError, show_values

__all__ = ["EventTimeEstimates"]


@dataclass(frozen=True)
class EventTimeEstimates:
    """Event-time estimates relative to one reference period, with their covariance.

    Attributes
    ----------
    event_times : tuple of int
        Event time (periods since adoption) of each estimate, in order.
    estimates : numpy.ndarray
        One estimate per event time.
    vcov : numpy.ndarray
        Their covariance matrix.
    reference : int or None
        The omitted event time every estimate is relative to (None when the estimates are not
        relative to a common period, e.g. imputation effects).
    source : str
        What produced them (the result's title).
    valid : bool
        False when their covariance comes from a method that is not valid for the design (the
        result's rows say so); every HonestDiD interval built on it is then marked invalid too.
    note : str
        Why not, when ``valid`` is False.

    Examples
    --------
    >>> import numpy as np
    >>> est = EventTimeEstimates((-3, -2, 0, 1), np.array([0.1, 0.0, 1.0, 1.2]),
    ...                          np.eye(4) * 0.01, reference=-1)
    >>> betahat, sigma, n_pre, post = est.split()
    >>> n_pre, post
    (2, (0, 1))
    """

    event_times: tuple[int, ...]
    estimates: np.ndarray = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    reference: int | None = -1
    source: str = ""
    valid: bool = True
    note: str = ""

    def split(self) -> tuple[np.ndarray, np.ndarray, int, tuple[int, ...]]:
        """Check the estimates suit HonestDiD; return ``(betahat, sigma, n_pre, post_times)``.

        Pre-periods are the event times before the reference, post-periods those after it;
        together with the reference they must be consecutive.

        Raises
        ------
        DesignError
            No reference period, no pre- or post-period estimate, or gaps in the event times.
        InvalidValueError
            Shapes that do not match, or non-finite values.
        """
        what = self.source or "the result"
        times = [int(t) for t in self.event_times]
        est = np.asarray(self.estimates, dtype=float).reshape(-1)
        vcov = np.asarray(self.vcov, dtype=float)
        if len(est) != len(times) or vcov.shape != (len(times), len(times)):
            raise InvalidValueError(
                f"{len(times)} event times need {len(times)} estimates and a "
                f"{len(times)} x {len(times)} covariance; got {len(est)} and {vcov.shape}."
            )
        if self.reference is None:
            raise DesignError(
                f"{what} has no reference period: its event-time estimates are not measured "
                "against one common pre-adoption period, and it has no pre-period coefficients "
                "estimated jointly with the effects, which HonestDiD bounds the post-period "
                "trend by. Use event_study(), sun_abraham() or "
                "callaway_santanna(..., base_period='universal').aggregate('dynamic')."
            )
        ref = int(self.reference)
        order = np.argsort(times)
        times = [times[i] for i in order]
        est = est[order]
        vcov = vcov[np.ix_(order, order)]
        n_pre = sum(t < ref for t in times)
        n_post = sum(t > ref for t in times)
        if n_pre == 0:
            raise DesignError(
                f"{what} has no pre-period coefficient (event times before the reference "
                f"{ref}: none; it has {show_values(times)}). HonestDiD bounds the post-period "
                "violation of parallel trends by the pre-period one, so it needs at least one "
                "lead besides the reference period: estimate the event study with a window "
                f"starting at {ref - 1} or earlier."
            )
        if n_post == 0:
            raise DesignError(
                f"{what} has no post-period coefficient (event times after the reference {ref})."
            )
        full = sorted({*times, ref})
        gaps = sorted(set(range(full[0], full[-1] + 1)) - set(full))
        if gaps:
            raise DesignError(
                f"HonestDiD needs consecutive event times; {what} has none at "
                f"{show_values(gaps)}. Re-estimate with every event time in the window."
            )
        if not (np.all(np.isfinite(est)) and np.all(np.isfinite(vcov))):
            bad = [t for t, v in zip(times, est, strict=True) if not np.isfinite(v)]
            raise InvalidValueError(
                f"{what} has non-finite estimates or covariances"
                + (f" (event times {show_values(bad)})" if bad else "")
                + "; HonestDiD needs every event-time estimate."
            )
        post = tuple(t for t in times if t > ref)
        keep = [i for i, t in enumerate(times) if t != ref]
        return est[keep], vcov[np.ix_(keep, keep)], n_pre, post
