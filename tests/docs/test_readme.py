"""The README's Quick start is what CI runs, and its settings table is what the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
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


HOME = "/home/allianceserver"
VENV = f"{HOME}/venv/auth"
# What `allianceauth start` fills AA 5.5's supervisor.conf template with.
AA_START_CONTEXT = {
    "project_name": "myauth",
    "project_directory": f"{HOME}/myauth",
    "venv_directory": VENV,
    "celery": f"{VENV}/bin/celery",
    "gunicorn": f"{VENV}/bin/gunicorn",
    "memmon": f"{VENV}/bin/memmon",
}
ZERO_CODE_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "myauth.settings.local",
    "OTEL_PYTHON_CONFIGURATOR": "otel_aa",
    "OTEL_PYTHON_DISTRO": "otel_aa",
    "OTEL_TRACES_EXPORTER": "ga",
    "OTEL_METRICS_EXPORTER": "ga",
}


def _ini_blocks(section: str) -> list[str]:
    return re.findall(r"^```ini\n(.*?)^```", _section(section), re.M | re.S)


def _aa_supervisor_conf_with_readme_environment(tmp_path: Path) -> Path:
    """AA's own generated supervisor.conf, its [supervisord] section replaced by the README's."""
    import allianceauth
    from django.template import Context, Engine

    template = Path(allianceauth.__file__).parent / "project_template" / "supervisor.conf"
    rendered = Engine().from_string(template.read_text(encoding="utf-8")).render(Context(AA_START_CONTEXT))
    (readme_block,) = [b for b in _ini_blocks("Use it in Alliance Auth") if b.startswith("[supervisord]")]
    head, sep, rest = rendered.partition("[supervisord]")
    assert sep, "AA's supervisor.conf has no [supervisord] section"
    program = rest.index("\n[")
    path = tmp_path / "supervisor.conf"
    # The only changes: supervisor checks that the programs' user and log directory exist, and
    # this machine has no allianceserver user: that user and its home become this test's own.
    import getpass

    text = (head + readme_block + rest[program:]).replace("AA_USER = allianceserver,",
                                                          f"AA_USER = {getpass.getuser()},")
    (tmp_path / "myauth" / "log").mkdir(parents=True)
    path.write_text(text.replace(HOME, str(tmp_path)), encoding="utf-8")
    return path


def test_zero_code_environment_instruments_every_program_of_aa_supervisor_conf(tmp_path: Path) -> None:
    """The README's lines, read by supervisor itself, in the file AA 5.5 generates, unchanged else."""
    import shlex

    pytest.importorskip("allianceauth")
    from supervisor.options import ServerOptions

    options = ServerOptions()
    options.configfile = str(_aa_supervisor_conf_with_readme_environment(tmp_path))
    venv = VENV.replace(HOME, str(tmp_path))
    options.process_config(do_usage=False)
    for group in options.process_group_configs:
        for process in group.process_configs:
            # What supervisor gives each program: its [supervisord] environment, memmon's too.
            environment = process.environment or {}
            for name, value in ZERO_CODE_ENVIRONMENT.items():
                assert environment.get(name) == value, (group.name, name, environment.get(name))
    # Process names as AA's file sets them (process_name = %(program_name)s_%(process_num)02d).
    commands = {
        re.sub(r"_\d\d$", "", process.name): [shlex.split(process.command)]
        for group in options.process_group_configs
        for process in group.process_configs
        if group.name != "memmon"
    }
    assert set(commands) == {"beat", "worker", "worker_services", "gunicorn"}, commands
    instrument = f"{venv}/bin/opentelemetry-instrument"
    for name, argvs in commands.items():
        for argv in argvs:
            assert argv[0] == instrument, (name, argv)
            program = f"{venv}/bin/gunicorn" if name == "gunicorn" else f"{venv}/bin/celery"
            assert argv[1] == program, (name, argv)
    # AA's own options are still there: the README changes the environment, nothing else.
    (gunicorn,) = commands["gunicorn"]
    assert "--no-control-socket" in gunicorn
    assert gunicorn[gunicorn.index("--pid") + 1] == f"{tmp_path}/myauth/gunicorn.pid"
    (services,) = commands["worker_services"]
    assert services[services.index("-Q") + 1] == "services"


def test_otlp_is_the_optional_addition_not_the_default() -> None:
    from supervisor.datatypes import dict_of_key_value_pairs

    start = _section("Use it in Alliance Auth")
    assert "ga,otlp" not in start
    (block,) = _ini_blocks("OTLP alongside")
    added = dict_of_key_value_pairs(block.strip().rstrip(","))
    assert added["OTEL_TRACES_EXPORTER"] == "ga,otlp"
    assert added["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://127.0.0.1:")


def test_local_py_lines_run_on_alliance_auths_own_settings() -> None:
    """The README's local.py block, executed on top of AA 5.5's base settings, as local.py does."""
    pytest.importorskip("allianceauth")
    import importlib

    base = importlib.import_module("allianceauth.project_template.project_name.settings.base")
    block = re.findall(r"^```python\n(.*?)^```", _section("Use it in Alliance Auth"), re.M | re.S)[0]
    # Copies of what the block changes: AA's module stays as other tests import it.
    namespace = {k: v for k, v in vars(base).items() if k.isupper()}
    namespace["INSTALLED_APPS"] = list(namespace["INSTALLED_APPS"])
    namespace["CELERYBEAT_SCHEDULE"] = dict(namespace["CELERYBEAT_SCHEDULE"])
    namespace["LOGGING"] = {**namespace["LOGGING"], "loggers": dict(namespace["LOGGING"]["loggers"])}
    assert "analytics_daily_stats" in namespace["CELERYBEAT_SCHEDULE"]
    exec(compile(block, "README.md", "exec"), namespace)
    assert "otel_aa" in namespace["INSTALLED_APPS"]
    assert "analytics_daily_stats" not in namespace["CELERYBEAT_SCHEDULE"]
    handlers = namespace["LOGGING"]["handlers"]
    for name in ("otel_aa", "opentelemetry.exporter.google_analytics"):
        logger = namespace["LOGGING"]["loggers"][name]
        assert set(logger["handlers"]) <= set(handlers), (name, logger)
