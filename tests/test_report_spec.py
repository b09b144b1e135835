"""Report specs: every bad input is a typed error naming the key and the fix, raised before any
data are read or estimated."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfpc_eval.errors import DesignError, SpecError
from sfpc_eval.report import UNAVAILABLE, build, load_spec
from sfpc_eval.report.designs import did as did_design


def panel_csv(path: Path, n_units: int = 6, years=range(2012, 2020)) -> Path:
    """Noise-free LA x year rates: unit + year effects and an effect of -5 from 2016 in LA0."""
    rows = [
        (f"LA{u}", y, 50 + 2 * u + (y - 2012) - (5 if u == 0 and y >= 2016 else 0), 1000 + u)
        for u in range(n_units)
        for y in years
    ]
    frame = pd.DataFrame(rows, columns=["la_name", "year", "rate", "population"])
    frame.to_csv(path, index=False)
    return path


def spec_for(csv: Path, **analysis) -> dict:
    table = {
        "design": "did",
        "treated": ["LA0"],
        "start": 2016,
        "outcomes": ["rate"],
        "inference": ["CR2"],
    }
    table.update(analysis)
    return {
        "report": {"title": "Test", "date": "2026-01-15"},
        "data": {"path": str(csv), "level": "published"},
        "analysis": [table],
    }


def test_unknown_top_level_key_suggests_the_closest(tmp_path):
    with pytest.raises(
        SpecError,
        match=r"unknown top-level key `analyses`\. Did you mean "
        r"'analysis'\?",
    ) as err:
        load_spec({"report": {"title": "x"}, "analyses": []})
    assert err.value.key == "analyses"


def test_unknown_key_in_a_table_suggests_the_closest(tmp_path):
    spec = spec_for(panel_csv(tmp_path / "p.csv"))
    spec["disclosure"] = {"treshold": 5}
    with pytest.raises(
        SpecError,
        match=r"unknown key `disclosure.treshold`\. Did you mean "
        r"'threshold'\? Keys allowed in \[disclosure\]: threshold",
    ):
        load_spec(spec)


def test_unknown_analysis_key_and_design_suggest_the_closest(tmp_path):
    spec = spec_for(panel_csv(tmp_path / "p.csv"), outcome="rate")
    with pytest.raises(SpecError, match=r"`analysis\[0\]\.outcome`\. Did you mean 'outcomes'\?"):
        load_spec(spec)
    spec = spec_for(panel_csv(tmp_path / "p.csv"), design="before-after")
    with pytest.raises(
        SpecError,
        match=r"design` must be one of .*got 'before-after'\. Did you "
        r"mean 'before_after'\?",
    ):
        load_spec(spec)


def test_wrong_types_and_missing_keys_name_the_key():
    with pytest.raises(SpecError, match=r"`report` needs the key `title`"):
        load_spec({"report": {}, "analysis": [{"design": "claims"}]})
    with pytest.raises(SpecError, match=r"`disclosure.threshold` must be an integer; got 'ten'"):
        load_spec(
            {
                "report": {"title": "x"},
                "disclosure": {"threshold": "ten"},
                "analysis": [{"design": "claims"}],
            }
        )
    with pytest.raises(SpecError, match=r"at least one \[\[analysis\]\]"):
        load_spec({"report": {"title": "x"}})
    with pytest.raises(SpecError, match=r"`shade\[0\]` ends \(2020-01-01\) before it starts"):
        load_spec(
            {
                "report": {"title": "x"},
                "analysis": [{"design": "claims"}],
                "shade": [{"label": "l", "start": "2020-06-01", "end": "2020-01-01"}],
            }
        )


def test_missing_data_path_names_the_resolved_path_and_the_fix(tmp_path):
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(
        '[report]\ntitle = "x"\n[data]\npath = "nowhere/raw"\n[[analysis]]\ndesign = "claims"\n'
    )
    with pytest.raises(SpecError) as err:
        load_spec(spec_file)
    message = str(err.value)
    assert str(tmp_path / "nowhere" / "raw") in message and "--data DIR" in message
    assert err.value.key == "data.path"


def test_data_path_is_relative_to_the_spec_and_data_overrides_it(tmp_path):
    csv = panel_csv(tmp_path / "p.csv")
    (tmp_path / "specs" / "data").mkdir(parents=True)
    panel_csv(tmp_path / "specs" / "data" / "p.csv")
    spec_file = tmp_path / "specs" / "s.toml"
    spec_file.write_text(
        '[report]\ntitle = "x"\n[data]\npath = "data/../data/p.csv"\nlevel = "published"\n'
        '[[analysis]]\ndesign = "claims"\n'
    )
    expected = tmp_path / "specs" / "data" / ".." / "data" / "p.csv"
    assert load_spec(spec_file).data["path"] == expected
    other = panel_csv(tmp_path / "q.csv")
    assert load_spec(spec_file, data=other).data["path"] == other
    assert csv.is_file()


def test_csv_needs_a_level(tmp_path):
    spec = spec_for(panel_csv(tmp_path / "p.csv"))
    del spec["data"]["level"]
    with pytest.raises(SpecError, match=r"`data.level` is needed for a CSV/Parquet file"):
        load_spec(spec)


def test_output_path_that_cannot_be_written(tmp_path):
    spec = spec_for(panel_csv(tmp_path / "p.csv"))
    spec["output"] = {"html": str(tmp_path / "missing-folder" / "r.html")}
    with pytest.raises(
        SpecError,
        match=r"`output.html`: cannot write .*r.html: the folder .* "
        r"does not exist",
    ):
        load_spec(spec)
    spec["output"] = {"html": str(tmp_path)}
    with pytest.raises(SpecError, match=r"it is a folder"):
        load_spec(spec)
    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        spec["output"] = {"html": str(locked / "r.html")}
        with pytest.raises(SpecError, match="permission denied"):
            load_spec(spec)


def test_invalid_toml_and_source_date_epoch(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("[report\ntitle = 1\n")
    with pytest.raises(SpecError, match=r"bad.toml is not valid TOML"):
        load_spec(bad)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(SpecError, match=r"SOURCE_DATE_EPOCH must be whole seconds.*'yesterday'"):
        load_spec({"report": {"title": "x"}, "analysis": [{"design": "claims"}]})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00 UTC
    assert (
        load_spec({"report": {"title": "x"}, "analysis": [{"design": "claims"}]}).date.isoformat()
        == "2026-01-01"
    )


@pytest.fixture
def no_estimation(monkeypatch):
    """Fail loudly if an estimator runs: design checks must come first."""

    def boom(*args, **kwargs):
        raise AssertionError("an estimate was computed before the spec was checked")

    monkeypatch.setattr(did_design, "did", boom)


def test_design_that_does_not_fit_the_data_fails_before_estimation(tmp_path, no_estimation):
    one = panel_csv(tmp_path / "one.csv", n_units=1)
    with pytest.raises(DesignError, match=r"comparison group is empty"):
        build(spec_for(one))
    two = panel_csv(tmp_path / "two.csv", n_units=2)
    with pytest.raises(
        DesignError,
        match=r"only 2 units; DiD with cluster-robust inference "
        r"needs at least 3",
    ):
        build(spec_for(two))
    csv = panel_csv(tmp_path / "p.csv")
    with pytest.raises(DesignError, match=r"'LA 0' is not in the data .*Did you mean 'LA0'\?"):
        build(spec_for(csv, treated=["LA 0"]))
    with pytest.raises(DesignError, match=r"`analysis\[0\].start` = 2012 leaves no period before"):
        build(spec_for(csv, start=2012))
    with pytest.raises(
        SpecError,
        match=r"outcome column 'rat' is not in p.csv.*Did you mean "
        r"'rate'\?",
    ):
        build(spec_for(csv, outcomes=["rat"]))


def test_missing_outcome_values_are_listed_not_dropped(tmp_path, no_estimation):
    csv = panel_csv(tmp_path / "p.csv")
    frame = pd.read_csv(csv)
    frame.loc[(frame["la_name"] == "LA3") & (frame["year"] == 2014), "rate"] = np.nan
    frame.to_csv(csv, index=False)
    with pytest.raises(DesignError, match=r"'rate' is missing for 'LA3 2014'.*Narrow `years`"):
        build(spec_for(csv))


def test_a_design_whose_library_is_missing_is_not_offered(tmp_path, monkeypatch):
    # what designs/__init__ records when a design's library module cannot be imported
    monkeypatch.setitem(UNAVAILABLE, "synthetic", "needs sfpc_eval.single_unit.synthdid.")
    spec = spec_for(panel_csv(tmp_path / "p.csv"), design="synthetic")
    with pytest.raises(
        SpecError,
        match=r"'synthetic' is not available in this installation: "
        r"needs sfpc_eval.single_unit.synthdid",
    ):
        load_spec(spec)


MINIMAL = b"[report]\ntitle = 't'\n[[analysis]]\ndesign = 'claims'\n"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('[report]\ntitle = "caf\xe9"\n'.encode("latin-1"), r"not UTF-8 text \(byte 0xe9"),
        (bytes(range(256)), "not UTF-8 text"),
        (
            ("[report]\ntitle='t'\nx = " + "[" * 3000 + "]" * 3000 + "\n").encode(),
            "nests arrays or tables too deeply",
        ),
    ],
    ids=["latin-1", "binary", "nested-3000-deep"],
)
def test_unreadable_specs_are_spec_errors(tmp_path, raw, words):
    path = tmp_path / "spec.toml"
    path.write_bytes(raw)
    with pytest.raises(SpecError, match=words):
        load_spec(path)


@pytest.mark.parametrize("epoch", ["99999999999999999", "-99999999999999", "1e5", "253402300800"])
def test_source_date_epoch_out_of_range_is_a_spec_error(tmp_path, monkeypatch, epoch):
    path = tmp_path / "spec.toml"
    path.write_bytes(MINIMAL)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    with pytest.raises(SpecError, match="SOURCE_DATE_EPOCH must be whole seconds"):
        load_spec(path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert str(load_spec(path).date) == "1970-01-02"
