"""Render a built report as one self-contained HTML page (inline CSS, figures as data URIs).

Every string from the spec or the data is escaped here; nothing is fetched from the network;
nothing depends on the clock (the date comes from the spec or SOURCE_DATE_EPOCH).

Examples
--------
>>> from sfpc_eval.report.blocks import TableBlock
>>> print(table_html(TableBlock("<b>", ("a",), (("<script>",),))).splitlines()[1])
<table data-provenance="published" data-threshold="0" data-title="&lt;b&gt;">
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from sfpc_eval.report.blocks import FigureBlock, Section, TableBlock
from sfpc_eval.report.disclosure import escape

__all__ = ["figure_html", "render_page", "table_html"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
max-width:62rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;
margin-top:2.2rem}h3{margin-top:1.6rem}
.meta{color:#555}table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
tr[data-role=total] td{font-weight:600;border-top:2px solid #999}
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


def table_html(table: TableBlock, *, threshold: int = 0) -> str:
    """One table; child-level tables carry their threshold and cell roles for the checker."""
    esc = escape
    limit = threshold if table.provenance == "child" else 0
    parts = [
        '<div class="table">',
        f'<table data-provenance="{esc(table.provenance)}" data-threshold="{limit}" '
        f'data-title="{esc(table.title)}">',
        f'<caption>{esc(table.title)} <span class="provenance">'
        f"[{esc(_PROVENANCE_WORDS.get(table.provenance, table.provenance))}]</span></caption>",
        "<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in table.columns) + "</tr></thead>",
        "<tbody>",
    ]
    for i, row in enumerate(table.rows):
        roles = table.roles[i] if table.roles is not None else ("",) * len(row)
        row_role = ' data-role="total"' if table.total_row and i == len(table.rows) - 1 else ""
        cells = "".join(
            f'<td data-role="{esc(role)}">{esc(cell)}</td>' if role else f"<td>{esc(cell)}</td>"
            for cell, role in zip(row, roles, strict=True)
        )
        parts.append(f"<tr{row_role}>{cells}</tr>")
    parts.append("</tbody></table>")
    if table.notes:
        parts.append('<div class="notes">' + "<br>".join(esc(n) for n in table.notes) + "</div>")
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
        out += [table_html(t, threshold=spec.threshold) for t in section.tables]
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
        table_html(TableBlock("Software", ("package", "version"), versions, provenance="about"))
    )
    return out
