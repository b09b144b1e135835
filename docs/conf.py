"""Sphinx configuration for the sfpc_eval documentation."""

import sfpc_eval

project = "sfpc_eval"
author = "sfpc_eval developers"
copyright = "2026, sfpc_eval developers"
release = sfpc_eval.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
nitpicky = False
html_theme = "furo"
html_title = f"sfpc_eval {release}"
exclude_patterns = ["_build", "*_generated.rst"]  # included by validation.rst, not pages
suppress_warnings = ["ref.python"]  # same-named attributes on different result classes

# How-to pages show the figures their examples draw: docs/_ext/page_figures.py runs each listed
# page's ``>>>`` examples during the build and puts every figure after the block that drew it.
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent / "_ext"))
extensions.append("page_figures")
# The notebooks in notebooks/ (linked as docs/notebooks) render with their saved outputs.
extensions.append("myst_nb")
nb_execution_mode = "off"
exclude_patterns.append("notebooks/run_all.py")
HOW_TO_PAGES = (
    "getting_started",
    "data",
    "did",
    "credible",
    "staggered",
    "staggered_cs",
    "honest_did",
    "stepped_wedge_design",
    "stepped_wedge",
    "trial_workflow",
    "single_council",
    "reports",
    "tables",
    "scale",
    "claims",
    "impact",
    "charts",
)
page_figures_pages = HOW_TO_PAGES
exclude_patterns.append("_generated")
