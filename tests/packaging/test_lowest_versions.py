"""The suite's in-process tests at the lowest versions the dependency ranges allow.

CI's pip install (the README's test command) gets the newest versions; this gets the other end:
``uv pip install --resolution lowest-direct`` takes every direct dependency of the two
distributions at its lower bound (and the rest at their newest that fit). Two fresh venvs:

- the exporter alone, with pytest and hypothesis: its own tests must pass with nothing of the
  distro, Django or Celery installed (the exporter is a distribution of its own), run with its
  own pytest configuration as from its own directory;
- both distributions, with the tests' few requirements: the tests that need no Alliance Auth
  (tests/_venvs.py's list, shared with tests/test_pythons.py).

Each venv must hold exactly the lower bound of every requirement, read from the installed
metadata, so that a resolver quietly picking newer versions fails here instead of passing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from _venvs import (
    EXPORTER,
    EXPORTER_REQUIREMENTS,
    EXPORTER_TESTS,
    REQUIREMENTS,
    ROOT,
    TESTS,
    passed,
    run_tests,
    shell_env,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EXPORTER_DIST = "opentelemetry-exporter-google-analytics"
DISTRO_DIST = "otel-aa"

# Run inside a venv (pytest brings packaging): each distribution's requirements, those of no
# extra, and the version of each that is installed.
_INSTALLED = """
import json, sys
from importlib import metadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
out = {}
for dist in sys.argv[1:]:
    for requirement in map(Requirement, metadata.requires(dist) or []):
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            out[str(requirement)] = metadata.version(requirement.name)
print(json.dumps(out))
"""


def _uv() -> str:
    uv = pytest.importorskip("uv", reason="uv is in the test extra: pip install -e '.[test]'")
    return str(uv.find_uv_bin())


def _run(*args: str | Path, timeout: float = 600, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          env=shell_env(), cwd=cwd, check=False)
    assert done.returncode == 0, (f"{args}: exit {done.returncode}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _lowest_venv(venv: Path, *requirements: str) -> Path:
    """A fresh venv on this interpreter with ``requirements`` at their lowest direct versions."""
    import sys

    uv = _uv()
    _run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    _run(uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
         "--resolution", "lowest-direct", *requirements, timeout=900)
    return venv


def _not_at_lower_bound(venv: Path, *dists: str) -> list[str]:
    """Each requirement of ``dists`` not installed at its lower bound (or without one).

    Where both distributions name a package, its lowest installable version is the higher of
    their two bounds (the exporter allows opentelemetry-sdk 1.39, otel-aa asks for 1.40).
    """
    done = _run(venv / "bin" / "python", "-c", _INSTALLED, *dists)
    installed: dict[str, str] = json.loads(done.stdout)
    assert installed, f"{dists} list no requirements"
    bounds: dict[str, list[Version]] = {}
    wrong = []
    for line in installed:
        requirement = Requirement(line)
        lowest = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
        if not lowest:
            wrong.append(f"{line}: no lower bound, so no lowest version to test")
        bounds.setdefault(canonicalize_name(requirement.name), []).extend(lowest)
    for line, version in installed.items():
        lowest = bounds[canonicalize_name(Requirement(line).name)]
        if lowest and Version(version) != max(lowest):
            wrong.append(f"{line}: {version} installed, not {max(lowest)}")
    return wrong


@pytest.fixture(scope="module")
def exporter_alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("lowest-exporter") / "venv"
    return _lowest_venv(venv, "-e", str(EXPORTER), *EXPORTER_REQUIREMENTS)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("lowest-both") / "venv"
    return _lowest_venv(venv, "-e", str(EXPORTER), "-e", str(ROOT), *REQUIREMENTS)


def test_the_exporter_alone_is_installed_at_its_lower_bounds(exporter_alone: Path) -> None:
    assert _not_at_lower_bound(exporter_alone, EXPORTER_DIST) == []
    # Only the exporter: nothing of the distro, Django or Celery came along. (Asked from the
    # exporter's directory, where its tests run: `-c` puts the working directory on sys.path.)
    absent = _run(exporter_alone / "bin" / "python", "-c",
                  "import importlib.util as u; print([m for m in ('otel_aa', 'django', 'celery')"
                  " if u.find_spec(m)])", cwd=EXPORTER)
    assert absent.stdout.strip() == "[]"


def test_the_exporter_tests_pass_with_only_the_exporter_at_its_lowest(exporter_alone: Path) -> None:
    done = run_tests(exporter_alone, EXPORTER_TESTS, config=EXPORTER / "pyproject.toml")
    assert passed(done), f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    print(done.stdout.strip().splitlines()[-1])


def test_both_distributions_are_installed_at_their_lower_bounds(both: Path) -> None:
    assert _not_at_lower_bound(both, EXPORTER_DIST, DISTRO_DIST) == []


def test_the_in_process_tests_pass_at_the_lowest_versions(both: Path) -> None:
    done = run_tests(both, TESTS)
    assert passed(done), f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    print(done.stdout.strip().splitlines()[-1])
