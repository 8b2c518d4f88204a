"""Sphinx configuration of mekscore's documentation site.

Build: ``pip install ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html``.
The tutorials are executed during the build; nothing is downloaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import mekscore

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "mekscore"
author = "mekscore developers"
copyright = "mekscore developers"
release = version = mekscore.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "mekscore_docs",
]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# API reference: numpydoc docstrings, one page per function (docs/_generated/api/)
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# MyST: markdown pages, README sections pulled in with {include}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# Tutorials: executed at build time on the bundled data; an error fails the build
nb_execution_mode = os.environ.get("MEKSCORE_DOCS_EXECUTE", "force")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
# the kernel inherits this process's environment: CI's MPLBACKEND=Agg would hide every figure
os.environ.pop("MPLBACKEND", None)

html_theme = "sphinx_book_theme"
html_title = f"mekscore {version}"
html_theme_options = {"show_toc_level": 2}
