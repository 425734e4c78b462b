"""The distributions as a user gets them: built wheels and sdists, installed (not editable).

Both are built from this checkout with ``python -m build`` (the wheel from the sdist), their
archives are checked (the licence, ``py.typed``, the package and nothing of the repository's
tests, benchmarks or CI), then the two wheels go into a venv made here, which runs
``otel-aa --version`` and the demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXPORTER = ROOT / "exporters" / "google-analytics"
# (source tree, distribution file stem, package path inside the wheel, licence's first words)
DISTS = {
    "otel-aa": (ROOT, "otel_aa-", "otel_aa/", "GNU GENERAL PUBLIC LICENSE"),
    "exporter": (EXPORTER, "opentelemetry_exporter_google_analytics-",
                 "opentelemetry/exporter/google_analytics/", "Apache License"),
}
NOT_SHIPPED = ("tests/", "bench/", ".ci/", "docs/", "exporters/", ".venv/", "__pycache__")


def _env() -> dict[str, str]:
    # A shell's environment: nothing of this test run's Django or OpenTelemetry settings.
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "DJANGO_", "PYTEST_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")}


def _run(*args: str | Path, timeout: float = 600, cwd: Path | None = None) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                            env=_env(), cwd=cwd, check=False)
    assert result.returncode == 0, (f"{args}: exit {result.returncode}\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    for source, _, _, _ in DISTS.values():
        # No --sdist/--wheel: build makes the sdist, then the wheel from that sdist, so a file
        # the sdist left out would break the wheel (and this test).
        _run(sys.executable, "-m", "build", "--outdir", out, source)
    return out


def _one(dist_dir: Path, stem: str, suffix: str) -> Path:
    (found,) = [p for p in dist_dir.iterdir() if p.name.startswith(stem) and p.name.endswith(suffix)]
    return found


@pytest.mark.parametrize("name", sorted(DISTS))
def test_wheel_holds_the_package_its_licence_and_py_typed(dist_dir: Path, name: str) -> None:
    _, stem, package, licence = DISTS[name]
    with zipfile.ZipFile(_one(dist_dir, stem, ".whl")) as wheel:
        names = wheel.namelist()
        (licence_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert licence in wheel.read(licence_file).decode()[:400]
        (meta_file,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = wheel.read(meta_file).decode()
    assert package + "py.typed" in names
    assert package + "__init__.py" in names
    assert not [n for n in names if n.startswith(NOT_SHIPPED) or "/tests/" in n], names
    assert "License-Expression: " in meta and "License-File: LICENSE" in meta
    assert "Project-URL: " in meta


@pytest.mark.parametrize("name", sorted(DISTS))
def test_sdist_holds_the_package_and_not_the_repository(dist_dir: Path, name: str) -> None:
    _, stem, package, licence = DISTS[name]
    with tarfile.open(_one(dist_dir, stem, ".tar.gz")) as sdist:
        # Paths inside the archive's top directory (name-version/).
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
        top = sdist.getmembers()[0].name.split("/", 1)[0]
        licence_file = sdist.extractfile(f"{top}/LICENSE")
        assert licence_file is not None and licence in licence_file.read().decode()[:400]
    source_package = package if name == "otel-aa" else "src/" + package
    assert {"LICENSE", "README.md", "pyproject.toml", "PKG-INFO", source_package + "py.typed"} <= members
    # The exporter's sdist ships its own tests (as contrib's packages do), and only those.
    own_tests = {m for m in members if m.startswith("tests/")} if name == "exporter" else set()
    assert name != "exporter" or {"tests/conftest.py", "tests/ga_test_support.py"} <= own_tests
    shipped = members - own_tests
    assert not [m for m in shipped if m.startswith(NOT_SHIPPED) or "/tests/" in m], sorted(members)
    assert not [m for m in own_tests if "__pycache__" in m or m.endswith(".pyc")], sorted(own_tests)


@pytest.fixture(scope="module")
def installed(dist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    _run(sys.executable, "-m", "venv", venv)
    wheels = [_one(dist_dir, stem, ".whl") for _, stem, _, _ in DISTS.values()]
    _run(venv / "bin" / "python", "-m", "pip", "install", "--no-input", *wheels)
    yield venv


def test_installed_wheels_are_not_this_checkout(installed: Path, tmp_path: Path) -> None:
    where = _run(installed / "bin" / "python", "-c",
                 "import otel_aa, opentelemetry.exporter.google_analytics as ga; "
                 "print(otel_aa.__file__); print(ga.__file__)", cwd=tmp_path)
    for path in where.split():
        assert Path(path).is_relative_to(installed), where


def test_installed_version(installed: Path, tmp_path: Path) -> None:
    from otel_aa import __version__

    out = _run(installed / "bin" / "otel-aa", "--version", cwd=tmp_path)
    assert out.startswith(f"otel-aa {__version__} (opentelemetry-exporter-google-analytics "), out


def test_installed_demo_runs_and_passes(installed: Path, tmp_path: Path) -> None:
    out = _run(installed / "bin" / "otel-aa", "demo", cwd=tmp_path, timeout=300)
    assert "RESULT: OK" in out, out[-3000:]
