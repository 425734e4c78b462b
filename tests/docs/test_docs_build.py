"""The Sphinx docs build with warnings as errors, and their generated tables match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from opentelemetry.exporter.google_analytics import environment_variables as ga_env

from otel_aa import environment_variables as aa_env
from otel_aa import privacy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs-html")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _soup(html: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((html / f"{page}.html").read_text(encoding="utf-8"), "html.parser")


def _names(module: object, prefix: str) -> set[str]:
    return {v for k, v in vars(module).items() if k.startswith(prefix) and v == k}


def test_settings_table_has_every_setting(html: Path) -> None:
    table = _soup(html, "configure").find("table", class_="otel-aa-settings")
    assert table is not None
    first_cells = {row.find("td").get_text(strip=True) for row in table.find_all("tr") if row.find("td")}
    ga_names = _names(ga_env, "OTEL_EXPORTER_GA_")
    assert ga_names and ga_names <= first_cells, ga_names - first_cells
    assert _names(aa_env, "OTEL_AA_") <= first_cells
    assert "ANALYTICS_DISABLED" in first_cells


def test_settings_table_shows_each_docstring_and_default(html: Path) -> None:
    table = _soup(html, "configure").find("table", class_="otel-aa-settings")
    assert table is not None
    rows = {
        cells[0].get_text(strip=True): [cell.get_text(" ", strip=True) for cell in cells]
        for cells in (row.find_all("td") for row in table.find_all("tr"))
        if cells
    }
    endpoint = rows["OTEL_EXPORTER_GA_ENDPOINT"]
    assert endpoint[1] == ga_env.DEFAULT_ENDPOINT
    assert "region1.google-analytics.com" in endpoint[2]
    # The ".. envvar::" line is the table's name column, not part of the description.
    assert all(".. envvar::" not in cells[2] for cells in rows.values())


def test_privacy_page_renders_the_allowlist(html: Path) -> None:
    text = _soup(html, "privacy").get_text(" ")
    for name in privacy.ALLOWED_SPAN_ATTRIBUTES | privacy.ALLOWED_RESOURCE_ATTRIBUTES:
        assert name in text, name
    for prefix in privacy.ALLOWED_SPAN_ATTRIBUTE_PREFIXES:
        assert prefix in text
    # Each entry's reason comes from the comment above it in the code.
    assert "never its message" in text


def test_package_docstrings_are_rendered(html: Path) -> None:
    import opentelemetry.exporter.google_analytics as exporter

    import otel_aa

    text = " ".join(_soup(html, "api").get_text(" ").split())
    for doc in (otel_aa.__doc__, exporter.__doc__):
        assert doc
        first_line = doc.strip().splitlines()[0].strip()
        assert " ".join(first_line.split()) in text
