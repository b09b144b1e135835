"""Benchmark: synthetic DiD with 200 placebo replications, sfpc_eval against diff-diff.

Workloads (each a one-treated-council panel):

- ``prop99``: California's Proposition 99 (39 states x 31 years, 1989 on; the paper's
  application), from the data shipped with synthdid-py (simulated with that shape when
  synthdid-py is not installed);
- ``councils``: the real LA panel (children looked after per 10,000, 2010-2025: about 150
  councils x 16 years, councils with a missing year left out; Leeds treated from 2015) when
  the DfE files are at DATA_DIR, else a simulated panel of that shape.

Contenders, each in its own fresh Python process, on the same panel, the same estimator
(Arkhangelsky et al. 2021, R ``synthdid``'s Frank-Wolfe solver and warm starts) and the same
200 placebo relabellings (``numpy.random.default_rng(1).permutation``, which all three draw
the same way, so the standard errors agree to rounding):

- ``sfpc_eval``: ``synthetic_did(..., variance="placebo", replications=200, rng=1)``, with the
  compiled Frank-Wolfe kernel when numba is installed (the ``fast`` extra);
- ``sfpc_eval (numpy)``: the same with ``SFPC_EVAL_NUMBA=0`` (the lockstep numpy kernel);
- ``diff-diff``: ``SyntheticDiD(variance_method="placebo", n_bootstrap=200, seed=1).fit``
  (Rust backend);
- ``synthdid-py`` (with ``--synthdid-py``; minutes): ``synthdid_estimate`` and ``placebo_se``.

Each process does one warm-up fit (imports, and numba's compiled-kernel cache) and then
``--repeat`` timed fits; it prints the best seconds, its first (cold) fit's seconds and its peak
resident memory. BLAS is pinned to one thread in every worker. The summary gives each tool's
time as a ratio to diff-diff's (diff-diff seconds / tool seconds: above 1 is faster than
diff-diff) and the estimate and standard error with their differences from diff-diff's.

Run:   python benchmarks/synthetic_did.py [DATA_DIR] [--repeat 3] [--synthdid-py]
Needs: pip install -e ".[bench,fast]"  (diff-diff, synthdid-py, numba)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPLICATIONS = 200
TOOLS = ("sfpc_eval", "sfpc_eval (numpy)", "diff-diff")


def prop99():
    """(long panel with unit, year, y; treated unit; start; description)."""
    import numpy as np
    import pandas as pd

    try:
        import synthdid as sd

        panel = sd.panel_matrices(sd.load_california_prop99())
        y, n0, t0 = np.asarray(panel.Y), int(panel.N0), int(panel.T0)
        source = "California Prop 99 (synthdid-py's data)"
    except ImportError:
        rng = np.random.default_rng(99)
        n0, t0 = 38, 19
        factors = rng.normal(0, 1, (31, 2)).cumsum(0)
        y = 120 + rng.uniform(0, 3, (39, 2)) @ factors.T + rng.normal(0, 2, (39, 31))
        y[n0:, t0:] -= 15
        source = "simulated 39 x 31 (synthdid-py not installed)"
    names = [f"S{i:02d}" for i in range(y.shape[0])]
    frame = pd.DataFrame(
        [(names[i], 1970 + t, y[i, t]) for i in range(y.shape[0]) for t in range(y.shape[1])],
        columns=["unit", "year", "y"],
    )
    return frame, names[n0], 1970 + t0, source


def councils(raw: Path):
    import numpy as np
    import pandas as pd

    if raw.is_dir():
        import sfpc_eval.data as sdata

        full = sdata.la_panel(raw, measures=("cla",), years=range(2010, 2026)).data
        complete = full.groupby("la_name")["cla_rate"].apply(lambda s: s.notna().all())
        data = full[full["la_name"].isin(complete[complete].index)][["la_name", "year", "cla_rate"]]
        data = data.rename(columns={"la_name": "unit", "cla_rate": "y"}).reset_index(drop=True)
        return data, "Leeds", 2015, "real LA panel (cla_rate, 2010-2025)"
    rng = np.random.default_rng(20261123)
    units, years = 150, np.arange(2010, 2026)
    factors = rng.normal(0, 1, (len(years), 3)).cumsum(0)
    y = rng.normal(60, 15, units)[None, :] + factors @ rng.uniform(0, 3, (units, 3)).T
    y = y + rng.normal(0, 1, y.shape)
    data = pd.DataFrame(
        [(f"u{i:03d}", t, y[j, i]) for i in range(units) for j, t in enumerate(years)],
        columns=["unit", "year", "y"],
    )
    return data, "u000", 2015, "simulated 150 x 16"


def peak_mb() -> float:
    """Peak resident memory of this process image (VmHWM), MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(tool: str, panel: str, treated: str, start: str, repeat: str) -> None:
    """Fit with one tool in this fresh process; print one JSON line."""
    import time
    import warnings

    import pandas as pd

    warnings.simplefilter("ignore")
    data = pd.read_pickle(panel)
    start_year = int(start)

    if tool.startswith("sfpc_eval"):
        from sfpc_eval.single_unit.synthdid import synthetic_did

        def run(reps):
            res = synthetic_did(
                data,
                outcome="y",
                unit="unit",
                time="year",
                treated_unit=treated,
                start=start_year,
                replications=reps,
                rng=1,
            )
            return res.estimate, res.term("att").std_error
    elif tool == "diff-diff":
        from diff_diff import SyntheticDiD

        frame = data.assign(treat=(data["unit"] == treated).astype(int))
        post = sorted(y for y in data["year"].unique() if y >= start_year)

        def run(reps):
            fit = SyntheticDiD(variance_method="placebo", n_bootstrap=reps, seed=1).fit(
                frame,
                outcome="y",
                treatment="treat",
                unit="unit",
                time="year",
                post_periods=post,
            )
            return float(fit.att), float(fit.se)
    else:
        import synthdid as sd
        from synthdid.vcov import placebo_se

        wide = data.pivot_table(index="unit", columns="year", values="y", aggfunc="first")
        order = [u for u in wide.index if u != treated] + [treated]
        y = wide.loc[order].to_numpy()
        t0 = int((wide.columns < start_year).sum())

        def run(reps):
            est = sd.synthdid_estimate(y, len(order) - 1, t0)
            return float(est), float(placebo_se(est, replications=reps, random_state=1))

    begin = time.perf_counter()
    run(2)  # warm-up: imports, compiled-kernel cache
    cold = time.perf_counter() - begin
    times = []
    for _ in range(int(repeat)):
        begin = time.perf_counter()
        estimate, se = run(REPLICATIONS)
        times.append(time.perf_counter() - begin)
    print(
        json.dumps(
            {
                "tool": tool,
                "seconds": min(times),
                "cold": cold,
                "peak_mb": peak_mb(),
                "estimate": estimate,
                "se": se,
            }
        )
    )


def run_tool(tool, panel, treated, start, repeat) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if tool == "sfpc_eval (numpy)":
        env["SFPC_EVAL_NUMBA"] = "0"
    out = subprocess.run(
        [sys.executable, __file__, "--worker", tool, str(panel), treated, str(start), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if out.returncode:
        sys.exit(f"{tool} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
    parser.add_argument("data_dir", nargs="?", default=str(default))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--synthdid-py", action="store_true", help="also time synthdid-py")
    parser.add_argument("--only", default="prop99,councils")
    args = parser.parse_args()
    tools = (*TOOLS, "synthdid-py") if args.synthdid_py else TOOLS
    workloads = {"prop99": prop99, "councils": lambda: councils(Path(args.data_dir))}
    for name in args.only.split(","):
        data, treated, start, source = workloads[name]()
        with tempfile.TemporaryDirectory() as tmp:
            panel = Path(tmp) / "panel.pkl"
            data.to_pickle(panel)
            rows = [run_tool(t, panel, treated, start, args.repeat) for t in tools]
        peer = next(r for r in rows if r["tool"] == "diff-diff")
        print(
            f"\n{name}: {source}; {data['unit'].nunique()} units x "
            f"{data['year'].nunique()} periods, treated {treated} from {start}; "
            f"{REPLICATIONS} placebo replications (best of {args.repeat}; cold = first fit)"
        )
        print(
            f"{'tool':<20}{'seconds':>9}{'cold s':>8}{'peak MB':>9}{'vs diff-diff':>14}"
            f"{'estimate':>14}{'SE':>12}{'|d est|':>10}{'|d SE|':>10}"
        )
        for row in rows:
            print(
                f"{row['tool']:<20}{row['seconds']:>9.3f}{row['cold']:>8.2f}"
                f"{row['peak_mb']:>9.0f}{peer['seconds'] / row['seconds']:>13.2f}x"
                f"{row['estimate']:>14.6f}{row['se']:>12.6f}"
                f"{abs(row['estimate'] - peer['estimate']):>10.1e}"
                f"{abs(row['se'] - peer['se']):>10.1e}"
            )


if __name__ == "__main__":
    main()
