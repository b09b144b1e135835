"""Property: building a report from a small generated spec keeps the promise (issue 19).

Each example writes a small published panel (or a child-level trial) into a temporary folder,
generates a spec with one or two analyses and random options, and builds the report: a
project error, or an HTML page; the caller's spec and data file are unchanged either way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _promise import budget, check_promise
from _strategies import trials
from hypothesis import given
from hypothesis import strategies as st

from sfpc_eval.report import build

NAMES = ["Leeds", "Wakefield", "Council <b>&amp;</b>", "O'Neil & Sons", "Ørsted", "12", "LA x"]


@st.composite
def published_panels(draw):
    n_units = draw(st.integers(3, 6))
    names = draw(
        st.lists(
            st.sampled_from(NAMES + [f"LA{i}" for i in range(8)]),
            min_size=n_units,
            max_size=n_units,
            unique=True,
        )
    )
    years = list(range(2012, 2012 + draw(st.integers(4, 9))))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    rows = []
    for u, name in enumerate(names):
        for y in years:
            population = 10_000 + 500 * u
            count = int(rng.poisson(40 + 5 * u + (y - years[0])))
            rows.append((name, y, 10_000 * count / population, count, population))
    frame = pd.DataFrame(rows, columns=["la_name", "year", "rate", "count", "population"])
    if draw(st.integers(0, 5)) == 0:
        frame.loc[draw(st.integers(0, len(frame) - 1)), "rate"] = np.nan
    return frame, names, years


@st.composite
def analyses(draw, names, years):
    design = draw(st.sampled_from(["did", "before_after", "single_la", "staggered", "claims"]))
    unit = draw(st.sampled_from([*names, "Nowhere"]))
    start = draw(st.sampled_from([*years, years[-1] + 5]))
    outcome = draw(st.sampled_from(["rate", "count", "missing_column"]))
    conf = draw(st.sampled_from([0.95, 0.9, 1.5]))
    if design == "did":
        return {
            "design": "did",
            "treated": [unit],
            "start": start,
            "outcomes": [outcome],
            "inference": draw(
                st.lists(
                    st.sampled_from(["CR2", "CR1", "randomization", "wild", "HC1", "bogus"]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            ),
        }
    if design == "before_after":
        return {
            "design": "before_after",
            "unit": unit,
            "outcome": "count",
            "before": draw(st.sampled_from(years)),
            "after": draw(st.sampled_from(years)),
            **({"exposure": "population"} if draw(st.booleans()) else {}),
        }
    if design == "single_la":
        extra = {"hac_lags": draw(st.sampled_from([0, 1, 2, 40]))} if draw(st.booleans()) else {}
        return {"design": "single_la", "unit": unit, "outcome": outcome, "start": start, **extra}
    if design == "staggered":
        adopters = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        return {
            "design": "staggered",
            "outcome": outcome,
            "conf_level": conf,
            "cohorts": {name: draw(st.sampled_from(years[1:])) for name in adopters},
            "estimators": draw(
                st.lists(
                    st.sampled_from(["event_study", "callaway_santanna"]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            ),
        }
    return {"design": "claims", "place": draw(st.sampled_from(["Leeds", "Nowhere"]))}


@st.composite
def published_specs(draw):
    frame, names, years = draw(published_panels())
    spec = {
        "report": {
            "title": draw(st.sampled_from(["Test", "<script>x</script>", "é"])),
            "date": "2026-01-15",
        },
        "data": {"path": "panel.csv", "level": "published"},
        "analysis": draw(st.lists(analyses(names, years), min_size=1, max_size=2)),
    }
    return frame, spec


def _build_in(folder: Path, frame: pd.DataFrame, spec: dict):
    csv = folder / "panel.csv"
    frame.to_csv(csv, index=False)
    spec["data"]["path"] = str(csv)
    written = csv.read_bytes()

    def run():
        report = build(spec)
        page = report.html()
        assert "<html" in page.lower()
        report.to_html(folder / "out.html")
        return report

    check_promise(run, spec)
    assert csv.read_bytes() == written, "the data file was changed"


@budget(0.3)
@given(case=published_specs())
def test_report_from_a_published_panel_keeps_the_promise(case):
    frame, spec = case
    with tempfile.TemporaryDirectory() as folder:
        _build_in(Path(folder), frame, spec)


@budget(0.15)
@given(
    frame=trials(),
    model=st.sampled_from(["glmm", "gee", "glm"]),
    threshold=st.sampled_from([None, 5, 10]),
)
def test_report_from_a_child_level_trial_keeps_the_promise(frame, model, threshold):
    spec = {
        "report": {"title": "Trial", "date": "2026-01-15"},
        "data": {"path": "trial.csv", "level": "child", "unit": "cluster", "time": "period"},
        "analysis": [
            {"design": "stepped_wedge", "outcome": "outcome", "model": model, "covariates": ["age"]}
        ],
    }
    if threshold is not None:
        spec["disclosure"] = {"threshold": threshold}
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "trial.csv"
        frame.to_csv(csv, index=False)
        spec["data"]["path"] = str(csv)
        written = csv.read_bytes()
        check_promise(lambda: build(spec).html(), spec)
        assert csv.read_bytes() == written
