"""Build a report from a spec: check everything, read the data, run each analysis.

Examples
--------
>>> from sfpc_eval.report import build
>>> report = build({"report": {"title": "Claims", "date": "2026-01-15"},
...                 "analysis": [{"design": "claims", "place": "Leeds"}]})
>>> [s.title for s in report.sections]
['Published claims re-derived']
>>> report.html() == build(report.spec).html()
True
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sfpc_eval.errors import SpecError
from sfpc_eval.report.blocks import Context, Section
from sfpc_eval.report.designs import DESIGNS
from sfpc_eval.report.sources import Dataset, load_dataset
from sfpc_eval.report.spec import Spec, check_output_path, load_spec

__all__ = ["Report", "build"]

_PACKAGES = ("sfpc_eval", "numpy", "pandas", "scipy", "matplotlib")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "not installed"
    return out


@dataclass(frozen=True)
class Report:
    """A built report: the spec, the data's provenance and one section per analysis.

    Attributes
    ----------
    spec : Spec
    dataset : Dataset or None
    sections : tuple of Section
    versions : dict of str to str
        Python and package versions, printed in the provenance section.
    """

    spec: Spec
    dataset: Dataset | None = field(repr=False)
    sections: tuple[Section, ...] = field(repr=False)
    versions: dict[str, str] = field(repr=False)

    def html(self) -> str:
        """Render the report as one self-contained HTML page (same bytes on every build)."""
        from sfpc_eval.report.html import render_page

        return render_page(self)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the HTML page to ``path``; return the path.

        Raises
        ------
        SpecError
            The folder does not exist or cannot be written.
        """
        out = check_output_path(path, "path")
        out.write_bytes(self.html().encode("utf-8"))
        return out

    def to_pdf(self, path: str | os.PathLike[str], *, chromium: str | None = None) -> Path:
        """Print the report to PDF with headless Chromium; return the path.

        Parameters
        ----------
        path : path-like
        chromium : str, optional
            The browser executable; default the first of ``chromium``,
            ``chromium-browser``, ``google-chrome`` on the PATH.

        Raises
        ------
        SpecError
            The output folder cannot be written, or no Chromium is installed.
        """
        from sfpc_eval.report.pdf import print_pdf

        return print_pdf(self.html(), check_output_path(path, "pdf"), chromium=chromium)


def build(
    spec: Spec | str | os.PathLike[str] | Mapping[str, Any],
    *,
    data: str | os.PathLike[str] | None = None,
    allow_paths_outside: bool = False,
) -> Report:
    """Build the report a spec describes.

    Everything is checked before any estimate is computed: the spec (keys, types, paths), then
    the data are read and every analysis is checked against them (units, years, outcomes,
    comparison group); only then do the analyses run.

    Parameters
    ----------
    spec : Spec, path or mapping
        A loaded spec, a TOML file or its dict.
    data : path, optional
        Replace the spec's ``data.path`` (relative to the current folder).
    allow_paths_outside : bool, default False
        Let a spec file read and write outside its folder and the data folder (see
        :func:`~sfpc_eval.report.load_spec`); only for a spec you trust.

    Returns
    -------
    Report

    Raises
    ------
    SpecError, DesignError, MissingColumnError
        Naming the spec key, the offending values and the fix.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec, data=data, allow_paths_outside=allow_paths_outside)
    elif data is not None:
        raise SpecError(
            "`data` replaces a spec file's data.path; pass it with the spec file or dict "
            "(build('spec.toml', data=...)), not with a loaded Spec.",
            key="data",
        )
    dataset = load_dataset(spec.data) if spec.data is not None else None
    for i, analysis in enumerate(spec.analyses):
        DESIGNS[analysis["design"]].check(analysis, dataset, f"analysis[{i}]")
    shades = tuple((s.start, s.end, s.label) for s in spec.shades)
    sections = tuple(
        DESIGNS[analysis["design"]].run(
            analysis,
            dataset,
            Context(key=f"analysis-{i + 1}", threshold=spec.threshold, shades=shades),
        )
        for i, analysis in enumerate(spec.analyses)
    )
    return Report(spec=spec, dataset=dataset, sections=sections, versions=_versions())
