"""Every code block of the README runs as written, and each ``print`` shows what its comment says.

The Python blocks are run in order in one namespace, statement by statement, from a scratch
folder that has ``../shared/data/raw`` (the DfE files) beside it, as the README assumes. For a
``print(...)`` with a comment, every number of the comment (with its ``%`` or ``pp``), every
bracketed interval and every word of three or more letters must appear in what was printed, so
a comment cannot promise a number the code does not print.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"
README = ROOT / "README.md"

NUMBER = re.compile(r"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?(?:%| pp)?")
INTERVAL = re.compile(r"\[[^\]]*\]")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def comments(source: str) -> dict[int, str]:
    """Line number -> the comment on that line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


def promised(comment: str) -> tuple[list[str], list[str]]:
    """The numbers/intervals and the words a comment promises."""
    intervals = INTERVAL.findall(comment)
    rest = INTERVAL.sub(" ", comment)
    numbers = [n.rstrip(",") for n in NUMBER.findall(rest)]
    words = [w for w in WORD.findall(rest)]
    return intervals + numbers, words


def test_the_readme_has_python_blocks_with_checkable_comments():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 4
    prints = [
        c
        for b in blocks
        for line, c in comments(b).items()
        if b.splitlines()[line - 1].lstrip().startswith("print(")
    ]
    assert len(prints) >= 8


@pytest.mark.skipif(not RAW.is_dir(), reason=f"the DfE files are not at {RAW}")
@pytest.mark.filterwarnings("ignore::sfpc_eval.errors.SfpcEvalWarning")
def test_every_readme_block_runs_and_prints_what_its_comment_says(tmp_path, monkeypatch):
    work = tmp_path / "checkout"
    work.mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "raw").symlink_to(RAW)
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__readme__"}
    checked = 0
    for block in python_blocks(README.read_text()):
        notes = comments(block)
        lines = block.splitlines()
        for statement in ast.parse(block).body:
            source = "\n".join(lines[statement.lineno - 1 : statement.end_lineno])
            out = io.StringIO()
            with contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(source, "README.md", "exec"), namespace)
            printed = out.getvalue()
            is_print = (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Call)
                and getattr(statement.value.func, "id", "") == "print"
            )
            comment = notes.get(statement.lineno)
            if not (is_print and comment):
                continue
            tokens, words = promised(comment)
            flat = " ".join(printed.split())
            for token in tokens:
                assert token in flat, f"{source!r} does not print {token!r}:\n{printed}"
            for word in words:
                assert word.lower() in flat.lower(), f"{source!r} does not say {word!r}"
            checked += 1
    plt.close("all")
    assert checked >= 8
    assert (work / "trial_models.xlsx").is_file() and (work / "councils.parquet").is_file()
