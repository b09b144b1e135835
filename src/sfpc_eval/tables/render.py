r"""Write a :class:`~sfpc_eval.tables.table.Table` as HTML, Markdown or LaTeX (booktabs).

HTML and LaTeX align numbers on their decimal points: in HTML the part of each number from the
decimal point on sits in a box of the same width down the column; in LaTeX a numeric column is
a pair of columns ``r@{}l`` split at the decimal point (no extra LaTeX package needed beyond
``booktabs``).

Examples
--------
>>> from sfpc_eval.tables.cells import TableData as Table
>>> print(latex_table(Table("T", ["a", "b"], [["x", "1.5"], ["y", "10.25"]])).splitlines()[3])
\begin{tabular}{lr@{}l}
"""

from __future__ import annotations

import html

from sfpc_eval.tables.cells import TableData, split_decimal

__all__ = ["decimal_tails", "html_table", "latex_table", "markdown_table"]

STYLE = (
    "<style>.sfpc-eval-table table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    ".sfpc-eval-table th,.sfpc-eval-table td{padding:.2rem .6rem;vertical-align:top}"
    ".sfpc-eval-table thead tr:last-child th{border-bottom:1px solid #333}"
    ".sfpc-eval-table table{border-top:2px solid #333;border-bottom:2px solid #333}"
    ".sfpc-eval-table .num{text-align:right;white-space:nowrap}"
    ".sfpc-eval-table .txt{text-align:left}"
    ".sfpc-eval-table .grp{text-align:center;border-bottom:1px solid #999}"
    ".sfpc-eval-table .dec{display:inline-block;text-align:left}"
    ".sfpc-eval-table tr.sub td{color:#444;font-size:.92em;padding-top:0}"
    ".sfpc-eval-table tr.rule td,.sfpc-eval-table tr.total td{border-top:1px solid #999}"
    ".sfpc-eval-table tr.section td{font-style:italic}"
    ".sfpc-eval-table .notes{font-size:.85em;color:#333}</style>"
)


def decimal_tails(table: TableData) -> list[int]:
    """Per column, the widest part of a number from its decimal point on (0: not numeric)."""
    numeric = table.numeric_columns()
    widths = []
    for j, is_num in enumerate(numeric):
        if not is_num:
            widths.append(0)
            continue
        widths.append(
            max(
                (
                    len(split_decimal(row[j].text())[1])
                    for row in table.cells
                    if row[j].aligns_on_point
                ),
                default=0,
            )
        )
    return widths


def html_table(table: TableData) -> str:
    """Return the table as a self-contained HTML fragment; every string is escaped."""
    esc = html.escape
    numeric = table.numeric_columns()
    tails = decimal_tails(table)
    parts = [f'<div class="sfpc-eval-table">{STYLE}', f"<h4>{esc(table.title)}</h4>"]
    if table.facts:
        parts.append("<dl>")
        parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in table.facts]
        parts.append("</dl>")
    parts.append("<table>")
    parts.append("<thead>")
    if table.column_groups and any(g for g, _ in table.column_groups):
        cells = "".join(
            f'<th colspan="{n}" class="grp">{esc(g)}</th>' if g else f'<th colspan="{n}"></th>'
            for g, n in table.column_groups
        )
        parts.append(f"<tr>{cells}</tr>")
    parts.append(
        "<tr>"
        + "".join(
            f'<th class="{"num" if is_num else "txt"}">{esc(c)}</th>'
            for c, is_num in zip(table.columns, numeric, strict=True)
        )
        + "</tr>"
    )
    parts.append("</thead><tbody>")
    for row, kind in zip(table.cells, table.row_kinds, strict=True):
        attr = f' class="{kind}"' if kind else ""
        if kind == "section":
            parts.append(
                f'<tr{attr}><td colspan="{len(row)}" class="txt">{esc(row[0].text())}</td></tr>'
            )
            continue
        cells = []
        for cell, is_num, tail in zip(row, numeric, tails, strict=True):
            text = cell.text()
            if is_num and cell.aligns_on_point and tail:
                head, rest = split_decimal(text)
                body = f'{esc(head)}<span class="dec" style="min-width:{tail}ch">{esc(rest)}</span>'
            else:
                body = esc(text)
            cells.append(f'<td class="{"num" if is_num else "txt"}">{body}</td>')
        parts.append(f"<tr{attr}>{''.join(cells)}</tr>")
    parts.append("</tbody></table>")
    if table.notes:
        parts.append('<div class="notes">' + "<br>".join(esc(n) for n in table.notes) + "</div>")
    parts.append("</div>")
    return "\n".join(parts)


def _md(text: str) -> str:
    return text.replace("|", r"\|")


def markdown_table(table: TableData) -> str:
    """Return the table as GitHub-flavoured Markdown; numeric columns right-aligned."""
    numeric = table.numeric_columns()
    out = [f"**{_md(table.title)}**", ""]
    if table.facts:
        out += [f"- {_md(k)}: {_md(v)}" for k, v in table.facts]
        out.append("")
    headers = table.unique_columns() if table.column_groups else list(table.columns)
    out.append("| " + " | ".join(map(_md, headers)) + " |")
    out.append("|" + "".join("---:|" if n else ":---|" for n in numeric))
    for row, kind in zip(table.text_rows(), table.row_kinds, strict=True):
        if kind == "section":
            row = [f"*{row[0]}*" if row[0] else "", *row[1:]]
        out.append("| " + " | ".join(map(_md, row)) + " |")
    if table.notes:
        out.append("")
        out += [_md(n) for n in table.notes]
    return "\n".join(out)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "\u221e": r"$\infty$",
    "\u2020": r"\textsuperscript{\dag}",
    "\u2021": r"\textsuperscript{\ddag}",
    "\u00b2": r"\textsuperscript{2}",
    "\u00a3": r"\pounds{}",
    "\u2212": "-",
    "\u2013": "--",
    "\u2014": "---",
    "\u2264": r"$\leq$",
    "\u2265": r"$\geq$",
}


def latex_escape(text: str) -> str:
    r"""Escape LaTeX's special characters (and write ∞, †, £ and ² as LaTeX).

    Examples
    --------
    >>> latex_escape("47.1% fall, p<0.001")
    '47.1\\% fall, p\\textless{}0.001'
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_table(table: TableData) -> str:
    r"""Return a LaTeX ``table`` environment (needs ``\usepackage{booktabs}``).

    Each numeric column is two columns ``r@{}l`` split at the decimal point, so numbers align
    on it; headers and text cells span both.
    """
    esc = latex_escape
    numeric = table.numeric_columns()
    width = [2 if n else 1 for n in numeric]
    spec = "".join("r@{}l" if n else "l" for n in numeric)
    total = sum(width)
    out = [
        r"\begin{table}[ht]",
        r"\centering",
        rf"\caption{{{esc(table.title)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    if table.column_groups and any(g for g, _ in table.column_groups):
        cells, rules, j, col = [], [], 0, 1
        for name, n in table.column_groups:
            span = sum(width[j : j + n])
            cells.append(rf"\multicolumn{{{span}}}{{c}}{{{esc(name)}}}")
            if name:
                rules.append(rf"\cmidrule(lr){{{col}-{col + span - 1}}}")
            j, col = j + n, col + span
        out.append(" & ".join(cells) + r" \\")
        out.append(" ".join(rules))
    header = [
        rf"\multicolumn{{2}}{{c}}{{{esc(c)}}}" if n else esc(c)
        for c, n in zip(table.columns, numeric, strict=True)
    ]
    out.append(" & ".join(header) + r" \\")
    out.append(r"\midrule")
    for row, kind in zip(table.cells, table.row_kinds, strict=True):
        if kind in ("rule", "total"):
            out.append(r"\midrule")
        if kind == "section":
            out.append(rf"\multicolumn{{{total}}}{{l}}{{\textit{{{esc(row[0].text())}}}}} \\")
            continue
        cells = []
        for cell, is_num in zip(row, numeric, strict=True):
            text = cell.text()
            if not is_num:
                cells.append(esc(text))
            elif cell.aligns_on_point:
                head, rest = split_decimal(text)
                cells += [esc(head), esc(rest)]
            else:
                cells.append(rf"\multicolumn{{2}}{{r}}{{{esc(text)}}}")
        out.append(" & ".join(cells) + r" \\")
    out.append(r"\bottomrule")
    out.append(r"\end{tabular}")
    notes = [f"{k}: {v}" for k, v in table.facts] + list(table.notes)
    if notes:
        out.append(r"\par\footnotesize " + r" \\ ".join(esc(n) for n in notes))
    out.append(r"\end{table}")
    return "\n".join(line for line in out if line)
