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
    "leeds_credible.py": [
        "leeds_credible.csv",
        "leeds_credible_leads.png",
        "leeds_credible_honest.png",
        "leeds_credible_power.png",
    ],
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
    if script in ("leeds_did.py", "leeds_credible.py"):
        skip_without_raw()
    run_example(script, str(tmp_path))
    for name in PROMISED[script]:
        assert (tmp_path / name).stat().st_size > 0
    if script == "leeds_before_after.py":
        tidy = pd.read_csv(tmp_path / "leeds_cpp.csv").set_index("term")
        assert round(tidy.loc["percent_change", "estimate"], 1) == -47.1


def test_credible_how_to_quotes_the_example_s_numbers(tmp_path):
    """docs/credible.rst quotes examples/leeds_credible.py; the numbers must be the script's."""
    skip_without_raw()
    run_example("leeds_credible.py", str(tmp_path))
    numbers = pd.read_csv(tmp_path / "leeds_credible.csv", index_col=0)["value"]
    page = (EXAMPLES.parent / "docs" / "credible.rst").read_text()
    quoted = {
        "effect": f"{numbers['effect']:.2f}",
        "lead_-5": f"+{numbers['lead_-5']:.2f}",
        "lead_-4": f"+{numbers['lead_-4']:.2f}",
        "lead_-3": f"+{numbers['lead_-3']:.2f}",
        "lead_-2": f"+{numbers['lead_-2']:.2f}",
        "leads_p": f"p = {numbers['leads_p']:.3f}",
        "placebo": f"{numbers['placebo']:.2f}",
        "sd": f"{numbers['sd']:.2f}",
        "ar1": f"{numbers['ar1']:.2f}",
        "mde": f"{numbers['mde']:.1f}",
        "power_randomization_random_ties": f"{numbers['power_randomization_random_ties']:.2f}",
        "power_slope_4_5": f"({numbers['power_slope_4_5']:.2f})",
        "bias_after_pretest": f"{numbers['bias_after_pretest']:.1f}",
        "rm_original": f"[{numbers['rm_original_low']:.2f}, {numbers['rm_original_high']:.2f}]",
        "rm_half": f"[{numbers['rm_Mbar=0.5_low']:.2f}, {numbers['rm_Mbar=0.5_high']:.2f}]",
        "rm_breakdown": f"Mbar = {numbers['rm_breakdown']:.2f}",
        "sd_zero": f"[{numbers['sd_M=0_low']:.2f}, {numbers['sd_M=0_high']:.2f}]",
    }
    missing = {k: v for k, v in quoted.items() if v not in page}
    assert not missing, missing
    assert numbers["power_randomization"] == 0  # p never below 1/11
