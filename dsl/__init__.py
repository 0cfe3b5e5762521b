"""badgeflow rules language: rule files -> checked, compiled ``RuleSet``.

Example::

    >>> import dsl
    >>> text = '''
    ... badge "demo-graduate" {
    ...     template credly "8f2b7c1e-1111-2222-3333-444455556666"
    ...     require demo: on course_passed where is_passing
    ... }
    ... '''
    >>> ruleset = dsl.compile_rules([dsl.SourceFile("rules/demo.badge", text)])
    >>> ruleset.badges[0].requirement("demo").matches({"is_passing": True})
    True

``check`` returns diagnostics without raising; ``compile_rules`` raises ``RuleError``
carrying them. Codes are listed in ``dsl/DIAGNOSTICS.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dsl import ast as _ast
from dsl.checker import Environment as _Environment
from dsl.checker import check_files as _check_files
from dsl.compiler import compile_files as _compile_files
from dsl.diagnostics import Diagnostic, Severity, Span
from dsl.diagnostics import SourceLines as _SourceLines
from dsl.diagnostics import render_all as _render_all
from dsl.parser import parse as _parse
from dsl.ruleset import (
    CompiledBadge,
    CompiledGroup,
    CompiledPenalty,
    CompiledRequirement,
    RuleSet,
)

__all__ = [
    "CompiledBadge",
    "CompiledGroup",
    "CompiledPenalty",
    "CompiledRequirement",
    "Diagnostic",
    "RuleError",
    "RuleSet",
    "Severity",
    "SourceFile",
    "Span",
    "check",
    "compile_rules",
]


@dataclass(frozen=True)
class SourceFile:
    """One rule file: ``name`` appears in diagnostics (``rules/x.badge:3:14: ...``)."""

    name: str
    text: str


class RuleError(Exception):
    """Rule files have errors; ``str()`` renders all of them.

    Example::

        >>> try:
        ...     dsl.compile_rules([dsl.SourceFile("x.badge", 'badge "b" { }')])
        ... except dsl.RuleError as exc:
        ...     [d.code for d in exc.diagnostics]
        ['E401', 'E404']
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__(_render_all(self.diagnostics))


def check(files: Sequence[SourceFile]) -> list[Diagnostic]:
    """Parse and check ``files`` together; every diagnostic, sorted by file/line/column.

    Never raises for bad input. Syntax errors stop at the first one per file; when a
    file does not parse, only syntax errors are returned, since checking the others
    against an incomplete view (missing slugs, templates, schemas) would mislead.
    """
    diagnostics, _ = _analyse(files)
    return diagnostics


def compile_rules(files: Sequence[SourceFile]) -> RuleSet:
    """Check and compile ``files``; raises ``RuleError`` if there is any error.

    Warnings do not stop compilation.
    """
    diagnostics, checked = _analyse(files)
    if checked is None or any(d.severity is Severity.ERROR for d in diagnostics):
        raise RuleError([d for d in diagnostics if d.severity is Severity.ERROR])
    trees, environment = checked
    return _compile_files(trees, environment)


def _analyse(
    files: Sequence[SourceFile],
) -> tuple[list[Diagnostic], tuple[list[_ast.RuleFile], _Environment] | None]:
    results = [_parse(f.name, f.text) for f in files]
    syntax = [r.diagnostic for r in results if r.diagnostic is not None]
    if syntax:
        return _sorted(syntax), None
    trees = [r.tree for r in results if r.tree is not None]
    lines = _SourceLines({f.name: f.text for f in files})
    diagnostics, environment = _check_files(trees, lines)
    return _sorted(diagnostics), (trees, environment)


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: d.sort_key)
