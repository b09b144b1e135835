"""Disclosure control on every output path of a report (issue 19).

A count from child-level records from 1 to threshold - 1 must not reach the reader in any form:
table cell, figure point or derived rate. These tests plant such counts and look for them.
"""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest

from sfpc_eval.errors import DisclosureError
from sfpc_eval.report import build, check_disclosure, find_disclosive_cells


def _table(*cells: str) -> str:
    row = "".join(f'<td data-role="count">{c}</td>' for c in cells)
    return (
        '<table data-provenance="child" data-threshold="10" data-title="T">'
        f"<tr>{row}<td data-role='total'>99</td></tr></table>"
    )


@pytest.mark.parametrize("shown", ["3", "3.0", "3 children", " 3 ", "3.5"])
def test_the_checker_reads_a_small_count_however_it_is_written(shown):
    page = _table(shown, "96")
    assert len(find_disclosive_cells(page)) == 1
    with pytest.raises(DisclosureError, match="below 10"):
        check_disclosure(page)


@pytest.mark.parametrize("shown", ["0", "10", "1,234", "12.0", "[c]"])
def test_the_checker_passes_what_is_not_a_small_count(shown):
    assert find_disclosive_cells(_table(shown, "96")) == []


def _svgs(page: str) -> list[str]:
    return [
        base64.b64decode(m).decode()
        for m in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    ]


def test_single_council_figure_hides_periods_with_small_child_counts(tmp_path):
    # one council's children entering care each year; three years have fewer than 10
    counts = [40, 4, 35, 3, 30, 28, 7, 25, 22, 20]
    years = list(range(2012, 2022))
    csv = tmp_path / "children.csv"
    pd.DataFrame({"la": "A", "year": years, "entered": counts}).to_csv(csv, index=False)
    spec = {
        "report": {"title": "Small counts", "date": "2026-01-15"},
        "data": {"path": str(csv), "level": "child", "unit": "la"},
        "analysis": [{"design": "single_la", "unit": "A", "outcome": "entered", "start": 2017}],
    }
    page = build(spec).html()
    (svg,) = _svgs(page)
    # matplotlib draws each observed marker as one <use> element: 10 periods, 3 hidden
    assert _points(svg) == len(counts) - 3
    assert "3 period(s) with fewer than 10 children are not shown" in page
    # and with the threshold lowered to 1 every period is drawn (the mask is what hides them)
    spec["disclosure"] = {"threshold": 1}
    (svg_all,) = _svgs(build(spec).html())
    assert _points(svg_all) == len(counts)


def _points(svg: str) -> int:
    group = re.search(r'<g id="observed-points">(.*?)</g>\s*</g>', svg, re.S)
    assert group is not None, "the observed series is not in the figure"
    return group.group(1).count("<use ")
