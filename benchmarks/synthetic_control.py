"""Benchmark: synthetic control with full placebo-in-space, sfpc_eval against pysyncon.

Data: the real LA panel (children looked after per 10,000, 2010-2025: about 150 councils x 16
years; councils with a missing year are left out) when the DfE files are at DATA_DIR, else a
simulated panel of that shape. Treated council: Leeds (or unit 0), start 2015; predictors: the
outcome in each pre-period; V chosen by the ADH nested search (Nelder-Mead from equal weights)
in both tools, for the treated council and for every placebo.

The parent process builds the panel once and writes it to a temporary pickle. Each tool then
runs in its own fresh Python process (``python synthetic_control.py --worker TOOL PANEL ...``)
that reads that small panel, imports its library, records its baseline, runs, and reports
peak resident memory from ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the OS high-water
mark, covering Python and native allocations): the absolute peak of the process, and the peak
above the baseline taken after reading the panel and importing the library. Loading the DfE
files happens only in the parent, so it no longer hides either tool's peak.

- sfpc_eval.synthetic_control(..., placebo=True): the treated fit and every placebo refit on
  the full panel (timed and measured).
- pysyncon 1.7 Synth.fit(optim_method="Nelder-Mead", optim_initial="equal"): one fit takes
  minutes on the full 148-donor pool, so by default it is timed on ``--pysyncon-fits`` fits
  (default 1: the treated council; each further fit is a placebo) with the donor pool cut to
  the first ``--pysyncon-donors`` donors (default 80; ``all`` for the full pool). Its full
  placebo time is then EXTRAPOLATED as (time per fit) x (number of fits in the full run), and
  with a cut pool that understates pysyncon, since the time per fit grows faster than the
  pool (one treated fit on 2 shared cores: about 3 s with 20 donors, 15 s with 40, 25-50 s
  with 80, several minutes with all 148). Time per fit also varies between councils and
  runs, so few fits give a rough figure. The default run takes about a minute.
  ``--pysyncon-fits all --pysyncon-donors all`` measures everything (hours).

- diff-diff 3.13 ``SyntheticControl(v_method="nested").fit(..., pre_period_outcomes="all")``
  then ``in_space_placebo()``: the full run, measured. Its placebos keep the treated council
  in each placebo's donor pool (its documented reading of ADH 2010), so its p-value is not
  the same statistic; the treated fit's pre-period MSPE is compared.

The pre-period MSPE (outer objective) is compared on the same problem: when pysyncon's pool
is cut, sfpc_eval is also fitted (untimed, after its memory reading) on that cut panel.

Run:  python benchmarks/synthetic_control.py [DATA_DIR] [--pysyncon-fits N|all]
                                             [--pysyncon-donors K|all]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

START = 2015


def build_panel(raw: Path):
    """Return (panel with columns unit, year, y; treated unit; description)."""
    import numpy as np
    import pandas as pd

    if raw.is_dir():
        import sfpc_eval.data as sd

        full = sd.la_panel(raw, measures=("cla",), years=range(2010, 2026)).data
        complete = full.groupby("la_name")["cla_rate"].apply(lambda s: s.notna().all())
        data = full[full["la_name"].isin(complete[complete].index)][["la_name", "year", "cla_rate"]]
        data = data.rename(columns={"la_name": "unit", "cla_rate": "y"}).reset_index(drop=True)
        return data, "Leeds", "real LA panel (cla_rate)"
    rng = np.random.default_rng(20261123)
    units, years = 150, np.arange(2010, 2026)
    factors = rng.normal(0, 1, (len(years), 3)).cumsum(0)
    y = rng.normal(60, 15, units)[None, :] + factors @ rng.uniform(0, 3, (units, 3)).T
    y = y + rng.normal(0, 1, y.shape)
    data = pd.DataFrame(
        [(f"u{i:03d}", t, y[j, i]) for i in range(units) for j, t in enumerate(years)],
        columns=["unit", "year", "y"],
    )
    return data, "u000", "simulated 150 x 16"


def rss_mb() -> float:
    """Peak resident memory (MB) of this process image: VmHWM from /proc/self/status.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that high-water mark across
    fork and execve, so a child of the parent that loaded the DfE files would start at the
    parent's peak. VmHWM belongs to the address space, which execve starts afresh.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    import resource  # not Linux: fall back to ru_maxrss (bytes on macOS)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def worker(tool: str, panel: str, treated: str, n_fits: str, n_donors: str) -> None:
    """Run one tool in this (fresh) process and print one JSON line."""
    import time
    import warnings

    import pandas as pd

    data = pd.read_pickle(panel)
    units = sorted(data["unit"].unique())
    donors = [u for u in units if u != treated]
    pool = donors if n_donors == "all" else donors[: int(n_donors)]
    pre = [t for t in sorted(data["year"].unique()) if t < START]
    warnings.simplefilter("ignore")
    out: dict = {"tool": tool, "full_fits": 1 + len(donors), "pool": len(pool)}
    if tool == "sfpc_eval":
        import sfpc_eval as se

        base = rss_mb()
        start = time.perf_counter()
        res = se.synthetic_control(
            data,
            outcome="y",
            unit="unit",
            time="year",
            treated_unit=treated,
            start=START,
            placebo=True,
        )
        out["seconds"] = time.perf_counter() - start
        out["peak_mb"], out["base_mb"] = rss_mb(), base
        out["p_value"] = res.p_value
        out["full_mspe"] = float(res.pre_rmspe**2)
        if len(pool) < len(donors):  # same cut problem as pysyncon, for the objective only
            cut = data[data["unit"].isin([treated, *pool])]
            res = se.synthetic_control(
                cut,
                outcome="y",
                unit="unit",
                time="year",
                treated_unit=treated,
                start=START,
                placebo=True,
            )
        out["treated_mspe"] = float(res.pre_rmspe**2)
        mspe = res.placebo["pre_rmspe"] ** 2
        out["placebo_mspe"] = dict(zip(res.placebo["unit"], mspe, strict=True))
    elif tool == "diff-diff":
        from diff_diff import SyntheticControl

        frame = data.assign(treat=((data["unit"] == treated) & (data["year"] >= START)).astype(int))
        base = rss_mb()
        start = time.perf_counter()
        fit = SyntheticControl(v_method="nested", seed=1).fit(
            frame, "y", "treat", "unit", "year", pre_period_outcomes="all"
        )
        fit.in_space_placebo()
        out["seconds"] = time.perf_counter() - start
        out["peak_mb"], out["base_mb"] = rss_mb(), base
        out["treated_mspe"] = float(fit.pre_rmspe**2)
        out["p_value"] = float(fit.placebo_p_value)
        out["placebo_mspe"] = {}
    else:
        from pysyncon import Dataprep, Synth

        placebos = pool if n_fits == "all" else pool[: max(int(n_fits) - 1, 0)]

        def fit_one(unit):
            controls = [d for d in pool if d != unit]  # placebos: the other donors
            prep = Dataprep(
                foo=data,
                predictors=[],
                predictors_op="mean",
                dependent="y",
                unit_variable="unit",
                time_variable="year",
                special_predictors=[("y", [t], "mean") for t in pre],
                treatment_identifier=unit,
                controls_identifier=controls,
                time_predictors_prior=pre,
                time_optimize_ssr=pre,
            )
            synth = Synth()
            synth.fit(dataprep=prep, optim_method="Nelder-Mead", optim_initial="equal")
            return float(synth.loss_V)

        base = rss_mb()
        start = time.perf_counter()
        out["treated_mspe"] = fit_one(treated)
        out["placebo_mspe"] = {u: fit_one(u) for u in placebos}
        elapsed = time.perf_counter() - start
        out["peak_mb"], out["base_mb"] = rss_mb(), base
        out["fits_run"] = 1 + len(placebos)
        out["seconds_measured"] = elapsed
        out["seconds"] = elapsed / out["fits_run"] * out["full_fits"]
        out["extrapolated"] = out["fits_run"] < out["full_fits"] or len(pool) < len(donors)
    out["placebo_mspe"] = {str(k): float(v) for k, v in out["placebo_mspe"].items()}
    print(json.dumps(out))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
    parser.add_argument("data_dir", nargs="?", default=str(default))
    parser.add_argument(
        "--pysyncon-fits",
        default="1",
        help="pysyncon fits to time: treated + N-1 placebos, or 'all' (default 1)",
    )
    parser.add_argument(
        "--pysyncon-donors",
        default="80",
        help="cut pysyncon's donor pool to the first K donors, or 'all' "
        "(default 80; the full pool takes minutes per fit)",
    )
    args = parser.parse_args()
    data, treated, source = build_panel(Path(args.data_dir))
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        panel = Path(tmp) / "panel.pkl"
        data.to_pickle(panel)
        for tool in ("sfpc_eval", "pysyncon", "diff-diff"):
            run = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    tool,
                    str(panel),
                    treated,
                    args.pysyncon_fits,
                    args.pysyncon_donors,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if run.returncode:
                sys.exit(f"{tool} worker failed:\n{run.stderr}")
            rows[tool] = json.loads(run.stdout.strip().splitlines()[-1])
    ours, theirs, dd = rows["sfpc_eval"], rows["pysyncon"], rows["diff-diff"]
    n_donors = ours["full_fits"] - 1
    print(
        f"data: {source}, {data['unit'].nunique()} councils x {data['year'].nunique()} years; "
        f"full placebo-in-space = {ours['full_fits']} fits on {n_donors}-donor pools"
    )
    print(
        "memory: peak RSS (VmHWM, Python + native) of each tool's own fresh process: 'peak' = "
        "absolute, 'above baseline' = peak minus VmHWM after reading the panel and importing "
        "the tool"
    )
    print(
        f"sfpc_eval: {ours['seconds']:.1f} s (measured, full run), "
        f"peak {ours['peak_mb']:.0f} MB, "
        f"{ours['peak_mb'] - ours['base_mb']:.1f} MB above baseline, p = {ours['p_value']:.3f}"
    )
    how = (
        f"EXTRAPOLATED: {theirs['seconds_measured']:.1f} s measured over {theirs['fits_run']} "
        f"fit(s) on {theirs['pool']}-donor pools = "
        f"{theirs['seconds_measured'] / theirs['fits_run']:.1f} s per fit, "
        f"x {theirs['full_fits']} fits"
        if theirs["extrapolated"]
        else f"measured over all {theirs['fits_run']} fits"
    )
    print(
        f"pysyncon:  {theirs['seconds']:.1f} s ({how}), peak {theirs['peak_mb']:.0f} MB, "
        f"{theirs['peak_mb'] - theirs['base_mb']:.1f} MB above baseline (for the fits run)"
    )
    if theirs["pool"] < n_donors:
        print(
            f"           (pool cut from {n_donors} to {theirs['pool']} donors: time per fit "
            "grows with the pool, so this extrapolation understates pysyncon's full time)"
        )
    print(
        f"ratio (pysyncon / sfpc_eval time): {theirs['seconds'] / ours['seconds']:.1f}x"
        + (" (extrapolated)" if theirs["extrapolated"] else "")
    )
    print(
        f"diff-diff: {dd['seconds']:.1f} s (measured, full run: fit + in_space_placebo), "
        f"peak {dd['peak_mb']:.0f} MB, {dd['peak_mb'] - dd['base_mb']:.1f} MB above "
        f"baseline, p = {dd['p_value']:.3f}; ratio (diff-diff / sfpc_eval time): "
        f"{dd['seconds'] / ours['seconds']:.1f}x"
    )
    print(
        f"  treated pre-period MSPE on the full pool: sfpc_eval {ours['full_mspe']:.6g}  "
        f"diff-diff {dd['treated_mspe']:.6g} (diff-diff keeps the treated council in every "
        "placebo's donor pool, so its p-value has a different reference set)"
    )
    print(f"outer objective, pre-period MSPE (lower is better), on {theirs['pool']}-donor pools:")
    print(f"  treated: sfpc_eval {ours['treated_mspe']:.6g}  pysyncon {theirs['treated_mspe']:.6g}")
    for unit, value in theirs["placebo_mspe"].items():
        print(f"  placebo {unit}: sfpc_eval {ours['placebo_mspe'][unit]:.6g}  pysyncon {value:.6g}")


if __name__ == "__main__":
    main()
