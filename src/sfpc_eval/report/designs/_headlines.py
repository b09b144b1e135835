"""Sentences for a report: each design's detailed findings and its main messages in plain words.

The detailed findings name the model and the inference; the main messages, which open the
report's summary, say what changed, in which direction and by how much, and how firm the
evidence is, with the numbers as the results tables print them.

Examples
--------
>>> change_words("-47.1%")
'fell by 47.1%'
>>> print(claims_summary({"wording does not hold": 1, "conflict": 1}, None))
Of 2 published claims, 1 is not supported by its own published inputs (the wording does not
hold); 1 conflicts with another published figure.
>>> evidence_words("0.091")
'chance alone could give a difference this large (p = 0.091), so the evidence is weak'
>>> print(claims_summary({"conflict": 2, "reproduced": 4, "stated only": 20}, "Leeds"))
Of 26 published claims about Leeds, 4 were re-derived from their published inputs and hold;
2 conflict with another published figure; 20 give no inputs to check.
"""

from __future__ import annotations

from collections.abc import Mapping

from sfpc_eval.labels import label
from sfpc_eval.report.designs._common import plain

__all__ = ["change_words", "claims_summary", "did_findings", "did_summary", "evidence_words"]

MINUS = ("-", "\u2212")


def change_words(text: str, *, suffix: str = "") -> str:
    """Say a signed change as printed ("-25.6", "+3%") in words: "fell by 25.6", "rose by 3%"."""
    text = text.strip()
    if text.startswith(MINUS):
        return f"fell by {text[1:]}{suffix}"
    if text.lstrip("+") in ("0", "0.0", "0%", "0.0%"):
        return "did not change"
    return f"rose by {text.lstrip('+')}{suffix}"


def evidence_words(p_value: str, level: float = 0.95) -> str:
    """How firm the evidence is, from the p-value as printed ("<0.001", "0.091")."""
    text = p_value.strip().rstrip("\u2020 ").strip()
    try:
        value = 0.0 if text.startswith("<") else float(text)
    except ValueError:
        return "no test of it is valid for this design"
    if value < 1 - level:
        return f"a difference this large is unlikely to be chance alone (p = {text})"
    return f"chance alone could give a difference this large (p = {text}), so the evidence is weak"


def _valid_row(m, effects, readings) -> tuple[list[str], str, str, str] | None:
    """Find the model's table row and the interval, p-value and name of its first valid test."""
    key = f"{m['outcome']}:{m['family']}"
    table = next(t.engine for t in effects if key in t.engine.row_keys)
    row = table.text_rows()[table.row(key)]
    term_name = readings[m["family"]][0]
    valid = [name for name, res in m["results"] if res.term(term_name).valid]
    if not valid:
        return None
    # the group's interval and p-value columns: after the row name and shared estimate
    offset = table.column_groups[0][1]
    for group, width in table.column_groups[1:]:
        if group == label(valid[0]):
            break
        offset += width
    return row, row[offset], row[offset + 1], valid[0]


def did_findings(fitted, effects, names: str, level: float, readings) -> list[str]:
    """One sentence per model, its numbers read from the table (the first valid inference).

    A row whose inference is not valid for the design is never the source of a finding: the
    sentence reads the first inference that is valid, or says that none is.
    """
    out = []
    for m in fitted:
        intro = (
            f"{m['what']}, {names} against the comparison group "
            f"({label(m['family'], lower=True)} model"
        )
        found = _valid_row(m, effects, readings)
        if found is None:
            key = f"{m['outcome']}:{m['family']}"
            table = next(t.engine for t in effects if key in t.engine.row_keys)
            estimate = table.text_rows()[table.row(key)][1]
            name, res = m["results"][0]
            out.append(
                f"{intro}): estimate {estimate}, but no inference requested is valid for this "
                f"design ({label(name, lower=True)}: "
                f"{plain(res.term(readings[m['family']][0]).note)}); no interval or p-value is "
                "reported."
            )
            continue
        row, ci, p_value, chosen = found
        out.append(
            f"{intro}, {label(chosen, lower=True)}): {row[1]}, {level:.0%} CI "
            f"{ci or 'not available'}, p = {p_value}."
        )
    return out


def did_summary(fitted, effects, names: str, start, readings, level: float) -> list[str]:
    """Say, per outcome, how its first model's change compares with the comparison group."""
    out = []
    seen = set()
    for m in fitted:
        if m["outcome"] in seen:
            continue
        seen.add(m["outcome"])
        found = _valid_row(m, effects, readings)
        what = m["what"][:1].lower() + m["what"][1:]
        if found is None:
            out.append(
                f"No valid test of the change in {what} in {names} against the comparison "
                "group is possible with this design (see Results)."
            )
            continue
        row, _, p_value, _ = found
        out.append(
            f"After {names} started the programme in {start}, {what} in {names} "
            f"{change_words(row[1])} relative to the comparison group; "
            f"{evidence_words(p_value, level)}."
        )
    return out


def claims_summary(counts: Mapping[str, int], place: str | None) -> str:
    """Say how many claims of an audit hold, conflict or cannot be checked."""
    total = sum(counts.values())
    about = f" about {place}" if place else ""
    parts = []
    if counts.get("reproduced"):
        parts.append(f"{counts['reproduced']} were re-derived from their published inputs and hold")
    if counts.get("wording does not hold"):
        n = counts["wording does not hold"]
        parts.append(
            f"{n} {'is' if n == 1 else 'are'} not supported by {'its' if n == 1 else 'their'} "
            "own published inputs (the wording does not hold)"
        )
    if counts.get("conflict"):
        n = counts["conflict"]
        parts.append(f"{n} {'conflicts' if n == 1 else 'conflict'} with another published figure")
    if counts.get("stated only"):
        n = counts["stated only"]
        parts.append(f"{n} {'gives' if n == 1 else 'give'} no inputs to check")
    known = ("reproduced", "wording does not hold", "conflict", "stated only")
    parts += [f"{n} {status}" for status, n in counts.items() if status not in known and n]
    return f"Of {total} published claims{about}, " + "; ".join(parts) + "."
