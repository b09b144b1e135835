"""Every script in examples/ runs top to bottom and writes what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROMISED = {
    "published_claims.py": ["claims_audit.csv", "claims.png"],
    "leeds_before_after.py": ["leeds_cpp.csv", "leeds_cpp.png"],
}


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script, tmp_path):
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / script), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for name in PROMISED[script]:
        assert (tmp_path / name).stat().st_size > 0
    if script == "leeds_before_after.py":
        tidy = pd.read_csv(tmp_path / "leeds_cpp.csv").set_index("term")
        assert round(tidy.loc["percent_change", "estimate"], 1) == -47.1
