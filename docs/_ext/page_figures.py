"""Run each how-to page's examples while the docs build, and show the figures they draw.

A Sphinx extension. For every page listed in ``page_figures_pages`` (conf.py), the ``>>>``
examples of the page are run in order, in one namespace, from the repository's root (as the
doctests run). Every matplotlib figure an example block leaves open is saved as a PNG under
``docs/_generated/`` and shown as an image right after that block, with alt text naming the
code that drew it. A block that raises fails the build (with ``-W``, as the docs test runs it).

The figures are therefore always those the page's current code makes, and the page's code is
the code the doctests check.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)
OUT = "_generated"
DRAWS = re.compile(r"\.plot\(|\bplot_\w+\(|\bplt\.")


def _example_blocks(doctree) -> list[nodes.Element]:
    """The literal and doctest blocks of a page that hold ``>>>`` examples, in order."""
    return [
        node
        for node in doctree.findall(
            lambda n: isinstance(n, nodes.literal_block | nodes.doctest_block)
        )
        # the page's own examples, not those of docstrings that autodoc pulled in
        if node.astext().lstrip().startswith(">>>") and str(node.source or "").endswith(".rst")
    ]


def _run_block(source: str, namespace: dict, where: str) -> bool:
    """Run one block's examples; False (and a warning) if one raises."""
    for example in doctest.DocTestParser().get_examples(source):
        if example.options.get(doctest.SKIP):
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # printed output is the doctests'
                exec(compile(example.source, where, "exec"), namespace)  # our own docs' code
        except Exception as error:
            if example.exc_msg is not None:  # the example shows this error on purpose
                continue
            logger.warning(
                "%s: example %r raised %s: %s",
                where,
                example.source.strip(),
                type(error).__name__,
                error,
            )
            return False
    return True


def add_figures(app: Sphinx, doctree) -> None:
    """Run the page's examples and put each figure they draw after the block that drew it."""
    docname = app.env.docname
    if docname not in app.config.page_figures_pages:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sfpc_eval.report.figures import alt_text_of

    out = Path(app.srcdir) / OUT
    out.mkdir(exist_ok=True)
    root = Path(app.srcdir).parent
    namespace: dict = {"__name__": f"docs.{docname}"}
    here = Path.cwd()
    plt.close("all")
    count = 0
    os.chdir(root)
    blocks = _example_blocks(doctree)
    drawing = [i for i, block in enumerate(blocks) if DRAWS.search(block.astext())]
    try:
        # the examples after the last one that draws cannot add a figure: they are not run
        for block in blocks[: drawing[-1] + 1 if drawing else len(blocks)]:
            if not _run_block(block.astext(), namespace, f"{docname}.rst"):
                break
            images = []
            for number in plt.get_fignums():
                figure = plt.figure(number)
                count += 1
                name = f"{docname}-{count}.png"
                figure.savefig(
                    out / name, dpi=100, bbox_inches="tight", metadata={"Software": None}
                )
                images.append(
                    nodes.image(
                        uri=f"/{OUT}/{name}", alt=alt_text_of(figure), classes=["page-figure"]
                    )
                )
            plt.close("all")
            if images:
                parent = block.parent
                parent.insert(parent.index(block) + 1, images)
    finally:
        os.chdir(here)
        plt.close("all")
    if count == 0:
        logger.warning(
            "%s: the page's examples draw no figure (it is listed in page_figures_pages)", docname
        )


def setup(app: Sphinx) -> dict:
    app.add_config_value("page_figures_pages", (), "env")
    # before Sphinx's image collector (priority 500) reads the page's images
    app.connect("doctree-read", add_figures, priority=400)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
