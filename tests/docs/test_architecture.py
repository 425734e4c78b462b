"""docs/architecture.md's module tables are the code's modules, each in a stage, none over 300 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PACKAGES = {
    "opentelemetry.exporter.google_analytics": ROOT / "exporters/google-analytics/src/opentelemetry/exporter/"
                                               "google_analytics",
    "otel_aa": ROOT / "otel_aa",
}
STAGES = ("instrument", "allowlist", "map", "validate", "deliver")
BESIDE = ("setup", "admin", "tools")
MAX_LINES = 300


def _only_a_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def _modules(package: str) -> dict[str, Path]:
    """Every module of the package by its name relative to the package (``demo.play``, ``__init__``).

    A sub-package is its ``__init__``, listed unless it holds only a docstring; migrations are
    Django's, generated, and not listed.
    """
    root = PACKAGES[package]
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            if len(parts) > 1 and _only_a_docstring(path):
                continue
            parts = parts[:-1] or ("__init__",)
        found[".".join(parts)] = path
    return found


def _table(package: str) -> dict[str, tuple[str, str]]:
    """The rows of the package's module table: module -> (stage, job)."""
    match = re.search(rf"^## [^\n]*`{re.escape(package)}`\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert match, f"docs/architecture.md has no section for `{package}`"
    rows = re.findall(r"^\| `([\w.]+)` \| (\w+) \| (.+?) \|$", match.group(1), re.M)
    assert rows, f"no module table under `{package}`"
    table: dict[str, tuple[str, str]] = {}
    for module, stage, job in rows:
        assert module not in table, f"{package}: {module} listed twice"
        table[module] = (stage, job)
    return table


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_module_is_in_the_table_and_every_row_is_a_module(package: str) -> None:
    modules, table = set(_modules(package)), set(_table(package))
    assert modules, package
    assert {"missing from the table": sorted(modules - table), "no such module": sorted(table - modules)} == {
        "missing from the table": [], "no such module": []}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_row_names_a_stage_and_a_job(package: str) -> None:
    for module, (stage, job) in _table(package).items():
        assert stage in STAGES + BESIDE, (module, stage)
        assert len(job.split()) >= 3, (module, job)


def test_the_five_stages_are_described_in_order_and_each_has_modules() -> None:
    section = DOC.split("## The five stages", 1)[1].split("\n## ", 1)[0]
    positions = [section.find(f"**{stage}**") for stage in STAGES]
    assert -1 not in positions and positions == sorted(positions), positions
    used = {stage for package in PACKAGES for stage, _ in _table(package).values()}
    assert set(STAGES) <= used


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_module_is_over_300_lines(package: str) -> None:
    long = {name: n for name, path in _modules(package).items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_readme_says_where_each_stage_lives_in_modules_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Where the five stages live\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, "README has no '## Where the five stages live' section"
    rows = re.findall(r"^\| (\w+) \| .+? \| (.+?) \|$", match.group(1), re.M)
    assert [stage for stage, _ in rows if stage != "stage"] == list(STAGES)
    for stage, where in rows[1:]:
        named = re.findall(r"`([\w.]+)`", where)
        assert named, stage
        for dotted in named:
            package = next((p for p in PACKAGES if dotted.startswith(p + ".")), None)
            assert package is not None, (stage, dotted)
            assert dotted[len(package) + 1:] in _modules(package), (stage, dotted)
