"""docs/api.md promises the public API: each package's ``__all__`` is exactly the names it lists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
EXPORTER = "opentelemetry.exporter.google_analytics"
PACKAGES = ["otel_aa", EXPORTER, f"{EXPORTER}.settings", f"{EXPORTER}.testing"]


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


#: The modules without a leading ``_`` that docs/api.md names (the constants modules, the demo)
#: and Django's conventional modules of the app; everything else must be ``_``-prefixed.
DJANGO_CONVENTIONAL = {"admin", "apps", "checks", "models", "management", "migrations"}
CONSTANTS = {f"{EXPORTER}.environment_variables", f"{EXPORTER}.attributes", "otel_aa.environment_variables",
             "otel_aa.names", "otel_aa.privacy"}
PACKAGE_DIRS = {EXPORTER: ROOT / "exporters/google-analytics/src/opentelemetry/exporter/google_analytics",
                "otel_aa": ROOT / "otel_aa"}


def _public_modules(package: str) -> set[str]:
    """The modules of ``package`` whose dotted name has no ``_``-prefixed part (sub-packages'
    contents are covered by their package: ``otel_aa.demo.settings`` is ``otel_aa.demo``)."""
    found = set()
    for path in PACKAGE_DIRS[package].rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIRS[package]).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts or any(part.startswith("_") for part in parts):
            continue
        found.add(f"{package}.{parts[0]}")
    return found


@pytest.mark.parametrize("package", sorted(PACKAGE_DIRS))
def test_every_module_without_an_underscore_is_one_the_docs_promise(package: str) -> None:
    django_modules = {f"otel_aa.{name}" for name in DJANGO_CONVENTIONAL}
    allowed = set(PACKAGES) | CONSTANTS | {"otel_aa.demo"} | django_modules
    assert sorted(_public_modules(package) - allowed) == []
    for module in (_public_modules(package) & (CONSTANTS | {"otel_aa.demo"})):
        assert f"`{module}`" in DOC, f"docs/api.md doesn't name {module}"


def _exporter_imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from <exporter…> import name`` in a file."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(EXPORTER):
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.startswith(EXPORTER)]
    return found


def test_the_distro_uses_the_exporter_only_through_its_public_api() -> None:
    # The distro is a host like any other: what it needs of the exporter, any app's own mapping
    # or token source may need, so it is documented, not reached for in a private module.
    public = {EXPORTER: set(importlib.import_module(EXPORTER).__all__)}
    for module in (f"{EXPORTER}.settings", f"{EXPORTER}.testing"):
        public[module] = set(importlib.import_module(module).__all__)
    constants = {m for m in CONSTANTS if m.startswith(EXPORTER)}
    wrong = []
    for path in sorted((ROOT / "otel_aa").rglob("*.py")):
        for module, name in _exporter_imports(path):
            submodule = f"{EXPORTER}.{name}"
            if module in constants or (module == EXPORTER and submodule in constants | set(public)):
                continue
            if name not in public.get(module, set()):
                wrong.append(f"{path.relative_to(ROOT)}: {module} {name}")
    assert wrong == []
