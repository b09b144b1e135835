"""Coverage of the random-intercept and decay GLMMs when council-period effects decay (Monte Carlo).

Issue 22 asks whether the usual random-intercept model understates the variance of the effect
when the correlation between periods of the same council decays (Kasza et al. 2019), and
whether the decay model (``random_effects="decay"``, AR(1) council-by-period effects) covers
at its nominal level when it is the true model.

Trials are drawn by :func:`sfpc_eval.trials.simulate_cells.simulate_cells` in the shapes of the
two SFPC trials on quarterly periods -- Family Safeguarding (5 councils, 11 quarters, 38,478
children) and No Wrong Door (4 councils, 10 quarters) -- with the trials' own rollout, binary
outcomes, council-by-period effects on the logit scale with SD 0.3 whose correlation decays as
0.6 ** (periods apart) (the decay model is the true model), baseline risk the trial's and a
true odds ratio of 0.8. Each trial is analysed from its council-by-period counts by
``se.stepped_wedge(..., denominator="children")`` with

- the random intercept (the default structure; Laplace ML),
- the decay structure (Laplace ML, Satterthwaite df),
- the decay structure by REML with the Kenward-Roger adjustment (``df_method="kenward_roger"``,
  the default for the decay and nested structures since this table),
- on a second draw of each trial whose council-by-period effects are exchangeable
  (``decay="block"``: correlation 0.6 between any two quarters), the nested-exchangeable
  structure by ML with Satterthwaite df and by REML with Kenward-Roger,

and each fit's interval is taken with the normal reference (Wald z) and with its t reference
(Satterthwaite df, the default, or the Kenward-Roger df). An interval covers when it contains
log(0.8).

Run:  nice -n 10 python validation/sw_structures_coverage.py [--replications 500] [--shape fs]
Appends every trial's estimates to validation/sw_structures_coverage_trials_<shape>.csv
(resumable: trials already there are skipped) and writes sw_structures_coverage.csv, .md
and .rst (the table).
Seeds: trial r of shape s uses numpy default_rng([20261204, 22, s, r]).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

import sfpc_eval as se
from sfpc_eval.trials.simulate_cells import simulate_cells

HERE = Path(__file__).parent


def trials_csv(shape: str) -> Path:
    """Every trial's estimates for one shape."""
    return HERE / f"sw_structures_coverage_trials_{shape}.csv"


SHAPES = {"fs": "family_safeguarding", "nwd": "no_wrong_door"}
SHAPE_NAMES = {"fs": "Family Safeguarding", "nwd": "No Wrong Door"}
SD, CAC, ODDS_RATIO = 0.3, 0.6, 0.8
FITS = {
    "intercept": dict(random_effects="intercept"),
    "decay": dict(random_effects="decay", df_method="satterthwaite"),
    "decay_kr": dict(random_effects="decay", df_method="kenward_roger"),
    "nested": dict(random_effects="nested", df_method="satterthwaite"),
    "nested_kr": dict(random_effects="nested", df_method="kenward_roger"),
}
# the nested-exchangeable fits are checked on trials whose council-by-period effects are
# exchangeable (every two periods correlated CAC: decay="block"), where that model is true
TRUTH = {"nested": "block", "nested_kr": "block"}
METHODS = {
    "random intercept, Wald z": ("intercept", False),
    "random intercept, Satterthwaite df (default)": ("intercept", True),
    "decay, Wald z": ("decay", False),
    "decay, ML + Satterthwaite df": ("decay", True),
    "decay, REML + Kenward-Roger (default)": ("decay_kr", True),
    "nested exchangeable (true), ML + Satterthwaite df": ("nested", True),
    "nested exchangeable (true), REML + Kenward-Roger (default)": ("nested_kr", True),
}


def one_trial(shape: str, r: int, fits: tuple[str, ...] = tuple(FITS)) -> dict[str, float]:
    """Simulate and analyse trial ``r`` of ``shape``; estimates, SEs and df of every fit."""
    s = list(SHAPES).index(shape)
    draws = {}

    def cells_for(truth: str) -> pd.DataFrame:
        if truth not in draws:
            seed = [20261204, 22, s, r] + ([1] if truth == "block" else [])
            draws[truth] = simulate_cells(
                SHAPES[shape],
                rng=np.random.default_rng(seed),
                family="binomial",
                effect=math.log(ODDS_RATIO),
                sd=SD,
                cac=CAC,
                decay=truth,
            )
        return draws[truth]

    row: dict[str, float] = {"shape": shape, "trial": r}
    for key in FITS:  # every column, so that the file's columns stay aligned
        row |= dict.fromkeys(
            (f"{key}_estimate", f"{key}_se", f"{key}_df", f"{key}_boundary"), math.nan
        )
    for key in fits:
        options = FITS[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = se.stepped_wedge(
                cells_for(TRUTH.get(key, "exponential")),
                "events",
                "cluster",
                "period",
                "treated",
                denominator="children",
                **options,
            )
        term = res.terms[0]
        row |= {
            f"{key}_estimate": term.estimate,
            f"{key}_se": term.std_error,
            f"{key}_df": term.df,
            f"{key}_boundary": float(res._core["mixed"].boundary),
        }
    return row


def run(shapes: list[str], replications: int, fits: tuple[str, ...]) -> None:
    """Add the missing trials to the trials file, one line per trial."""
    done = set()
    for shape in shapes:
        if trials_csv(shape).exists():
            old = pd.read_csv(trials_csv(shape))
            done |= set(zip(old["shape"], old["trial"], strict=True))
    todo = [(s, r) for s in shapes for r in range(replications) if (s, r) not in done]
    for shape, r in tqdm(todo, desc="trials", mininterval=10):
        row = one_trial(shape, r, fits)
        frame = pd.DataFrame([row])
        path = trials_csv(shape)
        frame.to_csv(path, mode="a", header=not path.exists(), index=False)


def table(minutes: float | None = None) -> pd.DataFrame:
    """Coverage per shape and method from the trials file; writes the .csv and .md."""
    trials = pd.concat(
        [pd.read_csv(trials_csv(s)) for s in SHAPES if trials_csv(s).exists()], ignore_index=True
    )
    truth = math.log(ODDS_RATIO)
    rows = []
    for shape, group in trials.groupby("shape", sort=False):
        for method, (key, t_ref) in METHODS.items():
            group = group[group[f"{key}_estimate"].notna()]
            est, sd_err = group[f"{key}_estimate"], group[f"{key}_se"]
            df = group[f"{key}_df"] if t_ref else np.inf
            crit = stats.t.ppf(0.975, df) if t_ref else stats.norm.ppf(0.975)
            covered = (est - crit * sd_err <= truth) & (truth <= est + crit * sd_err)
            rows.append(
                {
                    "shape": shape,
                    "method": method,
                    "trials": len(group),
                    "coverage": float(covered.mean()),
                    "mc_se": math.sqrt(covered.mean() * (1 - covered.mean()) / len(group)),
                    "mean_se": float(sd_err.mean()),
                    "sd_estimate": float(est.std(ddof=1)),
                    "median_df": float(np.median(df)) if t_ref else math.inf,
                    "boundary_share": float(group[f"{key}_boundary"].mean()),
                }
            )
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "sw_structures_coverage.csv", index=False, float_format="%.4f")
    heads = [SHAPE_NAMES[s] for s in out["shape"].unique()]
    lines = ["| method | " + " | ".join(heads) + " |", "|---" * (1 + len(heads)) + "|"]
    rst = [".. list-table::", "   :header-rows: 1", "", "   * - method"]
    rst += [f"     - {h}" for h in heads]
    for method in METHODS:
        cells = []
        for shape in out["shape"].unique():
            r = out[(out["shape"] == shape) & (out["method"] == method)].iloc[0]
            cells.append(
                f"{r.coverage:.1%} ({r.trials} trials; mean SE {r.mean_se:.3f}, SD of estimates "
                f"{r.sd_estimate:.3f})"
            )
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
        rst.append(f"   * - {method}")
        rst += [f"     - {c}" for c in cells]
    n = out["trials"].max()
    note = (
        f"\nCoverage of the 95% interval for the log odds ratio (true odds ratio {ODDS_RATIO}); "
        f"Monte Carlo SE about {100 * math.sqrt(0.95 * 0.05 / n):.1f} points with {n} trials. "
        "Data: "
        f"binary outcomes, council-by-period effects with SD {SD} on the logit scale and "
        f"correlation {CAC} ** (quarters apart) -- the decay model is the true model -- or, "
        f"for the nested-exchangeable rows, correlation {CAC} between any two quarters (that "
        "model true); the "
        "trials' own rollout on quarterly periods, analysed from council-by-quarter counts. "
        f"Python {sys.version.split()[0]}, numpy {np.__version__}, scipy "
        f"{version('scipy')}, pandas {pd.__version__}; sfpc_eval {se.__version__}"
        + (f"; {minutes:.0f} minutes." if minutes else ".")
    )
    (HERE / "sw_structures_coverage.md").write_text("\n".join(lines) + "\n" + note + "\n")
    (HERE / "sw_structures_coverage.rst").write_text("\n".join(rst) + "\n" + note + "\n")
    return out


def main() -> None:
    """Command line: simulate, then tabulate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--shape", choices=list(SHAPES), action="append")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--without-kr", action="store_true", help="skip the (slow) REML Kenward-Roger fit"
    )
    args = parser.parse_args()
    start = time.time()
    if not args.table_only:
        fits = tuple(k for k in FITS if not (args.without_kr and k == "decay_kr"))
        run(args.shape or list(SHAPES), args.replications, fits)
    print(table((time.time() - start) / 60 if not args.table_only else None).to_string())


if __name__ == "__main__":
    main()
