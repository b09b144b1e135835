"""The ``sfpc-eval`` command: a thin wrapper over the public API.

Examples
--------
.. code-block:: console

   $ sfpc-eval claims                      # audit of published figures, as a table
   $ sfpc-eval claims --format csv > audit.csv
   $ sfpc-eval before-after counts 974 515 --labels 2011 2017
   $ sfpc-eval before-after proportions 52 140 25 100 --labels FDAC comparison
   $ sfpc-eval report examples/leeds_report.toml -o leeds_report.html --data ../shared/data/raw
   $ sfpc-eval power --trial fs --outcome binary --baseline-risk 0.05 --icc 0.02
   $ sfpc-eval power did --units 11 --treated 1 --pre 5 --post 5 --sd 4 --ar1 0.5
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sfpc_eval import __version__
from sfpc_eval.errors import SfpcEvalError, SpecError

if TYPE_CHECKING:  # the commands import what they use, so that --help answers at once
    import pandas as pd

    from sfpc_eval.results import ResultMixin
    from sfpc_eval.tables import Table

__all__ = ["main"]

FORMATS = ("table", "csv", "json", "markdown")

CLAIMS_EPILOG = """\
statuses:
  reproduced              recomputed from the published inputs; the wording holds
  wording does not hold   recomputed, but the published wording is not supported
  stated only             no raw inputs were published; the figure cannot be recomputed
  conflict                the wording cannot be reconciled with another claim on the
                          same measure (e.g. 39% vs "more than half")
  rounding difference     every disagreement is within one unit of the last published
                          digit: two numbers on the same measure that differ by at most
                          that unit (66% vs 67%; £4.8m vs £4.9m), or a rounded figure
                          within that unit of its recomputed value

Claims are listed with conflicts first, then wordings that do not hold, then rounding
differences, reproduced and stated-only claims.

examples:
  sfpc-eval claims
  sfpc-eval claims --format csv > claims_audit.csv
  sfpc-eval claims --status conflict --format markdown
"""

DATA_EPILOG = """\
examples:
  sfpc-eval data check ../shared/data/raw
  sfpc-eval data check ~/Downloads/ees-files --format csv > files.csv

Exit status 0 when every recognised file reads cleanly, 1 otherwise.
"""

BEFORE_AFTER_EPILOG = """\
examples:
  sfpc-eval before-after counts 974 515 --labels 2011 2017
  sfpc-eval before-after counts 1020 930 --exposure 160000 161500 --per 10000
  sfpc-eval before-after proportions 52 140 25 100 --labels FDAC comparison
  sfpc-eval before-after proportions 52 140 25 100 --odds-ratio-method exact --format json
"""


REPORT_EPILOG = """\
examples:
  sfpc-eval report examples/leeds_report.toml -o leeds_report.html --data ../shared/data/raw
  sfpc-eval report examples/leeds_report.toml -o leeds.html --data ~/Downloads/dfe-files
  sfpc-eval report examples/claims_audit.toml -o audit.html --pdf audit.pdf
  sfpc-eval report examples/stepped_wedge_trial.toml -o trial.html

The spec is checked (keys, paths, output paths, the design against the data) before anything
is computed. Relative paths in the spec resolve against the spec's folder; --data replaces
the spec's data.path. A spec reads and writes only inside its folder and the --data folder;
--allow-paths-outside lifts that for a spec you trust. SOURCE_DATE_EPOCH sets the report's
date when the spec has none.
"""


POWER_EPILOG = """\
examples:
  # minimum detectable effect of the Family Safeguarding trial (5 councils, 38,250 children)
  sfpc-eval power --trial fs --outcome binary --baseline-risk 0.05 --icc 0.02
  # the same with a cluster autocorrelation of 0.8 and a target power of 90%
  sfpc-eval power --trial fs --outcome binary --baseline-risk 0.05 --icc 0.02 --cac 0.8 --power 0.9
  # power of Hussey & Hughes' (2007) design: 4 sequences of 6 clusters, 120 per cluster-period
  sfpc-eval power --clusters-per-sequence 6 6 6 6 --cluster-period-size 120 \\
      --outcome binary --baseline-risk 0.05 --tau 0.01 --effect -0.015

Give --effect for the power to detect it; leave it out for the minimum detectable effect at
--power. Binary effects are risk differences (intervention minus control risk).

For a difference-in-differences design: sfpc-eval power did --help.
"""

POWER_DID_EPILOG = """\
examples:
  # minimum detectable effect: 40 councils, 10 adopting, 5 years before and after
  sfpc-eval power did --units 40 --treated 10 --pre 5 --post 5 --sd 4 --ar1 0.6
  # power against an effect of -3 per 10,000, analytic and by simulation with CR2
  sfpc-eval power did --units 40 --treated 10 --pre 5 --post 5 --sd 4 --ar1 0.6 \\
      --effect -3 --simulate 1000
  # one council against its 10 statistical neighbours, randomization inference
  sfpc-eval power did --units 11 --treated 1 --pre 5 --post 5 --sd 4 --ar1 0.6 \\
      --effect -20 --simulate 500 --inference randomization

--sd is the SD of the outcome after council and year effects (e.g. the residual SD of a
two-way fixed-effects fit on past years); --ar1 the correlation of a council's residuals in
consecutive years. The analytic formula is Burlig, Preonas and Woerman (2020); --simulate
fits sfpc_eval.did to simulated panels with the inference given, which is what the analysis
will run.
"""


def _did_power_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfpc-eval power did",
        description="Power (with --effect) or minimum detectable effect (without) of a panel "
        "difference-in-differences design with serially correlated errors: analytic, and by "
        "simulation with the library's estimator and few-cluster inference.",
        epilog=POWER_DID_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--units", type=int, required=True, help="councils in the analysis")
    parser.add_argument("--treated", type=int, required=True, help="councils that adopt")
    parser.add_argument("--pre", type=int, required=True, help="periods before adoption")
    parser.add_argument("--post", type=int, required=True, help="periods after adoption")
    parser.add_argument("--sd", type=float, required=True, help="SD after unit and year effects")
    parser.add_argument("--ar1", type=float, default=0.0, help="serial correlation, [0, 1)")
    parser.add_argument("--effect", type=float, help="effect to detect (omit for the MDE)")
    parser.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    parser.add_argument("--alpha", type=float, default=0.05, help="two-sided level")
    parser.add_argument(
        "--simulate", type=int, metavar="N", help="also simulate N panels (needs --effect)"
    )
    parser.add_argument(
        "--inference",
        choices=("CR2", "CR1", "wild_subcluster", "randomization", "randomization_random_ties"),
        default="CR2",
        help="inference of the simulated analysis (default CR2)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulation")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    return parser


def _run_did_power(args: argparse.Namespace) -> str:
    import pandas as pd

    from sfpc_eval.diff_in_diff.power import did_power
    from sfpc_eval.diff_in_diff.power_sim import simulated_did_power
    from sfpc_eval.inference import ClusterRobust, Randomization, WildClusterBootstrap

    design = dict(
        n_units=args.units,
        n_treated=args.treated,
        pre=args.pre,
        post=args.post,
        sd=args.sd,
        ar1=args.ar1,
    )
    result = did_power(**design, effect=args.effect, power=args.power, alpha=args.alpha)
    results = [result]
    if args.simulate is not None:
        if args.effect is None:
            raise SpecError("--simulate needs --effect (the effect to simulate).", key="--effect")
        inference = {
            "CR2": ClusterRobust("unit", kind="CR2"),
            "CR1": ClusterRobust("unit", kind="CR1"),
            "wild_subcluster": WildClusterBootstrap(bootcluster=("unit", "period"), rng=1),
            "randomization": Randomization(rng=1),
            "randomization_random_ties": Randomization(ties="randomized", rng=1),
        }[args.inference]
        results.append(
            simulated_did_power(
                **design,
                effect=args.effect,
                inference=inference,
                alpha=args.alpha,
                n_sims=args.simulate,
                rng=args.seed,
                progress=sys.stderr.isatty(),
            )
        )
    if args.format in ("csv", "json"):
        frame = pd.concat([r.tidy() for r in results], ignore_index=True)
        return _write_frame(frame, args.format)
    tables = [r.summary() for r in results]
    render = (lambda t: t.as_markdown()) if args.format == "markdown" else (lambda t: t.as_text())
    return "\n\n".join(render(t) for t in tables) + "\n"


def _add_power(commands) -> None:
    power = commands.add_parser(
        "power",
        help="power or minimum detectable effect of a stepped-wedge trial",
        description="Power (with --effect) or minimum detectable effect (without) of a "
        "stepped-wedge trial, from the closed-form variance of the treatment effect (Hussey & "
        "Hughes 2007; Hooper et al. 2016 for a cluster autocorrelation below 1).",
        epilog=POWER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    design = power.add_mutually_exclusive_group(required=True)
    design.add_argument("--trial", help="a built-in trial: fs (Family Safeguarding) or nwd")
    design.add_argument(
        "--clusters-per-sequence",
        nargs="+",
        type=int,
        metavar="N",
        help="a standard design: clusters switching at each step (one baseline period)",
    )
    power.add_argument("--cluster-period-size", type=float, help="individuals per cluster-period")
    power.add_argument("--outcome", choices=("continuous", "binary"), default="continuous")
    power.add_argument("--effect", type=float, help="effect to detect (omit for the MDES)")
    power.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    spread = power.add_mutually_exclusive_group(required=True)
    spread.add_argument("--icc", type=float, help="intracluster correlation")
    spread.add_argument("--tau", type=float, help="between-cluster SD (instead of --icc)")
    power.add_argument("--sd", type=float, default=1.0, help="individual SD (continuous)")
    power.add_argument("--baseline-risk", type=float, help="control risk (binary)")
    power.add_argument("--cac", type=float, default=1.0, help="cluster autocorrelation")
    power.add_argument("--decay", choices=("block", "exponential"), default="block")
    power.add_argument("--alpha", type=float, default=0.05, help="two-sided level")
    power.add_argument(
        "--direction", choices=("decrease", "increase"), default="decrease", help="for the MDES"
    )
    power.add_argument("--format", choices=FORMATS, default="table", help="output format")


def _add_report(commands) -> None:
    report = commands.add_parser(
        "report",
        help="build a reproducible HTML (and PDF) report from a TOML spec",
        description="Build the evaluation report a TOML spec describes: one self-contained "
        "HTML file (figures embedded), byte-identical on every build.",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("spec", help="the report spec (TOML)")
    report.add_argument(
        "-o", "--output", help="HTML file to write (default: the spec's output.html)"
    )
    report.add_argument("--pdf", help="also print a PDF here (needs Chromium)")
    report.add_argument("--data", help="data folder or file, replacing the spec's data.path")
    report.add_argument(
        "--allow-paths-outside",
        action="store_true",
        help="let the spec read and write outside its folder and the data folder (only for a "
        "spec you trust)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfpc-eval",
        description=(
            "Evaluate children's social care programmes: re-derive published claims, "
            "compare counts, rates and proportions before and after a change, and build "
            "reproducible evaluation reports."
        ),
    )
    parser.add_argument("--version", action="version", version=f"sfpc-eval {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    claims = commands.add_parser(
        "claims",
        help="audit every published claim in the registry",
        description=(
            "Recompute every published figure in the registry from its raw inputs (where "
            "published) and say whether its wording holds."
        ),
        epilog=CLAIMS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    claims.add_argument("--format", choices=FORMATS, default="table", help="output format")
    claims.add_argument("--registry", help="a registry TOML file (default: the bundled one)")
    claims.add_argument("--status", help="show only claims with this status")
    claims.add_argument("--conf-level", type=float, default=0.95, help="default 0.95")

    data = commands.add_parser(
        "data",
        help="check a folder of DfE statistics files",
        description="Work with folders of official DfE files (Explore Education Statistics, "
        "older Statistical First Releases, LAIT).",
        epilog=DATA_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    check = data_commands.add_parser(
        "check",
        help="validate a folder and say what it holds",
        description="Recognise, read and summarise every file under PATH: years, LAs, "
        "measures and suppressed cells.",
        epilog=DATA_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("path", help="folder of DfE files (searched recursively)")
    check.add_argument("--format", choices=FORMATS, default="table", help="output format")

    before_after = commands.add_parser(
        "before-after",
        help="compare two counts, rates or proportions",
        description="Compare two counts (or rates) or two proportions, with intervals.",
        epilog=BEFORE_AFTER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = before_after.add_subparsers(dest="kind", required=True, metavar="KIND")
    counts = kinds.add_parser(
        "counts",
        help="two counts, or rates with --exposure",
        description="Two counts: rate ratio with R poisson.test's exact interval.",
        epilog=BEFORE_AFTER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    counts.add_argument("before", type=float, help="count before (e.g. 974)")
    counts.add_argument("after", type=float, help="count after (e.g. 515)")
    counts.add_argument(
        "--exposure", type=float, nargs=2, metavar=("BEFORE", "AFTER"), help="denominators"
    )
    counts.add_argument("--per", type=float, help="rates per this many (default 10,000)")
    proportions = kinds.add_parser(
        "proportions",
        help="two proportions x1/n1 vs x0/n0",
        description="Two proportions: risk difference, risk ratio and odds ratio.",
        epilog=BEFORE_AFTER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    proportions.add_argument("events_treated", type=float, help="events in the treated group")
    proportions.add_argument("n_treated", type=float, help="size of the treated group")
    proportions.add_argument("events_control", type=float, help="events in the control group")
    proportions.add_argument("n_control", type=float, help="size of the control group")
    proportions.add_argument(
        "--odds-ratio-method", choices=("woolf", "exact"), default="woolf", help="default woolf"
    )
    for sub in (counts, proportions):
        sub.add_argument("--labels", nargs=2, metavar=("FIRST", "SECOND"), help="group names")
        sub.add_argument("--conf-level", type=float, default=0.95, help="default 0.95")
        sub.add_argument("--format", choices=FORMATS, default="table", help="output format")
    _add_report(commands)
    _add_power(commands)
    return parser


def _whole(value: float) -> float | int:
    return int(value) if math.isfinite(value) and value == int(value) else value


def _write_frame(frame: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records"))
        return json.dumps(records, indent=2) + "\n"
    raise ValueError(fmt)  # pragma: no cover - callers pass csv/json only


def _claims_table(frame: pd.DataFrame) -> Table:
    from sfpc_eval.tables import Table, format_number

    rows = []
    for row in frame.itertuples(index=False):
        interval = (
            ""
            if math.isnan(row.conf_low)
            else f"[{format_number(row.conf_low)}, {format_number(row.conf_high)}]"
        )
        change = "" if math.isnan(row.percent_change) else f"{row.percent_change:+.1f}%"
        rows.append(
            [
                row.id,
                row.label,
                change,
                format_number(row.recomputed),
                interval,
                row.admissible,
                row.status,
            ]
        )
    counts = frame["status"].value_counts()
    notes = ["; ".join(f"{n} {status}" for status, n in counts.items())]
    if "missing_inputs" in frame:
        missing = frame[frame["missing_inputs"] != ""]
        notes += [
            f"{row.id} needs (not published): {row.missing_inputs}" for row in missing.itertuples()
        ]
    return Table(
        "Published claims: re-derived from their raw inputs",
        ["id", "claim", "change", "recomputed", "95% CI", "wording allows", "status"],
        rows,
        notes=notes,
    )


def _run_claims(args: argparse.Namespace) -> str:
    from sfpc_eval.evidence import audit, load_registry, reading_order

    registry = load_registry(args.registry)
    frame = reading_order(audit(registry=registry, conf_level=args.conf_level))
    if args.status:
        frame = frame[frame["status"] == args.status]
    if args.format in ("csv", "json"):
        return _write_frame(frame, args.format)
    table = _claims_table(frame)
    return (table.as_markdown() if args.format == "markdown" else table.as_text()) + "\n"


def _run_before_after(args: argparse.Namespace) -> str:
    from sfpc_eval.comparisons import compare_counts, compare_proportions

    result: ResultMixin
    if args.kind == "counts":
        labels = tuple(args.labels) if args.labels else ("before", "after")
        result = compare_counts(
            _whole(args.before),
            _whole(args.after),
            exposure=tuple(args.exposure) if args.exposure else None,
            per=args.per,
            labels=labels,
            conf_level=args.conf_level,
        )
    else:
        labels = tuple(args.labels) if args.labels else ("treated", "control")
        result = compare_proportions(
            (_whole(args.events_treated), _whole(args.n_treated)),
            (_whole(args.events_control), _whole(args.n_control)),
            labels=labels,
            conf_level=args.conf_level,
            odds_ratio_method=args.odds_ratio_method,
        )
    if args.format in ("csv", "json"):
        return _write_frame(result.tidy(), args.format)
    summary = result.summary()
    return (summary.as_markdown() if args.format == "markdown" else summary.as_text()) + "\n"


def _run_data_check(args: argparse.Namespace) -> tuple[str, int]:
    from sfpc_eval.data import check_folder

    report = check_folder(args.path)
    status = 0 if report.ok else 1
    if args.format in ("csv", "json"):
        return _write_frame(report.to_frame(), args.format), status
    if args.format == "markdown":
        return report.summary().as_markdown() + "\n", status
    return str(report) + "\n", status


def _run_report(args: argparse.Namespace) -> str:
    from sfpc_eval.report import build, load_spec
    from sfpc_eval.report.spec import check_output_path

    spec = load_spec(args.spec, data=args.data, allow_paths_outside=args.allow_paths_outside)
    html_path = args.output or spec.output["html"]
    if html_path is None:
        raise SpecError(
            "no output file: pass -o OUT.html (or set output.html in the spec).", key="-o"
        )
    html_path = check_output_path(html_path, "-o" if args.output else "output.html")
    pdf_path = args.pdf or spec.output["pdf"]
    if pdf_path is not None:
        pdf_path = check_output_path(pdf_path, "--pdf" if args.pdf else "output.pdf")
    report = build(spec)
    written = [report.to_html(html_path)]
    if pdf_path is not None:
        written.append(report.to_pdf(pdf_path))
    sections = len(report.sections)
    return "".join(f"wrote {p}\n" for p in written) + f"{sections} analyses\n"


def _run_power(args: argparse.Namespace) -> str:
    from sfpc_eval.trials import SteppedWedgeDesign, sw_mdes, sw_power, trial_spec

    if args.trial is not None:
        design = trial_spec(args.trial).design
    else:
        if args.cluster_period_size is None:
            raise SpecError(
                "--clusters-per-sequence needs --cluster-period-size (individuals per "
                "cluster-period), e.g. --clusters-per-sequence 6 6 6 6 --cluster-period-size 100.",
                key="--cluster-period-size",
            )
        design = SteppedWedgeDesign.complete(args.clusters_per_sequence)
    common = {
        "outcome": args.outcome,
        "icc": args.icc,
        "tau": args.tau,
        "sd": args.sd,
        "baseline_risk": args.baseline_risk,
        "cac": args.cac,
        "decay": args.decay,
        "cluster_period_size": args.cluster_period_size,
        "alpha": args.alpha,
    }
    if args.effect is not None:
        result = sw_power(design, effect=args.effect, **common)
    else:
        result = sw_mdes(design, power=args.power, direction=args.direction, **common)
    if args.format in ("csv", "json"):
        return _write_frame(result.tidy(), args.format)
    summary = result.summary()
    return (summary.as_markdown() if args.format == "markdown" else summary.as_text()) + "\n"


RUNNERS = {
    "claims": lambda args: (_run_claims(args), 0),
    "data": _run_data_check,
    "before-after": lambda args: (_run_before_after(args), 0),
    "report": lambda args: (_run_report(args), 0),
    "power": lambda args: (_run_power(args), 0),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 bad input, 2 bad usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["power", "did"]:
        args = _did_power_parser().parse_args(argv[2:])
        runner = lambda args: (_run_did_power(args), 0)  # noqa: E731
    else:
        args = _parser().parse_args(argv)
        runner = RUNNERS[args.command]
    try:
        out, status = runner(args)
    except (SfpcEvalError, KeyError, FileNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        sys.stderr.write(f"sfpc-eval: error: {message}\n")
        return 1
    sys.stdout.write(out)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
