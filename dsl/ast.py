"""The syntax tree of a rule file: frozen dataclasses, each with the span it came from.

The tree mirrors what was written (aliases unresolved, labels optional); the checker
resolves names and the compiler turns it into plain data. A badge body is a flat tuple
of independent statements, so a new statement kind is a new class, not a new field.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl.diagnostics import Span

__all__ = [
    "AllOf",
    "AnyGroup",
    "AnyOf",
    "Badge",
    "BadgeStatement",
    "BareWord",
    "BoolLiteral",
    "Comparison",
    "Condition",
    "Count",
    "Criterion",
    "Description",
    "During",
    "EventDecl",
    "EventRef",
    "Evidence",
    "Exists",
    "ExpiresAfter",
    "ExpiresOn",
    "FieldDecl",
    "HasBadge",
    "Ident",
    "InOrder",
    "Literal",
    "Match",
    "Membership",
    "Method",
    "Not",
    "NumberLiteral",
    "Path",
    "Penalty",
    "RegexLiteral",
    "RegexTest",
    "Repeatable",
    "Requirement",
    "RuleFile",
    "StringLiteral",
    "Template",
    "Test",
    "TextTest",
    "TimestampLiteral",
    "Truthy",
    "Window",
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


@dataclass(frozen=True)
class TimestampLiteral:
    """``2027-02-01`` or ``2027-02-01T10:00:00Z`` as written; the checker validates it
    (a real date, an explicit offset) and ``dsl.timestamps`` turns it into a datetime."""

    text: str
    span: Span


@dataclass(frozen=True)
class RegexLiteral:
    """``/a\\/b/`` or ``"a/b"`` after ``matches``: the pattern text, and for each of its
    characters the source column it came from, so an invalid pattern is pointed at."""

    pattern: str
    columns: tuple[int, ...]
    span: Span


Literal = StringLiteral | NumberLiteral | BoolLiteral | TimestampLiteral | BareWord


@dataclass(frozen=True)
class Comparison:
    """``path OP value [ignoring case]`` with OP one of ``== != < <= > >=``."""

    path: Path
    op: str
    value: Literal
    span: Span
    ignore_case: bool = False


@dataclass(frozen=True)
class Membership:
    """``path [not] in [v1, v2, ...] [ignoring case]``."""

    path: Path
    negated: bool
    values: tuple[Literal, ...]
    span: Span
    ignore_case: bool = False


@dataclass(frozen=True)
class TextTest:
    """``path [not] starts with|ends with|contains "x" [ignoring case]``.

    ``op`` is ``starts with``, ``ends with`` or ``contains``."""

    path: Path
    op: str
    negated: bool
    value: StringLiteral
    span: Span
    ignore_case: bool = False


@dataclass(frozen=True)
class RegexTest:
    """``path [not] matches /regex/ [ignoring case]``: a search anywhere in the value."""

    path: Path
    negated: bool
    pattern: RegexLiteral
    span: Span
    ignore_case: bool = False


@dataclass(frozen=True)
class Exists:
    """``path exists`` / ``path not exists``: present and not null (or the opposite)."""

    path: Path
    negated: bool
    span: Span


@dataclass(frozen=True)
class Truthy:
    """A bare path: shorthand for ``path == true`` on a bool field."""

    path: Path
    span: Span


Test = Comparison | Membership | TextTest | RegexTest | Exists | Truthy


@dataclass(frozen=True)
class Not:
    """``not COND``: logical negation, so it holds when COND does not (even when a
    path COND tests is missing)."""

    operand: Condition
    span: Span


@dataclass(frozen=True)
class AllOf:
    """``A and B and ...`` (two or more operands, flattened)."""

    operands: tuple[Condition, ...]
    span: Span


@dataclass(frozen=True)
class AnyOf:
    """``A or B or ...`` (two or more operands, flattened)."""

    operands: tuple[Condition, ...]
    span: Span


Condition = Test | Not | AllOf | AnyOf


@dataclass(frozen=True)
class EventRef:
    """``passed`` (an alias) or ``"org.openedx...v1"`` (a full type, ``quoted``)."""

    text: str
    quoted: bool
    span: Span


@dataclass(frozen=True)
class During:
    """``during A .. B``: the event's time t must satisfy A <= t < B."""

    start: TimestampLiteral
    end: TimestampLiteral
    span: Span


@dataclass(frozen=True)
class Match:
    """``on EVENT [where COND] [during A .. B]``.

    ``conditions`` are the top-level ``and`` operands (empty without ``where``); each
    may itself be an ``or``, a ``not`` or a parenthesised group."""

    event: EventRef
    conditions: tuple[Condition, ...]
    span: Span
    during: During | None = None


@dataclass(frozen=True)
class Count:
    """``count [distinct PATH] >= N of (MATCH)``; ``op`` is None when none was written
    (the checker explains that ``>=`` is the one form)."""

    op: str | None
    threshold: NumberLiteral
    distinct: Path | None
    match: Match
    span: Span


@dataclass(frozen=True)
class InOrder:
    """``MATCH then MATCH [then ...]``: the steps in order."""

    steps: tuple[Match, ...]
    span: Span


@dataclass(frozen=True)
class HasBadge:
    """``has badge "slug"``: the learner holds another badge."""

    slug: str
    slug_span: Span
    span: Span


Criterion = Match | Count | InOrder | HasBadge


@dataclass(frozen=True)
class Window:
    """``within N UNIT`` after a requirement (a rolling window)."""

    amount: NumberLiteral
    unit: Ident
    span: Span


@dataclass(frozen=True)
class Requirement:
    label: Ident | None
    criterion: Criterion
    span: Span
    window: Window | None = None

    @property
    def matches(self) -> tuple[Match, ...]:
        """Every ``on EVENT ...`` in the requirement, in order (the triggers)."""
        criterion = self.criterion
        if isinstance(criterion, Match):
            return (criterion,)
        if isinstance(criterion, Count):
            return (criterion.match,)
        if isinstance(criterion, InOrder):
            return criterion.steps
        return ()


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


@dataclass(frozen=True)
class Method:
    """``method issue|update|issue_or_update`` (the name is checked, not parsed)."""

    name: Ident
    span: Span


@dataclass(frozen=True)
class ExpiresAfter:
    """``expires after N UNIT``."""

    amount: NumberLiteral
    unit: Ident
    span: Span


@dataclass(frozen=True)
class ExpiresOn:
    """``expires on TIMESTAMP``."""

    at: TimestampLiteral
    span: Span


@dataclass(frozen=True)
class Evidence:
    """``evidence KIND "name" "template with {key.path} fields"``."""

    kind: Ident
    name: StringLiteral
    template: StringLiteral
    span: Span


BadgeStatement = (
    Template
    | Description
    | Repeatable
    | Requirement
    | AnyGroup
    | Penalty
    | Method
    | ExpiresAfter
    | ExpiresOn
    | Evidence
)


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
