"""Minimum detectable effects of the Family Safeguarding and No Wrong Door stepped-wedge trials.

For each trial, intracluster correlation (ICC 0.01 to 0.05) and cluster autocorrelation (CAC 1.0:
one random intercept per council, Hussey & Hughes 2007; CAC 0.8: block-exchangeable, Hooper et al.
2016), the script computes the minimum detectable reduction in the risk of becoming looked after
within 18 months at 80% power, 5% two-sided significance, with
:func:`sfpc_eval.trials.power.sw_mdes` (risk scale, normal reference), and a small-sample
sensitivity reading with t quantiles on clusters - 2 degrees of freedom.

Assumptions (also written into the .md output):

- Designs and switch dates from the Foundations analysis code (shared/guides/
  published_figures.md s.6a); periods cut at the trial start and each switch date.
- Family Safeguarding: 38,250 referred children, split between councils in proportion to the
  children each referred in 2020-21 (DfE children in need census, table C1) and within councils
  in proportion to period length; baseline risk 5% (an assumption: not published).
- No Wrong Door (4 councils analysed): 2,219 / 1,206 / 4,392 / 1,173 children aged 12-17 as
  published, spread by period length; baseline risk 5.74% (child-weighted mean of the published
  6% and 4% (Redcar and Cleveland)).

Run:  python validation/sw_mdes.py      (about a second)
Writes validation/sw_mdes.csv and validation/sw_mdes.md.
"""

from __future__ import annotations

import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval.trials.power import sw_mdes
from sfpc_eval.trials.simpower import simulated_power
from sfpc_eval.trials.simulate import FAMILY_SAFEGUARDING, NO_WRONG_DOOR

HERE = Path(__file__).parent
ICCS = (0.01, 0.02, 0.03, 0.04, 0.05)
CACS = (1.0, 0.8)
POWER, ALPHA = 0.8, 0.05
N_SIMS = 4000


def baseline(spec) -> float:
    """Child-weighted mean of the councils' baseline risks."""
    n = np.array([spec.children[c] for c in spec.design.clusters], dtype=float)
    p = np.array([spec.baseline_risk[c] for c in spec.design.clusters])
    return float(n @ p / n.sum())


def rows() -> list[dict]:
    """One row per trial, ICC and CAC."""
    out = []
    for spec in (FAMILY_SAFEGUARDING, NO_WRONG_DOOR):
        p0 = round(baseline(spec), 4)
        k = spec.design.n_clusters
        z = stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)
        t = stats.t.ppf(1 - ALPHA / 2, k - 2) + stats.t.ppf(POWER, k - 2)
        for icc in ICCS:
            for cac in CACS:
                res = sw_mdes(
                    spec.design,
                    outcome="binary",
                    baseline_risk=p0,
                    icc=icc,
                    cac=cac,
                    power=POWER,
                    alpha=ALPHA,
                    direction="decrease",
                )
                sim = simulated_power(
                    spec.design,
                    effect=res.effect,
                    outcome="binary",
                    baseline_risk=p0,
                    icc=icc,
                    cac=cac,
                    alpha=ALPHA,
                    n_sims=N_SIMS,
                    rng=20261123,
                    progress=False,
                )
                out.append(
                    {
                        "trial": spec.name,
                        "clusters": k,
                        "periods": spec.design.n_periods,
                        "children": int(spec.design.sizes().sum().round()),
                        "baseline_risk": p0,
                        "icc": icc,
                        "cac": cac,
                        "mdes_risk_difference": res.effect,
                        "intervention_risk": res.intervention_risk,
                        "relative_reduction": -res.relative_change,
                        "odds_ratio": res.odds_ratio,
                        "std_error": res.std_error,
                        "mdes_t_df": -res.std_error * t,
                        "t_df": k - 2,
                        "z_multiplier": z,
                        "simulated_power_at_mdes": sim.power,
                        "simulated_mc_se": sim.mc_std_error,
                        "method": res.method,
                    }
                )
    return out


def markdown(table: pd.DataFrame, seconds: float) -> str:
    """Render the table and its assumptions as Markdown."""
    lines = [
        "# Minimum detectable effects: Family Safeguarding and No Wrong Door",
        "",
        "Minimum detectable *reduction* in the risk of becoming looked after within 18 months, "
        "80% power, 5% two-sided, Hussey & Hughes (2007) model on the risk scale "
        "(CAC 1.0) and block-exchangeable correlation (CAC 0.8, Hooper et al. 2016).",
        "",
        "| trial | ICC | CAC | MDES (pp) | risk under intervention | relative reduction "
        "| odds ratio | MDES, t on clusters-2 df (pp) | simulated power at MDES |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r.trial} | {r.icc:.2f} | {r.cac:.1f} | {-100 * r.mdes_risk_difference:.2f} | "
            f"{100 * r.intervention_risk:.2f}% | {100 * r.relative_reduction:.1f}% | "
            f"{r.odds_ratio:.3f} | {-100 * r.mdes_t_df:.2f} | {r.simulated_power_at_mdes:.3f} |"
        )
    fs, nwd = FAMILY_SAFEGUARDING, NO_WRONG_DOOR
    lines += [
        "",
        "## Assumptions",
        "",
        f"- **Family Safeguarding**: {fs.design.n_clusters} councils, {fs.design.n_periods} "
        f"periods cut at the trial start (2020-03-01) and each switch date "
        f"({', '.join(f'{c} {d.date()}' for c, d in zip(fs.design.clusters, [fs.design.period_starts[s] for s in fs.design.switch_periods], strict=True))}); "  # noqa: E501
        "trial end 2022-11-24. 38,250 referred children, split between councils in proportion "
        "to children referred in 2020-21 (DfE children in need census, table C1: Walsall 2,880, "
        "Lancashire 7,764, Telford and Wrekin 1,423, Wandsworth 2,632, Swindon 2,401) and within "
        "councils in proportion to period length (days). Baseline risk 5% is an **assumption** "
        "(the protocols' assumptions were not found).",
        f"- **No Wrong Door**: {nwd.design.n_clusters} councils analysed (Leicester excluded), "
        f"{nwd.design.n_periods} periods cut at 2019-10-01 and each switch date, trial end "
        "2022-03-31. Children aged 12-17 as published (Rochdale 2,219, Warrington 1,206, "
        "Norfolk 4,392, Redcar and Cleveland 1,173), spread by period length. Baseline risk "
        "5.74%, the child-weighted mean of the published 6% (4% in Redcar and Cleveland).",
        "- Cluster-period sizes as above (so unequal); ICC on the risk scale; the analysis is "
        "the GLS / linear mixed model of Hussey & Hughes with period fixed effects; MDES solves "
        "`|d| = (z_0.975 + z_0.8) se(d)` on the risk scale (the residual variance uses the mean "
        "of control and intervention risks, as swCRTdesign does).",
        "- With 4-5 clusters a normal reference is optimistic: the last column replaces the "
        "normal quantiles with t quantiles on clusters - 2 degrees of freedom, a rough "
        "small-sample reading (the primary GLMM analysis will be closer to this).",
        f"- Last column: power at the MDES when {N_SIMS:,} trials are simulated from the same "
        "risk-scale model (binomial children per cluster-period, normal cluster-period effects, "
        "risks clipped to [0.0001, 0.9999]) and analysed by GLS (Monte Carlo SE about 0.006). "
        "Where it falls short of 0.80 the risk-scale normal model is straining: with a 5% "
        "baseline risk and ICC 0.05 the between-cluster SD of the risk (about 5 points) is as "
        "large as the risk itself, so simulated risks pile up at zero. Check such scenarios "
        'with `simulated_power(..., analysis="glmm")` (logistic GLMM) before relying on them.',
        "- Every value comes from `sfpc_eval.trials.power.sw_mdes`, whose variance is checked "
        "against a dense GLS computation to 1e-10 (tests/test_sw_power.py).",
        "",
        f"Python {sys.version.split()[0]}, numpy {version('numpy')}, scipy {version('scipy')}, "
        f"pandas {version('pandas')}; sfpc_eval {version('sfpc_eval')}; {seconds:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Compute, write the CSV and Markdown, and print the Markdown."""
    start = time.perf_counter()
    table = pd.DataFrame(rows())
    seconds = time.perf_counter() - start
    table.to_csv(HERE / "sw_mdes.csv", index=False, float_format="%.6g")
    (HERE / "sw_mdes.md").write_text(markdown(table, seconds), encoding="utf-8")
    print(markdown(table, seconds))


if __name__ == "__main__":
    main()
