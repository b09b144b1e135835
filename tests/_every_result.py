"""One result of every kind the estimators return, built on small data (shared by the tests of
labels, glance() and the side-by-side table).

Each builder returns ``(name, result)``; :func:`every_result` builds them all (a few seconds).
Warnings from the estimators (one treated council, few clusters) are expected here and ignored.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd

import sfpc_eval as se
from sfpc_eval import datasets

COVARIATES = ("age", "female")


def _staggered() -> pd.DataFrame:
    """The shipped staggered panel cut to 2015-2024 (fast), cohort as first treated year."""
    panel = datasets.staggered_panel()
    return panel[panel["year"] >= 2015].reset_index(drop=True)


def _trial() -> pd.DataFrame:
    frame = se.simulate_trial("fs", rng=2020, n_children=6000)
    return frame


def _children() -> pd.DataFrame:
    """Child-level 0/1 outcomes: 8 councils x 4 years, 4 councils treated from year 3."""
    rng = np.random.default_rng(11)
    rows = []
    for council in range(8):
        for year in range(1, 5):
            treated = int(council < 4 and year >= 3)
            p = 0.2 + 0.02 * council + 0.01 * year - 0.05 * treated
            for y in rng.random(60) < p:
                rows.append((f"C{council}", year, treated, int(y)))
    return pd.DataFrame(rows, columns=["council", "year", "treated", "looked_after"])


def _monthly() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    t = np.arange(60)
    y = 60 + 0.2 * t - 6 * (t >= 36) + rng.normal(0, 1, 60)
    return pd.DataFrame({"month": t, "rate": y})


def builders() -> dict[str, Callable[[], object]]:
    """Name -> zero-argument function returning one result."""
    council = datasets.council_panel
    wild = se.WildClusterBootstrap(n_resamples=199, rng=1)
    rand = se.Randomization(n_resamples=199, rng=1)

    def did(**kwargs):
        return se.did(
            council(), outcome="cpp_rate", unit="la", time="year", treated="treated", **kwargs
        )

    def poisson(**kwargs):
        return se.did(
            council(),
            outcome="cpp",
            unit="la",
            time="year",
            treated="treated",
            family="poisson",
            exposure="population_0_17",
            **kwargs,
        )

    def binomial():
        return se.did(
            _children(),
            outcome="looked_after",
            unit="council",
            time="year",
            treated="treated",
            family="binomial",
        )

    def sw(model, **kwargs):
        return se.stepped_wedge(
            _trial(), "looked_after", "cluster", "period", "treated", model=model, **kwargs
        )

    def pooled():
        trial = _trial()
        halves = [trial.iloc[::2], trial.iloc[1::2]]
        fits = se.fit_each(
            halves,
            lambda d: se.stepped_wedge(
                d,
                "looked_after",
                "cluster",
                "period",
                "treated",
                model="glm",
                inference=se.Classical(),
                cluster_effects=False,
            ),
        )
        return se.pool(fits)

    stag = _staggered

    def unbinned():
        return se.event_study(
            stag(), "cla_rate", "la", "year", "cohort", window=(-4, 2), bin_endpoints=False
        )

    def cs():
        return se.callaway_santanna(stag(), "cla_rate", "la", "year", "cohort")

    leeds = dict(outcome="cpp_rate", unit="la", time="year", treated_unit="Leeds", start=2015)
    days = pd.DataFrame({"before": [120, 10, 365, 40, 200, 90], "after": [60, 5, 300, 20, 180, 95]})
    return {
        "did_cr2": lambda: did(inference=se.ClusterRobust("la", kind="CR2")),
        "did_wild": lambda: did(inference=wild),
        "did_randomization": lambda: did(inference=rand),
        "did_covariate": lambda: se.did(
            council().assign(log_population=lambda d: np.log(d["population_0_17"])),
            outcome="cla_rate",
            unit="la",
            time="year",
            treated="treated",
            covariates=["log_population"],
        ),
        "did_poisson": lambda: poisson(),
        "did_binomial": binomial,
        "event_study": lambda: se.event_study(
            stag(), "cla_rate", "la", "year", "cohort", window=(-4, 2)
        ),
        "honest_rm": lambda: se.honest_did(unbinned(), m_values=[0.5, 1]),
        "honest_sm": lambda: se.honest_did(unbinned(), restriction="smoothness", m_values=[0.5]),
        "sun_abraham": lambda: se.sun_abraham(stag(), "cla_rate", "la", "year", "cohort"),
        "imputation": lambda: se.imputation(stag(), "cla_rate", "la", "year", "cohort"),
        "bacon": lambda: se.bacon(stag(), "cla_rate", "la", "year", "cohort"),
        "callaway": cs,
        "cs_simple": lambda: cs().aggregate("simple"),
        "cs_dynamic": lambda: cs().aggregate("dynamic"),
        "cs_group": lambda: cs().aggregate("group"),
        "cs_calendar": lambda: cs().aggregate("calendar"),
        "synthetic_control": lambda: se.synthetic_control(
            council(),
            outcome="cpp_rate",
            unit="la",
            time="year",
            treated_unit="Leeds",
            start=2015,
            placebo=False,
        ),
        "synthetic_did": lambda: se.synthetic_did(
            council(),
            outcome="cpp_rate",
            unit="la",
            time="year",
            treated_unit="Leeds",
            start=2015,
            replications=20,
            rng=1,
        ),
        "its": lambda: se.its(_monthly(), outcome="rate", time="month", start=36),
        "conformal": lambda: se.conformal_inference(
            council(), **leeds, conf_level=0.8, average=False
        ),
        "augmented_synthetic_control": lambda: se.augmented_synthetic_control(council(), **leeds),
        "placebo_in_time": lambda: se.placebo_in_time(council(), **leeds, placebo_start=2013),
        "single_council_summary": lambda: se.single_council_summary(
            council(), **leeds, replications=20, rng=1
        ),
        "glmm": lambda: sw("glmm"),
        "gee": lambda: sw("gee"),
        "glm": lambda: sw("glm"),
        "glm_exposure": lambda: sw("glm", exposure_time=True),
        "pooled": pooled,
        "counts": lambda: se.compare_counts(974, 515, labels=("2011", "2017")),
        "rates": lambda: se.compare_counts(974, 515, exposure=(152239, 164634), per=10_000),
        "proportions": lambda: se.compare_proportions((52, 140), (25, 100)),
        "means": lambda: se.compare_means((87.0, 120.0, 1200), (115.0, 130.0, 1250)),
        "paired": lambda: se.paired_change(days),
        "did_from_means": lambda: se.did_from_means(
            ((87.0, 120.0, 300), (70.0, 110.0, 310)), ((90.0, 118.0, 900), (88.0, 119.0, 905))
        ),
        "did_from_counts": lambda: se.did_from_counts(
            ((974, 152239), (515, 164634)), ((900, 150000), (880, 151000))
        ),
    }


@cache
def every_result() -> dict[str, object]:
    """Every builder run once (cached for the test session)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, build in builders().items():
            out[name] = build()
    return out
