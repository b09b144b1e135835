"""Benchmark: stepped-wedge power, simulated power and the child-level trial simulator.

1. Treatment-effect variance of a large incomplete design (60 clusters x 31 periods, exponential
   decay, unequal sizes): sfpc_eval's cluster-wise closed-form inverses against the dense GLS
   computation a power tool builds directly (full covariance matrix of all cluster-period means,
   numpy inversion), measured in the same run; the two must agree.
2. simulated_power with the GLS analysis, 10,000 trials of the Family Safeguarding design.
3. simulate_trial: 50,000 children, Family Safeguarding shape, MAR missingness.

Run:  python benchmarks/sw_design.py [--repeat 3]
Prints seconds (best of --repeat) and peak traced memory (tracemalloc) of each step, and the
speed ratio against the dense computation.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.power import treatment_variance
from sfpc_eval.trials.simpower import simulated_power
from sfpc_eval.trials.simulate import FAMILY_SAFEGUARDING, simulate_trial


def dense_variance(x, m, sigma_e2, tau2, cac):
    """Dense GLS variance (exponential decay), as built directly from the model."""
    n, t = x.shape
    cells = [(i, j) for i in range(n) for j in range(t) if not np.isnan(x[i, j])]
    design = np.zeros((len(cells), t + 1))
    cov = np.zeros((len(cells), len(cells)))
    for a, (i, j) in enumerate(cells):
        design[a, j] = 1.0
        design[a, -1] = x[i, j]
    idx = np.array(cells)
    same = idx[:, 0][:, None] == idx[:, 0][None, :]
    lag = np.abs(idx[:, 1][:, None] - idx[:, 1][None, :])
    cov[same] = tau2 * cac ** lag[same]
    cov[np.diag_indices(len(cells))] += sigma_e2 / m[idx[:, 0], idx[:, 1]]
    info = design.T @ np.linalg.solve(cov, design)
    return np.linalg.inv(info)[-1, -1]


def timed(func, repeat):
    """Best-of-``repeat`` seconds and peak traced memory (MB) of ``func()``."""
    best, peak, value = float("inf"), 0.0, None
    for _ in range(repeat):
        tracemalloc.start()
        start = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - start)
        peak = max(peak, tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return best, peak, value


def main() -> None:
    """Run the three benchmarks and print the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(20261123)
    k, t = 60, 31
    switch = [1 + (i % (t - 1)) for i in range(k)]
    holes = [(int(i), int(j)) for i, j in zip(rng.integers(0, k, 150), rng.integers(0, t, 150),
                                               strict=True)]
    holes = [(i, j) for i, j in holes if j != switch[i] and j != switch[i] - 1]
    design = SteppedWedgeDesign([f"c{i}" for i in range(k)], switch, t, unobserved=holes,
                                cluster_period_sizes=rng.integers(20, 200, (k, t)).astype(float))
    x, m = design.exposure_matrix(), design.sizes()
    ours_s, ours_mb, ours = timed(lambda: treatment_variance(
        design, sigma_e2=0.95, tau2=0.05, cac=0.7, decay="exponential"), args.repeat)
    dense_s, dense_mb, dense = timed(lambda: dense_variance(x, m, 0.95, 0.05, 0.7), args.repeat)
    print(f"variance, {k} clusters x {t} periods, {int((~np.isnan(x)).sum())} cells, "
          "exponential decay, incomplete:")
    print(f"  sfpc_eval  {ours_s * 1e3:8.2f} ms  peak {ours_mb:7.1f} MB  var {ours:.12e}")
    print(f"  dense GLS  {dense_s * 1e3:8.2f} ms  peak {dense_mb:7.1f} MB  var {dense:.12e}")
    print(f"  speed ratio (dense / sfpc_eval): {dense_s / ours_s:.1f}x; "
          f"relative difference {abs(ours - dense) / dense:.1e}")

    fs = FAMILY_SAFEGUARDING.design
    sim_s, sim_mb, res = timed(lambda: simulated_power(
        fs, effect=-0.01, outcome="binary", baseline_risk=0.05, icc=0.02, cac=0.8,
        n_sims=10_000, rng=1, progress=False), args.repeat)
    print(f"simulated_power (GLS), 10,000 Family Safeguarding trials: {sim_s:.3f} s, peak "
          f"{sim_mb:.1f} MB; power {res.power:.4f} (MC SE {res.mc_std_error:.4f}) vs closed "
          f"form {res.closed_form.power:.4f}")

    gen_s, gen_mb, frame = timed(lambda: simulate_trial(
        "family_safeguarding", rng=1, n_children=50_000, missing="mar"), args.repeat)
    print(f"simulate_trial, {len(frame):,} children: {gen_s:.3f} s, peak {gen_mb:.1f} MB")


if __name__ == "__main__":
    main()
