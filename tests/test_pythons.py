"""Both packages on the other CPythons of Alliance Auth's range (3.10 to 3.14) this machine has.

The suite runs on the interpreter that runs pytest. For every other interpreter of the range found
on ``PATH`` or under pyenv, a fresh venv gets both packages (plain pip, as the README installs
them) and runs the tests that need no Alliance Auth: the exporter's, and the distro's in-process
ones (configuration, the allowlist, the lean instrumentation, hostile input), each of which also
starts configured subprocesses on that interpreter.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _venvs import EXPORTER, REQUIREMENTS, ROOT, TESTS, passed, run_tests, shell_env

RANGE = [(3, 10), (3, 11), (3, 12), (3, 13), (3, 14)]


def _pyenv_root() -> str | None:
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return os.environ.get("PYENV_ROOT")


def _interpreter(version: tuple[int, int]) -> str | None:
    name = f"python{version[0]}.{version[1]}"
    root = _pyenv_root()
    pattern = os.path.join(root, "versions", f"{version[0]}.{version[1]}.*", "bin", name) if root else ""
    candidates = sorted(glob.glob(pattern), reverse=True) if pattern else []
    found = shutil.which(name)
    for path in [*candidates, *([found] if found else [])]:
        # A pyenv shim on PATH may point at nothing installed: ask the interpreter itself.
        done = subprocess.run([path, "-c", "import sys, venv; print(sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
        if done.returncode == 0 and done.stdout.strip() == str(version):
            return path
    return None


OTHERS = {v: _interpreter(v) for v in RANGE if v != sys.version_info[:2]}
FOUND = {v: path for v, path in OTHERS.items() if path}


def _install_and_test(python: str, venv: Path) -> subprocess.CompletedProcess[str]:
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    install = subprocess.run([*pip, "-e", str(EXPORTER), "-e", str(ROOT), *REQUIREMENTS],
                             capture_output=True, text=True, timeout=900, env=shell_env())
    if install.returncode != 0:
        return install
    return run_tests(venv, TESTS)


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(not FOUND, reason="no other CPython of 3.10-3.14 on this machine")
def test_other_pythons(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=len(FOUND)) as pool:
        runs = {v: pool.submit(_install_and_test, path, tmp_path / f"venv{v[0]}{v[1]}")
                for v, path in FOUND.items()}
        results = {v: run.result() for v, run in runs.items()}
    for version, done in results.items():
        assert done.returncode == 0, f"Python {version}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert passed(done), done.stdout[-2000:]
    print("other Pythons:", {f"{v[0]}.{v[1]}": FOUND[v] for v in results},
          "not found:", [f"{v[0]}.{v[1]}" for v, path in OTHERS.items() if not path])
