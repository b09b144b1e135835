"""Write tables to files: Excel (openpyxl), Word (python-docx), CSV, HTML, Markdown, LaTeX.

Spreadsheets store numbers as numbers, each with the Excel number format that shows it as the
table does (``+#,##0.0" pp"``, ``[<0.001]"<0.001";0.000``...), so a reader can compute with them
and still sees the published table. The title is the first row, the notes and facts sit on
their own rows under the table. Word documents hold a real Word table in the ``Light Shading``
table style, numbers right-aligned. Both files are byte-for-byte reproducible (fixed
timestamps), so a report that embeds them builds to the same bytes twice.

Examples
--------
>>> import tempfile, pathlib
>>> from sfpc_eval.tables import Table
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> save(Table("Demo", ["a", "b"], [["x", 1.5]]), folder / "demo.xlsx").name
'demo.xlsx'
>>> save(Table("Demo", ["a"], [["x"]]), folder / "demo", format="pdf")
Traceback (most recent call last):
...
sfpc_eval.errors.ExportError: `format` 'pdf' is not one of the export formats: ...
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from sfpc_eval.errors import ExportError
from sfpc_eval.tables.cells import TableData
from sfpc_eval.tables.render import html_table, latex_table, markdown_table

__all__ = ["FORMATS", "csv_text", "docx_bytes", "save", "xlsx_bytes"]

FORMATS = ("html", "md", "tex", "txt", "csv", "xlsx", "docx")
"""Formats :func:`save` writes, by file suffix."""

_ALIASES = {"htm": "html", "markdown": "md", "latex": "tex", "text": "txt", "excel": "xlsx"}
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_FIXED_STAMP = "2000-01-01T00:00:00Z"
TABLE_STYLE = "Light Shading"
"""The Word table style of exported tables."""


def _format_of(path: Path, format: str | None) -> str:
    name = (format or path.suffix.lstrip(".")).lower()
    name = _ALIASES.get(name, name)
    if name not in FORMATS:
        where = f"`format` {format!r}" if format else f"the suffix of {str(path)!r} ({name!r})"
        raise ExportError(
            f"{where} is not one of the export formats: {', '.join(FORMATS)}. Choose one of "
            "them, or a path ending in one."
        )
    return name


def _check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(
            f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist. Create it "
            "first (e.g. Path(folder).mkdir(parents=True)) or choose another path."
        )
    if not os.access(folder, os.W_OK):
        raise ExportError(
            f"cannot write {str(path)!r}: the folder {str(folder)!r} is not writable. Choose "
            "a folder you can write to."
        )
    if path.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: it is a folder; give a file name.")


def save(
    table: TableData | Sequence[TableData], path: str | os.PathLike[str], format: str | None = None
) -> Path:
    """Write one table (or several, for xlsx/docx/html/md/tex/txt) to ``path``.

    Parameters
    ----------
    table : Table or sequence of Table
        Several tables go to one workbook (a sheet each), one document or one page.
    path : path-like
        The file to write; its folder must exist and be writable.
    format : str, optional
        One of :data:`FORMATS`; by default the suffix of ``path``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ExportError
        An unknown format; a folder that does not exist or cannot be written; CSV of several
        tables.
    """
    target = Path(path)
    kind = _format_of(target, format)
    _check_folder(target)
    tables = [table] if isinstance(table, TableData) else list(table)
    if not tables or not all(isinstance(t, TableData) for t in tables):
        raise ExportError("`table` must be a Table or a non-empty sequence of Tables.")
    if kind == "csv" and len(tables) != 1:
        raise ExportError("CSV holds one table; write each table to its own file, or use xlsx.")
    try:
        if kind == "xlsx":
            target.write_bytes(xlsx_bytes(tables))
        elif kind == "docx":
            target.write_bytes(docx_bytes(tables))
        elif kind == "csv":
            target.write_text(csv_text(tables[0]), encoding="utf-8")
        else:
            target.write_text(_text(tables, kind), encoding="utf-8")
    except PermissionError as err:
        raise ExportError(f"cannot write {str(target)!r}: {err.strerror}.") from err
    return target


def _text(tables: list[TableData], kind: str) -> str:
    if kind == "html":
        body = "\n".join(html_table(t) for t in tables)
        title = tables[0].title
        from html import escape

        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head><body>\n{body}\n</body></html>\n"
        )
    render = {"md": markdown_table, "tex": latex_table, "txt": TableData.as_text}[kind]
    return "\n\n".join(render(t) for t in tables) + "\n"


def csv_text(table: TableData) -> str:
    """Return the DataFrame behind the table as CSV (numbers unrounded; text as shown)."""
    return table.to_frame().to_csv(index=False, lineterminator="\n")


def _repack(data: bytes, core: str) -> bytes:
    """Rewrite a zip with fixed timestamps, and the document's own dates fixed, for same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == core:
                text = content.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rf"\g<1>{_FIXED_STAMP}\g<2>",
                    text,
                )
                content = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def excel_format(cell) -> str:
    """Return the Excel number format of a number cell, its footnote mark included.

    Examples
    --------
    >>> from sfpc_eval.tables import Cell, NumberFormat
    >>> excel_format(Cell(1.5, NumberFormat("number", 1, "%", True), mark="**"))
    '+#,##0.0"%"" **";-#,##0.0"%"" **";#,##0.0"%"" **"'
    """
    base = cell.format.excel()
    if not cell.mark:
        return base
    return ";".join(f'{section}" {cell.mark}"' for section in base.split(";"))


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:28] or "Table"
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base[:25]} ({n})"
    used.add(name)
    return name


def xlsx_bytes(tables: TableData | Sequence[TableData]) -> bytes:
    """Return an Excel workbook holding each table on its own sheet, as bytes.

    Row 1 is the title; then the spanning headers (if any) and the column headers; then the
    body; then a blank row and the facts and notes, one per row. Numbers are stored as
    numbers with the number format that displays them as the table does.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    items = [tables] if isinstance(tables, TableData) else list(tables)
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    thick, thin = Side(style="medium"), Side(style="thin")
    for table in items:
        sheet = book.create_sheet(_sheet_name(table.title, used))
        sheet.cell(row=1, column=1, value=table.title).font = Font(bold=True)
        numeric = table.numeric_columns()
        row = 2
        if table.column_groups and any(g for g, _ in table.column_groups):
            col = 1
            for name, n in table.column_groups:
                cell = sheet.cell(row=row, column=col, value=name or None)
                cell.alignment = Alignment(horizontal="center")
                cell.border = Border(top=thick, bottom=thin if name else None)
                if n > 1:
                    sheet.merge_cells(
                        start_row=row, start_column=col, end_row=row, end_column=col + n - 1
                    )
                col += n
            row += 1
        for j, (name, is_num) in enumerate(zip(table.columns, numeric, strict=True), start=1):
            cell = sheet.cell(row=row, column=j, value=name)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="right" if is_num else "left", wrap_text=True)
            top = thick if row == 2 else None
            cell.border = Border(top=top, bottom=thin)
        header_row = row
        for body in table.cells:
            row += 1
            for j, (item, is_num) in enumerate(zip(body, numeric, strict=True), start=1):
                if item.is_number:
                    value = float(item.value)  # type: ignore[arg-type]
                    cell = sheet.cell(row=row, column=j, value=value)
                    cell.number_format = excel_format(item)
                else:
                    text = item.text()
                    cell = sheet.cell(row=row, column=j, value=text or None)
                    if text:
                        cell.number_format = "@"
                cell.alignment = Alignment(horizontal="right" if is_num else "left")
        for j in range(1, len(table.columns) + 1):
            cell = sheet.cell(row=row, column=j)
            cell.border = Border(top=cell.border.top, bottom=thick)
        row += 1
        for key, value in table.facts:
            row += 1
            sheet.cell(row=row, column=1, value=f"{key}: {value}")
        for note in table.notes:
            row += 1
            sheet.cell(row=row, column=1, value=note)
        for j in range(1, len(table.columns) + 1):
            texts = [str(table.columns[j - 1])] + [r[j - 1].text() for r in table.cells]
            width = min(max(len(t) for t in texts) + 2, 60)
            sheet.column_dimensions[_column_letter(j)].width = width
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
        sheet.page_setup.orientation = "landscape"  # printed: every column on one page width
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
    buffer = io.BytesIO()
    book.save(buffer)
    return _repack(buffer.getvalue(), "docProps/core.xml")


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


_LOOK = {
    "firstRow": "1",
    "lastRow": "0",
    "firstColumn": "0",
    "lastColumn": "0",
    "noHBand": "1",
    "noVBand": "1",
}
_PAGE_WIDTH = 6.3  # inches of an A4 page inside its margins


def _column_widths(table: TableData) -> list[float]:
    """Return column widths in inches, a page wide in all.

    Numbers and intervals never wrap (a column is at least as wide as its widest number);
    words wrap beyond 18 characters (30 in the first column, the row labels).
    """
    weights = []
    for j, name in enumerate(table.columns):
        cells = [row[j] for row in table.cells]
        numbers = [len(c.text()) for c in cells if c.format is not None]
        words = [len(c.text()) for c in cells if c.format is None] + [len(name)]
        weights.append(max([*numbers, min(max(words), 30 if j == 0 else 18), 6]))
    return [_PAGE_WIDTH * w / sum(weights) for w in weights]


def docx_bytes(tables: TableData | Sequence[TableData]) -> bytes:
    """Return a Word document of the tables (title as a caption, then facts and notes)."""
    import docx
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Inches, Pt

    items = [tables] if isinstance(tables, TableData) else list(tables)
    document = docx.Document()
    document.core_properties.author = "sfpc_eval"
    for table in items:
        document.add_paragraph(table.title, style="Caption")
        numeric = table.numeric_columns()
        groups = bool(table.column_groups) and any(g for g, _ in table.column_groups)
        n_head = 2 if groups else 1
        grid = document.add_table(rows=n_head + len(table.cells), cols=len(table.columns))
        grid.style = document.styles[TABLE_STYLE]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        look = grid._tbl.tblPr.find(qn("w:tblLook"))
        if look is not None:  # the header row styled; no banded rows, no column emphasis
            look.set(qn("w:val"), "0620")  # the same as a bit mask, for readers that use it
            for flag, value in _LOOK.items():
                look.set(qn(f"w:{flag}"), value)
        grid.autofit = False
        widths = _column_widths(table)
        for j, width in enumerate(widths):
            grid.columns[j].width = Inches(width)
            for cell in grid.columns[j].cells:
                cell.width = Inches(width)
        if groups:
            col = 0
            for name, n in table.column_groups:
                cell = grid.cell(0, col)
                if n > 1:
                    cell = cell.merge(grid.cell(0, col + n - 1))
                cell.text = name
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
                col += n
        for j, (name, is_num) in enumerate(zip(table.columns, numeric, strict=True)):
            cell = grid.cell(n_head - 1, j)
            cell.text = name
            if is_num:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for i, body in enumerate(table.cells):
            for j, (item, is_num) in enumerate(zip(body, numeric, strict=True)):
                cell = grid.cell(n_head + i, j)
                cell.text = item.text()
                paragraph = cell.paragraphs[0]
                if is_num:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                for run in paragraph.runs:
                    run.font.size = Pt(9)
        for key, value in table.facts:
            document.add_paragraph(f"{key}: {value}").runs[0].font.size = Pt(8)
        for note in table.notes:
            document.add_paragraph(note).runs[0].font.size = Pt(8)
    buffer = io.BytesIO()
    document.save(buffer)
    return _repack(buffer.getvalue(), "docProps/core.xml")
