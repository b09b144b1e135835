"""The staggered-adoption report section against a closed form, and inputs that do not fit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sfpc_eval._tables import format_number
from sfpc_eval.errors import DesignError
from sfpc_eval.report import DESIGNS, build

pytestmark = pytest.mark.skipif(
    "staggered" not in DESIGNS, reason="the staggered design is not available"
)
COHORTS = {"LA0": 2014, "LA1": 2014, "LA2": 2016, "LA3": 2016}


def panel(path: Path) -> Path:
    """Noise-free: unit + year effects and -2 in every period from adoption (closed form: every
    post-adoption event-time coefficient is exactly -2, every lead exactly 0)."""
    rows = []
    for u in range(9):
        name = f"LA{u}"
        for y in range(2010, 2020):
            on = name in COHORTS and y >= COHORTS[name]
            rows.append((name, y, 40 + 3 * u + 0.2 * (y - 2010) ** 2 - (2.0 if on else 0.0)))
    pd.DataFrame(rows, columns=["la_name", "year", "rate"]).to_csv(path, index=False)
    return path


def spec(csv: Path, **extra) -> dict:
    analysis = {"design": "staggered", "cohorts": COHORTS, "outcome": "rate", "window": [-3, 3]}
    analysis.update(extra)
    return {
        "report": {"title": "Staggered", "date": "2026-01-15"},
        "data": {"path": str(csv), "level": "published"},
        "analysis": [analysis],
    }


def test_event_study_matches_the_closed_form(tmp_path):
    report = build(spec(panel(tmp_path / "p.csv")))
    rows = {r[1]: r[2] for r in report.sections[0].tables[0].rows}
    assert set(rows) == {"e<=-3", "e=-2", "e=0", "e=1", "e=2", "e>=3"}
    for term, shown in rows.items():
        # the report shows 4 significant figures: the text must be the closed form's (-2), and
        # a zero lead shows its rounding error in full (e.g. -7.4e-14)
        if term.startswith(("e<=-", "e=-")):
            assert abs(float(shown)) < 1e-9, (term, shown)
        else:
            assert shown == format_number(-2.0), (term, shown)
    page = report.html()
    assert "Event study: rate" in page and "Pre-trend test" in page


def test_adoption_outside_the_years_and_unknown_units(tmp_path):
    csv = panel(tmp_path / "p.csv")
    with pytest.raises(DesignError, match=r"adoption year\(s\) \{'LA0': 2030\}"):
        build(spec(csv, cohorts={"LA0": 2030}))
    with pytest.raises(DesignError, match=r"'LA 1' is not in the data.*Did you mean 'LA1'\?"):
        build(spec(csv, cohorts={"LA 1": 2015}))
