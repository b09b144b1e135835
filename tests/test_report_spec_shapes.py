"""A list where a table is expected (and the reverse) is a SpecError naming the key (issue 19).

The campaign behind issue 19 found report specs with a list where a table was expected ending
in untyped exceptions; each shape below is refused with the key it concerns.
"""

from __future__ import annotations

import pytest

from sfpc_eval.errors import SpecError
from sfpc_eval.report import load_spec

CLAIMS = '[[analysis]]\ndesign = "claims"\n'
SHAPES = {
    "report": ('report = ["x"]\n' + CLAIMS, r"`report` must be a table"),
    "data": ('data = [1]\n[report]\ntitle = "x"\n' + CLAIMS, r"`data` must be a table"),
    "disclosure": (
        'disclosure = [1]\n[report]\ntitle = "x"\n' + CLAIMS,
        r"`disclosure` must be a table",
    ),
    "output": ('output = [1]\n[report]\ntitle = "x"\n' + CLAIMS, r"`output` must be a table"),
    "analysis item": ('analysis = [[1]]\n[report]\ntitle = "x"\n', r"`analysis\[0\]` must be"),
    "analysis as a table": (
        'analysis = { design = "claims" }\n[report]\ntitle = "x"\n',
        r"at least one \[\[analysis\]\] table",
    ),
    "shade as a table": (
        'shade = { label = "a" }\n[report]\ntitle = "x"\n' + CLAIMS,
        r"`shade` must be an array of tables",
    ),
    "shade item": ('shade = [[1]]\n[report]\ntitle = "x"\n' + CLAIMS, r"`shade\[0\]` must be"),
    "cohorts": (
        '[report]\ntitle = "x"\n[[analysis]]\ndesign = "staggered"\ncohorts = [1, 2]\n'
        'outcome = "cla"\n',
        r"`analysis\[0\]\.cohorts` must be a table of names to whole numbers",
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_list_where_a_table_is_expected_names_the_key(shape, tmp_path):
    text, message = SHAPES[shape]
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_spec(path)
