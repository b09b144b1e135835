"""Stepped-wedge cluster randomised trial: councils switch to the programme in turn.

Uses :func:`sfpc_eval.trials.analysis.stepped_wedge` (logistic GLMM, GEE or GLM with CR2) on
child-level records: the user's CSV/Parquet (``[data] level = "child"``), or a trial simulated
with :func:`sfpc_eval.trials.simulate.simulate_trial` (``simulate = "family_safeguarding"``),
whose true effect is known. Counts of children and outcomes per council and period are
child-level and pass through disclosure control.

Examples
--------
>>> needs_data({"simulate": "family_safeguarding"}), needs_data({"simulate": None})
(False, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import DesignError, SpecError, show_values
from sfpc_eval.labels import label
from sfpc_eval.report.blocks import Context, FigureBlock, Section, TableBlock
from sfpc_eval.report.designs._common import (
    label_of,
    plain,
    recording_warnings,
    sentence,
)
from sfpc_eval.report.designs._trial_tables import (
    baseline_block,
    flow_block,
    love_figure,
    trial_baseline,
)
from sfpc_eval.report.figures import render_figure
from sfpc_eval.report.schema import Key, closest
from sfpc_eval.tables import Cell, NumberFormat, Table
from sfpc_eval.tables.estimates import TermView, formats_for
from sfpc_eval.tables.table import INVALID_MARK
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.compare import compare_random_effects
from sfpc_eval.trials.simulate import simulate_trial
from sfpc_eval.trials.structures import STRUCTURES

__all__ = ["DOC", "KEYS", "NAME", "check", "needs_data", "run"]

NAME = "stepped_wedge"
NEEDS_DATA = True
DOC = "A stepped-wedge cluster randomised trial with a 0/1 child-level outcome."
TRIALS = ("family_safeguarding", "no_wrong_door")
KEYS = (
    Key(
        "simulate",
        "str",
        "Simulate this built-in trial instead of reading [data] (true effect known)",
        choices=TRIALS,
    ),
    Key("odds_ratio", "float", "simulate: the true odds ratio", default=0.8),
    Key("seed", "int", "simulate: random seed", default=1),
    Key("n_children", "int", "simulate: total children (default: the trial's)"),
    Key("outcome", "str", "0/1 outcome column", default="looked_after"),
    Key("cluster", "str", "Cluster (council) column", default="cluster"),
    Key("period", "str", "Period column", default="period"),
    Key("treated", "str", "0/1 column: the cluster is under the programme", default="treated"),
    Key("covariates", "list[str]", "Numeric child-level covariates", default=[]),
    Key(
        "characteristics",
        "list[str]",
        "Child characteristics in the baseline table by condition and the love plot (default: "
        "the covariates; a simulated trial's age band, sex, ethnicity, disability and "
        "previous plans)",
        default=[],
    ),
    Key(
        "model",
        "str",
        "Random-intercept logistic GLMM (as glmer), exchangeable GEE, or GLM with CR2",
        default="glmm",
        choices=("glmm", "gee", "glm"),
    ),
    Key(
        "random_effects",
        "str",
        "model = 'glmm': the random effects of the headline model (cluster intercept; nested "
        "cluster and cluster-period intercepts; AR(1) decay of cluster-period effects; a "
        "random treatment slope)",
        default="intercept",
        choices=STRUCTURES,
    ),
    Key(
        "compare_random_effects",
        "list[str]",
        "model = 'glmm': structures shown side by side in the sensitivity table (empty: no table)",
        default=["intercept", "nested", "decay"],
    ),
    Key("conf_level", "float", "Confidence level", default=0.95),
)


def needs_data(analysis: dict[str, Any]) -> bool:
    """Whether the analysis reads ``[data]`` (not when it simulates a trial)."""
    return analysis.get("simulate") is None


def _frame(analysis: dict[str, Any], dataset) -> pd.DataFrame:
    if analysis["simulate"] is not None:
        return simulate_trial(
            analysis["simulate"],
            rng=analysis["seed"],
            odds_ratio=analysis["odds_ratio"],
            n_children=analysis["n_children"],
        )
    return dataset.frame


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise unless the data have the columns, 3+ clusters and a staggered switch."""
    compared = list(analysis["compare_random_effects"])
    bad = [s for s in compared if s not in STRUCTURES]
    if bad or len(set(compared)) != len(compared) or len(compared) == 1:
        raise SpecError(
            f"`{where}.compare_random_effects` must be empty or list two or more distinct "
            f"structures from {', '.join(map(repr, STRUCTURES))}; got {compared!r}.",
            key=f"{where}.compare_random_effects",
        )
    if analysis["model"] != "glmm" and analysis["random_effects"] != "intercept":
        raise SpecError(
            f"`{where}.random_effects` is for model = 'glmm'; model = "
            f"{analysis['model']!r} has no random effects.",
            key=f"{where}.random_effects",
        )
    if analysis["simulate"] is not None:
        return
    if dataset.level != "child":
        raise SpecError(
            f"`{where}`: a stepped-wedge trial is analysed on child-level records; set "
            "`data.level = 'child'` (disclosure control then applies) or simulate a trial.",
            key=f"{where}.simulate",
        )
    frame = dataset.frame
    columns = [analysis[k] for k in ("outcome", "cluster", "period", "treated")]
    columns += list(analysis["covariates"]) + list(analysis["characteristics"])
    for column in columns:
        if column not in frame.columns:
            raise SpecError(
                f"`{where}`: column {column!r} is not in {dataset.path.name}."
                f"{closest(column, list(map(str, frame.columns)))} Its columns are "
                f"{', '.join(map(str, frame.columns))}.",
                key=where,
            )
    cluster, period, treated = analysis["cluster"], analysis["period"], analysis["treated"]
    n = frame[cluster].nunique()
    if n < 3:
        raise DesignError(
            f"`{where}`: the data have {n} cluster(s) in {cluster!r} "
            f"({show_values(sorted(map(str, frame[cluster].unique())))}); a stepped-wedge "
            "analysis needs at least 3 clusters switching at different times. Use the did or "
            "single_la design for one council."
        )
    on = frame[frame[treated] > 0]
    first = on.groupby(cluster)[period].min()
    never = sorted(set(map(str, frame[cluster].unique())) - set(map(str, first.index)))
    if never:
        raise DesignError(
            f"`{where}`: cluster(s) {show_values(never)} never switch to the programme "
            f"({treated!r} is 0 throughout); a stepped wedge has every cluster switch."
        )
    if first.nunique() < 2:
        raise DesignError(
            f"`{where}`: every cluster switches in the same period ({first.iloc[0]}); that is "
            "a before/after comparison, not a stepped wedge. Use the did design."
        )


def _design_figure(frame, cluster, period, treated) -> FigureBlock:
    share = frame.pivot_table(index=cluster, columns=period, values=treated, aggfunc="mean")
    share = share.loc[share.gt(0).idxmax(axis=1).sort_values(kind="stable").index]

    def draw(ax):
        ax.imshow(share.to_numpy(), cmap="Greys", vmin=0, vmax=1.6, aspect="auto")
        ax.set_yticks(range(len(share.index)), [str(c) for c in share.index])
        ax.set_xticks(range(len(share.columns)), [str(p) for p in share.columns])
        for i, j in np.ndindex(share.shape):
            word = "programme" if share.iloc[i, j] >= 0.5 else "control"
            ax.text(j, i, word, ha="center", va="center", fontsize=7)
        ax.set_xlabel(label(period))
        ax.set_title("Stepped-wedge design: condition of each cluster in each period")

    return render_figure(
        "Stepped-wedge design",
        draw,
        "Each row a cluster, each column a period; dark: under the programme (share "
        "of children exposed, for periods a cluster switches in).",
        size=(7.0, 0.45 * len(share.index) + 1.4),
    )


def _effect_table(result, outcome: str, level: float) -> TableBlock:
    """One row: the odds ratio and the risk difference (percentage points), with intervals."""
    odds = TermView.of(result.odds_ratio, "ratio", level)
    risk = TermView.of(result.average_marginal_effect, "pp", level)
    ci = f"{level:.0%} CI"
    line: list[object] = [sentence(label_of(outcome))]
    notes = []
    for view in (odds, risk):
        est, _, interval_format = formats_for([view])
        mark = "" if view.valid else INVALID_MARK
        if not view.valid:
            notes.append(f"{INVALID_MARK} {plain(view.note)}")
        line += [
            Cell(view.estimate, est, mark=mark),
            Cell((view.conf_low, view.conf_high), interval_format),
        ]
    line.append(Cell(result.odds_ratio.p_value, NumberFormat("p_value")))
    notes.append(
        f"{label(result.model)}; inference: {plain(result.method)}. The risk difference is the "
        "average marginal effect (delta-method interval)."
    )
    table = Table(
        "Stepped-wedge trial: effect of the programme",
        ["Outcome", "Odds ratio", ci, "Risk difference", ci, "p-value"],
        [line],
        notes=notes,
        row_keys=[outcome],
    )
    return TableBlock.of(table, provenance="estimate")


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Fit the trial model; estimates, counts, the design figure, findings and methods."""
    frame = _frame(analysis, dataset)
    cols = {k: analysis[k] for k in ("outcome", "cluster", "period", "treated")}
    level = analysis["conf_level"]
    result, warned = recording_warnings(
        lambda: stepped_wedge(
            frame,
            cols["outcome"],
            cols["cluster"],
            cols["period"],
            cols["treated"],
            covariates=tuple(analysis["covariates"]),
            model=analysis["model"],
            random_effects=analysis["random_effects"] if analysis["model"] == "glmm" else None,
            conf_level=level,
        )
    )
    table = _effect_table(result, cols["outcome"], level)
    odds = result.odds_ratio
    odds_text = table.engine.text_rows()[0]
    shown = (
        f"({level:.0%} CI {odds_text[2][1:-1]})"
        if odds.valid
        else f"(no valid interval: {plain(odds.note)})"
    )
    findings = [
        f"Odds ratio of {label_of(cols['outcome'])} under the programme: {odds_text[1]} "
        f"{shown}; "
        f"{result.n_clusters} clusters, {result.n_periods} periods, {result.n_obs:,} children."
    ]
    icc_line = result.model == "glmm" and result.random_effects == "intercept"
    if icc_line:
        icc = result.icc()
        findings.append(
            f"Intracluster correlation on the latent scale: {icc.icc:.3f} ({level:.0%} "
            f"profile-likelihood interval {icc.icc_low:.3f} to {icc.icc_high:.3f}); the "
            "cluster autocorrelation is 1 by the model's assumption."
        )
    source = "the child-level records in [data]"
    if analysis["simulate"] is not None:
        truth = frame.attrs.get("truth")
        true_or = getattr(truth, "odds_ratio", analysis["odds_ratio"])
        source = (
            f"a simulated {analysis['simulate'].replace('_', ' ')} trial "
            f"(sfpc_eval.trials.simulate.simulate_trial, seed {analysis['seed']}, true odds "
            f"ratio {true_or:g})"
        )
        inside = odds.conf_low <= true_or <= odds.conf_high
        findings.append(
            f"The data are simulated with a true odds ratio of {true_or:g}; the interval "
            + ("contains it." if inside else "does not contain it (it will not, 5% of the time).")
        )
    structure = {
        "intercept": "a random intercept per cluster",
        "nested": "cluster and cluster-by-period random intercepts (nested exchangeable)",
        "decay": "cluster-by-period random effects with AR(1) decaying correlation",
        "slope": "a random intercept and a random treatment effect per cluster",
    }[analysis["random_effects"]]
    models = {
        "glmm": f"a logistic mixed model with {structure} and period fixed effects (as "
        + ("lme4::glmer)" if analysis["random_effects"] != "decay" else "glmmTMB)"),
        "gee": "a logistic GEE with exchangeable working correlation and period fixed effects",
        "glm": "a logistic GLM with cluster and period fixed effects",
    }
    methods = (
        f"The trial uses {source}. The effect of the programme on {label_of(cols['outcome'])} was "
        f"estimated by {models[analysis['model']]} "
        f"(sfpc_eval.trials.analysis.stepped_wedge); inference: {plain(result.method)}. The odds "
        "ratio is exp(b); the average marginal effect is the risk difference averaged over "
        "children (delta-method interval).",
        "The CONSORT tables for stepped-wedge trials (Hemming et al. 2018) follow: the "
        "children's characteristics under each condition with standardised mean differences "
        "(sfpc_eval.trials.balance.baseline_table), and the children and events in each council "
        "and period (flow_table). Their counts are rounded to the nearest 5, counts below the "
        "disclosure threshold are shown as [c], and percentages are of the rounded counts, as "
        "in DfE and ONS tables.",
    )
    limitations = [
        f"Only {result.n_clusters} clusters are randomised: intervals rest on few clusters, and "
        "the period effects must absorb any secular trend.",
        *[f"Warning from the estimator: {plain(m, [cols['cluster']])}" for m in warned],
    ]
    tables = [table]
    shown, characteristics = _characteristics(frame, analysis)
    balance = (
        trial_baseline(shown, characteristics, cols["treated"], context.threshold)
        if characteristics
        else None
    )
    love = love_figure(balance) if balance is not None else None
    compared = list(analysis["compare_random_effects"])
    if analysis["model"] == "glmm" and compared:
        comparison = compare_random_effects(
            frame,
            cols["outcome"],
            cols["cluster"],
            cols["period"],
            cols["treated"],
            tuple(analysis["covariates"]),
            structures=compared,
            conf_level=level,
        )
        tables.append(_comparison_table(comparison))
        methods += (
            "The sensitivity table refits the mixed model with other random-effect structures "
            "(sfpc_eval.trials.compare.compare_random_effects): a cluster intercept; cluster "
            "and cluster-by-period intercepts (nested exchangeable, Hooper et al. 2016); and "
            "cluster-by-period effects whose correlation decays by a factor per period (AR(1), "
            "Kasza et al. 2019). AIC compares their fit; ICC and CAC are the within-period and "
            "between-period correlations on the latent logistic scale.",
        )
    return Section(
        key=context.key,
        title=analysis["title"] or f"Stepped-wedge trial: {label_of(cols['outcome'])}",
        findings=tuple(findings),
        summary=(
            f"Under the programme, the odds of the outcome ({label_of(cols['outcome'])}) were "
            f"{odds_text[1]} times those under usual practice {shown}.",
            *findings[2 if icc_line else 1 :],
        ),
        methods=methods,
        tables=(
            *tables,
            *([baseline_block(balance)] if balance is not None else []),
            flow_block(frame, *_flow_columns(cols), context.threshold),
        ),
        figures=(
            _design_figure(frame, cols["cluster"], cols["period"], cols["treated"]),
            *([love] if love is not None else []),
        ),
        limitations=tuple(limitations),
    )


def _characteristics(frame: pd.DataFrame, analysis: dict[str, Any]) -> tuple[pd.DataFrame, list]:
    """Return the frame and columns of the baseline table (a simulated trial's, in words)."""
    chosen = list(analysis["characteristics"]) or list(analysis["covariates"])
    if analysis["simulate"] is None or analysis["characteristics"]:
        return frame, chosen
    age = frame["age"].to_numpy()
    words = frame.assign(
        age_band=np.select(
            [age < 1, age < 5, age < 10, age < 16], ["under 1", "1-4", "5-9", "10-15"], "16-17"
        ),
        disability=frame["disability"].map({0.0: "Not disabled", 1.0: "Disabled"}),
        previous_plans=frame["previous_plans"].map({0: "None", 1: "One", 2: "Two or more"}),
        ethnicity=frame["ethnicity"].astype(object),
    )
    return words, ["age_band", "sex", "ethnicity", "disability", "previous_plans"]


def _flow_columns(cols: dict[str, str]) -> tuple[str, str, str, str]:
    return cols["cluster"], cols["period"], cols["outcome"], cols["treated"]


def _comparison_table(comparison) -> TableBlock:
    """Tabulate the sensitivity of the effect to the random-effects structure (estimates)."""
    return TableBlock.of(comparison.summary(), provenance="estimate")
