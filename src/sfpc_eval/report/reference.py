"""Generate the spec reference (reStructuredText) from the key declarations.

``docs/reports.rst`` holds this text between markers; a test checks it is current.

Examples
--------
>>> print(spec_reference().splitlines()[0])
``[report]``
"""

from __future__ import annotations

from sfpc_eval.report.designs import COMMON_KEYS, DESIGNS, UNAVAILABLE
from sfpc_eval.report.schema import TABLES, Key

__all__ = ["spec_reference"]

_TITLES = {
    "report": "``[report]``",
    "data": "``[data]``",
    "disclosure": "``[disclosure]``",
    "shade": "``[[shade]]`` (any number)",
    "output": "``[output]``",
}


def _default(key: Key) -> str:
    if key.required:
        return "required"
    if key.default is None or key.default == []:
        return ""
    return f"``{key.default!r}``".replace("'", '"')


def _table(keys: tuple[Key, ...]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 18 12 14 56", ""]
    out += ["   * - key", "     - type", "     - default", "     - meaning"]
    for key in keys:
        doc = key.doc
        if key.choices:
            doc += "; one of " + ", ".join(f"``{c}``" for c in key.choices)
        out += [
            f"   * - ``{key.name}``",
            f"     - {key.kind}",
            f"     - {_default(key) or '-'}",
            f"     - {doc}",
        ]
    return [*out, ""]


def spec_reference() -> str:
    """Every key of every table and design, as reStructuredText tables."""
    out: list[str] = []
    for name, keys in TABLES.items():
        title = _TITLES[name]
        out += [title, "~" * len(title), "", *_table(keys)]
    for name in sorted(DESIGNS):
        module = DESIGNS[name]
        title = f'``[[analysis]]`` with ``design = "{name}"``'
        out += [title, "~" * len(title), "", module.DOC, "", *_table(COMMON_KEYS + module.KEYS)]
    if UNAVAILABLE:
        out += ["Designs not offered by this installation:", ""]
        out += [f"- ``{n}``: {reason}" for n, reason in sorted(UNAVAILABLE.items())]
        out.append("")
    return "\n".join(out)
