"""Render a built report as one self-contained HTML page (inline CSS, figures as data URIs).

Every string from the spec or the data is escaped here; nothing is fetched from the network;
nothing depends on the clock (the date comes from the spec or SOURCE_DATE_EPOCH). Tables are
laid out by the table engine (text left, numbers right and on their decimal points), and each
can be downloaded as CSV and Excel from links that carry the files inside the page.

Examples
--------
>>> from sfpc_eval.report.blocks import TableBlock
>>> print(table_html(TableBlock("<b>", ("a",), (("<script>",),))).splitlines()[1])
<table data-provenance="published" data-threshold="0" data-title="&lt;b&gt;">
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from sfpc_eval.report.blocks import FigureBlock, Section, TableBlock
from sfpc_eval.report.chart_data import csv_of
from sfpc_eval.report.disclosure import escape
from sfpc_eval.tables.cells import split_decimal
from sfpc_eval.tables.export import csv_text, xlsx_bytes
from sfpc_eval.tables.render import decimal_tails

__all__ = ["figure_html", "render_page", "table_html"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
max-width:62rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;
margin-top:2.2rem}h3{margin-top:1.6rem}
.meta{color:#555}table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}table{font-variant-numeric:tabular-nums}
.num{text-align:right;white-space:nowrap}.txt{text-align:left}
th.grp{text-align:center;border-bottom:1px solid #999}
.dec{display:inline-block;text-align:left}
tr.sub td{border-bottom:none;color:#333}
tr[data-role=total] td{font-weight:600;border-top:2px solid #999}
.downloads{font-size:.78rem;margin:.1rem 0 .8rem}.downloads a{margin-right:.6rem}
table[data-title=Files]{table-layout:fixed;width:100%}
table[data-title=Files] td{overflow-wrap:anywhere}
table[data-title=Files] td:last-child{font-family:monospace;font-size:.72rem;text-align:left}
table[data-title=Files] th:first-child{width:40%}table[data-title=Files] th:last-child{width:38%}
caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.3rem}
.provenance{font-size:.75rem;color:#666;font-weight:400}
.notes{font-size:.82rem;color:#444;margin:.2rem 0 1rem}figure{margin:1.2rem 0}
figure img{width:100%;height:auto}figcaption{font-size:.85rem;color:#333}
ul.main-findings li{margin:.35rem 0}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;font-size:.8rem;white-space:pre-wrap}
code{font-size:.85rem}nav ol{columns:2}
@page{size:A4;margin:16mm 15mm 18mm;
@bottom-right{content:"Page " counter(page) " of " counter(pages);font-size:8pt;color:#555}}
@media print{
body{max-width:none;margin:0;padding:0;font-size:10pt}
h1,h2,h3,h4,caption{break-after:avoid;page-break-after:avoid}
.keep,figure,tr,thead,caption,div.table{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}
tbody tr:nth-child(-n+2){break-after:avoid;page-break-after:avoid}
tbody tr:nth-last-child(-n+2){break-before:avoid;page-break-before:avoid}
p,li{orphans:3;widows:3}
.downloads,nav{display:none}
a{color:inherit;text-decoration:none}
table{font-size:8.5pt}pre{font-size:7.5pt}
}
"""

_PROVENANCE_WORDS = {
    "published": "published LA-level statistics (shown as published)",
    "child": "counts from child-level records (disclosure control applied)",
    "estimate": "model estimates",
    "about": "about this report",
}


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


def downloads_html(table: TableBlock, name: str) -> str:
    """Links that download the table as CSV and as an Excel workbook (files inside the page)."""
    engine = table.engine
    csv = base64.b64encode(csv_text(engine).encode("utf-8")).decode("ascii")
    xlsx = base64.b64encode(xlsx_bytes(engine)).decode("ascii")
    return (
        '<p class="downloads">Download this table: '
        f'<a download="{escape(name)}.csv" href="data:text/csv;charset=utf-8;base64,{csv}">'
        "CSV</a>"
        f'<a download="{escape(name)}.xlsx" href="data:{XLSX_TYPE};base64,{xlsx}">Excel</a></p>'
    )


def table_html(table: TableBlock, *, threshold: int = 0, name: str | None = None) -> str:
    """One table; child-level tables carry their threshold and cell roles for the checker.

    With ``name``, links to download the table as ``name.csv`` and ``name.xlsx`` follow it.
    """
    esc = escape
    limit = threshold if table.provenance == "child" else 0
    engine = table.engine
    numeric = engine.numeric_columns()
    tails = decimal_tails(engine)
    parts = [
        '<div class="table">',
        f'<table data-provenance="{esc(table.provenance)}" data-threshold="{limit}" '
        f'data-title="{esc(table.title)}">',
        f'<caption>{esc(table.title)} <span class="provenance">'
        f"[{esc(_PROVENANCE_WORDS.get(table.provenance, table.provenance))}]</span></caption>",
        "<thead>",
    ]
    if engine.column_groups and any(g for g, _ in engine.column_groups):
        parts.append(
            "<tr>"
            + "".join(
                f'<th colspan="{n}" class="grp">{esc(g)}</th>' if g else f'<th colspan="{n}"></th>'
                for g, n in engine.column_groups
            )
            + "</tr>"
        )
    parts.append(
        "<tr>"
        + "".join(
            f'<th scope="col" class="{"num" if is_num else "txt"}">{esc(c)}</th>'
            for c, is_num in zip(table.columns, numeric, strict=True)
        )
        + "</tr></thead>"
    )
    parts.append("<tbody>")
    for i, (row, kind) in enumerate(zip(engine.cells, engine.row_kinds, strict=True)):
        roles = table.roles[i] if table.roles is not None else ("",) * len(row)
        row_role = ' data-role="total"' if table.total_row and i == len(engine.cells) - 1 else ""
        row_class = f' class="{kind}"' if kind in ("sub", "rule", "section") else ""
        cells = []
        for cell, role, is_num, tail in zip(row, roles, numeric, tails, strict=True):
            text = cell.text()
            if is_num and tail and cell.aligns_on_point:
                head, rest = split_decimal(text)
                body = f'{esc(head)}<span class="dec" style="min-width:{tail}ch">{esc(rest)}</span>'
            else:
                body = esc(text)
            kind_class = "num" if is_num else "txt"
            role_attr = f' data-role="{esc(role)}"' if role else ""
            cells.append(f'<td class="{kind_class}"{role_attr}>{body}</td>')
        parts.append(f"<tr{row_role}{row_class}>{''.join(cells)}</tr>")
    parts.append("</tbody></table>")
    if table.notes:
        parts.append('<div class="notes">' + "<br>".join(esc(n) for n in table.notes) + "</div>")
    if name is not None:
        parts.append(downloads_html(table, _slug(name)))
    parts.append("</div>")
    return "\n".join(parts)


def figure_html(figure: FigureBlock, *, name: str | None = None) -> str:
    """One figure as an ``<img>`` with an SVG data URI (scripts in an img SVG never run).

    The image's alt text is the figure's (its title when it has none). With ``name`` and data
    behind the chart, a link downloads those data as ``name.csv``.
    """
    data = base64.b64encode(figure.svg).decode("ascii")
    alt = figure.alt or figure.title
    out = [
        f'<figure><img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'
        f"<figcaption><strong>{escape(figure.title)}.</strong> {escape(figure.caption)}"
        "</figcaption></figure>"
    ]
    if name is not None and figure.data is not None and len(figure.data):
        csv = base64.b64encode(csv_of(figure.data).encode("utf-8")).decode("ascii")
        out.append(
            '<p class="downloads">Download the data behind this chart: '
            f'<a download="{escape(name)}.csv" href="data:text/csv;charset=utf-8;base64,{csv}">'
            "CSV</a></p>"
        )
    return "\n".join(out)


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


TOC = (
    ("summary", "Summary of findings"),
    ("results", "Results"),
    ("data", "Data"),
    ("methods", "Methods"),
    ("limitations", "Limitations"),
    ("appendix", "Reproducibility appendix"),
)


def _keep_with_next(blocks: Sequence[tuple[bool, str]]) -> list[str]:
    """Glue every run of headings to the block after it, so no page ends on a heading.

    ``blocks`` are (is_heading, html). A heading and its first block share a ``div.keep``
    that print CSS does not break inside; later blocks follow unwrapped.
    """
    out: list[str] = []
    pending: list[str] = []
    for is_heading, html in blocks:
        if is_heading:
            pending.append(html)
        elif pending:
            out.append('<div class="keep">' + "\n".join([*pending, html]) + "</div>")
            pending = []
        else:
            out.append(html)
    return out + pending


def _main_findings(report) -> list[str]:
    """List each analysis's main messages for the summary (its first finding if none)."""
    items = []
    for section in report.sections:
        sentences = section.summary or section.findings[:1]
        items += [
            f'<li>{escape(s)} <a href="#{escape(section.key)}">More</a></li>' for s in sentences
        ]
    return ['<ul class="main-findings">' + "".join(items) + "</ul>"] if items else []


def render_page(report) -> str:
    """Render the whole page for a :class:`~sfpc_eval.report.Report`.

    Order: summary (main messages in plain words), results (each analysis's findings, tables
    and figures), data, methods, limitations, then the reproducibility appendix (files read
    with their SHA-256, software versions, the spec). A4 pages when printed.
    """
    spec = report.spec
    esc = escape
    sections: Sequence[Section] = report.sections
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="sfpc_eval {esc(report.versions.get("sfpc_eval", ""))}">',
        f"<title>{esc(spec.title)}</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    blocks: list[tuple[bool, str]] = [(True, f"<h1>{esc(spec.title)}</h1>")]
    meta = []
    if spec.authors:
        meta.append(", ".join(spec.authors))
    if spec.date is not None:
        meta.append(spec.date.isoformat())
    if meta:
        blocks.append((True, f'<p class="meta">{esc(" · ".join(meta))}</p>'))
    blocks.append(
        (
            False,
            "<nav><ol>"
            + "".join(f'<li><a href="#{k}">{esc(t)}</a></li>' for k, t in TOC)
            + "</ol></nav>",
        )
    )
    blocks.append((True, '<h2 id="summary">Summary of findings</h2>'))
    if spec.summary:
        blocks.append((False, f"<p>{esc(spec.summary)}</p>"))
    blocks += [(False, html) for html in _main_findings(report)]
    blocks.append((True, '<h2 id="results">Results</h2>'))
    n_figure = 0
    for section in sections:
        blocks.append((True, f'<h3 id="{esc(section.key)}">{esc(section.title)}</h3>'))
        if section.findings:
            blocks.append((False, _list(section.findings)))
        blocks += [
            (False, table_html(t, threshold=spec.threshold, name=f"{section.key}-table-{n}"))
            for n, t in enumerate(section.tables, start=1)
        ]
        for n, figure in enumerate(section.figures, start=1):
            n_figure += 1
            numbered = FigureBlock(
                f"Figure {n_figure}. {figure.title}",
                figure.svg,
                figure.caption,
                data=figure.data,
                alt=figure.alt,
            )
            blocks.append((False, figure_html(numbered, name=f"{section.key}-figure-{n}")))
    blocks.append((True, '<h2 id="data">Data</h2>'))
    blocks += [(False, html) for html in _data_description(report)]
    blocks.append((True, '<h2 id="methods">Methods</h2>'))
    for section in sections:
        if section.methods:
            blocks.append((True, f"<h3>{esc(section.title)}</h3>"))
            blocks += [(False, f"<p>{esc(p)}</p>") for p in section.methods]
    blocks.append(
        (
            False,
            f"<p>Disclosure control: counts derived from child-level records below "
            f"{spec.threshold} are shown as 'c', with secondary suppression where a total "
            "would reveal them; LA-level statistics already published by the DfE are shown as "
            "published. Each table says which it holds.</p>",
        )
    )
    blocks.append((True, '<h2 id="limitations">Limitations</h2>'))
    limitations = [lim for s in sections for lim in s.limitations] + list(spec.limitations)
    blocks.append((False, _list(list(dict.fromkeys(limitations)))))
    blocks.append((True, '<h2 id="appendix">Reproducibility appendix</h2>'))
    blocks += _provenance(report)
    blocks.append((True, "<h3>The report's specification</h3>"))
    blocks.append(
        (
            False,
            f"<p>The report was built from this spec ({esc(spec.name)}) with "
            f"<code>sfpc-eval report {esc(spec.name)} -o OUT.html</code>.</p>",
        )
    )
    blocks.append((False, f"<pre>{esc(spec.text)}</pre>"))
    return "\n".join([*head, *_keep_with_next(blocks), "</body></html>"]) + "\n"


def _data_description(report) -> list[str]:
    """Describe the data read, in words, with their source (hashes are in the appendix)."""
    esc = escape
    ds = report.dataset
    if ds is None:
        return [
            "<p>No data files were read: the analyses use the published-claims registry "
            "bundled with sfpc_eval, or data they simulate (see Methods).</p>"
        ]
    years = ds.years
    kind = ds.kind.upper() if ds.kind != "dfe" else "DfE official statistics"
    level = "published LA-level statistics" if ds.level == "published" else "child-level records"
    out = [
        f"<p>Data: {esc(kind)} ({esc(level)}), {len(ds.units)} units, "
        f"years {years[0]}-{years[-1]} "
        f"({esc('ending 31 March' if ds.kind == 'dfe' else 'as in the file')}), read from "
        f"<code>{esc(ds.path.name)}</code>. The files read, with their SHA-256, are listed in "
        '<a href="#appendix">the reproducibility appendix</a>.</p>'
    ]
    if ds.kind == "dfe":
        out.append(
            "<p>Source: Department for Education, Explore Education Statistics (children "
            "looked after; characteristics of children in need), ONS mid-year population "
            "estimates, and the DfE's statistical neighbour groupings; Open Government "
            "Licence v3.0. Each folder's SOURCE.md gives the download address.</p>"
        )
    return out


def _provenance(report) -> list[tuple[bool, str]]:
    """List the files read (with SHA-256) and software versions as appendix blocks."""
    out: list[tuple[bool, str]] = []
    ds = report.dataset
    if ds is not None:
        out.append((True, "<h3>Files read</h3>"))
        rows = tuple((f.name, f.format, f"{f.size:,}", f.sha256) for f in ds.files)
        out.append(
            (
                False,
                table_html(
                    TableBlock(
                        "Files", ("file", "format", "bytes", "SHA-256"), rows, provenance="about"
                    ),
                    name="files",
                ),
            )
        )
    versions = tuple((k, v) for k, v in sorted(report.versions.items()))
    out.append((True, "<h3>Software</h3>"))
    out.append(
        (
            False,
            table_html(
                TableBlock("Software", ("package", "version"), versions, provenance="about"),
                name="software",
            ),
        )
    )
    return out
