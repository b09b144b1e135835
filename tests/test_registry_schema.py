"""Schema validation of the registry: each malformed entry names the claim id and the field."""

from __future__ import annotations

import copy

import pytest

from sfpc_eval.errors import RegistryError
from sfpc_eval.evidence import load_registry, parse_registry
from sfpc_eval.evidence.wording import admissible

VALID = {
    "schema_version": 1,
    "claim": [
        {
            "id": "demo_claim",
            "programme": "Demo",
            "place": "Leeds",
            "measure": "leeds.cpp_count",
            "metric": "percent_reduction",
            "period": "2011 to 2017",
            "population": "children on plans",
            "statement": "A demo statement.",
            "wording": "nearly 50%",
            "rule": "nearly",
            "value": 50,
            "grade": "SEEN",
            "inputs": {"kind": "counts", "before": 974, "after": 515},
            "source": {"title": "T", "authors": "", "year": 2019, "url": "https://example.org"},
        }
    ],
}


def broken(change) -> dict:
    doc = copy.deepcopy(VALID)
    change(doc["claim"][0])
    return doc


def test_the_valid_document_parses():
    assert parse_registry(VALID).ids() == ["demo_claim"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c.pop("wording"), ["'demo_claim'", "'wording'", "missing"]),
        (lambda c: c.update(wordng="x"), ["'demo_claim'", "unknown field 'wordng'", "'wording'"]),
        (lambda c: c.update(value="fifty"), ["'demo_claim'", "'value'", "int or float"]),
        (lambda c: c.update(metric="percent"), ["'demo_claim'", "'metric'", "cannot reproduce"]),
        (lambda c: c.update(metric="percentage"), ["'demo_claim'", "'metric'", "one of"]),
        (lambda c: c.update(rule="roughly"), ["'demo_claim'", "'rule'", "one of"]),
        (lambda c: c.update(grade="SEEN?"), ["'demo_claim'", "'grade'"]),
        (lambda c: c["source"].pop("url"), ["'demo_claim' [source]", "'url'", "missing"]),
        (lambda c: c["inputs"].update(befor=1), ["'demo_claim' [inputs]", "'befor'", "'before'"]),
        (lambda c: c["inputs"].update(kind="rates"), ["'demo_claim' [inputs]", "'kind'"]),
        (lambda c: c["inputs"].update(before=97.4), ["'demo_claim' [inputs]", "'before'", "int"]),
        (
            lambda c: c.update(
                metric="difference_pp",
                inputs={"kind": "proportions", "treated": 36.2, "control": 44.8},
            ),
            ["'demo_claim' [inputs]", "'treated'", "0.362"],
        ),
        (lambda c: c.update(rule="fraction", value=0.4), ["'demo_claim'", "ladder"]),
        (
            lambda c: (c.update(rule="significant"), c.pop("inputs")),
            ["'demo_claim'", "significant"],
        ),
        (lambda c: c.pop("id"), ["claim #1", "'id'", "missing"]),
    ],
)
def test_malformed_entries_name_the_claim_and_field(change, words):
    with pytest.raises(RegistryError) as info:
        parse_registry(broken(change))
    for word in words:
        assert word in str(info.value)


def test_duplicate_ids_and_bad_files(tmp_path):
    doc = copy.deepcopy(VALID)
    doc["claim"].append(copy.deepcopy(doc["claim"][0]))
    with pytest.raises(RegistryError, match=r"'demo_claim'.*more than once"):
        parse_registry(doc)
    bad = tmp_path / "bad.toml"
    bad.write_text("schema_version = 1\n[[claim]\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(bad)
    with pytest.raises(RegistryError, match="schema_version"):
        parse_registry({"schema_version": 2, "claim": VALID["claim"]})


@pytest.mark.parametrize(
    ("rule", "value", "inside", "outside"),
    [
        ("rounded", 49, [48.5, 49.0, 49.49], [48.49, 49.5]),
        ("nearly", 50, [45.0, 47.13, 50.0], [44.9, 50.01]),
        ("about", 50, [45.0, 49.7, 55.0], [44.9, 55.1]),
        ("more_than", 50, [50.01], [50.0, 39.0]),
        ("at_least", 50, [50.0], [49.99]),
        ("less_than", 10, [9.99], [10.0]),
        ("fraction", 0.5, [0.42, 0.569, 0.58], [0.41, 0.59]),
        ("fraction", 0.25, [0.23, 0.29], [0.18, 0.30]),
        ("exact", 974, [974.0], [973.0]),
    ],
)
def test_wording_rules(rule, value, inside, outside):
    allowed = admissible(rule, value)
    assert all(allowed.contains(v) for v in inside)
    assert not any(allowed.contains(v) for v in outside)


def test_adjacent_rounded_claims_do_not_overlap_but_nested_ones_do():
    assert not admissible("rounded", 66).overlaps(admissible("rounded", 67))
    assert admissible("rounded", 38).overlaps(admissible("nearly", 40))
    assert not admissible("rounded", 39).overlaps(admissible("more_than", 50))
    assert admissible("at_least", 50).overlaps(admissible("exact", 50))
    assert not admissible("more_than", 50).overlaps(admissible("exact", 50))
