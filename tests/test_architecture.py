"""The package layout: layer contracts hold, a planted upward import is caught, modules stay small.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are described in
``docs/architecture.rst``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sfpc_eval

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
MAX_MODULE_LINES = 600


def _lint_imports(src: Path, config: Path) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).parent / "lint-imports"
    command = [
        str(tool) if tool.exists() else "lint-imports",
        "--no-cache",
        "--config",
        str(config),
    ]
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(command, cwd=src, env=env, capture_output=True, text=True, check=False)


def test_layer_contracts_hold():
    run = _lint_imports(SRC, ROOT / "pyproject.toml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 2 kept, 0 broken." in run.stdout


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        # a DiD module drawing a figure at import time: the upward edge plotting <- diff_in_diff
        ("diff_in_diff/twfe.py", "from sfpc_eval.plotting import plot_trends"),
        # the engines reaching up into the DiD code they serve: the circle this layout removed
        ("engines/remote.py", "from sfpc_eval.diff_in_diff.twfe import did"),
        # two designs of one layer depending on each other
        ("trials/gee.py", "from sfpc_eval.staggered.bacon import bacon"),
    ],
)
def test_contracts_catch_a_planted_upward_import(tmp_path, module, planted):
    copy = tmp_path / "src"
    shutil.copytree(SRC / "sfpc_eval", copy / "sfpc_eval", ignore=shutil.ignore_patterns("*.pyc"))
    target = copy / "sfpc_eval" / module
    text = target.read_text()
    head, sep, rest = text.partition("from __future__ import annotations\n")
    target.write_text(head + sep + planted + "\n" + rest)
    run = _lint_imports(copy, ROOT / "pyproject.toml")
    assert run.returncode != 0
    assert "BROKEN" in run.stdout or "broken" in run.stdout


def test_no_module_is_too_long():
    long = {
        str(path.relative_to(SRC)): n
        for path in (SRC / "sfpc_eval").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_every_package_says_what_it_holds_and_builds_on():
    packages = [p.parent for p in (SRC / "sfpc_eval").rglob("__init__.py")]
    bare = [str(p.relative_to(SRC)) for p in packages if not _docstring(p / "__init__.py")]
    assert not bare


def _docstring(path: Path) -> str:
    import ast

    return ast.get_docstring(ast.parse(path.read_text())) or ""


PUBLIC_API = sorted(
    [
        "GLANCE_COLUMNS",
        "TIDY_COLUMNS",
        "BaconResult",
        "CallawayAggregate",
        "CallawayResult",
        "Classical",
        "ClusterRobust",
        "CountComparison",
        "DataFileError",
        "DesignError",
        "DidResult",
        "DisclosureError",
        "DuplicateObservationError",
        "EligibilityScreen",
        "EventTimeEstimates",
        "HonestDiDResult",
        "honest_did",
        "EmptyFileError",
        "EventStudyResult",
        "ExportError",
        "FewTreatedClustersWarning",
        "FileColumnsError",
        "FileEncodingError",
        "FolderCheck",
        "HeteroskedasticityRobust",
        "ImputationResult",
        "InvalidValueError",
        "LabelError",
        "ItsResult",
        "LaPanel",
        "MeanComparison",
        "MissingColumnError",
        "PairedComparison",
        "PanelSpec",
        "PooledResult",
        "PoorPreFitWarning",
        "PowerResult",
        "ProportionComparison",
        "RandomEffectsComparison",
        "Randomization",
        "RegistryError",
        "SeparationError",
        "SfpcEvalError",
        "SfpcEvalWarning",
        "SimulatedPowerResult",
        "SingleUnitCohortWarning",
        "SingularFitWarning",
        "SizeLimitError",
        "SpecError",
        "SteppedWedgeDesign",
        "SteppedWedgeRandomization",
        "SteppedWedgeResult",
        "SummaryDid",
        "SunAbrahamResult",
        "SuppressedValueError",
        "SyntheticControlResult",
        "SyntheticDidResult",
        "Table",
        "TableError",
        "Term",
        "ThousandsSeparatorError",
        "UndefinedEffectError",
        "UndefinedIntervalWarning",
        "UnknownAreaError",
        "WildClusterBootstrap",
        "YearOutOfRangeError",
        "__version__",
        "adjust_pvalues",
        "adjust_results",
        "bacon",
        "callaway_santanna",
        "check_folder",
        "compare_counts",
        "compare_means",
        "compare_proportions",
        "compare_random_effects",
        "datasets",
        "did",
        "did_from_counts",
        "did_from_means",
        "event_study",
        "fit_each",
        "imputation",
        "its",
        "la_panel",
        "label",
        "labels",
        "paired_change",
        "pool",
        "sfpc_eligibility",
        "side_by_side",
        "simulate_trial",
        "simulated_power",
        "staggered_did",
        "stepped_wedge",
        "sun_abraham",
        "sw_mdes",
        "sw_power",
        "sw_power_counts",
        "sw_mdes_counts",
        "synthetic_control",
        "synthetic_did",
        "tables",
        "trial_spec",
        "validate_panel",
        "DidPowerResult",
        "PretrendPowerResult",
        "PretrendResult",
        "SimulatedDidPowerResult",
        "did_power",
        "pretrend_power",
        "pretrends",
        "simulated_did_power",
        "FewClustersWarning",
        "ChildrenImpact",
        "Effect",
        "Population",
        "PriceIndex",
        "SavingsResult",
        "UnitCost",
        "estimate_savings",
        "impact_in_children",
        "inflate",
        "read_unit_costs",
        "EffectScaleError",
        "UnitCostError",
        # issue 18: one pioneering council
        "AugmentedSyntheticControlResult",
        "ConformalResult",
        "DonorExclusionWarning",
        "PlaceboInTimeResult",
        "SingleCouncilSummary",
        "TooFewPeriodsError",
        "augmented_synthetic_control",
        "conformal_inference",
        "excluded_donors",
        "placebo_in_time",
        "single_council_summary",
        "MultipleImputation",
        "average_predictions",
        "baseline_table",
        "child_exposure",
        "compare_optimizers",
        "council_exposure",
        "first_referrals",
        "flow_table",
        "impute",
        "information_criteria",
        "leave_one_out",
        "lr_test",
        "marginal_effects",
        "outcome_within",
        "simulate_referrals",
        "trial_periods",
        "vif",
        # issue 23 item 8: size of the analyses under no effect
        "NullSizeResult",
        "null_size",
    ]
)
"""``sfpc_eval.__all__`` before the layout changed (issue 14). New public names are added
here deliberately, in the same change that adds them (issue 16: ``GLANCE_COLUMNS``, ``Table``,
``side_by_side``, ``label``, ``ExportError``, ``TableError`` and the subpackages ``datasets``,
``labels`` and ``tables``; issue 23: the trial workflow's imputation, marginal effects, tables,
preparation and model checks)."""


def test_public_api_is_unchanged_and_importable():
    assert sorted(sfpc_eval.__all__) == PUBLIC_API
    missing = [name for name in sfpc_eval.__all__ if not hasattr(sfpc_eval, name)]
    assert not missing


def test_old_import_paths_still_work():
    from sfpc_eval.estimators.event_study import event_study

    from sfpc_eval.estimators import did
    from sfpc_eval.plot_staggered import plot_event_study
    from sfpc_eval.plotting import plot_event_study as new_home

    assert did is sfpc_eval.did and event_study is sfpc_eval.event_study
    assert plot_event_study is new_home


def test_importing_the_package_loads_no_heavy_dependency():
    code = (
        "import sys, sfpc_eval; "
        "heavy = [m for m in ('matplotlib', 'statsmodels', 'duckdb', 'pyspark', 'scipy') "
        "if m in sys.modules]; print(heavy)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert run.stdout.strip() == "[]"


def test_ruff_refuses_a_module_level_plotting_import_where_lazy_edges_are_allowed(tmp_path):
    # the lazy .plot() edges are exempt from the layer contract, so ruff's TID253 guards them
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    module = tmp_path / "src" / "sfpc_eval" / "diff_in_diff" / "twfe_result.py"
    module.parent.mkdir(parents=True)
    module.write_text('"""A result."""\n\nfrom sfpc_eval.plotting import plot_trends\n')
    tool = Path(sys.executable).parent / "ruff"
    run = subprocess.run(
        [str(tool) if tool.exists() else "ruff", "check", "--select", "TID253", "src"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0 and "TID253" in run.stdout


def test_command_line_help_loads_no_heavy_dependency():
    code = (
        "import sys, contextlib, io\n"
        "from sfpc_eval.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "print([m for m in ('pandas', 'numpy', 'scipy', 'matplotlib', 'statsmodels') "
        "if m in sys.modules])"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert run.stdout.strip() == "[]"
