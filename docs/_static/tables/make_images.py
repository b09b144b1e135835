"""Render the pictures of docs/tables.rst: one table as HTML, Word and Excel show it.

Run from the repository root (needs Chromium, LibreOffice and pdftoppm)::

    python docs/_static/tables/make_images.py

The table is the one the how-to builds: three stepped-wedge models of a simulated Family
Safeguarding trial (seed 2020) side by side. It is written with ``Table.as_html()``,
``Table.save("....docx")`` and ``Table.save("....xlsx")``; the HTML is photographed by headless
Chromium, the Word and Excel files are printed to PDF by LibreOffice (as they open them) and
turned into PNG by pdftoppm. Writes ``side_by_side_html.png``, ``side_by_side_docx.png``,
``side_by_side_xlsx.png`` and the three files beside this script.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageChops

import sfpc_eval as se

HERE = Path(__file__).resolve().parent


def table() -> se.Table:
    trial = se.simulate_trial("fs", rng=2020)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            m.upper(): se.stepped_wedge(
                trial, "looked_after", "cluster", "period", "treated", model=m
            )
            for m in ("glmm", "gee", "glm")
        }
    return se.side_by_side(
        models,
        keep=["odds_ratio", "average_marginal_effect"],
        facts=["n_obs", "n_clusters", "n_periods", "inference", "inference_df"],
        title="Family Safeguarding trial (simulated): three models",
    )


def trim(path: Path, pad: int = 12) -> None:
    """Crop a picture to its content plus a margin."""
    image = Image.open(path).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    if box:
        left, top, right, bottom = box
        image = image.crop((max(left - pad, 0), max(top - pad, 0), right + pad, bottom + pad))
    image.save(path, optimize=True)


def to_png(document: Path, out: Path, work: Path) -> None:
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(document)],
        check=True,
        capture_output=True,
        env={"HOME": str(work), "PATH": "/usr/bin:/bin"},
    )
    pdf = work / f"{document.stem}.pdf"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", "-singlefile", str(pdf), str(out.with_suffix(""))],
        check=True,
    )
    trim(out)


def main() -> int:
    t = table()
    docx = t.save(HERE / "side_by_side.docx")
    xlsx = t.save(HERE / "side_by_side.xlsx")
    page = t.save(HERE / "side_by_side.html")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        shot = HERE / "side_by_side_html.png"
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=900,700",
                f"--screenshot={shot}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
        trim(shot)
        to_png(docx, HERE / "side_by_side_docx.png", work)
        to_png(xlsx, HERE / "side_by_side_xlsx.png", work)
    print("wrote", *sorted(p.name for p in HERE.glob("side_by_side*")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
