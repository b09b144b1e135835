"""Monte Carlo validity of 95% intervals for the DiD effect with few clusters.

Design (known truth): G local authorities (5, 10, 20, 50), half of them (rounded down) adopting
in period 6 of 10; outcome = LA effect + period effect + AR(1) errors within each LA (rho 0.5,
heteroskedastic across LAs: SD 1 to 3) + a true effect of 1.0. Each replication fits the TWFE DiD
once and reads the interval under four inference settings:

- CR1 with G - 1 degrees of freedom (Stata / sandwich::vcovCL);
- CR2 with Satterthwaite degrees of freedom (clubSandwich);
- wild cluster bootstrap, null imposed, CR1 percentile-t, test-inversion interval
  (Rademacher weights, every sign vector when 2^G <= 4096, otherwise 999 draws; Webb weights
  with 999 draws when G < 10, since 2^5 = 32 sign vectors are too few);
- the subcluster wild bootstrap of MacKinnon and Webb (2018): the same, but one Rademacher
  weight per LA-period (999 draws) while the t statistic stays clustered by LA;
- randomization inference over adoption dates (every assignment when at most 20,000, otherwise
  999 draws), test-inversion interval;
- the same with ties broken at random (``Randomization(ties="randomized")``), whose test has
  exactly the nominal size however few the assignments (G = 5 has 10).

Run:  python validation/did_coverage.py [--replications 2000] [--workers 2]
Writes validation/did_coverage.csv and validation/did_coverage.md (the table shown in the docs).
Seeds: replication r of design G uses numpy default_rng([20261123, G, r]).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

import sfpc_eval as se

HERE = Path(__file__).parent
TRUTH = 1.0
PERIODS = 10
ADOPTION = 6
METHODS = (
    "CR1 (G-1 df)",
    "CR2 (Satterthwaite)",
    "wild cluster bootstrap",
    "wild bootstrap, LA-period subclusters",
    "randomization",
    "randomization, ties at random",
)


def simulate(n_clusters: int, replication: int) -> pd.DataFrame:
    """One seeded panel of the design."""
    rng = np.random.default_rng([20261123, n_clusters, replication])
    la = np.repeat(np.arange(n_clusters), PERIODS)
    period = np.tile(np.arange(1, PERIODS + 1), n_clusters)
    treated_las = rng.permutation(n_clusters)[: n_clusters // 2]
    treated = (np.isin(la, treated_las) & (period >= ADOPTION)).astype(int)
    sd = rng.uniform(1, 3, n_clusters)
    errors = np.empty((n_clusters, PERIODS))
    errors[:, 0] = rng.normal(0, 1, n_clusters)
    for t in range(1, PERIODS):
        errors[:, t] = 0.5 * errors[:, t - 1] + math.sqrt(1 - 0.25) * rng.normal(0, 1, n_clusters)
    y = (
        rng.normal(0, 5, n_clusters)[la]
        + 0.3 * period
        + TRUTH * treated
        + (errors * sd[:, None]).ravel()
    )
    return pd.DataFrame({"la": la, "period": period, "treated": treated, "y": y})


def intervals(n_clusters: int, replication: int) -> list[tuple[str, float, float]]:
    """Return the six 95% intervals for one replication."""
    data = simulate(n_clusters, replication)
    base = se.did(data, outcome="y", unit="la", time="period", treated="treated")
    wild = (
        se.WildClusterBootstrap(weights="webb", n_resamples=999, rng=replication)
        if n_clusters < 10
        else se.WildClusterBootstrap(n_resamples=999, rng=replication)
    )
    settings = {
        METHODS[0]: se.ClusterRobust(kind="CR1"),
        METHODS[1]: None,
        METHODS[2]: wild,
        METHODS[3]: se.WildClusterBootstrap(
            bootcluster=("la", "period"), n_resamples=999, rng=replication
        ),
        METHODS[4]: se.Randomization(n_resamples=999, rng=replication),
        METHODS[5]: se.Randomization(n_resamples=999, rng=replication, ties="randomized"),
    }
    out = []
    for name, inference in settings.items():
        term = (base if inference is None else base.with_inference(inference)).estimate
        out.append((name, term.conf_low, term.conf_high))
    return out


def run_design(args: tuple[int, range]) -> list[dict]:
    """Run a block of replications of one design (one worker)."""
    n_clusters, replications = args
    rows = []
    for r in replications:
        for name, low, high in intervals(n_clusters, r):
            rows.append(
                {"G": n_clusters, "replication": r, "method": name, "low": low, "high": high}
            )
    return rows


def main() -> None:
    """Run every design and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--designs", type=int, nargs="+", default=[5, 10, 20, 50])
    args = parser.parse_args()
    start = time.perf_counter()
    chunks = []
    # split each design into blocks so both workers stay busy until the end
    block = max(1, args.replications // 10)
    jobs = [
        (g, range(start, min(start + block, args.replications)))
        for g in args.designs
        for start in range(0, args.replications, block)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        for rows in pool.map(run_design, jobs):
            chunks.extend(rows)
    frame = pd.DataFrame(chunks)
    frame["covered"] = (frame["low"] <= TRUTH) & (frame["high"] >= TRUTH)
    frame["unbounded"] = ~np.isfinite(frame["low"]) | ~np.isfinite(frame["high"])
    frame["width"] = frame["high"] - frame["low"]
    summary = (
        frame.groupby(["G", "method"], sort=False)
        .agg(
            coverage=("covered", "mean"),
            unbounded=("unbounded", "mean"),
            median_width=("width", "median"),
            replications=("covered", "size"),
        )
        .reset_index()
    )
    summary["mc_se"] = np.sqrt(
        summary["coverage"] * (1 - summary["coverage"]) / summary["replications"]
    )
    summary.to_csv(HERE / "did_coverage.csv", index=False)
    write_tables(summary, args.replications, args.workers, time.perf_counter() - start)


def write_tables(summary: pd.DataFrame, replications: int, workers: int, elapsed: float) -> None:
    """Write the coverage table as Markdown (README, notes) and reStructuredText (docs)."""
    table = summary.pivot_table(index="method", columns="G", values="coverage").loc[list(METHODS)]
    lines = [
        "| method | " + " | ".join(f"G = {g}" for g in table.columns) + " |",
        "|---|" + "---|" * len(table.columns),
    ]
    for method, row in table.iterrows():
        lines.append(f"| {method} | " + " | ".join(f"{100 * v:.1f}%" for v in row) + " |")
    versions = ", ".join(f"{p} {version(p)}" for p in ("numpy", "scipy", "pandas"))
    lines += [
        "",
        f"Coverage of nominal 95% intervals, {replications:,} replications per design "
        f"(Monte Carlo SE about 0.5 points). Python {sys.version.split()[0]}, {versions}; "
        f"sfpc_eval {se.__version__}; {elapsed / 60:.0f} minutes on {workers} workers.",
    ]
    (HERE / "did_coverage.md").write_text("\n".join(lines) + "\n")
    rst = [".. list-table::", "   :header-rows: 1", "", "   * - method"]
    rst += [f"     - G = {g}" for g in table.columns]
    for method, row in table.iterrows():
        rst.append(f"   * - {method}")
        rst += [f"     - {100 * v:.1f}%" for v in row]
    rst += ["", lines[-1]]
    (HERE / "did_coverage.rst").write_text("\n".join(rst) + "\n")
    print("\n".join(lines))


def tables_from_csv(replications: int, workers: int, minutes: float) -> None:
    """Rewrite the Markdown and reStructuredText tables from did_coverage.csv."""
    write_tables(pd.read_csv(HERE / "did_coverage.csv"), replications, workers, minutes * 60)


if __name__ == "__main__":
    main()
