"""Write the generated parts of the validation page from the comparison list and the fixtures.

Reads ``validation/comparisons.toml`` (one ``[[comparison]]`` per reference comparison the test
suite makes) and the version strings each comparison's ``metadata`` points at inside the
committed fixtures, and writes:

- ``docs/validation_generated.rst``: one list-table per area (quantity, reference with the
  versions read from the fixtures, tolerance, fixture folder, test);
- ``docs/validation_sw_mdes_generated.rst``: the stepped-wedge MDES table, from
  ``validation/sw_mdes.csv`` and the environment line of ``validation/sw_mdes.md``.

Both are included by ``docs/validation.rst``. The output depends only on those files, so it is
deterministic; ``tests/test_validation_page.py`` checks that the committed files are current.

Run from anywhere:  python docs/make_validation.py
"""

from __future__ import annotations

import csv
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMPARISONS = ROOT / "validation" / "comparisons.toml"
COMPARISONS_OUT = ROOT / "docs" / "validation_generated.rst"
MDES_CSV = ROOT / "validation" / "sw_mdes.csv"
MDES_MD = ROOT / "validation" / "sw_mdes.md"
MDES_OUT = ROOT / "docs" / "validation_sw_mdes_generated.rst"

NO_FIXTURE = "none: computed in the test"
REQUIRED = ("area", "quantity", "reference", "fixture", "tolerance", "test")
HEADER = (
    ".. Written by docs/make_validation.py from {source}.\n"
    "   Do not edit by hand: edit the source and run ``python docs/make_validation.py``.\n"
)


def load_comparisons(path: Path = COMPARISONS) -> list[dict[str, Any]]:
    """The ``[[comparison]]`` rows, each checked for the required fields."""
    rows = tomllib.loads(path.read_text(encoding="utf-8")).get("comparison", [])
    if not rows:
        raise ValueError(f"{path} holds no [[comparison]] rows")
    for i, row in enumerate(rows, start=1):
        missing = [k for k in REQUIRED if not str(row.get(k, "")).strip()]
        if missing:
            raise ValueError(f"comparison {i} ({row.get('test', '?')}) lacks {', '.join(missing)}")
        unknown = set(row) - {*REQUIRED, "metadata"}
        if unknown:
            raise ValueError(f"comparison {i} has unknown field(s) {', '.join(sorted(unknown))}")
    return rows


def _metadata_entries(row: dict[str, Any]) -> list[dict[str, Any]]:
    meta = row.get("metadata")
    if meta is None:
        return []
    return list(meta) if isinstance(meta, list) else [meta]


def _lookup(path: Path, key: str, cache: dict[Path, Any]) -> str:
    """The value stored under ``key`` in a fixture file.

    JSON: ``key`` is a dotted path. Text (e.g. versions.txt): ``key`` is the start of a line;
    the value is the rest of that line, after an optional colon.
    """
    if path not in cache:
        text = path.read_text(encoding="utf-8")
        cache[path] = json.loads(text) if path.suffix == ".json" else text.splitlines()
    data = cache[path]
    if path.suffix == ".json":
        value: Any = data
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(f"{path.relative_to(ROOT)} has no key {key!r}")
            value = value[part]
        return str(value).strip()
    for line in data:
        if line.startswith(key):
            return line[len(key) :].strip().removeprefix(":").strip()
    raise KeyError(f"{path.relative_to(ROOT)} has no line starting {key!r}")


def _label(label: str, value: str) -> str:
    """``label value``, without repeating the label when the value already starts with it."""
    for prefix in (f"{label} version ", f"{label} "):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    return f"{label} {value}"


def provenance(row: dict[str, Any], cache: dict[Path, Any] | None = None) -> str:
    """The "Versions: ...; seeds: ..." note, read from the fixture files in the metadata."""
    cache = {} if cache is None else cache
    versions: list[str] = []
    seeds: list[str] = []
    for entry in _metadata_entries(row):
        path = ROOT / entry["file"]
        for label, key in entry.get("versions", {}).items():
            item = _label(label, _lookup(path, key, cache))
            if item not in versions:
                versions.append(item)
        for label, key in entry.get("seeds", {}).items():
            value = _lookup(path, key, cache)
            item = value if label == "seed" else f"{label} {value}"
            if item not in seeds:
                seeds.append(item)
    parts = []
    if versions:
        parts.append("Versions: " + ", ".join(versions))
    if seeds:
        unnamed = len(seeds) == 1 and seeds[0].isdigit()
        parts.append(("seed " if unnamed else "seeds: ") + ", ".join(seeds))
    return "; ".join(parts) + ("." if parts else "")


def _cell(first: bool, paragraphs: list[str]) -> list[str]:
    lead = "   * - " if first else "     - "
    lines = [lead + paragraphs[0]]
    for extra in paragraphs[1:]:
        lines += ["", "       " + extra]
    return lines


def _literal(text: str) -> str:
    return f"``{text}``"


def render_comparisons(rows: list[dict[str, Any]]) -> str:
    """The reST for every comparison, one list-table per area in first-appearance order."""
    cache: dict[Path, Any] = {}
    areas: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        areas.setdefault(row["area"], []).append(row)
    with_fixture = sum(row["fixture"] != NO_FIXTURE for row in rows)
    out = [HEADER.format(source="validation/comparisons.toml and the fixture metadata"), ""]
    out.append(
        f"{len(rows)} comparisons in {len(areas)} areas. {with_fixture} use a committed "
        f"fixture (the reference tool's numbers, or the data the reference is recomputed "
        f"from), written by the generator script in the same folder; the other "
        f"{len(rows) - with_fixture} compute everything inside the test (closed forms, "
        f"statsmodels or scipy refits, known-truth simulations, results printed in the "
        f"literature). Versions are read from the fixture files; tolerances are the ones the "
        f"tests assert."
    )
    out.append("")
    for area, members in areas.items():
        out += [
            area,
            "~" * len(area),
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 26 30 18 12 14",
            "",
        ]
        out += _cell(True, ["Quantity"])
        out += _cell(False, ["Checked against"])
        out += _cell(False, ["Tolerance"])
        out += _cell(False, ["Fixture"])
        out += _cell(False, ["Test"])
        for row in members:
            reference = [" ".join(row["reference"].split())]
            extra = provenance(row, cache)
            if extra:
                reference.append(extra)
            fixture = row["fixture"]
            fixture_cell = (
                "none (computed in the test)"
                if fixture == NO_FIXTURE
                else _literal(fixture.removeprefix("tests/fixtures/").rstrip("/") + "/")
            )
            test_file, _, function = row["test"].partition("::")
            out += _cell(True, [" ".join(row["quantity"].split())])
            out += _cell(False, reference)
            out += _cell(False, [" ".join(row["tolerance"].split())])
            out += _cell(False, [fixture_cell])
            out += _cell(False, [_literal(Path(test_file).name), _literal(function)])
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_mdes(csv_path: Path = MDES_CSV, md_path: Path = MDES_MD) -> str:
    """The stepped-wedge MDES table (validation/sw_mdes.py's output) as a list-table."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    environment = [
        line.strip()
        for line in md_path.read_text(encoding="utf-8").splitlines()
        if line.startswith("Python ")
    ]
    head = [
        "trial",
        "ICC",
        "CAC",
        "MDES (pp)",
        "relative reduction",
        "odds ratio",
        "MDES, t on clusters-2 df (pp)",
        "simulated power at MDES",
    ]
    out = [
        HEADER.format(source="validation/sw_mdes.csv"),
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    for i, name in enumerate(head):
        out += _cell(i == 0, [name])
    for r in records:
        values = [
            r["trial"],
            f"{float(r['icc']):.2f}",
            f"{float(r['cac']):.1f}",
            f"{100 * abs(float(r['mdes_risk_difference'])):.2f}",
            f"{100 * float(r['relative_reduction']):.1f}%",
            f"{float(r['odds_ratio']):.3f}",
            f"{100 * abs(float(r['mdes_t_df'])):.2f}",
            f"{float(r['simulated_power_at_mdes']):.3f}",
        ]
        for i, value in enumerate(values):
            out += _cell(i == 0, [value])
    out.append("")
    if environment:
        out += [environment[-1], ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render() -> dict[Path, str]:
    """Every generated file and its content."""
    return {
        COMPARISONS_OUT: render_comparisons(load_comparisons()),
        MDES_OUT: render_mdes(),
    }


def main() -> int:
    for path, text in render().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
