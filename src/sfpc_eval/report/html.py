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
table[data-title=Files] td:last-child{overflow-wrap:anywhere;font-family:monospace;
font-size:.72rem;text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.3rem}
.provenance{font-size:.75rem;color:#666;font-weight:400}
.notes{font-size:.82rem;color:#444;margin:.2rem 0 1rem}figure{margin:1rem 0}
figure img{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#333}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;font-size:.8rem}
code{font-size:.85rem}nav ol{columns:2}
@media print{body{max-width:none;margin:0}h2{break-after:avoid}figure,table{break-inside:avoid}}
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
            f'<th class="{"num" if is_num else "txt"}">{esc(c)}</th>'
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


def figure_html(figure: FigureBlock) -> str:
    """One figure as an ``<img>`` with an SVG data URI (scripts in an img SVG never run)."""
    data = base64.b64encode(figure.svg).decode("ascii")
    return (
        f'<figure><img alt="{escape(figure.title)}" src="data:image/svg+xml;base64,{data}">'
        f"<figcaption><strong>{escape(figure.title)}.</strong> {escape(figure.caption)}"
        "</figcaption></figure>"
    )


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def render_page(report) -> str:
    """Render the whole page for a :class:`~sfpc_eval.report.Report`."""
    spec = report.spec
    esc = escape
    sections: Sequence[Section] = report.sections
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="sfpc_eval {esc(report.versions.get("sfpc_eval", ""))}">',
        f"<title>{esc(spec.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{esc(spec.title)}</h1>",
    ]
    meta = []
    if spec.authors:
        meta.append(", ".join(spec.authors))
    if spec.date is not None:
        meta.append(spec.date.isoformat())
    if meta:
        out.append(f'<p class="meta">{esc(" · ".join(meta))}</p>')
    toc = [
        ("summary", "Summary of findings"),
        ("data", "Data and provenance"),
        ("methods", "Methods"),
        ("results", "Results"),
        ("figures", "Figures"),
        ("limitations", "Limitations"),
        ("appendix", "Reproducibility appendix"),
    ]
    out.append(
        "<nav><ol>"
        + "".join(f'<li><a href="#{k}">{esc(t)}</a></li>' for k, t in toc)
        + "</ol></nav>"
    )
    out.append('<h2 id="summary">Summary of findings</h2>')
    if spec.summary:
        out.append(f"<p>{esc(spec.summary)}</p>")
    for section in sections:
        out.append(f'<h3><a href="#{esc(section.key)}">{esc(section.title)}</a></h3>')
        out.append(_list(section.findings))
    out.append('<h2 id="data">Data and provenance</h2>')
    out += _provenance(report)
    out.append('<h2 id="methods">Methods</h2>')
    for section in sections:
        out.append(f"<h3>{esc(section.title)}</h3>")
        out += [f"<p>{esc(p)}</p>" for p in section.methods]
    out.append(
        f"<p>Disclosure control: counts derived from child-level records below "
        f"{spec.threshold} are shown as 'c', with secondary suppression where a total would "
        "reveal them; LA-level statistics already published by the DfE are shown as "
        "published. Each table says which it holds.</p>"
    )
    out.append('<h2 id="results">Results</h2>')
    for section in sections:
        out.append(f'<h3 id="{esc(section.key)}">{esc(section.title)}</h3>')
        out += [
            table_html(t, threshold=spec.threshold, name=f"{section.key}-table-{n}")
            for n, t in enumerate(section.tables, start=1)
        ]
    out.append('<h2 id="figures">Figures</h2>')
    n = 0
    for section in sections:
        for figure in section.figures:
            n += 1
            out.append(
                figure_html(FigureBlock(f"Figure {n}. {figure.title}", figure.svg, figure.caption))
            )
    out.append('<h2 id="limitations">Limitations</h2>')
    limitations = [lim for s in sections for lim in s.limitations] + list(spec.limitations)
    out.append(_list(list(dict.fromkeys(limitations))))
    out.append('<h2 id="appendix">Reproducibility appendix</h2>')
    out.append(
        f"<p>The report was built from this spec ({esc(spec.name)}) with "
        f"<code>sfpc-eval report {esc(spec.name)} -o OUT.html</code>.</p>"
    )
    out.append(f"<pre>{esc(spec.text)}</pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _provenance(report) -> list[str]:
    esc = escape
    out = []
    ds = report.dataset
    if ds is None:
        out.append(
            "<p>No data files were read: the analyses use the published-claims registry "
            "bundled with sfpc_eval, or data they simulate (see Methods).</p>"
        )
    else:
        years = ds.years
        kind = ds.kind.upper() if ds.kind != "dfe" else "DfE official statistics"
        level = (
            "published LA-level statistics" if ds.level == "published" else "child-level records"
        )
        out.append(
            f"<p>Data: {esc(kind)} ({esc(level)}), {len(ds.units)} units, "
            f"years {years[0]}-{years[-1]} "
            f"({esc('ending 31 March' if ds.kind == 'dfe' else 'as in the file')}), read from "
            f"<code>{esc(ds.path.name)}</code>. Files read, with their SHA-256:</p>"
        )
        rows = tuple((f.name, f.format, f"{f.size:,}", f.sha256) for f in ds.files)
        out.append(
            table_html(
                TableBlock(
                    "Files", ("file", "format", "bytes", "SHA-256"), rows, provenance="about"
                ),
                name="files",
            )
        )
        if ds.kind == "dfe":
            out.append(
                "<p>Source: Department for Education, Explore Education Statistics (children "
                "looked after; characteristics of children in need), ONS mid-year population "
                "estimates, and the DfE's statistical neighbour groupings; Open Government "
                "Licence v3.0. Each folder's SOURCE.md gives the download address.</p>"
            )
    versions = tuple((k, v) for k, v in sorted(report.versions.items()))
    out.append(
        table_html(
            TableBlock("Software", ("package", "version"), versions, provenance="about"),
            name="software",
        )
    )
    return out
