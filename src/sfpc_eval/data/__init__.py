"""Read the DfE's official children's social care statistics into a tidy, harmonised panel.

Readers (one per published format) return tidy rows with the columns :data:`TIDY_COLUMNS`:
:func:`read_ees_csv` (Explore Education Statistics), :func:`read_cin_sfr_csv` and
:func:`read_cla_sfr_csv` (older Statistical First Release files), :func:`read_cla_2010_workbook`
(table LAA1, 2006-2010) and :func:`read_lait` (LAIT parquet). Reference readers:
:func:`read_statistical_neighbours`, :func:`read_la_code_list`, :func:`read_ofsted_inspections`.

:func:`la_panel` builds one row per LA and year from a folder of files, with a boundary policy
and a report of revisions; :func:`sfpc_eligibility` screens LAs against the SFPC criteria;
:func:`check_folder` validates a folder and says what is in it.

Examples
--------
>>> import sfpc_eval.data as sd
>>> sd.find_la("Newcastle Upon Tyne").old_la_code
'391'
>>> sd.MEASURES["cpp_at_31_march"].label
'children on a child protection plan at 31 March'
"""

from sfpc_eval.data._status import STATUSES, parse_cells, symbol_meanings
from sfpc_eval.data._tidy import TIDY_COLUMNS
from sfpc_eval.data.areas import (
    BOUNDARY_CHANGES,
    LOCAL_AUTHORITIES,
    BoundaryChange,
    LocalAuthority,
    find_la,
    la_by_code,
    las_in_year,
)
from sfpc_eval.data.check import FileCheck, FolderCheck, check_folder
from sfpc_eval.data.ees import read_ees_csv
from sfpc_eval.data.eligibility import EligibilityScreen, sfpc_eligibility
from sfpc_eval.data.folder import FORMATS, FolderRead, detect_format, read_file, read_folder
from sfpc_eval.data.lait import read_lait
from sfpc_eval.data.measures import MEASURES, PANEL_MEASURES, Measure
from sfpc_eval.data.panel import LaPanel, la_panel
from sfpc_eval.data.reference import (
    read_la_code_list,
    read_ofsted_inspections,
    read_statistical_neighbours,
)
from sfpc_eval.data.releases import REVISION_COLUMNS, choose_releases
from sfpc_eval.data.sfr import read_cin_sfr_csv, read_cla_2010_workbook, read_cla_sfr_csv

__all__ = [
    "BOUNDARY_CHANGES",
    "FORMATS",
    "LOCAL_AUTHORITIES",
    "MEASURES",
    "PANEL_MEASURES",
    "REVISION_COLUMNS",
    "STATUSES",
    "TIDY_COLUMNS",
    "BoundaryChange",
    "EligibilityScreen",
    "FileCheck",
    "FolderCheck",
    "FolderRead",
    "LaPanel",
    "LocalAuthority",
    "Measure",
    "check_folder",
    "choose_releases",
    "detect_format",
    "find_la",
    "la_by_code",
    "la_panel",
    "las_in_year",
    "parse_cells",
    "read_cin_sfr_csv",
    "read_cla_2010_workbook",
    "read_cla_sfr_csv",
    "read_ees_csv",
    "read_file",
    "read_folder",
    "read_la_code_list",
    "read_lait",
    "read_ofsted_inspections",
    "read_statistical_neighbours",
    "sfpc_eligibility",
    "symbol_meanings",
]
