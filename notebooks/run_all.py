"""Run every notebook here top to bottom and save it with its outputs (tables and charts).

    python notebooks/run_all.py

The notebooks are committed with their outputs so that a reader of the repository, and the
documentation site (which renders them as they are saved), sees every table and chart.
Re-run this after changing a notebook or the library. Notebook 02 reads the DfE files from
``../shared/data/raw`` beside the checkout.
"""

from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent


def run_all() -> None:
    """Execute each notebook in this folder and write it back with its outputs."""
    for path in sorted(HERE.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3")
        client.execute(cwd=str(HERE))
        for cell in notebook.cells:  # no run-dependent timings in the saved file
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(notebook, path)
        print(f"ran {path.name}")


if __name__ == "__main__":
    run_all()
