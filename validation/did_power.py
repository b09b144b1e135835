"""Analytic against simulated power of a panel DiD (Burlig, Preonas and Woerman 2020).

For each design (councils, treated councils, periods before and after, AR(1) correlation of the
errors), the analytic power of ``se.did_power`` at its own minimum detectable effect for 80%
power (and at half that effect) is compared with the share of ``n_sims`` simulated panels in
which ``se.did`` with its default inference (CR2, Satterthwaite df) rejects at 5%
(``se.simulated_did_power``). The analytic formula assumes a correct standard error and a t
reference with J degrees of freedom; CR2 with Satterthwaite df is the test that will be run.

Run:  nice -n 10 python validation/did_power.py [--sims 2000]
Writes validation/did_power.csv (one row per design and effect). Seeds: design d, effect e
uses numpy default_rng([20261205, d, e]).
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pandas as pd

import sfpc_eval as se

HERE = Path(__file__).parent
DESIGNS = (
    # (councils, treated, pre, post, ar1)
    (40, 20, 5, 5, 0.5),
    (30, 10, 3, 3, 0.8),
    (50, 25, 2, 6, 0.3),
    (24, 12, 6, 2, 0.0),
    (60, 15, 4, 4, 0.6),
    (20, 10, 5, 3, 0.4),
)


def run(sims: int, progress: bool = True) -> pd.DataFrame:
    """Analytic and simulated power for every design, at the MDE and at half of it."""
    rows = []
    for d, (units, treated, pre, post, ar1) in enumerate(DESIGNS):
        design = dict(n_units=units, n_treated=treated, pre=pre, post=post, sd=1.0, ar1=ar1)
        mde = se.did_power(**design).mde
        for e, effect in enumerate((mde, mde / 2)):
            analytic = se.did_power(**design, effect=effect)
            sim = se.simulated_did_power(
                **design, effect=effect, n_sims=sims, rng=[20261205, d, e], progress=progress
            )
            rows.append(
                {
                    "units": units,
                    "treated": treated,
                    "pre": pre,
                    "post": post,
                    "ar1": ar1,
                    "effect": effect,
                    "analytic": analytic.power,
                    "simulated": sim.power,
                    "mc_se": sim.mc_se,
                    "n_sims": sims,
                    "z": (sim.power - analytic.power) / sim.mc_se if sim.mc_se else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def write_tables(table: pd.DataFrame, note: str) -> None:
    """Write the comparison as reStructuredText (docs) and plain text."""
    rst = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - councils (treated)",
        "     - pre / post",
        "     - AR(1)",
        "     - effect",
        "     - analytic power",
        "     - simulated (CR2)",
        "     - difference / MC SE",
    ]
    for row in table.itertuples(index=False):
        rst += [
            f"   * - {row.units} ({row.treated})",
            f"     - {row.pre} / {row.post}",
            f"     - {row.ar1:g}",
            f"     - {row.effect:.3f}",
            f"     - {row.analytic:.3f}",
            f"     - {row.simulated:.3f}",
            f"     - {row.z:+.1f}",
        ]
    rst += ["", note]
    (HERE / "did_power.rst").write_text("\n".join(rst) + "\n")
    (HERE / "did_power.txt").write_text(table.to_string(index=False) + "\n\n" + note + "\n")


def main() -> None:
    """Run the designs and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    args = parser.parse_args()
    start = time.perf_counter()
    table = run(args.sims)
    versions = ", ".join(f"{p} {version(p)}" for p in ("numpy", "scipy", "pandas"))
    note = (
        f"Analytic power (Burlig, Preonas and Woerman 2020) against the share of "
        f"{args.sims:,} simulated panels in which ``did()`` with CR2 / Satterthwaite df "
        f"rejects at 5%, at the analytic MDE for 80% power and at half of it. Python "
        f"{sys.version.split()[0]}, {versions}; sfpc_eval {se.__version__}; "
        f"{(time.perf_counter() - start) / 60:.0f} minutes."
    )
    table.to_csv(HERE / "did_power.csv", index=False)
    write_tables(table, note)
    print(table.to_string())


if __name__ == "__main__":
    main()
