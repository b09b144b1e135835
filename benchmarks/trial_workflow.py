"""Benchmark: Foundations' full SFPC model, and 20 imputations pooled, against ``glmer``.

A referral extract of the Family Safeguarding trial's shape is simulated
(:func:`sfpc_eval.trials.simulate_extract.simulate_referrals`: 5 councils, 6 periods, true odds
ratio 0.8, council SD 0.2, characteristics missing for 17% of children) and prepared
(:mod:`sfpc_eval.trials.prepare`: first referral, looked after within 18 months, period,
council exposure). The model is Foundations' primary one: a random-intercept logistic GLMM with
period fixed effects and categorical child covariates (age band, sex, ethnicity, disability,
UASC status, previous child protection plans, month of referral): 33 fixed effects.

Timed in the same run, on the same rows:

1. ``stepped_wedge(...)`` on the first completed data set (collapsing to cells included)
   against ``lme4::glmer(..., nAGQ = 1)`` with its default control on that data set, timed
   inside R around ``glmer`` only;
2. ``stepped_wedge(..., imputations=MultipleImputation(m=20))``: imputation by chained
   equations, 20 fits and pooling, from the data with missing values. R's equivalent is
   ``mice(m = 20, maxit = 10)`` followed by 20 ``glmer`` fits. ``glmer`` takes minutes per fit
   at this size and ``mice`` several minutes, so by default R fits ``glmer`` to ``--r-fits``
   (2) of mice's completed data sets and ``mice`` makes ``--r-mice-m`` (20) imputations; the
   R total is then extrapolated linearly to 20 fits (and 20 imputations), and the output says
   so. ``--r-fits 20 --r-mice-m 20`` times R's whole workflow.

Run:  python benchmarks/trial_workflow.py [--children 30000] [--r-fits 2] [--r-mice-m 20]
Needs: Rscript with lme4, mice and jsonlite. Prints the machine, its load, seconds, ratios, and
the largest difference between the two GLMM fits' coefficients (in SEs) and SEs (relative).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.imputation import MultipleImputation, impute
from sfpc_eval.trials.prepare import (
    council_exposure,
    first_referrals,
    outcome_within,
    trial_periods,
)
from sfpc_eval.trials.simulate_extract import simulate_referrals

COVARIATES = ["age_band", "sex", "ethnicity", "disability", "uasc", "previous_plans", "month"]
REFERENCE = {"age_band": "10-15", "ethnicity": "White", "month": "01"}

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(mice); library(jsonlite)})
args <- commandArgs(TRUE)
covs <- c("age_band", "sex", "ethnicity", "disability", "uasc", "previous_plans", "month")
ref <- list(age_band = "10-15", ethnicity = "White", month = "01")
prep <- function(d) {
  for (v in covs) {
    lv <- sort(unique(d[[v]][!is.na(d[[v]])]), method = "radix")
    if (!is.null(ref[[v]])) lv <- c(ref[[v]], setdiff(lv, ref[[v]]))
    d[[v]] <- factor(d[[v]], levels = lv)
  }
  d$period_f <- factor(d$period)
  d
}
cc <- c(previous_plans = "character", month = "character")
d <- prep(read.csv(args[1], colClasses = cc, na.strings = ""))
f <- as.formula(paste("looked_after ~ treated + period_f +", paste(covs, collapse = " + "),
                      "+ (1 | council)"))
fit_t <- system.time(m <- glmer(f, data = d, family = binomial))
fit_time <- fit_t[["elapsed"]]; fit_cpu <- fit_t[["user.self"]] + fit_t[["sys.self"]]
raw <- prep(read.csv(args[2], colClasses = cc, na.strings = ""))
raw <- raw[, c("looked_after", "treated", "period_f", "council", covs)]
k_fits <- as.integer(args[3]); m_mice <- as.integer(args[4])
mice_t <- system.time(imp <- mice(raw, m = m_mice, maxit = 10, printFlag = FALSE, seed = 1))
mice_time <- mice_t[["elapsed"]]; mice_cpu <- mice_t[["user.self"]] + mice_t[["sys.self"]]
fits_time <- 0; fits_cpu <- 0
if (k_fits > 0) {
  fits_t <- system.time(for (i in seq_len(k_fits)) glmer(f, data = complete(imp, i),
                                                         family = binomial))
  fits_time <- fits_t[["elapsed"]]; fits_cpu <- fits_t[["user.self"]] + fits_t[["sys.self"]]
}
cat(toJSON(list(seconds = fit_time, mice_seconds = mice_time, fits_seconds = fits_time,
                fits_cpu = fits_cpu, k_fits = k_fits, m_mice = m_mice,
                cpu = fit_cpu, mice_cpu = mice_cpu,
                coef = unname(fixef(m)), names = names(fixef(m)),
                se = unname(sqrt(diag(as.matrix(vcov(m))))),
                lme4 = as.character(packageVersion("lme4")),
                mice = as.character(packageVersion("mice"))), auto_unbox = TRUE, digits = NA))
"""


def r_name(name: str) -> str:
    """Our coefficient name as R's formula names it."""
    if name == "(intercept)":
        return "(Intercept)"
    if name.startswith("period["):
        return f"period_f{name[7:-1]}"
    if "[" in name:
        variable, level = name[:-1].split("[", 1)
        return f"{variable}{level}"
    return name


def make(children: int, seed: int = 20261204) -> pd.DataFrame:
    """The prepared trial: one row per child, covariates with their missing values."""
    extract = simulate_referrals(
        "family_safeguarding", rng=seed, n_children=children, missing_rate=0.17
    )
    kids = first_referrals(
        extract.referrals,
        child="child_id",
        date="referral_date",
        start=extract.start,
        end=extract.end,
    ).reset_index(drop=True)
    kids["looked_after"] = outcome_within(
        kids,
        extract.care,
        start="referral_date",
        event="care_start",
        child="child_id",
        follow_up_end=extract.follow_up_end,
    ).astype(int)
    kids["period"] = trial_periods(
        kids, "referral_date", starts=extract.period_starts, end=extract.end
    )
    kids["treated"] = council_exposure(
        kids, cluster="council", date="referral_date", switch=extract.switch
    )
    kids["month"] = pd.to_datetime(kids["referral_date"]).dt.strftime("%m")
    return kids


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=30_000)
    parser.add_argument(
        "--r-fits", type=int, default=2, help="glmer fits on mice's imputations (0-20)"
    )
    parser.add_argument("--r-mice-m", type=int, default=20, help="imputations mice makes (2-20)")
    opts = parser.parse_args()
    if not (0 <= opts.r_fits <= 20 and 2 <= opts.r_mice_m <= 20 and opts.r_fits <= opts.r_mice_m):
        parser.error("--r-fits must be 0-20, --r-mice-m 2-20, and --r-fits <= --r-mice-m")
    load_before = os.getloadavg()
    data = make(opts.children)
    args = (data, "looked_after", "council", "period", "treated", COVARIATES)
    first = impute(
        *args[:1],
        COVARIATES,
        outcome="looked_after",
        cluster="council",
        period="period",
        treated="treated",
        m=2,
        seed=1,
        progress=False,
    ).dataset(0)
    start, cpu = time.perf_counter(), time.process_time()
    single = stepped_wedge(first, *args[1:], covariate_reference=REFERENCE, categorical=["month"])
    single_seconds = time.perf_counter() - start
    single_cpu = time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    pooled = stepped_wedge(
        *args,
        covariate_reference=REFERENCE,
        categorical=["month"],
        imputations=MultipleImputation(m=20, seed=2, progress=True),
    )
    pooled_seconds = time.perf_counter() - start
    pooled_cpu = time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "fit.R").write_text(R_SCRIPT)
        first.to_csv(folder / "complete.csv", index=False)
        data.to_csv(folder / "raw.csv", index=False)
        run = subprocess.run(
            [
                "Rscript",
                str(folder / "fit.R"),
                str(folder / "complete.csv"),
                str(folder / "raw.csv"),
                str(opts.r_fits),
                str(opts.r_mice_m),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        theirs = json.loads(run.stdout.strip().splitlines()[-1])
    order = [theirs["names"].index(r_name(n)) for n in single.coef.index]
    r_coef, r_se = np.array(theirs["coef"])[order], np.array(theirs["se"])[order]
    se = np.sqrt(np.diag(single.vcov.to_numpy()))
    coef_gap = np.max(np.abs(single.coef.to_numpy() - r_coef) / se)
    se_gap = np.max(np.abs(se - r_se) / r_se)
    load_after = os.getloadavg()
    m_scale = 20 / theirs["m_mice"]
    if theirs["k_fits"] > 0:
        per_fit, per_fit_cpu = (
            theirs["fits_seconds"] / theirs["k_fits"],
            theirs["fits_cpu"] / theirs["k_fits"],
        )
        how = f"{theirs['k_fits']} glmer fits on mice's imputations timed" + (
            f", x {20 / theirs['k_fits']:g} (extrapolated)" if theirs["k_fits"] < 20 else ""
        )
    else:
        per_fit, per_fit_cpu = theirs["seconds"], theirs["cpu"]
        how = "20 x the single glmer fit above (extrapolated)"
    r_pooled = m_scale * theirs["mice_seconds"] + 20 * per_fit
    mice_how = f"mice m={theirs['m_mice']} timed" + (
        f", x {m_scale:g} (extrapolated)" if m_scale != 1 else ""
    )
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}; "
        f"{os.cpu_count()} cores; {platform.processor() or platform.machine()}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; Python "
        f"{platform.python_version()}"
    )
    print(
        f"children: {len(data):,}; fixed effects: {len(single.coef)}; cells: "
        f"{single.n_cells:,}; children with a missing covariate: "
        f"{int(data[COVARIATES].isna().any(axis=1).sum()):,}"
    )
    print(f"{'task':<44}{'sfpc_eval s':>12}{'R s':>10}{'ratio':>8}")
    print(
        f"{'GLMM, full model (lme4 ' + theirs['lme4'] + ')':<44}{single_seconds:>12.2f}"
        f"{theirs['seconds']:>10.1f}{theirs['seconds'] / single_seconds:>8.1f}"
    )
    print(
        f"{'impute m=20 + 20 fits + pool (mice ' + theirs['mice'] + ')':<44}"
        f"{pooled_seconds:>12.1f}{r_pooled:>10.1f}{r_pooled / pooled_seconds:>8.1f}"
    )
    print(
        f"  R side: {mice_how}: {theirs['mice_seconds']:.1f} s; {how}: {20 * per_fit:.1f} s "
        f"for 20 ({per_fit:.1f} s each)"
    )
    r_cpu = m_scale * theirs["mice_cpu"] + 20 * per_fit_cpu
    print(
        f"CPU seconds (robust to a loaded machine): GLMM {single_cpu:.2f} vs glmer "
        f"{theirs['cpu']:.1f} ({theirs['cpu'] / single_cpu:.1f}x); imputation + 20 fits "
        f"{pooled_cpu:.1f} vs mice + 20 x glmer {r_cpu:.1f} ({r_cpu / pooled_cpu:.1f}x)"
    )
    print(
        f"GLMM agreement: max |coef difference| {coef_gap:.1e} SE; "
        f"max relative SE difference {se_gap:.1e} (glmer's default control)"
    )
    print(
        f"pooled odds ratio {pooled.odds_ratio.estimate:.4f} "
        f"[{pooled.odds_ratio.conf_low:.4f}, {pooled.odds_ratio.conf_high:.4f}], "
        f"FMI {pooled.fraction_missing:.3f}"
    )


if __name__ == "__main__":
    main()
