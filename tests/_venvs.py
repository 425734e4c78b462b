"""What the tests that build their own venvs share: which tests run there, with what, how.

``tests/test_pythons.py`` (both distributions on the other CPythons, newest versions, pip) and
``tests/packaging/test_lowest_versions.py`` (the lowest versions the ranges allow, uv) run the
same tests: those that need no Alliance Auth and no service. One list, here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORTER = ROOT / "exporters" / "google-analytics"

#: The exporter's own tests: they need only the exporter (plus pytest and hypothesis).
EXPORTER_TESTS = ["exporters/google-analytics/tests"]
#: The exporter's tests and the distro's in-process ones (configuration, the allowlist, the lean
#: instrumentation, hostile input), each of which also starts configured subprocesses.
TESTS = [*EXPORTER_TESTS, "tests/distro/test_units.py", "tests/distro/test_lean.py",
         "tests/distro/test_hostile_fixes.py"]
#: What those tests need besides the two distributions (a subset of the `test` extra).
REQUIREMENTS = ["pytest>=8.3", "pytest-django>=4.9", "pytest-timeout>=2.3", "hypothesis>=6.100", "redis>=5.2"]
#: The exporter's tests need less: no Django, no Redis, no timeout plugin.
EXPORTER_REQUIREMENTS = ["pytest>=8.3", "hypothesis>=6.100"]


def shell_env() -> dict[str, str]:
    """A shell's environment, as a user's: none of this run's pytest, venv, Django or OTel settings.

    (The distro tests' conftest sets DJANGO_SETTINGS_MODULE before an inner pytest could import it.)
    """
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "OTEL_"))
            and k != "PYTHONPATH"}


def run_tests(venv: Path, tests: list[str], *, config: Path | None = None,
              timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run ``tests`` (paths under the repository) with the venv's pytest, from the repository root.

    ``config``: another pytest configuration file than the repository's, e.g. the exporter's own,
    as when its tests run from its distribution alone: its directory is then the rootdir and the
    working directory (``python -m`` puts that on ``sys.path``: from the root, ``otel_aa`` would
    be importable without being installed).
    """
    command = [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cwd = ROOT
    if config is not None:
        cwd = config.parent
        command += ["-c", str(config), "--rootdir", str(cwd)]
    command += [str(ROOT / t) for t in tests]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=shell_env(), check=False)


def passed(done: subprocess.CompletedProcess[str]) -> bool:
    """The inner pytest ran tests and all of them passed (exit 0 alone would also take "no tests")."""
    return done.returncode == 0 and " passed" in done.stdout and " failed" not in done.stdout
