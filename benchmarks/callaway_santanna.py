"""Benchmark: Callaway & Sant'Anna, doubly robust, 5,000 units x 20 periods x 5 cohorts.

Workload (the same for every tool, on the same seeded data; two covariates, never-treated
comparison units, varying base period):

1. ATT(g, t) for all 5 x 19 = 95 cells with analytic standard errors;
2. the event-study (dynamic) aggregation with analytic standard errors;
3. a 999-draw multiplier bootstrap: bootstrap standard errors of the ATT(g, t) and of the
   event-study effects, with the uniform (sup-t) critical value.

Tools, each in its own fresh Python process (so peak memory is its own):

- sfpc_eval: ``callaway_santanna`` then ``aggregate("dynamic")``, then
  ``with_bootstrap(999)`` (re-uses the influence functions) and ``aggregate("dynamic")``;
- csdid (port of R ``did``): ``ATTgt.fit(est_method="dr", bstrap=False)`` and
  ``aggte("dynamic", bstrap=False)``, then ``fit(bstrap=True, biters=999)`` and
  ``aggte("dynamic", bstrap=True, cband=True)``;
- differences: ``ATTgt.fit(est_method="dr", boot_iterations=999)`` (analytic and bootstrap
  together) and ``aggregate("event", boot_iterations=999)``;
- diff-diff: ``CallawaySantAnna(estimation_method="dr", base_period="varying").fit`` and
  ``aggregate("event_study")``, then the same with ``n_bootstrap=999``.

Run:  python benchmarks/callaway_santanna.py [--units 5000] [--periods 20] [--skip-peers]
The main timings are one cold run each (first call in a fresh process); the last lines repeat
the analytic fit warm for sfpc_eval (with its default uniform band, and without it, as
diff-diff computes none) and diff-diff.
Prints seconds, the peak resident memory of the process above its memory after building the
data and importing the tool, ratios against sfpc_eval measured in the same run, and the
largest differences of the ATT(g, t), analytic SEs and event-study effects/SEs between
sfpc_eval and each peer. Bootstrap SEs are random (different draws in each tool): their largest
relative difference is printed; with 999 draws each IQR-based SE has a Monte Carlo error of
about 3.7%, so the largest of ~100 differences is typically 10-20%. (Fed the same draws, the
bootstrap SEs equal csdid's: tests/test_callaway.py.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

WORKER = r"""
import contextlib, io, json, resource, sys, time, warnings
import numpy as np, pandas as pd

units, periods, tool = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(20261123)
years = np.arange(2001, 2001 + periods)
x1 = rng.normal(size=units)
x2 = rng.binomial(1, 0.4, units).astype(float)
treated = rng.random(units) < 1 / (1 + np.exp(-(0.3 + 0.5 * x1 - 0.4 * x2)))
cohort_values = years[[int(periods * f) for f in (0.2, 0.35, 0.5, 0.65, 0.8)]]
cohort = np.where(treated, rng.choice(cohort_values, units), np.nan)
unit = np.repeat(np.arange(1, units + 1), periods)
year = np.tile(years, units)
g = np.repeat(cohort, periods)
e = year - g
effect = np.where(e >= 0, 1 + 0.2 * e, 0.0)
y = (np.repeat(rng.normal(size=units) + 0.5 * x1, periods) + 0.1 * (year - 2001)
     + 0.05 * np.repeat(x1, periods) * (year - 2001) + effect
     + rng.normal(size=units * periods))
data = pd.DataFrame({"id": unit, "year": year, "y": y, "cohort": g,
                     "x1": np.repeat(x1, periods), "x2": np.repeat(x2, periods)})


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# import the tool before measuring the baseline, so peak memory is the computation's own
if tool == "sfpc_eval":
    import sfpc_eval.staggered.callaway
elif tool == "csdid":
    import csdid.att_gt
elif tool == "diff-diff":
    import diff_diff
else:
    import differences
base = rss_mb()
out = {}
quiet = contextlib.ExitStack()
if tool == "sfpc_eval":
    from sfpc_eval.staggered.callaway import callaway_santanna
    start = time.perf_counter()
    res = callaway_santanna(data, "y", "id", "year", "cohort", covariates=["x1", "x2"])
    dyn = res.aggregate("dynamic")
    analytic_seconds = time.perf_counter() - start
    boot = res.with_bootstrap(999, rng=1)
    dyn_boot = boot.aggregate("dynamic")
    seconds = time.perf_counter() - start
    tidy, dt, bt, dbt = res.tidy(), dyn.tidy(), boot.tidy(), dyn_boot.tidy()
    warm = []  # analytic again, warm: with the default uniform band, then without (as peers)
    for band in (True, False):
        start = time.perf_counter()
        callaway_santanna(data, "y", "id", "year", "cohort", covariates=["x1", "x2"],
                          uniform_band=band).aggregate("dynamic")
        warm.append(time.perf_counter() - start)
    out = {"cohort": tidy["cohort"].tolist(), "time": tidy["time"].tolist(),
           "att": tidy["estimate"].tolist(), "se": tidy["std_error"].tolist(),
           "se_boot": bt["std_error"].tolist(),
           "e": dyn.index.tolist(), "att_e": dyn.estimates.tolist(),
           "se_e": dt["std_error"].iloc[:-1].tolist(),
           "se_e_boot": dbt["std_error"].iloc[:-1].tolist(),
           "crit": dyn_boot.crit_uniform, "warm": warm}
elif tool == "csdid":
    from csdid.att_gt import ATTgt
    frame = data.assign(cohort=data["cohort"].fillna(0))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        np.random.seed(1)
        start = time.perf_counter()
        model = ATTgt(yname="y", tname="year", idname="id", gname="cohort", data=frame,
                      control_group="nevertreated", xformla="y ~ x1 + x2", biters=999,
                      cband=True)
        model.fit(est_method="dr", bstrap=False)
        r = dict(model.results)
        agg = model.aggte(typec="dynamic", bstrap=False, cband=False).atte
        agg = {k: agg[k] for k in ("egt", "att_egt", "se_egt")}
        analytic_seconds = time.perf_counter() - start
        model.fit(est_method="dr", bstrap=True)
        rb = dict(model.results)
        aggb = model.aggte(typec="dynamic", bstrap=True, cband=True).atte
        seconds = time.perf_counter() - start
    out = {"cohort": [float(v) for v in r["group"]], "time": [float(v) for v in r["year"]],
           "att": [float(v) for v in r["att"]], "se": [float(v) for v in r["se"]],
           "se_boot": [float(v) for v in rb["se"]],
           "e": [float(v) for v in agg["egt"]], "att_e": [float(v) for v in agg["att_egt"]],
           "se_e": np.asarray(agg["se_egt"], dtype=float).ravel().tolist(),
           "se_e_boot": np.asarray(aggb["se_egt"], dtype=float).ravel().tolist(),
           "crit": float(aggb["crit_val_egt"])}
elif tool == "diff-diff":
    from diff_diff import CallawaySantAnna
    frame = data.assign(cohort=data["cohort"].fillna(0))
    spec = dict(estimation_method="dr", control_group="never_treated", base_period="varying")
    args = (frame, "y", "id", "year", "cohort")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        r = CallawaySantAnna(**spec).fit(*args, covariates=["x1", "x2"])
        es = r.aggregate("event_study")
        analytic_seconds = time.perf_counter() - start
        rb = CallawaySantAnna(**spec, n_bootstrap=999, seed=1).fit(
            *args, covariates=["x1", "x2"])
        esb = rb.aggregate("event_study")
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        CallawaySantAnna(**spec).fit(*args, covariates=["x1", "x2"]).aggregate("event_study")
        warm = [time.perf_counter() - start]
    keys = list(r.group_time_effects)
    out = {"cohort": [float(g) for g, _ in keys], "time": [float(t) for _, t in keys],
           "att": [r.group_time_effects[k]["effect"] for k in keys],
           "se": [r.group_time_effects[k]["se"] for k in keys],
           "se_boot": [rb.group_time_effects[k]["se"] for k in keys],
           "e": [float(e) for e in es.event_time], "att_e": [float(v) for v in es.att],
           "se_e": [float(v) for v in es.se], "se_e_boot": [float(v) for v in esb.se],
           "crit": None if esb.cband_crit_value is None else float(esb.cband_crit_value),
           "warm": warm}
else:
    from differences import ATTgt
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        # with boot_iterations, differences reports bootstrap SEs instead of analytic ones,
        # so the analytic and the bootstrap readings need one fit each
        model = ATTgt(data=data.set_index(["id", "year"]), cohort_column="cohort")
        model.fit(formula="y ~ x1 + x2", est_method="dr", control_group="never_treated",
                  progress_bar=False)
        cells = model.results()
        ev = model.aggregate("event")
        analytic_seconds = time.perf_counter() - start
        model.fit(formula="y ~ x1 + x2", est_method="dr", control_group="never_treated",
                  boot_iterations=999, random_state=1, progress_bar=False)
        cells_b = model.results()
        ev_b = model.aggregate("event", boot_iterations=999, random_state=1)
        seconds = time.perf_counter() - start
    def flat(frame):
        frame = frame.copy()
        frame.columns = ["/".join(map(str, c)) for c in frame.columns]
        return frame
    cells, ev = flat(cells).reset_index(), flat(ev)
    cells_b, ev_b = flat(cells_b).reset_index(), flat(ev_b)
    col = lambda f, s: [c for c in f.columns if c.endswith(s)][0]
    out = {"cohort": cells["cohort"].astype(float).tolist(),
           "time": cells["time"].astype(float).tolist(),
           "att": cells[col(cells, "ATT")].tolist(),
           "se": cells[col(cells, "std_error")].tolist(),
           "se_boot": cells_b[col(cells_b, "std_error")].tolist(),
           "e": [float(v) for v in ev.index],
           "att_e": ev[col(ev, "ATT")].tolist(),
           "se_e": ev[col(ev, "std_error")].tolist(),
           "se_e_boot": ev_b[col(ev_b, "std_error")].tolist(),
           "crit": None}
out.update(seconds=seconds, analytic_seconds=analytic_seconds, peak_mb=rss_mb() - base)
print(json.dumps(out))
"""


def run(tool: str, units: int, periods: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(units), str(periods), tool],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(ours: dict, peer: dict) -> dict:
    import numpy as np

    def cells(d: dict, key: str) -> dict:
        return {(c, t): v for c, t, v in zip(d["cohort"], d["time"], d[key], strict=True)}

    out = {}
    for key in ("att", "se", "se_boot"):
        a, b = cells(ours, key), cells(peer, key)
        diffs = [abs(a[k] - b[k]) / (abs(b[k]) if key == "se_boot" else 1) for k in b if k in a]
        out[key] = max(diffs)
    e_peer = {e: i for i, e in enumerate(peer["e"])}
    for key in ("att_e", "se_e", "se_e_boot"):
        diffs = []
        for i, e in enumerate(ours["e"]):
            if e not in e_peer:
                continue
            a, b = ours[key][i], peer[key][e_peer[e]]
            diffs.append(abs(a - b) / (abs(b) if key == "se_e_boot" else 1))
        out[key] = float(np.max(diffs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args()
    print(
        f"Callaway & Sant'Anna DR, {args.units} units x {args.periods} periods x 5 cohorts, "
        "analytic SEs + 999 multiplier-bootstrap draws (ATT(g,t) and event study)"
    )
    results = {"sfpc_eval": run("sfpc_eval", args.units, args.periods)}
    if not args.skip_peers:
        for peer in ("csdid", "differences", "diff-diff"):
            results[peer] = run(peer, args.units, args.periods)
    ours = results["sfpc_eval"]
    print("ratio: the tool's seconds / sfpc_eval's seconds, measured in this run")
    print(
        f"{'tool':<12}{'seconds':>10}{'ratio':>8}{'peak MB':>10}{'analytic-only s':>17}{'ratio':>8}"
    )
    for tool, res in results.items():
        ratio = res["seconds"] / ours["seconds"]
        ratio_a = res["analytic_seconds"] / ours["analytic_seconds"]
        print(
            f"{tool:<12}{res['seconds']:>10.2f}{ratio:>7.1f}x{res['peak_mb']:>10.0f}"
            f"{res['analytic_seconds']:>17.2f}{ratio_a:>7.1f}x"
        )
    for peer in results:
        if peer == "sfpc_eval":
            continue
        diffs = compare(ours, results[peer])
        print(
            f"vs {peer}: max |diff| ATT(g,t) {diffs['att']:.1e}, analytic SE {diffs['se']:.1e}, "
            f"event-study ATT {diffs['att_e']:.1e}, SE {diffs['se_e']:.1e}; bootstrap SE max "
            f"relative diff {diffs['se_boot']:.1%} (g,t), {diffs['se_e_boot']:.1%} (event)"
        )
    if "diff-diff" in results:
        with_band, without = ours["warm"]
        peer = results["diff-diff"]["warm"][0]
        print(
            f"analytic, warm (second call): sfpc_eval {with_band:.3f} s with its default uniform "
            f"band, {without:.3f} s without (uniform_band=False, as diff-diff); diff-diff "
            f"{peer:.3f} s: {peer / without:.1f}x (with band {peer / with_band:.1f}x)"
        )
    if ours.get("crit") is not None:
        print(f"sfpc_eval uniform band critical value (event study): {ours['crit']:.3f}")
    if "csdid" in results and results["csdid"].get("crit") is not None:
        print(f"csdid uniform band critical value (event study): {results['csdid']['crit']:.3f}")


if __name__ == "__main__":
    main()
