"""Run the scripts in examples/ as a user would, for the tests that check their output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


def skip_without_raw() -> None:
    """Skip the calling test when the DfE files are not beside the repository."""
    if not RAW.is_dir():
        pytest.skip(f"the DfE files are not at {RAW}")


def run_example(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` with ``args`` in a fresh interpreter; assert it succeeded."""
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run
