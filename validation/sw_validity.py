"""Size and coverage of the stepped-wedge analyses with 4-5 councils (Monte Carlo, known truth).

Trials are drawn with ``se.simulate_trial`` in the shapes of the two SFPC trials -- Family
Safeguarding (5 councils, 6 periods, about 38,250 children) and No Wrong Door (4 councils, 5
periods, 8,990 children) -- with the rollout order randomised afresh in every trial (as the real
trials randomised it), a random council intercept on the latent scale with intracluster
correlation 0.01 or 0.05 (SD ``sqrt(icc / (1 - icc) * pi^2 / 3)``), no covariate effects
(so the analysis models, which have no covariates, are correctly specified and the fits run on
cluster-period cells) and a true odds ratio of 1 (size) or 0.8 (coverage). Each trial is
analysed by ``se.stepped_wedge`` in every way the table compares:

- GLMM (random intercept, Laplace) with the Wald z test (``df_method="z"``);
- GLMM with the default reference distribution (``df_method="satterthwaite"``);
- GLMM with the between-within df of Li and Redden (2015) (``df_method="between_within"``);
- GEE (exchangeable) with the Mancl-DeRouen and the Kauermann-Carroll sandwich, t(G - 1);
- GLM with council fixed effects, CR2 and Satterthwaite df;
- randomization over rollout orders (every order: 120 for 5 councils, 24 for 4), the GLM's log
  odds ratio as statistic. Size: the library's p-value (``SteppedWedgeRandomization``).
  Coverage: the interval is the set of log odds ratios ``b0`` the test does not reject, so it
  covers the truth exactly when the test of ``b0 = truth`` does not reject; that test refits
  the GLM with offset ``b0 * treated`` under every order (computed here, by the same GLM, since
  the library's randomization gives a p-value against no effect only).

A test rejects at the 5% level when p <= 0.05; an interval covers when the test of the true
value does not reject. The truth is log(0.8) for the cluster-specific models (GLMM, GLM with
council effects, randomization); for the GEE it is the population-averaged log odds ratio
implied by the simulation (computed by quadrature over the council intercept; it differs from
log(0.8) in the fourth decimal because the outcome is rare).

Run:  nice -n 10 python validation/sw_validity.py [--replications 1000]
Writes validation/sw_validity.csv (one row per scenario and method), sw_validity_trials.csv.gz
(every trial's estimate, standard error, df and p-value) and sw_validity.md / .rst (the table in
the docs). Seeds: trial r of scenario (shape s, icc i, effect e) uses
numpy default_rng([20261204, s, i, e, r]).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

import sfpc_eval as se
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.simulate import DEFAULT_EFFECTS, trial_spec

HERE = Path(__file__).parent
SHAPES = ("fs", "nwd")
SHAPE_NAMES = {"fs": "Family Safeguarding", "nwd": "No Wrong Door"}
ICCS = (0.01, 0.05)
EFFECTS = {"size": 1.0, "coverage": 0.8}
NO_COVARIATE_EFFECTS = dict.fromkeys(DEFAULT_EFFECTS, 0.0)
ARGS = ("looked_after", "cluster", "period", "treated")
METHODS = (
    "GLMM, Wald z",
    "GLMM, Satterthwaite df (default)",
    "GLMM, between-within df",
    "GEE, Mancl-DeRouen, t(G-1)",
    "GEE, Kauermann-Carroll, t(G-1)",
    "GLM + CR2, Satterthwaite df",
    "randomization over rollout orders",
)
DEFAULT = METHODS[1]
ALPHA = 0.05


def cluster_sd(icc: float) -> float:
    """SD of the council intercept giving latent-scale ICC ``icc``."""
    return math.sqrt(icc / (1 - icc) * math.pi**2 / 3)


def simulate(shape: str, icc: float, odds_ratio: float, seed: list[int]) -> pd.DataFrame:
    """One trial of ``shape`` with a freshly randomised rollout order."""
    gen = np.random.default_rng(seed)
    spec = trial_spec(shape)
    design = spec.design
    order = gen.permutation(design.n_clusters)
    permuted = SteppedWedgeDesign(
        list(design.clusters),
        list(np.asarray(design.switch_periods)[order]),
        list(design.periods),
        cluster_period_sizes=design.cluster_period_sizes,
    )
    return se.simulate_trial(
        dataclasses.replace(spec, design=permuted),
        rng=gen,
        odds_ratio=odds_ratio,
        cluster_sd=cluster_sd(icc),
        covariate_effects=NO_COVARIATE_EFFECTS,
    )


def population_averaged_truth(shape: str, icc: float, odds_ratio: float) -> float:
    """Population-averaged log odds ratio of the simulation (the GEE's target).

    The exposure-weighted mean over treated cells of the log odds ratio of the marginal risks
    (averaged over the council intercept by 60-point Gauss-Hermite quadrature).
    """
    if odds_ratio == 1:
        return 0.0
    data = se.simulate_trial(
        trial_spec(shape),
        rng=0,
        odds_ratio=odds_ratio,
        cluster_sd=0.0,
        covariate_effects=NO_COVARIATE_EFFECTS,
    )
    truth = data.attrs["truth"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    u = cluster_sd(icc) * nodes
    design = trial_spec(shape).design
    sizes = design.sizes()
    exposure = design.exposure_matrix()
    total = value = 0.0
    for i, name in enumerate(design.clusters):
        for j in range(design.n_periods):
            if exposure[i, j] != 1:
                continue
            a = truth.cluster_intercepts[name] + truth.period_effects[j]
            p0 = weights @ special.expit(a + u)
            p1 = weights @ special.expit(a + math.log(odds_ratio) + u)
            value += sizes[i, j] * (special.logit(p1) - special.logit(p0))
            total += sizes[i, j]
    return value / total


def _offset_glm(z: np.ndarray, y: np.ndarray, n: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Binomial GLM on cells with an offset (Newton); returns the coefficients."""
    beta = np.zeros(z.shape[1])
    for _ in range(50):
        mu = special.expit(z @ beta + offset)
        w = n * mu * (1 - mu)
        step = np.linalg.solve(z.T @ (w[:, None] * z), z.T @ (y - n * mu))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def shifted_randomization_p(data: pd.DataFrame, b0: float) -> float:
    """Randomization p-value of ``log OR = b0``.

    The GLM (period and council effects) with offset ``b0 * treated`` is refitted with the
    treatment of every rollout order; the statistic is its |log odds ratio|.
    """
    cells = data.groupby(["cluster", "period"], sort=True).agg(
        y=("looked_after", "sum"), n=("looked_after", "size"), x=("treated", "first")
    )
    cluster = pd.factorize(cells.index.get_level_values(0), sort=True)[0]
    period = cells.index.get_level_values(1).to_numpy()
    n_c, periods = cluster.max() + 1, np.unique(period)
    fixed = [np.ones(len(cells))]
    fixed += [(period == t).astype(float) for t in periods[1:]]
    fixed += [(cluster == c).astype(float) for c in range(1, n_c)]
    x = cells["x"].to_numpy(dtype=float)
    switch = np.array([period[(cluster == c) & (x == 1)].min() for c in range(n_c)])
    y, n = cells["y"].to_numpy(dtype=float), cells["n"].to_numpy(dtype=float)
    offset = b0 * x
    values = []
    orders = sorted(set(itertools.permutations(switch.tolist())))
    orders.remove(tuple(switch.tolist()))
    for order in [tuple(switch.tolist()), *orders]:
        x_new = (period >= np.asarray(order)[cluster]).astype(float)
        values.append(_offset_glm(np.column_stack([*fixed, x_new]), y, n, offset)[-1])
    values = np.abs(np.array(values))
    return float(np.mean(values >= values[0] * (1 - 1e-10)))


def analyse(
    data: pd.DataFrame, truth: float, truth_pa: float, size: bool, only: tuple[str, ...] = ()
) -> list[dict]:
    """Every method's (or the ``only`` methods') estimate, SE, df and p-value of the truth."""
    rows = []
    settings = {
        METHODS[0]: {"df_method": "z"},
        METHODS[1]: {},
        METHODS[2]: {"df_method": "between_within"},
        METHODS[3]: {"model": "gee", "gee_variance": "MD"},
        METHODS[4]: {"model": "gee", "gee_variance": "KC"},
        METHODS[5]: {"model": "glm"},
    }
    if only:
        settings = {m: kw for m, kw in settings.items() if m in only}
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.SfpcEvalWarning)
        for method, kwargs in settings.items():
            try:
                fits[method] = se.stepped_wedge(data, *ARGS, **kwargs)
            except se.SfpcEvalError as err:  # counted as a failure in the table
                fits[method] = str(err)
        if only and METHODS[6] not in only:
            ri_p = None
        elif size:
            ri = se.stepped_wedge(
                data, *ARGS, model="glm", inference=se.SteppedWedgeRandomization()
            )
            ri_p = ri.estimate.p_value
        else:
            ri_p = shifted_randomization_p(data, truth)
    for method, res in fits.items():
        if isinstance(res, str):
            rows.append({"method": method, "p_value": np.nan, "error": res})
            continue
        t = res.estimate
        target = truth_pa if res.model == "gee" else truth
        statistic = (t.estimate - target) / t.std_error
        p = (
            2 * stats.t.sf(abs(statistic), t.df)
            if math.isfinite(t.df)
            else 2 * stats.norm.sf(abs(statistic))
        )
        rows.append(
            {
                "method": method,
                "estimate": t.estimate,
                "std_error": t.std_error,
                "df": t.df,
                "p_value": p,
                "random_sd": res.random_sd,
            }
        )
    if ri_p is not None:
        rows.append({"method": METHODS[6], "p_value": ri_p})
    return rows


def run(replications: int, progress: bool = True, only: tuple[str, ...] = ()) -> pd.DataFrame:
    """Run every scenario; one row per trial and method (``only``: just these methods)."""
    from tqdm.auto import tqdm

    scenarios = [
        (s, i, e) for s in range(len(SHAPES)) for i in range(len(ICCS)) for e in range(len(EFFECTS))
    ]
    bar = tqdm(total=len(scenarios) * replications, desc="simulated trials", disable=not progress)
    out = []
    for s, i, e in scenarios:
        shape, icc, (what, odds_ratio) = SHAPES[s], ICCS[i], list(EFFECTS.items())[e]
        truth = math.log(odds_ratio)
        truth_pa = population_averaged_truth(shape, icc, odds_ratio)
        for r in range(replications):
            data = simulate(shape, icc, odds_ratio, [20261204, s, i, e, r])
            for row in analyse(data, truth, truth_pa, what == "size", only):
                out.append({"shape": shape, "icc": icc, "measure": what, "trial": r, **row})
            bar.update()
    bar.close()
    return pd.DataFrame(out)


def summarise(trials: pd.DataFrame) -> pd.DataFrame:
    """Size (rejection of the true null) and coverage (non-rejection of the truth) per cell."""
    trials = trials.assign(reject=trials["p_value"] <= ALPHA, failed=trials["p_value"].isna())
    rows = []
    for (shape, icc, method), group in trials.groupby(["shape", "icc", "method"], sort=False):
        done = group[~group["failed"]]
        size = done[done["measure"] == "size"]["reject"]
        cover = ~done[done["measure"] == "coverage"]["reject"]
        rows.append(
            {
                "shape": shape,
                "icc": icc,
                "method": method,
                "size": size.mean(),
                "coverage": cover.mean(),
                "replications": min(len(size), len(cover)),
                "failed": int(group["failed"].sum()),
                "singular_share": (group["random_sd"] < 1e-4).mean()
                if method.startswith("GLMM")
                else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    n = out["replications"]
    out["size_mc_se"] = np.sqrt(out["size"] * (1 - out["size"]) / n)
    out["coverage_mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / n)
    return out


def write_tables(summary: pd.DataFrame, elapsed: float, rerun: str = "") -> None:
    """Write the table as Markdown (notes) and reStructuredText (docs)."""
    columns = [(s, i) for s in SHAPES for i in ICCS]
    head = [f"{SHAPE_NAMES[s]}, ICC {i}" for s, i in columns]
    by = summary.set_index(["method", "shape", "icc"])
    n = int(summary["replications"].max())
    failed = summary.groupby(["shape", "icc"], sort=False)["failed"].max()
    failures = (
        "; no fit failed"
        if not failed.any()
        else "; a method that could not be fitted leaves the trial out of its row (GEE: "
        + ", ".join(f"{failed[(s, i)]}" for s, i in columns)
        + " trials in the four columns; counts in sw_validity.csv)"
    )
    versions = ", ".join(f"{p} {version(p)}" for p in ("numpy", "scipy", "pandas"))
    caption = (
        f"Size of the 5% test (true odds ratio 1) / coverage of the 95% interval (true odds ratio "
        f"0.8), {n:,} simulated trials per cell and measure{failures} (Monte Carlo SE about 0.7 "
        "points for size and coverage). Rollout order randomised in every trial; no covariates. "
        f"Python {sys.version.split()[0]}, {versions}; sfpc_eval {se.__version__}; "
        f"{elapsed / 60:.0f} minutes on one core{rerun}."
    )
    md = ["| method | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    rst = [".. list-table::", "   :header-rows: 1", "", "   * - method"]
    rst += [f"     - {h}" for h in head]
    for method in METHODS:
        cells = [
            f"{100 * by.loc[(method, s, i), 'size']:.1f}% / "
            f"{100 * by.loc[(method, s, i), 'coverage']:.1f}%"
            for s, i in columns
        ]
        md.append(f"| {method} | " + " | ".join(cells) + " |")
        rst.append(f"   * - {method}")
        rst += [f"     - {c}" for c in cells]
    md += ["", caption]
    rst += ["", caption]
    (HERE / "sw_validity.md").write_text("\n".join(md) + "\n")
    (HERE / "sw_validity.rst").write_text("\n".join(rst) + "\n")
    print("\n".join(md))


def main() -> None:
    """Run every scenario and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument(
        "--tables-only",
        type=float,
        metavar="MINUTES",
        help="rewrite the tables from the committed sw_validity.csv (MINUTES: the run's time)",
    )
    parser.add_argument(
        "--rerun",
        choices=("gee",),
        help="re-run only these methods (gee: both GEE rows) and replace their rows in the "
        "committed sw_validity_trials.csv.gz; the other methods' trials are kept",
    )
    args = parser.parse_args()
    if args.rerun == "gee":
        start = time.perf_counter()
        gee = (METHODS[3], METHODS[4])
        fresh = run(args.replications, only=gee)
        kept = pd.read_csv(HERE / "sw_validity_trials.csv.gz")
        kept = kept[~kept["method"].isin(gee)]
        trials = pd.concat([kept, fresh], ignore_index=True)
        trials.to_csv(HERE / "sw_validity_trials.csv.gz", index=False)
        summary = summarise(trials)
        summary.to_csv(HERE / "sw_validity.csv", index=False)
        minutes = (time.perf_counter() - start) / 60
        rerun = f" (the GEE rows re-run on {time.strftime('%Y-%m-%d')}: {minutes:.0f} minutes)"
        write_tables(summary, 60 * 105, rerun)  # 105 minutes: the full run of 2026-12-04
        return
    if args.tables_only is not None:
        write_tables(pd.read_csv(HERE / "sw_validity.csv"), 60 * args.tables_only)
        return
    start = time.perf_counter()
    trials = run(args.replications)
    trials.to_csv(HERE / "sw_validity_trials.csv.gz", index=False)
    summary = summarise(trials)
    summary.to_csv(HERE / "sw_validity.csv", index=False)
    write_tables(summary, time.perf_counter() - start)


if __name__ == "__main__":
    main()
