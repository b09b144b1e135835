"""Write the example data sets from the DfE's official files, with their provenance.

Run from the repository root (needs the DfE files, see the README's Data section)::

    python -m sfpc_eval.datasets.make ../shared/data/raw

The panels are computed by this package's own readers (:func:`sfpc_eval.data.la_panel`), not
copied from the DfE's files: one row per council and year, with the published counts and rates.
``PROVENANCE.json`` records every file read with its SHA-256, the reader settings and the
licence. Running it twice on the same files gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

from sfpc_eval import __version__

HERE = Path(__file__).resolve().parent

NEIGHBOURS_FILE = "dfe-csc-dashboard/New_Statistical_Neighbour_Groupings_April_2021.csv"
COUNCIL_YEARS = (2010, 2025)
STAGGERED_YEARS = (2012, 2024)
TREATED_COUNCIL = "Leeds"
TREATED_FROM = 2015

# SFPC councils, each dated by the first DfE year (ending 31 March) after its switch
# (examples/staggered_sfpc.py gives the dates and sources).
SFPC_COHORTS = {
    "Walsall": 2021,
    "Lancashire": 2021,
    "Telford and Wrekin": 2022,
    "Wandsworth": 2022,
    "Swindon": 2023,
    "Rochdale": 2021,
    "Warrington": 2022,
    "Norfolk": 2022,
    "Redcar and Cleveland": 2022,
    "Darlington": 2020,
    "Cambridgeshire": 2020,
    "Middlesbrough": 2020,
}
# Ran these models before SFPC (not never-treated), or have a missing rate in 2012-2024.
LEFT_OUT = (
    "Hertfordshire",
    "North Yorkshire",
    "Leeds",
    "Bracknell Forest",
    "West Berkshire",
    "Luton",
    "Peterborough",
    "Isles of Scilly",
)

LICENCE = (
    "Contains public sector information licensed under the Open Government Licence v3.0: "
    "Department for Education, Children looked after in England including adoptions and "
    "Characteristics of children in need (Explore Education Statistics, and earlier Statistical "
    "First Releases); Office for National Statistics, mid-year population estimates."
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_files(panel) -> list[str]:
    """Return the statistics files the readers took figures from (not notes or unknown files)."""
    return [
        name for name, fmt in panel.files.items() if fmt not in ("documentation", "unrecognised")
    ]


def _panel_columns(data: pd.DataFrame, measures: tuple[str, ...]) -> pd.DataFrame:
    columns = {"la_name": "la", "la_code": "la_code", "year": "year"}
    out = data.rename(columns=columns)[["la", "la_code", "year"]].copy()
    out["population_0_17"] = data["population_0_17"].round().astype("Int64")
    for m in measures:
        out[m] = data[m].round().astype("Int64")
        out[f"{m}_rate"] = data[f"{m}_rate"].round(1)
    return out


def council_panel(root: Path) -> tuple[pd.DataFrame, dict]:
    """Leeds and its ten statistical neighbours (2021 model), 2010-2025."""
    import sfpc_eval.data as sd

    years = range(COUNCIL_YEARS[0], COUNCIL_YEARS[1] + 1)
    panel = sd.la_panel(root, measures=("cla", "cpp"), years=years)
    sn = sd.read_statistical_neighbours(root / NEIGHBOURS_FILE)
    neighbours = sn.loc[sn["la_name"] == TREATED_COUNCIL, "neighbour_name"].tolist()
    keep = panel.data["la_name"].isin([TREATED_COUNCIL, *neighbours])
    frame = _panel_columns(panel.data[keep], ("cla", "cpp"))
    frame["treated"] = ((frame["la"] == TREATED_COUNCIL) & (frame["year"] >= TREATED_FROM)).astype(
        int
    )
    frame = frame.sort_values(["la", "year"], kind="stable").reset_index(drop=True)
    meta = {
        "description": (
            f"{TREATED_COUNCIL} and its ten DfE statistical neighbours (April 2021 model), years "
            f"ending 31 March {COUNCIL_YEARS[0]}-{COUNCIL_YEARS[1]}: children looked after (cla) "
            "and on child protection plans (cpp) at 31 March, with rates per 10,000 children "
            f"aged 0-17. `treated` is 1 for {TREATED_COUNCIL} from {TREATED_FROM} (Family "
            "Valued began in January 2015)."
        ),
        "neighbours": neighbours,
        "files": sorted({*_read_files(panel), NEIGHBOURS_FILE}),
    }
    return frame, meta


def staggered_panel(root: Path) -> tuple[pd.DataFrame, dict]:
    """English councils 2012-2024 with the SFPC adoption year of the twelve adopters."""
    import sfpc_eval.data as sd

    years = range(STAGGERED_YEARS[0], STAGGERED_YEARS[1] + 1)
    panel = sd.la_panel(root, measures=("cla",), years=years)
    data = panel.data[~panel.data["la_name"].isin(LEFT_OUT)]
    missing = sorted(set(data.loc[data["cla_rate"].isna(), "la_name"]))
    data = data[~data["la_name"].isin(missing)]
    frame = _panel_columns(data, ("cla",))
    frame["cohort"] = frame["la"].map(SFPC_COHORTS).astype("Int64")
    frame = frame.sort_values(["la", "year"], kind="stable").reset_index(drop=True)
    absent = sorted(set(SFPC_COHORTS) - set(frame["la"]))
    if absent:
        raise RuntimeError(f"SFPC councils missing from the panel: {absent}")
    meta = {
        "description": (
            "English councils, years ending 31 March "
            f"{STAGGERED_YEARS[0]}-{STAGGERED_YEARS[1]}: children looked after at 31 March "
            "(cla) and per 10,000 children aged 0-17 (cla_rate). `cohort` is the first DfE "
            "year under Strengthening Families, Protecting Children for the twelve SFPC "
            "councils (Family Safeguarding, No Wrong Door, early adopters), empty for councils "
            "never in the programme."
        ),
        "cohorts": SFPC_COHORTS,
        "left_out": [*LEFT_OUT, *[m for m in missing if m not in LEFT_OUT]],
        "files": sorted(_read_files(panel)),
    }
    return frame, meta


def write(root: Path, out: Path = HERE) -> dict:
    """Build both panels from the DfE files under ``root`` and write them, with provenance.

    Returns the provenance record written to ``out / "PROVENANCE.json"``.
    """
    root = Path(root).resolve()
    provenance: dict = {
        "generator": "python -m sfpc_eval.datasets.make DFE_FOLDER",
        "sfpc_eval": __version__,
        "pandas": pd.__version__,
        "licence": LICENCE,
        "datasets": {},
    }
    for name, build in (("council_panel", council_panel), ("staggered_panel", staggered_panel)):
        frame, meta = build(root)
        path = Path(out) / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        files = meta.pop("files")
        meta["rows"] = len(frame)
        meta["columns"] = list(frame.columns)
        meta["sha256"] = _sha256(path)
        meta["source_files"] = {f: _sha256(root / f) for f in files}
        provenance["datasets"][name] = meta
    (Path(out) / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return provenance


def main(argv: list[str] | None = None) -> int:
    """Write ``council_panel.csv``, ``staggered_panel.csv`` and ``PROVENANCE.json``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sfpc_eval.datasets.make DFE_FOLDER", file=sys.stderr)
        return 2
    record = write(Path(args[0]))
    for name, meta in record["datasets"].items():
        print(f"wrote {name}.csv: {meta['rows']} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
