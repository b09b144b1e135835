"""Render small tables as plain text, HTML, Markdown and LaTeX.

One place knows how a title, a block of key/value facts, a table and notes look in each
output format; result summaries and (later) reports use it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Table", "format_number", "format_p_value"]


def format_number(value: float | int | None, digits: int = 4) -> str:
    """Format a number for display with ``digits`` significant digits.

    Integers are shown in full with thousands separators; missing values as an empty string.

    Examples
    --------
    >>> format_number(0.4713142), format_number(974), format_number(float("nan"))
    ('0.4713', '974', '')
    """
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits:
        return f"{value:,.0f}"
    if magnitude < -4:
        return f"{value:.{digits - 1}e}"
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:.{decimals}f}"


def format_p_value(p: float | None) -> str:
    """Format a p-value the way journals print them (``<0.001`` below one in a thousand).

    Examples
    --------
    >>> format_p_value(5.4e-33), format_p_value(0.0421)
    ('<0.001', '0.042')
    """
    if p is None or math.isnan(p):
        return ""
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


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
}


def _latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _markdown(text: str) -> str:
    return text.replace("|", r"\|")


@dataclass(frozen=True)
class Table:
    """A titled table with facts above it and notes below it, renderable in four formats.

    Parameters
    ----------
    title : str
        Heading shown above everything else.
    columns : sequence of str
        Column headers.
    rows : sequence of sequence of str
        Cell text, already formatted.
    facts : sequence of (str, str)
        Key/value lines shown between the title and the table (inputs, methods).
    notes : sequence of str
        Lines shown under the table.

    Examples
    --------
    >>> t = Table("Demo", ["term", "estimate"], [["ratio", "0.53"]])
    >>> print(t.as_markdown())
    **Demo**
    <BLANKLINE>
    | term | estimate |
    |---|---|
    | ratio | 0.53 |
    """

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    facts: Sequence[tuple[str, str]] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)

    def as_text(self) -> str:
        """Return the table as fixed-width plain text."""
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            return "  ".join([first, *rest]).rstrip()

        rule = "=" * max(len(line(self.columns)), len(self.title))
        out = [self.title, rule]
        if self.facts:
            key_width = max(len(k) for k, _ in self.facts)
            out += [f"{k.ljust(key_width)}  {v}" for k, v in self.facts]
            out.append("-" * len(rule))
        out.append(line(self.columns))
        out.append("-" * len(rule))
        out += [line(r) for r in self.rows]
        out.append(rule)
        out += list(self.notes)
        return "\n".join(out)

    def as_html(self) -> str:
        """Return the table as an HTML fragment; every string is escaped."""
        esc = html.escape
        parts = ['<div class="sfpc-eval-table">', f"<h4>{esc(self.title)}</h4>"]
        if self.facts:
            parts.append("<dl>")
            parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in self.facts]
            parts.append("</dl>")
        parts.append("<table>")
        parts.append(
            "<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in self.columns) + "</tr></thead>"
        )
        parts.append("<tbody>")
        for row in self.rows:
            parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
        parts.append("</tbody></table>")
        parts += [f"<p>{esc(n)}</p>" for n in self.notes]
        parts.append("</div>")
        return "\n".join(parts)

    def as_markdown(self) -> str:
        """Return the table as GitHub-flavoured Markdown."""
        out = [f"**{_markdown(self.title)}**", ""]
        if self.facts:
            out += [f"- {_markdown(k)}: {_markdown(v)}" for k, v in self.facts]
            out.append("")
        out.append("| " + " | ".join(map(_markdown, self.columns)) + " |")
        out.append("|" + "---|" * len(self.columns))
        out += ["| " + " | ".join(map(_markdown, row)) + " |" for row in self.rows]
        if self.notes:
            out.append("")
            out += [_markdown(n) for n in self.notes]
        return "\n".join(out)

    def as_latex(self) -> str:
        """Return the table as a LaTeX ``table`` environment (booktabs rules)."""
        spec = "l" + "r" * (len(self.columns) - 1)
        out = [
            r"\begin{table}[ht]",
            r"\centering",
            rf"\caption{{{_latex(self.title)}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(map(_latex, self.columns)) + r" \\",
            r"\midrule",
        ]
        out += [" & ".join(map(_latex, row)) + r" \\" for row in self.rows]
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        notes = [f"{k}: {v}" for k, v in self.facts] + list(self.notes)
        if notes:
            out.append(r"\par\small " + r" \\ ".join(_latex(n) for n in notes))
        out.append(r"\end{table}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()
