"""Sphinx configuration for the otel-aa docs (Sphinx + MyST, as Alliance Auth's own docs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(_DOCS / "_ext"))
sys.path.insert(0, str(_DOCS.parent))
sys.path.insert(0, str(_DOCS.parent / "exporters" / "google-analytics" / "src"))

# autodoc imports otel_aa, whose Django parts need settings; the demo site's are self-contained.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otel_aa.demo.settings")

project = "otel-aa"
author = "otel-aa developers"
copyright = "otel-aa developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "otel_aa_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"

html_theme = "alabaster"
html_title = "otel-aa"
