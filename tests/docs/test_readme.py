"""The README's Quick start is what CI runs, and its settings table is what the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from opentelemetry.exporter.google_analytics import environment_variables as ga_env

from otel_aa import environment_variables as aa_env

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def _quick_start_commands() -> list[str]:
    blocks = re.findall(r"^```(?:bash|sh|console)?\n(.*?)^```", _section("Quick start"), re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _setting_names(module: object) -> set[str]:
    return {
        value
        for name, value in vars(module).items()
        if name.isupper() and not name.startswith("DEFAULT_") and value == name
    }


def test_quick_start_has_exactly_two_commands() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    assert commands[0].endswith("otel-aa demo")
    assert "pytest" in commands[1]


def test_second_quick_start_command_is_what_ci_runs() -> None:
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    last = [line for line in ci_lines if line][-1]
    assert _quick_start_commands()[1] == last


def test_settings_table_lists_exactly_the_settings_the_code_reads() -> None:
    table = _section("Settings")
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))
    expected = _setting_names(ga_env) | _setting_names(aa_env)
    assert expected, "no setting names found in the constants modules"
    assert listed == expected, {"missing": expected - listed, "unknown": listed - expected}


def test_zero_code_lines_follow_the_contract() -> None:
    prefix = (
        "DJANGO_SETTINGS_MODULE=myauth.settings.local OTEL_PYTHON_CONFIGURATOR=otel_aa "
        "OTEL_PYTHON_DISTRO=otel_aa OTEL_TRACES_EXPORTER=ga,otlp OTEL_METRICS_EXPORTER=ga "
    )
    commands = [line for line in README.splitlines() if line.startswith("command=")]
    programs = {"gunicorn myauth.wsgi", "-A myauth worker --pool=threads", "-A myauth beat"}
    for program in programs:
        (line,) = [line for line in commands if program in line]
        assert prefix in line
        assert line.index("opentelemetry-instrument") < line.index(program)
