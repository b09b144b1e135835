"""Benchmark: one council against 150 donors over 16 years, full placebo-in-space plus conformal
intervals; sfpc_eval against diff-diff and pysyncon, measured in the same run.

Data: a simulated panel of 151 councils x 16 years (2010-2025; three random-walk factors,
noise SD 1), treated council ``u000``, start 2021 (11 pre-periods, 5 post). Every tool solves
the same problem: weights on the simplex matching the outcome in each pre-period (direct
outcome matching; the peers' sd-scaling of predictors is undone by V), then

1. the treated fit and a placebo fit for each of the 150 donors (placebo-in-space);
2. 90% conformal intervals for each of the 5 post years (Chernozhukov, Wuthrich and Zhu 2021:
   refit on the pre-periods and that year under each null, test inversion) and the
   moving-block p-value of no effect.

- sfpc_eval: ``synthetic_control(placebo=True, leave_one_out=False)`` and
  ``conformal_inference(conf_level=0.9, average=False)`` (exact endpoints by bisection);
- diff-diff 3.13: ``SyntheticControl()`` (its default nested V search, 4 starts), then the
  placebos as ``in_space_placebo()`` runs them (the same nested search with the treatment
  moved to each donor, the treated council in the pool): ``--diffdiff-placebos`` of them are
  run and timed, the rest EXTRAPOLATED from the time per placebo (0 runs
  ``in_space_placebo()`` whole: over 50 minutes); ``conformal_confidence_intervals
  (alpha=0.1)`` (grid of 100 per year) and ``conformal_test(0)`` run in full;
- pysyncon 1.7: ``Synth.fit(custom_V=...)`` with the V that makes its problem direct outcome
  matching (SLSQP inner solver), for the treated council and ``--pysyncon-fits`` placebos (the
  rest EXTRAPOLATED from the time per fit), and ``confidence_interval`` (its conformal root
  search, tol 0.01) for ``--pysyncon-ci-years`` of the 5 years (the rest extrapolated).

Each tool runs in a fresh process of its own interpreter (``--diffdiff-python``,
``--pysyncon-python``: virtual environments holding those packages; default
/work/venvs/sc-diffdiff and /work/venvs/sc-pysyncon), single-threaded (OMP/BLAS threads 1),
on the panel written once to a temporary CSV; times exclude imports and reading.

Run:  python benchmarks/single_council.py [--pysyncon-fits N] [--pysyncon-ci-years K]
      [--diffdiff-placebos N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START, UNITS, YEARS = 2021, 151, list(range(2010, 2026))
ALPHA = 0.1


def build_panel(path: Path) -> None:
    """Write the simulated panel (unit, year, y, d) to ``path``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20260618)
    factors = rng.normal(0, 1, (len(YEARS), 3)).cumsum(axis=0)
    y = rng.normal(60, 15, UNITS)[None, :] + factors @ rng.uniform(0, 3, (UNITS, 3)).T
    y = y + rng.normal(0, 1, y.shape)
    rows = [(f"u{i:03d}", t, y[j, i]) for i in range(UNITS) for j, t in enumerate(YEARS)]
    frame = pd.DataFrame(rows, columns=["unit", "year", "y"])
    frame["d"] = ((frame["unit"] == "u000") & (frame["year"] >= START)).astype(int)
    frame.to_csv(path, index=False)


def run_ours(frame) -> dict:
    from sfpc_eval.single_unit.conformal import conformal_inference
    from sfpc_eval.single_unit.synthetic import synthetic_control

    design = dict(outcome="y", unit="unit", time="year", treated_unit="u000", start=START)
    began = time.perf_counter()
    fit = synthetic_control(frame, **design, exclude_donors=None, leave_one_out=False)
    placebo = time.perf_counter() - began
    began = time.perf_counter()
    conf = conformal_inference(
        frame, **design, exclude_donors=None, conf_level=1 - ALPHA, average=False
    )
    conformal = time.perf_counter() - began
    return {
        "placebo_s": placebo,
        "conformal_s": conformal,
        "att": fit.term("mean_post_gap").estimate,
        "placebo_p": fit.p_value,
        "lower": conf.periods["conf_low"].tolist(),
        "upper": conf.periods["conf_high"].tolist(),
        "sharp_p": conf.p_value,
    }


def run_diffdiff(frame, placebos: int) -> dict:
    import warnings

    from diff_diff import SyntheticControl

    warnings.simplefilter("ignore")
    began = time.perf_counter()
    res = SyntheticControl(seed=0).fit(frame, "y", "d", "unit", "year")
    main_s = time.perf_counter() - began
    n_placebos = UNITS - 1
    measured = n_placebos if placebos <= 0 else min(placebos, n_placebos)
    began = time.perf_counter()
    if measured == n_placebos:
        placebo = res.in_space_placebo()
    else:
        # in_space_placebo() refits every donor with the same nested V search as the treated
        # fit, the treated council in its pool: refit the first ``measured`` donors that way
        donors = [u for u in sorted(frame["unit"].unique()) if u != "u000"][:measured]
        placebo = []
        for donor in donors:
            moved = frame.assign(
                d=((frame["unit"] == donor) & (frame["year"] >= START)).astype(int)
            )
            placebo.append(SyntheticControl(seed=0).fit(moved, "y", "d", "unit", "year").att)
    per_placebo = (time.perf_counter() - began) / measured
    placebo_s = main_s + per_placebo * n_placebos
    began = time.perf_counter()
    table = res.conformal_confidence_intervals(alpha=ALPHA)
    sharp = res.conformal_test(0.0)
    return {
        "placebo_s": placebo_s,
        "placebo_measured_fits": measured,
        "main_fit_s": main_s,
        "per_placebo_s": per_placebo,
        "conformal_s": time.perf_counter() - began,
        "att": float(res.att),
        "placebo_p": float(getattr(res, "placebo_p_value", float("nan"))),
        "lower": table["lower"].astype(float).tolist(),
        "upper": table["upper"].astype(float).tolist(),
        "sharp_p": float(sharp["p_value"]),
    }


def run_pysyncon(frame, fits: int, ci_years: int) -> dict:
    import numpy as np
    from pysyncon import Dataprep, Synth

    units = sorted(frame["unit"].unique())
    pre = [t for t in YEARS if t < START]
    wide = frame.pivot(index="year", columns="unit", values="y")  # noqa: PD010

    def prep(treated):
        return Dataprep(
            foo=frame,
            predictors=[],
            predictors_op="mean",
            dependent="y",
            unit_variable="unit",
            time_variable="year",
            special_predictors=[("y", [t], "mean") for t in pre],
            treatment_identifier=treated,
            controls_identifier=[u for u in units if u != treated],
            time_predictors_prior=pre,
            time_optimize_ssr=pre,
        )

    def same_problem_v(treated):
        # pysyncon scales each predictor by its SD over all units: V = variance undoes it
        # (pysyncon takes the diagonal of V as a vector)
        sd = wide.loc[pre].std(axis=1, ddof=1).to_numpy()
        return sd**2 / np.sum(sd**2)

    order = ["u000", *[u for u in units if u != "u000"]]
    n_fits = len(order) if fits <= 0 else min(fits, len(order))
    began = time.perf_counter()
    treated_fit = None
    for treated in order[:n_fits]:
        synth = Synth()
        synth.fit(dataprep=prep(treated), custom_V=same_problem_v(treated))
        treated_fit = treated_fit or synth
    per_fit = (time.perf_counter() - began) / n_fits
    post = [t for t in YEARS if t >= START]
    years = post[: max(1, min(ci_years, len(post)))]
    began = time.perf_counter()
    ci = treated_fit.confidence_interval(
        alpha=ALPHA,
        time_periods=years,
        tol=0.01,
        custom_V=same_problem_v("u000"),
        verbose=False,
    )
    per_year = (time.perf_counter() - began) / len(years)
    return {
        "placebo_s": per_fit * len(order),
        "placebo_measured_fits": n_fits,
        "conformal_s": per_year * len(post),
        "conformal_measured_years": len(years),
        "lower": ci["lower_ci"].astype(float).tolist(),
        "upper": ci["upper_ci"].astype(float).tolist(),
    }


def worker(tool: str, csv: str, fits: int, ci_years: int, dd_placebos: int) -> None:
    import pandas as pd

    frame = pd.read_csv(csv)
    if tool == "sfpc_eval":
        out = run_ours(frame)
    elif tool == "diff-diff":
        out = run_diffdiff(frame, dd_placebos)
    else:
        out = run_pysyncon(frame, fits, ci_years)
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "CSV"))
    parser.add_argument("--pysyncon-fits", type=int, default=10)
    parser.add_argument("--pysyncon-ci-years", type=int, default=1)
    parser.add_argument(
        "--diffdiff-placebos",
        type=int,
        default=3,
        help="placebo fits diff-diff runs (its nested V search, about 20 s each on one core); "
        "the other placebos are EXTRAPOLATED from their time; 0 runs in_space_placebo() whole",
    )
    parser.add_argument("--diffdiff-python", default="/work/venvs/sc-diffdiff/bin/python")
    parser.add_argument("--pysyncon-python", default="/work/venvs/sc-pysyncon/bin/python")
    args = parser.parse_args()
    if args.worker:
        worker(
            args.worker[0],
            args.worker[1],
            args.pysyncon_fits,
            args.pysyncon_ci_years,
            args.diffdiff_placebos,
        )
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        csv = str(Path(folder) / "panel.csv")
        build_panel(Path(csv))
        for tool, python in (
            ("sfpc_eval", sys.executable),
            ("diff-diff", args.diffdiff_python),
            ("pysyncon", args.pysyncon_python),
        ):
            if not Path(python).exists():
                print(f"{tool}: no interpreter at {python}; skipped")
                continue
            command = [python, __file__, "--worker", tool, csv]
            command += ["--pysyncon-fits", str(args.pysyncon_fits)]
            command += ["--pysyncon-ci-years", str(args.pysyncon_ci_years)]
            command += ["--diffdiff-placebos", str(args.diffdiff_placebos)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode:
                print(f"{tool} failed:\n{done.stderr[-2000:]}")
                continue
            results[tool] = json.loads(done.stdout.strip().splitlines()[-1])
    ours = results.get("sfpc_eval")
    print(f"one council, {UNITS - 1} donors, {len(YEARS)} years; times in seconds, one core")
    print(f"{'tool':<11}{'placebo':>10}{'conformal':>11}{'total':>9}{'ratio':>8}")
    for tool, out in results.items():
        total = out["placebo_s"] + out["conformal_s"]
        ratio = total / (ours["placebo_s"] + ours["conformal_s"]) if ours else float("nan")
        note = ""
        if tool == "diff-diff" and out["placebo_measured_fits"] < UNITS - 1:
            note = (
                f"  (treated fit {out['main_fit_s']:.1f} s measured; {UNITS - 1} placebos "
                f"extrapolated from {out['placebo_measured_fits']} at "
                f"{out['per_placebo_s']:.1f} s each; intervals measured)"
            )
        if tool == "pysyncon":
            note = (
                f"  (extrapolated from {out['placebo_measured_fits']} fits and "
                f"{out['conformal_measured_years']} year(s) of intervals)"
            )
        print(
            f"{tool:<11}{out['placebo_s']:>10.2f}{out['conformal_s']:>11.2f}{total:>9.2f}"
            f"{ratio:>7.1f}x{note}"
        )
    if ours and "diff-diff" in results:
        theirs = results["diff-diff"]
        print(
            f"same answers? effect {ours['att']:.4f} vs {theirs['att']:.4f}; first-year interval "
            f"[{ours['lower'][0]:.3f}, {ours['upper'][0]:.3f}] vs diff-diff's grid "
            f"[{theirs['lower'][0]:.3f}, {theirs['upper'][0]:.3f}]; no-effect p "
            f"{ours['sharp_p']:.3f} vs {theirs['sharp_p']:.3f}"
        )


if __name__ == "__main__":
    main()
