"""docs/api.md promises the public API: each package's ``__all__`` is exactly the names it lists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
EXPORTER = "opentelemetry.exporter.google_analytics"
PACKAGES = ["otel_aa", EXPORTER, f"{EXPORTER}.testing"]


def _promised(package: str) -> list[str]:
    """The names in the first column of the table under ``## `package` ``."""
    match = re.search(rf"^## `{re.escape(package)}`\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert match, f"docs/api.md has no section for `{package}`"
    names = re.findall(r"^\| `(\w+)` \|", match.group(1), re.M)
    assert names, f"docs/api.md lists no name under `{package}`"
    return names


def test_the_doc_has_a_section_for_every_package_and_no_other() -> None:
    assert re.findall(r"^## `([\w.]+)`$", DOC, re.M) == PACKAGES


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_exactly_what_the_docs_promise(package: str) -> None:
    promised = _promised(package)
    assert len(promised) == len(set(promised)), f"{package}: a name listed twice"
    exported = importlib.import_module(package).__all__
    assert {"promised, not in __all__": sorted(set(promised) - set(exported)),
            "in __all__, not promised": sorted(set(exported) - set(promised))} == {
        "promised, not in __all__": [], "in __all__, not promised": []}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_promised_name_exists(package: str) -> None:
    module = importlib.import_module(package)
    assert [name for name in _promised(package) if not hasattr(module, name)] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_the_api_section_documents_the_package_by_its_all(package: str) -> None:
    # `:members:` without a list: autodoc documents exactly `__all__`, so the rendered page can't
    # drift from the table above it.
    section = DOC.split(f"## `{package}`\n", 1)[1].split("\n## ", 1)[0]
    assert re.search(rf"^\.\. automodule:: {re.escape(package)}\n   :members:\n", section, re.M), section
