"""Benchmark: the new stepped-wedge mixed models on 50,000 children against glmmTMB.

One trial of the Family Safeguarding shape on quarterly periods (5 councils, 11 quarters, the
trial's rollout) is simulated with ``sfpc_eval.trials.simulate_cells`` (council-by-quarter
effects with SD 0.3 whose correlation decays as 0.6 ** lag; seed 20261204) and written out as
50,000 child rows: a 0/1 outcome; a count over a year at risk (365 days; Poisson, and negative
binomial with size 2); a continuous score (residual SD 1). Both tools get the same child rows:

- sfpc_eval: ``stepped_wedge(rows, ..., family=..., random_effects=...)`` (collapsing the rows
  to cells included; the negative binomial cannot be collapsed and is fitted per child);
- R: ``glmmTMB(y ~ factor(period) + treated + <random effects>, family = ...)`` with
  ``(1 | cluster) + (1 | cluster:period)`` (nested), ``ar1(period + 0 | cluster)`` (decay) or
  ``(treated | cluster)`` (slope), ``offset(log(days))`` for counts and ``REML = TRUE`` for
  the Gaussian, run by ``Rscript`` and timed inside R around ``glmmTMB`` only.

Run:  nice -n 10 python benchmarks/sw_structures.py [--children 50000] [--models binomial_decay]
Needs: Rscript with glmmTMB and jsonlite (apt: r-cran-glmmtmb r-cran-jsonlite).
Prints, per model, seconds for each tool (one fit each, after a warm-up fit for sfpc_eval),
their ratio, the treatment estimate and SE from each and their relative differences, all
measured in the same run. glmmTMB's nlminb can stop short of its optimum (see
``tests/fixtures/stepped_wedge/make_structures.R``); differences of 1e-4 are that. For the
Gaussian REML fit glmmTMB's SEs include the variance parameters' uncertainty (lmer's, and
ours, are the GLS variance given them), so its SE differs by about 1e-3.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.simulate_cells import simulate_cells

MODELS = {
    "binomial_nested": ("binomial", "nested", "y01"),
    "binomial_decay": ("binomial", "decay", "y01"),
    "binomial_slope": ("binomial", "slope", "y01"),
    "poisson_decay": ("poisson", "decay", "count"),
    "negative_binomial_decay": ("negative_binomial", "decay", "nbcount"),
    "gaussian_decay": ("gaussian", "decay", "score"),
}
R_RE = {
    "nested": "(1 | cluster) + (1 | cluster:period)",
    "decay": "ar1(period + 0 | cluster)",
    "slope": "(treated | cluster)",
}
R_FAMILY = {
    "binomial": "binomial()",
    "poisson": "poisson()",
    "negative_binomial": "nbinom2()",
    "gaussian": "gaussian()",
}
R_SCRIPT = r"""
suppressPackageStartupMessages({ library(glmmTMB); library(jsonlite) })
args <- commandArgs(TRUE)
d <- read.csv(args[1])
d$period <- factor(d$period)
d$cluster <- factor(d$cluster)
f <- as.formula(args[2])
fam <- eval(parse(text = args[3]))
t0 <- proc.time()[["elapsed"]]
m <- glmmTMB(f, data = d, family = fam, REML = args[4] == "TRUE")
secs <- proc.time()[["elapsed"]] - t0
b <- fixef(m)$cond
se <- sqrt(diag(vcov(m)$cond))
cat(toJSON(list(seconds = secs, estimate = unname(b["treated"]), se = unname(se["treated"]),
                glmmTMB = as.character(packageVersion("glmmTMB"))), digits = NA,
           auto_unbox = TRUE))
"""


def make_rows(children: int, seed: int = 20261204) -> pd.DataFrame:
    """Child rows of one simulated trial (see the module notes)."""
    cells = simulate_cells(
        "family_safeguarding",
        rng=seed,
        family="binomial",
        effect=-0.2,
        sd=0.3,
        cac=0.6,
        n_children=children,
    )
    truth = cells.attrs["truth"]
    clusters = list(truth["design"].clusters)
    gen = np.random.default_rng(seed + 1)
    size = cells["children"].to_numpy()
    idx = np.repeat(np.arange(len(cells)), size)
    rows = cells.loc[idx, ["cluster", "period", "treated"]].reset_index(drop=True)
    rank = np.arange(len(idx)) - np.repeat(np.cumsum(size) - size, size)
    rows["y01"] = (rank < np.repeat(cells["events"].to_numpy(), size)).astype(int)
    c_index = np.array([clusters.index(c) for c in rows["cluster"]])
    re = truth["effects"][c_index, rows["period"].to_numpy()]
    eta = -0.2 * rows["treated"].to_numpy() + re
    rows["days"] = 365.0
    mean = 365.0 * np.exp(math.log(0.002) + eta)
    rows["count"] = gen.poisson(mean)
    rows["nbcount"] = gen.poisson(gen.gamma(2.0, mean / 2.0))
    rows["score"] = eta + gen.standard_normal(len(rows))
    rows["treated"] = rows["treated"].astype(int)
    return rows


def ours(rows: pd.DataFrame, family: str, structure: str, outcome: str) -> dict:
    """Fit with sfpc_eval (warm-up, then one timed fit)."""
    kwargs = {"exposure": "days"} if family in ("poisson", "negative_binomial") else {}

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return stepped_wedge(
                rows,
                outcome,
                "cluster",
                "period",
                "treated",
                family=family,
                random_effects=structure,
                df_method="satterthwaite",  # glmmTMB's fits: ML (REML for the Gaussian)
                **kwargs,
            )

    fit()
    start = time.perf_counter()
    res = fit()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "estimate": res.terms[0].estimate, "se": res.terms[0].std_error}


def theirs(path: Path, family: str, structure: str, outcome: str) -> dict:
    """Fit with glmmTMB in Rscript."""
    offset = " + offset(log(days))" if family in ("poisson", "negative_binomial") else ""
    formula = f"{outcome} ~ period + treated + {R_RE[structure]}{offset}"
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as script:
        script.write(R_SCRIPT)
    out = subprocess.run(
        [
            "Rscript",
            script.name,
            str(path),
            formula,
            R_FAMILY[family],
            "TRUE" if family == "gaussian" else "FALSE",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    """Command line: each model, both tools, one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    rows = make_rows(args.children)
    print(
        f"{len(rows):,} children, {rows['cluster'].nunique()} councils, "
        f"{rows['period'].nunique()} quarters"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        rows.to_csv(path, index=False)
        for key in args.models:
            family, structure, outcome = MODELS[key]
            a = ours(rows, family, structure, outcome)
            b = theirs(path, family, structure, outcome)
            print(
                f"{key:>24}: sfpc_eval {a['seconds']:7.2f} s, glmmTMB {b['seconds']:7.2f} s "
                f"(glmmTMB / sfpc_eval = {b['seconds'] / a['seconds']:6.1f}); effect "
                f"{a['estimate']:.6f} vs {b['estimate']:.6f} (rel. diff "
                f"{abs(a['estimate'] / b['estimate'] - 1):.1e}), SE {a['se']:.6f} vs "
                f"{b['se']:.6f} (rel. diff {abs(a['se'] / b['se'] - 1):.1e})",
                flush=True,
            )
    print(f"glmmTMB {b['glmmTMB']}; Python {sys.version.split()[0]}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
