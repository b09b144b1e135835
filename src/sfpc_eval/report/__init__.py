"""Reproducible evaluation reports: a TOML spec in, one self-contained HTML page out.

:func:`load_spec` reads and checks a spec (unknown keys, missing paths, unwritable outputs)
before anything is computed; :func:`build` reads the data, checks every analysis against it and
runs them; :class:`Report` writes HTML (``to_html``) or PDF (``to_pdf``, headless Chromium);
:func:`check_disclosure` scans a built report for disclosive cells.

Designs: ``before_after``, ``did``, ``claims``, ``single_la``, ``single_council``, ``staggered``,
``stepped_wedge`` and ``impact`` (see :data:`sfpc_eval.report.designs.DESIGNS`).

Examples
--------
>>> from sfpc_eval.report import build, check_disclosure
>>> report = build({"report": {"title": "Audit", "date": "2026-01-15"},
...                 "analysis": [{"design": "claims"}]})
>>> "Published claims re-derived" in report.html()
True
>>> check_disclosure(report)   # no child-level tables: nothing to scan
0
"""

from sfpc_eval.report.build import Report, build
from sfpc_eval.report.designs import DESIGNS, UNAVAILABLE
from sfpc_eval.report.disclosure import check_disclosure, find_disclosive_cells, suppress_grid
from sfpc_eval.report.reference import spec_reference
from sfpc_eval.report.spec import Spec, load_spec

__all__ = [
    "DESIGNS",
    "UNAVAILABLE",
    "Report",
    "Spec",
    "build",
    "check_disclosure",
    "find_disclosive_cells",
    "load_spec",
    "spec_reference",
    "suppress_grid",
]
