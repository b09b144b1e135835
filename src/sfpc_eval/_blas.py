"""BLAS threads for the small dense linear algebra (CR2 roots, logit fits, GLMM Hessians).

The matrices here are small (tens to a few thousand rows), where a multi-threaded BLAS gains
nothing and, on a shared machine, its threads spin waiting for cores other processes hold:
small LAPACK calls then run 5-100 times slower than on one thread, and timings depend on the
machine's load. So sfpc_eval runs them on one BLAS thread by default (through threadpoolctl,
for the duration of the call only; the rest of the program keeps its own setting).

Users set the number with the environment variable ``SFPC_EVAL_BLAS_THREADS`` (read at each
call): an integer, or ``"inherit"`` to leave BLAS as the process has it (for example when
``OPENBLAS_NUM_THREADS`` or ``threadpoolctl`` already control it, or to use every core on a
dedicated machine). Results are the same either way, to rounding.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from typing import TypeVar

from sfpc_eval.errors import InvalidValueError

__all__ = ["blas_thread_limit", "limited_blas", "small_blas"]

_Function = TypeVar("_Function", bound=Callable)


def blas_thread_limit() -> int | None:
    """Return the BLAS thread cap in force (None: leave BLAS as it is).

    Raises
    ------
    InvalidValueError
        ``SFPC_EVAL_BLAS_THREADS`` is neither a positive integer nor ``"inherit"``.

    Examples
    --------
    >>> blas_thread_limit() in (None, 1) or blas_thread_limit() > 1
    True
    """
    setting = os.environ.get("SFPC_EVAL_BLAS_THREADS", "1").strip().lower()
    if setting == "inherit":
        return None
    if not setting.isdigit() or int(setting) < 1:
        raise InvalidValueError(
            f"environment variable SFPC_EVAL_BLAS_THREADS must be a positive integer or "
            f"'inherit'; got {setting!r}. Unset it for the default (1 thread)."
        )
    return int(setting)


@functools.cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def small_blas() -> Iterator[None]:
    """Cap BLAS threads (see :func:`blas_thread_limit`) inside the ``with`` block.

    Examples
    --------
    >>> import numpy as np
    >>> with small_blas():
    ...     float(np.linalg.eigvalsh(np.eye(3)).sum())
    3.0
    """
    limit = blas_thread_limit()
    controller = _controller() if limit is not None else None
    if controller is None:
        yield
        return
    with controller.limit(limits=limit, user_api="blas"):
        yield


def limited_blas(function: _Function) -> _Function:
    """Run ``function`` under :func:`small_blas` (a decorator)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with small_blas():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
