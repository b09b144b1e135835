"""Every script in examples/ runs top to bottom and writes what it promises."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from _examples import EXAMPLES, run_example, skip_without_raw

PROMISED = {
    "published_claims.py": ["claims_audit.csv", "claims.png"],
    "leeds_before_after.py": ["leeds_cpp.csv", "leeds_cpp.png"],
    "leeds_did.py": ["leeds_did.csv", "leeds_did_cpp.png", "leeds_did_cla.png"],
}
# scripts whose own test module runs them and checks their numbers
OWN_TEST = {
    "staggered_sfpc.py": "test_staggered_example.py",
    "single_council.py": "test_single_council_example.py",
}


def test_every_example_is_run_by_a_test():
    tests = Path(__file__).parent
    for script in sorted(p.name for p in EXAMPLES.glob("*.py")):
        if script in OWN_TEST:
            assert script in (tests / OWN_TEST[script]).read_text(), script
        else:
            assert script in PROMISED, f"{script} is not run by any test"


@pytest.mark.parametrize("script", sorted(PROMISED))
def test_example_runs(script, tmp_path):
    if script == "leeds_did.py":
        skip_without_raw()
    run_example(script, str(tmp_path))
    for name in PROMISED[script]:
        assert (tmp_path / name).stat().st_size > 0
    if script == "leeds_before_after.py":
        tidy = pd.read_csv(tmp_path / "leeds_cpp.csv").set_index("term")
        assert round(tidy.loc["percent_change", "estimate"], 1) == -47.1
