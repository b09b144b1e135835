"""Benchmark: TWFE DiD + CR1 on 10M child-period rows from Parquet, where the data live.

Contenders, each in its own fresh Python process (so its peak resident memory is its own),
on the same Parquet file written by ``sfpc_eval.engines.write_national`` (seeded):

- ``floor``: a bare DuckDB ``GROUP BY la, period, treated`` with count, sum and sum of squares
  of the outcome, read from the file (reading the data once: nothing can be faster);
- ``sfpc_eval+duckdb``: ``se.did("file.parquet", ..., inference=ClusterRobust(kind="CR1"))``
  (one GROUP BY in DuckDB with the checks, then the fit on ~3,000 cells);
- ``pyfixest``: ``pd.read_parquet`` of the four columns, then
  ``pf.feols("score ~ treated | la + period", vcov={"CRV1": "la"})``; timed as load + fit
  (from the same file, like the others) and fit alone;
- ``sfpc_eval+pandas``: the same data loaded into pandas, then ``se.did(frame, ...)``;
- ``sfpc_eval+spark`` (with ``--spark``): ``se.did(spark.read.parquet(file), ...)`` in local
  mode, to check that it runs and matches (not a speed contender: Spark's start-up dominates).

Run:   python benchmarks/scale_did.py [--rows 10000000] [--repeat 3] [--spark] [--keep]
       python benchmarks/scale_did.py --rows 50000000 --only floor,sfpc_eval+duckdb
Needs: duckdb, pyfixest (``pip install -e ".[bench,scale]"``); pyspark and Java 17 for --spark.

Each contender runs in ``--rounds`` fresh processes, interleaved with the others (so a change
in a shared machine's load hits all of them), each doing one warm-up run (the file is then in
the page cache for everyone) and ``--repeat`` timed runs. Prints, per contender: the best
seconds, the peak resident memory (MB) of the process and its children (the JVM, for Spark;
``ru_maxrss``, or sampled every 20 ms with psutil), the ratios against sfpc_eval+duckdb
measured in the same run, and the estimate and standard error with their differences from
sfpc_eval+duckdb. BLAS is pinned to ``--blas-threads`` threads in every worker (default 1: on a
shared 2-core machine OpenBLAS's spinning threads otherwise slow small matrix work tenfold).
The Parquet file is written to a temporary folder and deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = r"""
import json, resource, sys, time
path, tool, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
columns = ["la", "period", "treated", "score"]

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

if tool == "floor":
    import duckdb
    def run():
        con = duckdb.connect()
        out = con.sql(
            "SELECT la, period, treated, COUNT(*) AS n, SUM(score) AS sy, "
            f"SUM(score * score) AS syy FROM read_parquet('{path}') GROUP BY la, period, treated"
        ).df()
        return float("nan"), float("nan"), len(out)
elif tool == "sfpc_eval+duckdb":
    import duckdb
    import sfpc_eval as se
    def run():
        res = se.did(path, outcome="score", unit="la", time="period", treated="treated",
                     inference=se.ClusterRobust(kind="CR1"))
        return res.estimate.estimate, res.estimate.std_error, res.n_cells
elif tool == "sfpc_eval+pandas":
    import pandas as pd
    import sfpc_eval as se
    def run():
        frame = pd.read_parquet(path, columns=columns)
        res = se.did(frame, outcome="score", unit="la", time="period", treated="treated",
                     inference=se.ClusterRobust(kind="CR1"))
        return res.estimate.estimate, res.estimate.std_error, res.n_cells
elif tool == "pyfixest":
    import pandas as pd
    import pyfixest as pf
    fit_seconds = []
    def run():
        frame = pd.read_parquet(path, columns=columns)
        start = time.perf_counter()
        fit = pf.feols("score ~ treated | la + period", data=frame, vcov={"CRV1": "la"})
        out = float(fit.coef()["treated"]), float(fit.se()["treated"]), len(frame)
        fit_seconds.append(time.perf_counter() - start)
        return out
elif tool == "sfpc_eval+spark":
    from pyspark.sql import SparkSession
    import sfpc_eval as se
    spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "2g")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    def run():
        res = se.did(spark.read.parquet(path), outcome="score", unit="la", time="period",
                     treated="treated", inference=se.ClusterRobust(kind="CR1"))
        return res.estimate.estimate, res.estimate.std_error, res.n_cells
else:
    raise SystemExit(f"unknown tool {tool}")

base = peak_mb()
estimate, std_error, size = run()  # warm-up (page cache, imports, JIT)
times = []
for _ in range(repeat):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
out = {"tool": tool, "seconds": min(times), "peak_mb": peak_mb(), "base_mb": base,
       "estimate": estimate, "std_error": std_error, "size": size}
if tool == "pyfixest":
    out["fit_seconds"] = min(fit_seconds[1:] or fit_seconds)
print(json.dumps(out))
"""

TOOLS = ("floor", "sfpc_eval+duckdb", "pyfixest", "sfpc_eval+pandas")


def _run(path: Path, tool: str, repeat: int, blas_threads: int) -> dict:
    """Run one contender in a fresh process; peak memory covers its child processes too."""
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(blas_threads)
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path), tool, str(repeat)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    tree_peak = _watch_tree(proc)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        return {"tool": tool, "error": stderr.strip().splitlines()[-1:]}
    out = json.loads(stdout.strip().splitlines()[-1])
    out["peak_mb"] = max(out["peak_mb"], tree_peak)  # the JVM, for Spark
    return out


def _watch_tree(proc: subprocess.Popen) -> float:
    """Largest resident memory (MB) of the process and its children, sampled every 20 ms."""
    try:
        import psutil
    except ImportError:  # ru_maxrss of the worker alone
        return 0.0
    peak = 0.0
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak = max(peak, total / 2**20)
            time.sleep(0.02)
    except psutil.Error:
        pass
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--path", type=Path, help="reuse (or write) the Parquet file here")
    parser.add_argument("--only", help="comma-separated contenders (default: all but spark)")
    parser.add_argument("--spark", action="store_true", help="also run sfpc_eval on Spark")
    parser.add_argument("--keep", action="store_true", help="keep the generated Parquet file")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds (fresh processes)"
    )
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    tools = args.only.split(",") if args.only else [*TOOLS, *(["sfpc_eval+spark"] * args.spark)]

    folder = None
    path = args.path
    if path is None:
        folder = tempfile.mkdtemp(prefix="sfpc_scale_")
        path = Path(folder) / f"national_{args.rows}.parquet"
    if not path.exists():
        start = time.perf_counter()
        # in a child process: the workers are started from this one, and on Linux a child's
        # ru_maxrss starts at its parent's resident size, so this process stays small
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from sfpc_eval.engines import write_national; "
                "write_national(sys.argv[1], int(sys.argv[2]))",
                str(path),
                str(args.rows),
            ],
            check=True,
        )
        print(
            f"wrote {args.rows:,} rows to {path} ({path.stat().st_size / 1e6:,.0f} MB) "
            f"in {time.perf_counter() - start:.1f} s"
        )
    try:
        # rounds interleave the contenders, so a change in the machine's load hits them all
        runs = [
            _run(path, tool, args.repeat, args.blas_threads)
            for _ in range(args.rounds)
            for tool in tools
        ]
        rows = [_best([r for r in runs if r["tool"] == tool]) for tool in tools]
    finally:
        if folder is not None and not args.keep:
            path.unlink(missing_ok=True)
            os.rmdir(folder)
    _report(rows, args)


def _best(runs: list[dict]) -> dict:
    """Fastest time and largest peak memory over the rounds."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    best = dict(min(good, key=lambda r: r["seconds"]))
    best["peak_mb"] = max(r["peak_mb"] for r in good)
    if "fit_seconds" in best:
        best["fit_seconds"] = min(r["fit_seconds"] for r in good)
    return best


def _report(rows: list[dict], args: argparse.Namespace) -> None:
    print(
        f"\nTWFE DiD + CR1 (clustered by LA), {args.rows:,} rows from Parquet; best of "
        f"{args.rounds} interleaved rounds x {args.repeat} runs after a warm-up; BLAS threads "
        f"{args.blas_threads}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}"
    )
    ours = next((r for r in rows if r["tool"] == "sfpc_eval+duckdb" and "error" not in r), None)
    print(
        f"{'contender':<18}{'seconds':>9}{'peak MB':>9}{'time / ours':>13}{'mem / ours':>12}"
        f"{'estimate':>14}{'SE':>12}{'|d est|':>10}{'|d SE|':>10}"
    )
    for row in rows:
        if "error" in row:
            print(f"{row['tool']:<18} failed: {row['error']}")
            continue
        t_ratio = row["seconds"] / ours["seconds"] if ours else float("nan")
        m_ratio = row["peak_mb"] / ours["peak_mb"] if ours else float("nan")
        d_est = abs(row["estimate"] - ours["estimate"]) if ours else float("nan")
        d_se = abs(row["std_error"] - ours["std_error"]) if ours else float("nan")
        print(
            f"{row['tool']:<18}{row['seconds']:>9.3f}{row['peak_mb']:>9.0f}{t_ratio:>13.2f}"
            f"{m_ratio:>12.2f}{row['estimate']:>14.8f}{row['std_error']:>12.8f}"
            f"{d_est:>10.1e}{d_se:>10.1e}"
        )
        if "fit_seconds" in row:
            fit_ratio = row["fit_seconds"] / ours["seconds"] if ours else float("nan")
            print(f"{'  (fit alone)':<18}{row['fit_seconds']:>9.3f}{'':>9}{fit_ratio:>13.2f}")
    if ours:
        print(
            f"\nsfpc_eval+duckdb: {ours['size']:,} cells; peak RSS {ours['peak_mb']:.0f} MB "
            f"(of which {ours['base_mb']:.0f} MB after imports)"
        )
        targets = {
            "floor": ("<= 2x the bare GROUP BY", lambda r: ours["seconds"] / r["seconds"] <= 2),
            "pyfixest": (
                ">= 10x faster than pyfixest (load + fit), peak memory <= 1/5",
                lambda r: (
                    r["seconds"] / ours["seconds"] >= 10 and ours["peak_mb"] <= r["peak_mb"] / 5
                ),
            ),
        }
        for row in rows:
            if row["tool"] in targets and "error" not in row:
                label, check = targets[row["tool"]]
                print(f"target {label}: {'met' if check(row) else 'NOT met'}")


if __name__ == "__main__":
    main()
