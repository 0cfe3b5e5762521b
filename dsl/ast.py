"""The syntax tree of a rule file: frozen dataclasses, each with the span it came from.

The tree mirrors what was written (aliases unresolved, labels optional); the checker
resolves names and the compiler turns it into plain data. A badge body is a flat tuple
of independent statements, so a new statement kind is a new class, not a new field.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl.diagnostics import Span

__all__ = [
    "Badge",
    "BadgeStatement",
    "BareWord",
    "BoolLiteral",
    "Comparison",
    "Condition",
    "Description",
    "EventDecl",
    "EventRef",
    "FieldDecl",
    "Ident",
    "AnyGroup",
    "Literal",
    "Match",
    "NumberLiteral",
    "Path",
    "Penalty",
    "Repeatable",
    "Requirement",
    "RuleFile",
    "StringLiteral",
    "Template",
    "Truthy",
]


@dataclass(frozen=True)
class Ident:
    """A name as written, with its position."""

    name: str
    span: Span


@dataclass(frozen=True)
class Path:
    """A dotted key path relative to the event payload."""

    segments: tuple[str, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return ".".join(self.segments)


@dataclass(frozen=True)
class StringLiteral:
    value: str
    span: Span


@dataclass(frozen=True)
class NumberLiteral:
    value: int | float
    text: str
    span: Span


@dataclass(frozen=True)
class BoolLiteral:
    """``true``/``false``; ``spelling`` keeps aliases (``yes``, ``+``...) for the checker."""

    value: bool
    spelling: str
    span: Span

    @property
    def is_alias(self) -> bool:
        return self.spelling not in ("true", "false")


@dataclass(frozen=True)
class BareWord:
    """An unquoted word on the right of an operator; always an error, kept for the hint."""

    text: str
    span: Span


Literal = StringLiteral | NumberLiteral | BoolLiteral | BareWord


@dataclass(frozen=True)
class Comparison:
    path: Path
    op: str
    value: Literal
    span: Span


@dataclass(frozen=True)
class Truthy:
    """A bare path: shorthand for ``path == true`` on a bool field."""

    path: Path
    span: Span


Condition = Comparison | Truthy


@dataclass(frozen=True)
class EventRef:
    """``passed`` (an alias) or ``"org.openedx...v1"`` (a full type, ``quoted``)."""

    text: str
    quoted: bool
    span: Span


@dataclass(frozen=True)
class Match:
    """``on EVENT [where COND and COND ...]``."""

    event: EventRef
    conditions: tuple[Condition, ...]
    span: Span


@dataclass(frozen=True)
class Requirement:
    label: Ident | None
    match: Match
    span: Span


@dataclass(frozen=True)
class AnyGroup:
    label: Ident | None
    members: tuple[Requirement, ...]
    span: Span


@dataclass(frozen=True)
class Penalty:
    """``penalty [label:] on ... resets a, b`` or ``resets all`` (``resets`` empty)."""

    label: Ident | None
    match: Match
    resets_all: bool
    resets: tuple[Ident, ...]
    span: Span


@dataclass(frozen=True)
class Template:
    provider: Ident
    external_id: str
    span: Span


@dataclass(frozen=True)
class Description:
    text: str
    span: Span


@dataclass(frozen=True)
class Repeatable:
    span: Span


BadgeStatement = Template | Description | Repeatable | Requirement | AnyGroup | Penalty


@dataclass(frozen=True)
class Badge:
    slug: str
    slug_span: Span
    statements: tuple[BadgeStatement, ...]
    span: Span


@dataclass(frozen=True)
class FieldDecl:
    path: Path
    type_name: Ident
    span: Span


@dataclass(frozen=True)
class EventDecl:
    """``event ALIAS = "type" [{ path: type ... }]``; ``fields`` is None without a block."""

    alias: Ident
    event_type: str
    type_span: Span
    fields: tuple[FieldDecl, ...] | None
    span: Span


@dataclass(frozen=True)
class RuleFile:
    name: str
    events: tuple[EventDecl, ...]
    badges: tuple[Badge, ...]
