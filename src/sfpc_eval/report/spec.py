"""Read and validate a report spec (TOML) before anything is computed.

Examples
--------
>>> from sfpc_eval.report import load_spec
>>> spec = load_spec(
...     {
...         "report": {"title": "Claims audit", "date": "2026-01-15"},
...         "analysis": [{"design": "claims"}],
...     }
... )
>>> spec.title, spec.date.isoformat(), spec.analyses[0]["design"]
('Claims audit', '2026-01-15', 'claims')
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfpc_eval.errors import SpecError
from sfpc_eval.report.designs import DESIGNS, UNAVAILABLE, analysis_keys, needs_data
from sfpc_eval.report.schema import TABLES, check_table, closest

__all__ = ["Shade", "Spec", "check_output_path", "confine", "data_folder", "load_spec"]

TOP_LEVEL = ("report", "data", "disclosure", "shade", "analysis", "output")


@dataclass(frozen=True)
class Shade:
    """A period to shade on time-axis figures (e.g. a COVID-19 lockdown)."""

    label: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class Spec:
    """A validated report spec.

    Attributes
    ----------
    title : str
    authors : tuple of str
    date : datetime.date or None
        From the spec's ``date`` key, else SOURCE_DATE_EPOCH, else none.
    summary : str or None
    limitations : tuple of str
    data : dict or None
        The ``[data]`` table with defaults filled in and ``path`` resolved (None when no
        analysis needs data, e.g. a claims audit).
    threshold : int
        Disclosure threshold.
    shades : tuple of Shade
    analyses : tuple of dict
        One validated table per ``[[analysis]]``, defaults filled in.
    output : dict
        ``html`` and ``pdf`` paths (resolved) or None.
    text : str
        The spec as written (shown in the reproducibility appendix).
    name : str
        File name of the spec (or ``"<dict>"``).
    """

    title: str
    authors: tuple[str, ...]
    date: dt.date | None
    summary: str | None
    limitations: tuple[str, ...]
    data: dict[str, Any] | None
    threshold: int
    shades: tuple[Shade, ...]
    analyses: tuple[dict[str, Any], ...]
    output: dict[str, Path | None]
    text: str = field(repr=False)
    name: str = "<dict>"


def _date_from_environment() -> dt.date | None:
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw.strip() == "":
        return None
    try:
        return dt.datetime.fromtimestamp(int(raw), tz=dt.UTC).date()
    except (ValueError, OverflowError, OSError):
        raise SpecError(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 giving a date in years "
            f"1-9999; got {raw!r}. Unset it or set it to e.g. $(git log -1 --format=%ct).",
            key="SOURCE_DATE_EPOCH",
        ) from None


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def check_output_path(path: str | os.PathLike[str], key: str) -> Path:
    """Return ``path`` as a Path if a file can be written there; raise SpecError otherwise.

    Nothing is written: the folder must exist and be writable, and ``path`` must not be a folder.

    Examples
    --------
    >>> check_output_path("/no/such/folder/report.html", "-o")
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.SpecError: `-o`: cannot write /no/such/folder/report.html: the folder /no/such/folder does not exist. Create it first or choose another path.
    """  # noqa: E501
    out = Path(path)
    parent = out.parent if str(out.parent) else Path()
    if out.is_dir():
        raise SpecError(
            f"`{key}`: cannot write {out}: it is a folder. Give a file name, e.g. "
            f"{out / 'report.html'}.",
            key=key,
        )
    if not parent.is_dir():
        raise SpecError(
            f"`{key}`: cannot write {out}: the folder {parent} does not exist. Create it first "
            "or choose another path.",
            key=key,
        )
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise SpecError(
            f"`{key}`: cannot write {out}: permission denied. Choose a path you can write to.",
            key=key,
        )
    return out


def data_folder(path: Path) -> Path:
    """Return the folder a data path names: itself if a folder, else the file's folder."""
    return path.resolve() if path.is_dir() else path.resolve().parent


def confine(path: Path, key: str, roots: Sequence[Path] | None) -> None:
    """Refuse ``path`` unless it resolves (links followed) inside one of ``roots``.

    ``roots`` None means the caller allowed paths anywhere (or wrote the spec as a dict).

    Examples
    --------
    >>> confine(Path("/tmp/specs/out.html"), "output.html", [Path("/tmp/specs")])
    >>> confine(Path("/etc/passwd"), "data.path", [Path("/tmp/specs")])
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.SpecError: `data.path`: /etc/passwd is outside the spec's folder /tmp/specs. A spec file reads and writes only inside its own folder and the data folder given on the command line. Move the file there, name it on the command line (--data, -o, --pdf), or, if you trust this spec, pass --allow-paths-outside (allow_paths_outside=True).
    """  # noqa: E501
    if roots is None:
        return
    real = path.resolve()
    if any(real.is_relative_to(root.resolve()) for root in roots):
        return
    where = f"the spec's folder {roots[0]}" + "".join(f" or the data folder {r}" for r in roots[1:])
    raise SpecError(
        f"`{key}`: {path} is outside {where}. A spec file reads and writes only inside its own "
        "folder and the data folder given on the command line. Move the file there, name it "
        "on the command line (--data, -o, --pdf), or, if you trust this spec, pass "
        "--allow-paths-outside (allow_paths_outside=True).",
        key=key,
    )


def _check_data(
    table: Any,
    base: Path,
    override: str | os.PathLike[str] | None,
    roots: list[Path] | None,
) -> dict:
    data = check_table(table, TABLES["data"], "data")
    raw = Path(override) if override is not None else Path(data["path"]).expanduser()
    path = raw if raw.is_absolute() or override is not None else base / raw
    if override is None:
        confine(path, "data.path", roots)
    if not path.exists():
        hint = (
            "Download the DfE files from Explore Education Statistics (see the README) and "
            "point `data.path` at their folder, or pass --data DIR on the command line."
        )
        raise SpecError(
            f"`data.path`: {path} does not exist (resolved from {str(raw)!r} relative to "
            f"{base if override is None else 'the current folder'}). {hint}",
            key="data.path",
        )
    data["path"] = path
    if roots is not None and data["format"] in (None, "dfe") and path.is_dir():
        confine(path / data["neighbours"], "data.neighbours", [data_folder(path)])
    if data["format"] is None:
        suffix = path.suffix.lower()
        if path.is_dir():
            data["format"] = "dfe"
        elif suffix in (".csv", ".parquet"):
            data["format"] = suffix[1:]
        else:
            raise SpecError(
                f"`data.path` {path} is neither a folder of DfE files nor a .csv/.parquet file; "
                "set `data.format` to 'csv' or 'parquet' if it is one.",
                key="data.format",
            )
    if data["format"] == "dfe" and not path.is_dir():
        raise SpecError(
            f"`data.format` is 'dfe', so `data.path` must be a folder of DfE files; {path} is "
            "a file. Point it at the folder, or set format to 'csv' or 'parquet'.",
            key="data.path",
        )
    if data["format"] != "dfe" and path.is_dir():
        raise SpecError(
            f"`data.format` is {data['format']!r} but `data.path` {path} is a folder. Point it "
            "at the file.",
            key="data.path",
        )
    if data["level"] is None:
        if data["format"] != "dfe":
            raise SpecError(
                "`data.level` is needed for a CSV/Parquet file: 'published' for LA-level "
                "official statistics, 'child' for counts from child-level records (disclosure "
                "control then applies).",
                key="data.level",
            )
        data["level"] = "published"
    if data["year_ends"] is None:
        data["year_ends"] = "03-31" if data["format"] == "dfe" else "12-31"
    try:
        dt.date.fromisoformat(f"2001-{data['year_ends']}")
    except ValueError:
        raise SpecError(
            f"`data.year_ends` must be MM-DD (e.g. '03-31'); got {data['year_ends']!r}.",
            key="data.year_ends",
        ) from None
    return data


def _check_analyses(items: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(items, list) or not items:
        raise SpecError(
            "the spec needs at least one [[analysis]] table with a `design` key, e.g.\n"
            '[[analysis]]\ndesign = "claims"',
            key="analysis",
        )
    out = []
    for i, table in enumerate(items):
        where = f"analysis[{i}]"
        if not isinstance(table, Mapping):
            raise SpecError(f"`{where}` must be a table ([[analysis]]).", key=where)
        design = table.get("design")
        if design in UNAVAILABLE:
            raise SpecError(
                f"`{where}.design` = {design!r} is not available in this installation: "
                f"{UNAVAILABLE[design]}",
                key=f"{where}.design",
            )
        if design not in DESIGNS:
            names = list(DESIGNS)
            raise SpecError(
                f"`{where}.design` must be one of {', '.join(names)}; got {design!r}."
                f"{closest(str(design), names)}",
                key=f"{where}.design",
            )
        out.append(check_table(table, analysis_keys(design), where))
    return tuple(out)


def load_spec(
    spec: str | os.PathLike[str] | Mapping[str, Any],
    *,
    data: str | os.PathLike[str] | None = None,
    allow_paths_outside: bool = False,
) -> Spec:
    """Read a report spec and check it, before any data are read or estimated.

    Parameters
    ----------
    spec : path or mapping
        A TOML file, or the same structure as a dict. Relative paths in a file resolve against
        the file's folder (against the current folder for a dict).
    data : path, optional
        Use this data folder or file instead of the spec's ``data.path`` (the command line's
        ``--data``).
    allow_paths_outside : bool, default False
        A spec *file* may only read and write inside its own folder and the data folder
        (``data``, or ``data.path`` itself): ``data.path``, ``data.neighbours``,
        ``output.html`` and ``output.pdf`` resolving elsewhere (``..``, absolute paths, ``~``,
        links pointing out) are a :class:`~sfpc_eval.errors.SpecError`. Pass True only for a
        spec you trust (the command line's ``--allow-paths-outside``). A dict is written by
        the caller's own code and is not confined.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        The file cannot be read or parsed; an unknown key (the message suggests the closest
        known key); a missing key; a value of the wrong type; a data path that does not exist;
        an output path that cannot be written; a path outside the spec's folder and the data
        folder (unless ``allow_paths_outside``).
    """
    if isinstance(spec, Mapping):
        document, text, base, name = dict(spec), _dump(spec), Path(), "<dict>"
    else:
        path = Path(spec)
        if not path.is_file():
            raise SpecError(f"report spec {path} does not exist (or is not a file).", key="")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise SpecError(
                f"report spec {path} is not UTF-8 text (byte {err.object[err.start]:#x} at "
                f"position {err.start}); TOML files are UTF-8. Re-save it as UTF-8.",
                key="",
            ) from None
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"report spec {path} is not valid TOML: {err}.", key="") from None
        except RecursionError:
            raise SpecError(
                f"report spec {path} nests arrays or tables too deeply to read; a report spec "
                "needs at most a few levels ([report], [[analysis]], lists of names).",
                key="",
            ) from None
        base, name = path.resolve().parent, path.name
    roots = None if allow_paths_outside or isinstance(spec, Mapping) else [base]
    if roots is not None and data is not None:
        roots.append(data_folder(Path(data)))
    for key in document:
        if key not in TOP_LEVEL:
            raise SpecError(
                f"unknown top-level key `{key}`.{closest(key, TOP_LEVEL)} A spec has the "
                f"tables {', '.join(TOP_LEVEL)}.",
                key=key,
            )
    if "report" not in document:
        raise SpecError("the spec needs a [report] table with a `title` key.", key="report")
    report = check_table(document["report"], TABLES["report"], "report")
    analyses = _check_analyses(document.get("analysis"))
    data_needed = any(needs_data(a) for a in analyses)
    if "data" in document or data is not None:
        table = document.get("data", {"path": str(data)})
        data_table = _check_data(table, base, data, roots)
    elif data_needed:
        designs = sorted({a["design"] for a in analyses if needs_data(a)})
        raise SpecError(
            f"the design(s) {', '.join(designs)} need a [data] table with `path` (a folder of "
            "DfE files or a CSV/Parquet file).",
            key="data",
        )
    else:
        data_table = None
    disclosure = check_table(document.get("disclosure", {}), TABLES["disclosure"], "disclosure")
    if disclosure["threshold"] < 1:
        raise SpecError(
            f"`disclosure.threshold` must be at least 1; got {disclosure['threshold']}.",
            key="disclosure.threshold",
        )
    shades_raw = document.get("shade", [])
    if not isinstance(shades_raw, list):
        raise SpecError("`shade` must be an array of tables ([[shade]]).", key="shade")
    shades = []
    for i, item in enumerate(shades_raw):
        table = check_table(item, TABLES["shade"], f"shade[{i}]")
        start, end = _as_date(table["start"]), _as_date(table["end"])
        if end < start:
            raise SpecError(
                f"`shade[{i}]` ends ({end}) before it starts ({start}); swap them.",
                key=f"shade[{i}]",
            )
        shades.append(Shade(table["label"], start, end))
    output = check_table(document.get("output", {}), TABLES["output"], "output")
    for key in ("html", "pdf"):
        if output[key] is not None:
            target = Path(output[key])
            target = target if target.is_absolute() else base / target
            confine(target, f"output.{key}", roots)
            output[key] = check_output_path(target, f"output.{key}")
    date = _as_date(report["date"]) if report["date"] is not None else _date_from_environment()
    return Spec(
        title=report["title"],
        authors=tuple(report["authors"]),
        date=date,
        summary=report["summary"],
        limitations=tuple(report["limitations"]),
        data=data_table,
        threshold=disclosure["threshold"],
        shades=tuple(shades),
        analyses=analyses,
        output=output,
        text=text,
        name=name,
    )


def _dump(value: Mapping[str, Any]) -> str:
    """Render a dict spec readably and deterministically (for the appendix)."""
    import json

    return json.dumps(value, indent=2, sort_keys=True, default=str)
