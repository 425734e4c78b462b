"""Sphinx directives that render otel-aa's settings and privacy allowlist from the code itself.

Constants' docstrings are not runtime attributes, so each module's source is read with
:mod:`ast`: a string literal right after an assignment is that constant's docstring (the
convention of OpenTelemetry's ``environment_variables`` modules). The docs therefore cannot
drift from the names the code reads.

``settings-table``
    One row per setting name (a constant whose value is its own name) of the given modules:
    name, default (the ``DEFAULT_*`` constant that follows it, if any) and description. Each
    name becomes an ``envvar`` target, so ``:envvar:`` roles in the docs resolve to its row.

``constants-list``
    Every public upper-case constant of a module with its docstring and its value (imported,
    so it is what runs), sets and tuples as lists of items. Used for the privacy allowlist.

``ga-fields-table``
    A module's ``GA_FIELDS`` data table: every field of a GA hit, where its value comes from,
    and the code or closed set it belongs to (``otel_aa._ga_fields``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_ENVVAR_LINE = re.compile(r"^\s*\.\.\s+envvar::.*$", re.MULTILINE)


@dataclass(frozen=True)
class Constant:
    """One module-level constant as written in the source."""

    name: str
    value_source: str
    literal: Any
    has_literal: bool
    doc: str
    default: Constant | None = None
    #: For a set, tuple or list literal: each item's source with the comment lines above it.
    items: tuple[tuple[str, str], ...] = ()


def _module_source(module: str) -> tuple[str, Path]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ValueError(f"module {module!r} not found")
    path = Path(spec.origin)
    return path.read_text(encoding="utf-8"), path


def read_constants(module: str) -> list[Constant]:
    """The module's upper-case constants in source order, with their docstrings."""
    source, _ = _module_source(module)
    lines = source.splitlines()
    body = ast.parse(source).body
    found: list[Constant] = []
    for index, stmt in enumerate(body):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            continue
        if not isinstance(target, ast.Name) or not target.id.isupper() or target.id.startswith("_"):
            continue
        doc = ""
        if index + 1 < len(body):
            following = body[index + 1]
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                doc = textwrap.dedent(following.value.value).strip()
        if not doc:
            doc = _comment_above(lines, stmt.lineno - 1, marker="#:")
        try:
            literal, has_literal = ast.literal_eval(value), True
        except ValueError:
            literal, has_literal = None, False
        items = _commented_items(lines, value, stmt.lineno, module)
        found.append(Constant(target.id, ast.unparse(value), literal, has_literal, doc, items=items))
    return found


def _comment_above(lines: list[str], index: int, marker: str = "#") -> str:
    """The comment block ending on the line before ``lines[index]`` (0-based), markers removed."""
    block: list[str] = []
    index -= 1
    while index >= 0 and lines[index].strip().startswith(marker):
        block.append(lines[index].strip()[len(marker) :].strip())
        index -= 1
    return " ".join(reversed(block)).strip()


def _commented_items(lines: list[str], value: ast.expr, first_line: int,
                     module: str) -> tuple[tuple[str, str], ...]:
    # Sentry-style allowlists comment each entry (or group of entries) with its reason.
    if isinstance(value, ast.Call) and value.args:
        value = value.args[0]
    if not isinstance(value, (ast.Set, ast.Tuple, ast.List)):
        return ()
    items: list[tuple[str, str]] = []
    reason = ""
    for element in value.elts:
        # An entry on the assignment's own line has no comment of its own above it.
        comment = _comment_above(lines, element.lineno - 1) if element.lineno > first_line else ""
        if comment:
            reason = comment
        items.extend((text, reason) for text in _item_texts(element, module))
    return tuple(items)


def _item_texts(element: ast.expr, module: str) -> list[str]:
    # A literal as written; a name (``attr.HTTP_ROUTE``, ``*names.TASK_COUNT_ATTRIBUTES``) as the
    # imported module has it, so the page shows the attribute names that run.
    try:
        return [str(ast.literal_eval(element))]
    except ValueError:
        pass
    starred = isinstance(element, ast.Starred)
    source = ast.unparse(element.value if isinstance(element, ast.Starred) else element)
    try:
        value = eval(source, vars(importlib.import_module(module)))  # our own source, imported
    except Exception:
        return [ast.unparse(element)]
    return sorted(str(item) for item in value) if starred else [str(value)]


def settings_of(module: str) -> list[Constant]:
    """The setting names of an ``environment_variables`` module, each with its ``DEFAULT_*``."""
    rows: list[Constant] = []
    for const in read_constants(module):
        if const.literal == const.name:
            rows.append(const)
        elif const.name.startswith("DEFAULT_") and rows and rows[-1].default is None:
            last = rows[-1]
            rows[-1] = Constant(last.name, last.value_source, last.literal, last.has_literal, last.doc, const)
    return rows


def _format_default(const: Constant | None) -> str:
    if const is None:
        return "see description"
    if not const.has_literal:
        return f"``{const.value_source}``"
    value = const.literal
    if isinstance(value, bool):
        return f"``{str(value).lower()}``"
    if value in ((), [], None, ""):
        return "none"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"``{value}``"


def _format_value(value: Any) -> list[str]:
    if isinstance(value, (set, frozenset)):
        return [f"``{item}``" for item in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [f"``{item}``" for item in value]
    if isinstance(value, dict):
        return [f"``{key}``: {', '.join(_format_value(val)) or 'none'}" for key, val in value.items()]
    return [f"``{value!r}``"]


def _grouped_items(items: tuple[tuple[str, str], ...]) -> str:
    """A list-table: the entries sharing a comment in one row, the comment as the reason."""
    groups: list[tuple[list[str], str]] = []
    for text, reason in items:
        if groups and groups[-1][1] == reason:
            groups[-1][0].append(text)
        else:
            groups.append(([text], reason))
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 40 60", "", "   * - entries", "     - why"]
    for names, reason in groups:
        out.append("   * - " + ", ".join(f"``{name}``" for name in names))
        out.append("     - " + (reason or "(no comment in the code)"))
    return "\n".join(out)


class _RstDirective(SphinxDirective):
    """Base: parse generated reStructuredText even when the caller is a MyST page."""

    def _parse_rst(self, text: str) -> list[nodes.Node]:
        from docutils.frontend import get_default_settings
        from docutils.parsers.rst import Parser
        from docutils.utils import new_document

        # MyST pages hand directives a Markdown state; docstrings are reStructuredText, so they
        # get a reStructuredText parse of their own, sharing the page's settings and env.
        settings = get_default_settings(Parser)
        settings.env = self.env
        settings.report_level = self.state.document.settings.report_level
        settings.halt_level = self.state.document.settings.halt_level
        settings.warning_stream = self.state.document.settings.warning_stream
        document = new_document(self.env.docname, settings)
        document.reporter = self.state.document.reporter
        Parser().parse(text, document)
        return list(document.children)

    def _register_envvar(self, name: str) -> nodes.target:
        node_id = f"envvar-{name}"
        target = nodes.target("", "", ids=[node_id])
        location = (self.env.docname, self.lineno)
        self.env.get_domain("std").note_object("envvar", name, node_id, location=location)
        return target


class SettingsTable(_RstDirective):
    """``.. settings-table:: module [module ...]``"""

    required_arguments = 1
    optional_arguments = 10
    has_content = False

    def run(self) -> list[nodes.Node]:
        for module in self.arguments:
            _, path = _module_source(module)
            self.env.note_dependency(str(path))
        rows = [const for module in self.arguments for const in settings_of(module)]
        if not rows:
            raise self.error(f"no settings found in {', '.join(self.arguments)}")
        table = nodes.table(classes=["otel-aa-settings"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (30, 15, 55):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row([nodes.paragraph(text=title) for title in ("setting", "default", "meaning")])
        bodynode = nodes.tbody()
        group += bodynode
        for const in rows:
            name_cell: list[nodes.Node] = [
                self._register_envvar(const.name),
                nodes.paragraph("", "", nodes.literal(text=const.name)),
            ]
            default_cell = self._parse_rst(_format_default(const.default))
            doc = _ENVVAR_LINE.sub("", const.doc).strip() or "(undocumented)"
            bodynode += self._row([name_cell, default_cell, self._parse_rst(doc)])
        return [table]

    @staticmethod
    def _row(cells: Iterable[Any]) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            if isinstance(cell, nodes.Node):
                entry += cell
            else:
                entry.extend(cell)
            row += entry
        return row


class ConstantsList(_RstDirective):
    """``.. constants-list:: module``: public constants with docstrings and their values."""

    required_arguments = 1
    has_content = False
    option_spec = {"prefix": lambda text: text.strip()}

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        _, path = _module_source(module_name)
        self.env.note_dependency(str(path))
        module = importlib.import_module(module_name)
        prefix = self.options.get("prefix", "")
        result: list[nodes.Node] = []
        for const in read_constants(module_name):
            public = getattr(module, "__all__", [const.name])
            if not const.name.startswith(prefix) or const.name not in public:
                continue
            value = getattr(module, const.name)
            section = nodes.container(classes=["otel-aa-constant"])
            section += nodes.rubric("", "", nodes.literal(text=f"{module_name}.{const.name}"))
            if const.doc:
                section.extend(self._parse_rst(const.doc))
            if const.items and any(reason for _, reason in const.items):
                section.extend(self._parse_rst(_grouped_items(const.items)))
            else:
                items = _format_value(value)
                section.extend(self._parse_rst("\n".join(f"- {item}" for item in items) or "(empty)"))
            result.append(section)
        if not result:
            raise self.error(f"no public constants found in {module_name}")
        return result


class GAFieldsTable(SettingsTable):
    """``.. ga-fields-table:: module``: the module's ``GA_FIELDS`` (see :mod:`otel_aa._ga_fields`),
    one row per field of a GA hit: its path, the events that carry it, where its value comes
    from, and the code or closed set it belongs to."""

    required_arguments = 1
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        _, path = _module_source(module_name)
        self.env.note_dependency(str(path))
        fields = getattr(importlib.import_module(module_name), "GA_FIELDS", ())
        if not fields:
            raise self.error(f"no GA_FIELDS in {module_name}")
        table = nodes.table(classes=["otel-aa-ga-fields"])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (25, 10, 35, 30):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row([nodes.paragraph(text=title) for title in ("field", "events", "value from",
                                                                     "belongs to")])
        body = nodes.tbody()
        group += body
        for field in fields:
            body += self._row([
                nodes.paragraph("", "", nodes.literal(text=field.path)),
                nodes.paragraph(text=field.events),
                nodes.paragraph(text=field.source),
                nodes.paragraph(text=field.belongs_to),
            ])
        return [table]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("settings-table", SettingsTable)
    app.add_directive("constants-list", ConstantsList)
    app.add_directive("ga-fields-table", GAFieldsTable)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["Constant", "ConstantsList", "GAFieldsTable", "SettingsTable", "read_constants", "settings_of",
           "setup"]
