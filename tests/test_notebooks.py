"""Every notebook in notebooks/ executes top to bottom without an error and shows HTML tables.

Notebooks on the real DfE files are skipped where the files are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="install the [test] extra to run notebooks")
nbclient = pytest.importorskip("nbclient", reason="install the [test] extra to run notebooks")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
NEEDS_DFE_FILES = ("02_did_real_la_data.ipynb",)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_executes(path):
    if path.name in NEEDS_DFE_FILES and not RAW.is_dir():
        pytest.skip(f"the DfE files are not at {RAW}")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3")
    client.execute(cwd=str(path.parent))
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    html = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    assert html, "results should render as HTML tables in Jupyter"
