"""The label vocabulary: every measure the readers produce, every term the estimators produce,
every family, inference code and estimator code has a plain-English label.

The term names are collected by running every estimator (tests/_every_result.py) rather than
listed by hand, so a new term name without a label fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sfpc_eval as se
import sfpc_eval.data as sd
from _every_result import every_result
from sfpc_eval import datasets, labels
from sfpc_eval.data._tidy import TIDY_COLUMNS as READER_COLUMNS
from sfpc_eval.diff_in_diff.twfe_result import Family
from sfpc_eval.labels import VOCABULARY, has_label, label
from sfpc_eval.report.designs import did as did_design
from sfpc_eval.results import GLANCE_COLUMNS, TIDY_COLUMNS

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
USER_COLUMNS = {"log_population", "rate", "y"}  # covariates and outcomes the tests made up


def _panel_columns() -> set[str]:
    columns = {"la_code", "old_la_code", "la_name", "year", "population_0_17"}
    columns |= {"population_status", "boundary_note"}
    for m in sd.PANEL_MEASURES:
        columns |= {m, f"{m}_status", f"{m}_rate", f"{m}_rate_basis", f"{m}_source"}
    return columns


def _terms() -> set[str]:
    names: set[str] = set()
    for res in every_result().values():
        names |= set(res.tidy()["term"])
    # the other event-time shapes: both binned ends, and no binning
    panel = datasets.staggered_panel()
    panel = panel[panel["year"] >= 2015]
    for kwargs in ({"window": (-3, 3)}, {"bin_endpoints": False, "window": (-2, 2)}):
        res = se.event_study(panel, "cla_rate", "la", "year", "cohort", **kwargs)
        names |= set(res.tidy()["term"])
    return names - USER_COLUMNS


def test_every_measure_the_readers_produce_has_a_label():
    measures = set(sd.MEASURES) | set(sd.PANEL_MEASURES) | set(sd.PANEL_MEASURES.values())
    measures |= _panel_columns() | set(READER_COLUMNS)
    measures |= set(datasets.council_panel().columns) | set(datasets.staggered_panel().columns)
    missing = sorted(m for m in measures if not has_label(m))
    assert not missing, f"measures without a label: {missing}"


@pytest.mark.skipif(not RAW.is_dir(), reason=f"the DfE files are not at {RAW}")
def test_every_column_of_a_real_panel_has_a_label():
    panel = sd.la_panel(RAW, measures=tuple(sd.PANEL_MEASURES), years=range(2019, 2021))
    missing = sorted(c for c in panel.data.columns if not has_label(c))
    assert not missing
    assert set(panel.data.columns) <= _panel_columns()  # the static list above is complete


@pytest.mark.filterwarnings("ignore::sfpc_eval.errors.SfpcEvalWarning")
def test_every_term_the_estimators_produce_has_a_label():
    terms = _terms()
    assert {
        "treated",
        "rate_ratio",
        "e<=-4",
        "e>=3",
        "ATT(e=-3)",
        "ATT(g=2020)",
        "ATT(2020, 2021)",
        "exposure[2]",
        "period[1]",
        "(intercept)",
    } <= terms
    missing = sorted(t for t in terms if not has_label(t))
    assert not missing, f"terms without a label: {missing}"
    for term in terms:  # a label is words, not the code name again
        text = label(term)
        assert text != term or term in ("(intercept)",), term
        assert "_" not in text and "<=" not in text and ">=" not in text, (term, text)


@pytest.mark.filterwarnings("ignore::sfpc_eval.errors.SfpcEvalWarning")
def test_every_family_inference_and_estimator_code_has_a_label():
    families = set(Family.__args__)  # type: ignore[attr-defined]
    assert families == {"gaussian", "poisson", "binomial"}
    codes = families | set(did_design.INFERENCE) | set(TIDY_COLUMNS) | set(GLANCE_COLUMNS)
    for res in every_result().values():
        g = res.glance().iloc[0]
        codes |= {g["estimator"], g["inference"], g["family"]} - {""}
    missing = sorted(c for c in codes if not has_label(c))
    assert not missing, f"codes without a label: {missing}"


def test_no_label_shows_a_code_name():
    for group, entries in VOCABULARY.items():
        for name, text in entries.items():
            assert "_" not in text, (group, name, text)
            assert text.strip() == text and text, (group, name)


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("cla_rate", {}, "Children looked after per 10,000 children"),
        ("cpp_rate", {"lower": True}, "children on child protection plans per 10,000 children"),
        ("population_0_17", {"lower": True}, "children aged 0-17 (ONS mid-year estimate)"),
        ("la_name", {}, "Council"),
        ("year", {}, "Year ending 31 March"),
        ("gaussian", {}, "Linear"),
        ("poisson", {}, "Poisson (rate ratio)"),
        ("binomial", {}, "Logistic (odds ratio)"),
        ("rate_ratio", {}, "Rate ratio"),
        ("e=-2", {}, "2 years before adoption"),
        ("e=-1", {}, "1 year before adoption"),
        ("e=0", {}, "Year of adoption"),
        ("e=0", {"time_unit": "period"}, "Period of adoption"),
        ("e<=-5", {}, "5 or more years before adoption"),
        ("e>=3", {}, "3 or more years after adoption"),
        ("ATT(e=1)", {"time_unit": "quarter"}, "1 quarter after adoption"),
        ("ATT(g=2020)", {}, "Councils adopting in 2020"),
        ("ATT(t=2021)", {}, "In 2021"),
        ("ATT(2020, 2022)", {}, "Adopting in 2020, effect in 2022"),
        ("exposure[0]", {}, "Period of switching"),
        ("exposure[3]", {}, "3 periods after switching"),
        ("period[4]", {}, "Period: 4"),
        ("region[North East]", {}, "Region: North East"),
        ("my_column", {}, "my_column"),
        ("CR2", {}, "Cluster-robust (CR2, Satterthwaite df)"),
    ],
)
def test_labels(name, kwargs, expected):
    assert label(name, **kwargs) == expected


def test_overrides_win_for_one_call_only():
    assert label("treated", {"treated": "Family Valued"}) == "Family Valued"
    assert label("treated") == "Treatment effect (model scale)"
    assert label("e=-2", {"e=-2": "Two years before"}) == "Two years before"


def test_scales():
    assert labels.scale_of("percent_change") == "percent"
    assert labels.scale_of("risk_difference") == "pp"
    assert labels.scale_of("odds_ratio") == "ratio"
    assert labels.scale_of("e=-2") == "number"


def test_vocabulary_is_read_only():
    with pytest.raises(TypeError):
        VOCABULARY["terms"]["treated"] = "x"  # type: ignore[index]
    assert re.match(r"^[A-Z]", label("cla"))
