"""Benchmark: logistic GLM with clubSandwich's CR2 (symmetric root) on a 5-council trial.

The stepped-wedge trial of benchmarks/stepped_wedge_glmm.py (Family Safeguarding design, 5
councils, 6 periods, 8 child covariate columns; seeded) analysed by
``stepped_wedge(..., model="glm")``: logistic GLM with period and council effects, CR2
standard errors with Satterthwaite degrees of freedom, clustered by council. Children with the
same covariates collapse into cells, but age, disability and previous plans leave thousands of
distinct cells per council.

Contenders, each in its own fresh process, at 2,000, 10,000 and 78,000 children:

- ``sfpc_eval``: the CR2 root applied by quadrature (``inference._cr2_root``, O(c k) per node);
- ``dense``: the same code with that path switched off, so every council's root comes from a
  dense cells x cells eigendecomposition (the code before issue 21; O(c^3));
- ``clubSandwich`` (``--clubsandwich``, R; 2,000 children only by default: it is O(n^3) in the
  rows): ``coef_test(glm, vcov = "CR2", cluster = cluster, test = "Satterthwaite")``.

Prints seconds (best of ``--repeat`` after a warm-up; one run for dense and R), the ratio to
sfpc_eval, and the largest relative difference of the standard errors and Satterthwaite df
from sfpc_eval's.

Run:   python benchmarks/glm_cr2.py [--children 2000,10000,78000] [--repeat 3] [--clubsandwich]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.simulate import simulate_trial
from sfpc_eval.inference import cluster
children, repeat, tool, csv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
d = simulate_trial("family_safeguarding", rng=20261123, n_children=children, cluster_sd=0.3)
data = d[["cluster", "period", "treated", "age", "disability", "previous_plans",
          "looked_after"]].copy()
data["female"] = (d["sex"] == "female").astype(int)
for level in ("Asian", "Black", "Mixed", "Other"):
    data[f"eth_{level.lower()}"] = (d["ethnicity"] == level).astype(int)
data["treated"] = data["treated"].astype(int)
covariates = ["age", "female", "disability", "previous_plans", "eth_asian", "eth_black",
              "eth_mixed", "eth_other"]
if csv != "-":
    data.to_csv(csv, index=False)
if tool == "dense":
    cluster.symmetric_root_apply = lambda *args: None
    cluster.MAX_DENSE_CELLS = 10**9
def run():
    return stepped_wedge(data, "looked_after", "cluster", "period", "treated", covariates,
                         model="glm")
res = run()
times = []
for _ in range(1 if tool == "dense" else repeat):
    start = time.perf_counter()
    res = run()
    times.append(time.perf_counter() - start)
tidy = res.tidy().set_index("term")
names = ["treated", *covariates]
print(json.dumps({"seconds": min(times), "cells": res.n_cells, "names": names,
                  "se": [float(tidy.loc[n, "std_error"]) for n in names],
                  "df": [float(tidy.loc[n, "df"]) for n in names]}))
"""

R_SCRIPT = r"""
suppressPackageStartupMessages({library(clubSandwich)})
d <- read.csv(commandArgs(TRUE)[1])
f <- looked_after ~ factor(period) + factor(cluster) + treated + age + female + disability +
  previous_plans + eth_asian + eth_black + eth_mixed + eth_other
m <- glm(f, data = d, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
t <- system.time(ct <- coef_test(m, vcov = "CR2", cluster = d$cluster,
                                 test = "Satterthwaite"))[["elapsed"]]
names <- c("treated", "age", "female", "disability", "previous_plans", "eth_asian",
           "eth_black", "eth_mixed", "eth_other")
rows <- match(names, ct$Coef)
cat(jsonlite::toJSON(list(seconds = t, se = ct$SE[rows], df = ct$df_Satt[rows],
                          version = as.character(packageVersion("clubSandwich"))),
                     auto_unbox = TRUE, digits = NA))
"""


def worker(children: int, repeat: int, tool: str, csv: str = "-") -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(children), str(repeat), tool, csv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if out.returncode:
        sys.exit(f"{tool} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def largest_relative(a, b) -> float:
    return max(abs(x - y) / abs(y) for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", default="2000,10000,78000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clubsandwich", action="store_true")
    parser.add_argument("--clubsandwich-max", type=int, default=2000)
    args = parser.parse_args()
    print(
        "logistic GLM + CR2 (clubSandwich's symmetric root), 5 councils; ratio = the "
        "tool's seconds / sfpc_eval's, this run; differences relative to sfpc_eval"
    )
    print(
        f"{'children':>9}{'cells':>7}  {'tool':<14}{'seconds':>9}{'ratio':>9}"
        f"{'max rel d SE':>14}{'max rel d df':>14}"
    )
    for children in map(int, args.children.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            csv = str(Path(tmp) / "trial.csv")
            ours = worker(children, args.repeat, "sfpc_eval", csv)
            rows = [("sfpc_eval", ours), ("dense", worker(children, 1, "dense"))]
            if args.clubsandwich and children <= args.clubsandwich_max:
                script = Path(tmp) / "cr2.R"
                script.write_text(R_SCRIPT)
                r = subprocess.run(
                    ["Rscript", str(script), csv], capture_output=True, text=True, check=False
                )
                if r.returncode:
                    sys.exit(f"clubSandwich failed:\n{r.stderr[-2000:]}")
                theirs = json.loads(r.stdout.strip().splitlines()[-1])
                rows.append((f"clubSandwich {theirs['version']}", theirs))
        for tool, row in rows:
            print(
                f"{children:>9,}{ours['cells']:>7,}  {tool:<14}{row['seconds']:>9.3f}"
                f"{row['seconds'] / ours['seconds']:>8.1f}x"
                f"{largest_relative(row['se'], ours['se']):>14.1e}"
                f"{largest_relative(row['df'], ours['df']):>14.1e}"
            )


if __name__ == "__main__":
    main()
