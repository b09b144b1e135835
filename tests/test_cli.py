"""The sfpc-eval command line, run in-process and once as a real subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from sfpc_eval.cli import main
from sfpc_eval.evidence import load_registry


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_claims_lists_every_entry_with_its_status():
    code, out, _ = run("claims")
    assert code == 0
    for claim_id in load_registry().ids():
        assert claim_id in out
    leeds = next(line for line in out.splitlines() if line.startswith("leeds_cpp_2011_2017 "))
    assert "-47.1%" in leeds and "47.13" in leeds and "reproduced" in leeds
    assert out.count("conflict") >= 4


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
def test_claims_formats(fmt):
    code, out, _ = run("claims", "--format", fmt)
    assert code == 0
    n = len(load_registry())
    if fmt == "csv":
        assert len(pd.read_csv(io.StringIO(out))) == n
    elif fmt == "json":
        records = json.loads(out)
        assert len(records) == n and {"id", "status", "recomputed"} <= set(records[0])
    else:
        assert out.count("\n| ") >= n


def test_claims_status_filter():
    code, out, _ = run("claims", "--status", "conflict", "--format", "csv")
    frame = pd.read_csv(io.StringIO(out))
    assert code == 0 and set(frame["status"]) == {"conflict"} and len(frame) >= 4


def test_before_after_counts_and_proportions():
    code, out, _ = run("before-after", "counts", "974", "515", "--labels", "2011", "2017")
    # decimals from the precision: three for the rate ratio (was four significant figures)
    assert code == 0 and "47.1% fall" in out and "[0.474, 0.589]" in out
    code, out, _ = run("before-after", "proportions", "52", "140", "25", "100", "--format", "json")
    terms = {r["term"]: r for r in json.loads(out)}
    assert code == 0 and terms["risk_difference"]["estimate"] == pytest.approx(52 / 140 - 0.25)


def test_bad_input_exits_1_with_the_message():
    code, out, err = run("before-after", "counts", "-3", "5")
    assert code == 1 and out == "" and "`before`" in err and "negative" in err
    code, _, err = run("before-after", "proportions", "12", "10", "3", "10")
    assert code == 1 and "more events" in err


def test_help_is_available_as_a_real_command():
    run_help = subprocess.run(
        [sys.executable, "-m", "sfpc_eval", "before-after", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run_help.returncode == 0 and "examples:" in run_help.stdout
    assert "sfpc-eval before-after counts 974 515" in run_help.stdout


def test_data_check_reports_a_folder(tmp_path):
    (tmp_path / "cpp.csv").write_text(
        "time_period,geographic_level,old_la_code,la_name,CPP_At31\n"
        "2011,Local authority,383,Leeds,974\n2017,Local authority,383,Leeds,515\n"
    )
    code, out, _ = run("data", "check", str(tmp_path))
    assert code == 0 and "cpp.csv" in out
    code, out, _ = run("data", "check", str(tmp_path), "--format", "json")
    assert code == 0 and json.loads(out)[0]["path"].endswith("cpp.csv")


def test_data_check_missing_folder_exits_1(tmp_path):
    code, _, err = run("data", "check", str(tmp_path / "nope"))
    assert code == 1 and "nope" in err


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_report_builds_the_claims_audit(tmp_path):
    out = tmp_path / "audit.html"
    code, stdout, err = run("report", str(EXAMPLES / "claims_audit.toml"), "-o", str(out))
    assert code == 0, err
    assert f"wrote {out}" in stdout and "nearly half" in out.read_text()


def test_report_refuses_an_unwritable_output_before_building(tmp_path, monkeypatch):
    import sfpc_eval.report as report

    def boom(*args, **kwargs):
        raise AssertionError("built before the output path was checked")

    monkeypatch.setattr(report, "build", boom)
    target = tmp_path / "no-such-folder" / "r.html"
    code, out, err = run("report", str(EXAMPLES / "claims_audit.toml"), "-o", str(target))
    assert code == 1 and out == ""
    assert "`-o`: cannot write" in err and "does not exist" in err
    code, _, err = run(
        "report",
        str(EXAMPLES / "claims_audit.toml"),
        "-o",
        str(tmp_path / "ok.html"),
        "--pdf",
        str(tmp_path / "nope" / "r.pdf"),
    )
    assert code == 1 and "`--pdf`: cannot write" in err


def test_report_bad_spec_and_data_override(tmp_path):
    code, _, err = run("report", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "r.html"))
    assert code == 1 and "missing.toml does not exist" in err
    code, _, err = run(
        "report",
        str(EXAMPLES / "leeds_report.toml"),
        "-o",
        str(tmp_path / "r.html"),
        "--data",
        str(tmp_path / "no-data"),
    )
    assert code == 1 and "`data.path`" in err and "no-data does not exist" in err


def test_report_help_shows_examples():
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        main(["report", "--help"])
    text = out.getvalue()
    assert "sfpc-eval report examples/leeds_report.toml -o leeds_report.html" in text
    assert "--data" in text and "--pdf" in text


@pytest.mark.parametrize(
    "command",
    [
        ["claims"],
        ["data", "check"],
        ["before-after"],
        ["before-after", "counts"],
        ["report"],
        ["power"],
    ],
)
def test_every_subcommand_help_has_examples(command):
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0 and "examples:" in out.getvalue()


def test_report_writes_to_the_specs_output_path(tmp_path):
    spec = tmp_path / "audit.toml"
    spec.write_text(
        '[report]\ntitle = "Audit"\ndate = "2026-01-15"\n[[analysis]]\ndesign = "claims"\n'
        'place = "Leeds"\n[output]\nhtml = "out/audit.html"\n'
    )
    code, _, err = run("report", str(spec))
    assert code == 1 and "`output.html`: cannot write" in err  # out/ does not exist yet
    (tmp_path / "out").mkdir()
    code, _, err = run("report", str(spec))
    assert code == 0, err
    assert (tmp_path / "out" / "audit.html").read_text().startswith("<!DOCTYPE html>")


def test_power_reproduces_hussey_hughes_through_the_command_line():
    # swCRTdesign's README prints 0.7861896 for Hussey & Hughes' (2007) example (see
    # tests/test_sw_power.py); the command line must give the library's number
    code, out, _ = run(
        "power",
        "--clusters-per-sequence",
        "6",
        "6",
        "6",
        "6",
        "--cluster-period-size",
        "120",
        "--outcome",
        "binary",
        "--baseline-risk",
        "0.05",
        "--tau",
        "0.01",
        "--effect",
        "-0.015",
        "--format",
        "json",
    )
    assert code == 0
    (row,) = json.loads(out)
    assert row["solved_for"] == "power"
    assert round(row["power"], 7) == 0.7861896


def test_power_without_effect_gives_the_library_mdes():
    import sfpc_eval as se

    code, out, _ = run(
        "power",
        "--trial",
        "fs",
        "--outcome",
        "binary",
        "--baseline-risk",
        "0.05",
        "--icc",
        "0.02",
        "--cac",
        "0.8",
        "--format",
        "csv",
    )
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    expected = se.sw_mdes(
        se.trial_spec("fs").design, outcome="binary", baseline_risk=0.05, icc=0.02, cac=0.8
    )
    assert frame.loc[0, "solved_for"] == "mdes"
    assert frame.loc[0, "effect"] == pytest.approx(expected.effect, rel=1e-12)
    code, text, _ = run(
        "power",
        "--trial",
        "fs",
        "--outcome",
        "binary",
        "--baseline-risk",
        "0.05",
        "--icc",
        "0.02",
    )
    assert code == 0 and "Minimum detectable effect" in text


def test_power_bad_inputs_exit_1_with_the_message():
    code, _, err = run("power", "--clusters-per-sequence", "2", "2", "--icc", "0.1")
    assert code == 1 and "--cluster-period-size" in err
    code, _, err = run("power", "--trial", "nope", "--icc", "0.1")
    assert code == 1 and "unknown trial 'nope'" in err
