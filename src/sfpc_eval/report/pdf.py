"""Print a report's HTML to PDF with headless Chromium (no Python dependency).

Examples
--------
>>> find_chromium("no-such-browser-xyz") is None
True
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from sfpc_eval.errors import SpecError

__all__ = ["find_chromium", "print_pdf"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium(name: str | None = None) -> str | None:
    """Find a Chromium executable (``name``, else the usual names); None if there is none."""
    for candidate in (name,) if name else CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def print_pdf(page: str, out: Path, *, chromium: str | None = None, timeout: float = 120) -> Path:
    """Write ``page`` to a temporary file and print it to ``out`` with headless Chromium."""
    browser = find_chromium(chromium)
    if browser is None:
        raise SpecError(
            "PDF output needs Chromium (apt-get install chromium); none was found on the PATH. "
            "Build the HTML only, or install Chromium.",
            key="pdf",
        )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={out.resolve()}",
            source.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not out.is_file():
        raise SpecError(
            f"Chromium could not print the PDF (exit {done.returncode}): "
            f"{done.stderr.strip()[-500:]}",
            key="pdf",
        )
    return out
