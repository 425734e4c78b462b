"""The ``test`` extra stands in for Alliance Auth's own dependencies, which pip doesn't install.

The README's test command installs ``allianceauth`` with ``--no-deps`` (its ``mysqlclient``
builds from C source); everything else AA needs at run time must come from the extra, with
AA's own version ranges, or the real-AA tests import a module that isn't there.
"""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LEFT_OUT = {"mysqlclient"}  # replaced by PyMySQL (tests/stats/statsite/settings.py)


def _test_extra() -> list[Requirement]:
    # The installed otel-aa's metadata: what pip resolved from pyproject.toml's `test` extra.
    listed = [Requirement(line) for line in metadata.requires("otel-aa") or []]
    extra = [r for r in listed if r.marker is not None and r.marker.evaluate({"extra": "test"})
             and not r.marker.evaluate({"extra": ""})]
    assert extra, "the installed otel-aa has no test extra (reinstall: pip install -e '.[test]')"
    return extra


def _aa_runtime_requirements() -> list[Requirement]:
    try:
        listed = metadata.requires("allianceauth") or []
    except metadata.PackageNotFoundError:
        pytest.skip("allianceauth is not installed")
    # Requires-Dist lines of no extra: no marker, or one that holds without any extra asked for.
    return [r for r in map(Requirement, listed) if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_the_extra_lists_every_runtime_dependency_of_alliance_auth_but_mysqlclient() -> None:
    extra: dict[str, list[Requirement]] = {}
    for requirement in _test_extra():
        extra.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    needed = _aa_runtime_requirements()
    assert needed, "allianceauth lists no runtime dependency"
    missing, loosened = [], []
    for requirement in needed:
        name = canonicalize_name(requirement.name)
        if name in LEFT_OUT:
            continue
        if name not in extra:
            missing.append(str(requirement))
        elif str(requirement.specifier) and not any(
            set(str(requirement.specifier).split(",")) <= set(str(r.specifier).split(","))
            for r in extra[name]
        ):
            loosened.append(str(requirement))
    assert not missing, f"not in the test extra: {missing}"
    assert not loosened, f"in the test extra without Alliance Auth's range: {loosened}"


def test_the_extra_never_pulls_mysqlclient_and_brings_a_pure_python_driver() -> None:
    names = {canonicalize_name(r.name) for r in _test_extra()}
    assert "mysqlclient" not in names
    assert "allianceauth" not in names  # its dependencies would bring mysqlclient back
    assert "pymysql" in names


def test_the_installed_environment_has_what_alliance_auth_imports() -> None:
    # What a fresh `pip install -e '.[test]'` + `--no-deps allianceauth` gives must satisfy AA.
    for requirement in _aa_runtime_requirements():
        if canonicalize_name(requirement.name) in LEFT_OUT:
            continue
        version = metadata.version(requirement.name)
        assert requirement.specifier.contains(version, prereleases=True), (str(requirement), version)
