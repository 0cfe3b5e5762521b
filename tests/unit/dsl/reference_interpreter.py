"""A deliberately simple tree-walking interpreter of `where` conditions: the reference
the compiled predicates must agree with (conformance table and property tests).

It spells the semantics out plainly instead of fast: look the path up; a missing path
or a value of the wrong type fails every test; `not exists` and `not (...)` are the only
ways an absent value can make a condition hold.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dsl import ast
from dsl.schemas import FieldType
from dsl.timestamps import parse_literal

MISSING = object()
Types = Callable[[ast.Path], FieldType]

_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def lookup(payload: Mapping[str, Any], segments: tuple[str, ...]) -> Any:
    node: Any = payload
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            return MISSING
        node = node[segment]
    return node


def typed(value: Any, field_type: FieldType) -> Any:
    """The value as the field's type, or MISSING when it is not of that type."""
    if field_type is FieldType.BOOL:
        return value if type(value) is bool else MISSING
    if field_type is FieldType.NUMBER:
        return value if type(value) in (int, float) else MISSING
    if field_type is FieldType.STRING:
        return value if type(value) is str else MISSING
    if type(value) is not str:
        return MISSING
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return MISSING
    return parsed if parsed.tzinfo is not None else MISSING


def literal(value: ast.Literal) -> Any:
    if isinstance(value, ast.TimestampLiteral):
        return parse_literal(value.text)
    assert not isinstance(value, ast.BareWord)
    return value.value


def holds(condition: ast.Condition, types: Types, payload: Mapping[str, Any]) -> bool:
    if isinstance(condition, ast.AllOf):
        return all(holds(c, types, payload) for c in condition.operands)
    if isinstance(condition, ast.AnyOf):
        return any(holds(c, types, payload) for c in condition.operands)
    if isinstance(condition, ast.Not):
        return not holds(condition.operand, types, payload)
    raw = lookup(payload, condition.path.segments)
    if isinstance(condition, ast.Exists):
        present = raw is not MISSING and raw is not None
        return not present if condition.negated else present
    if raw is MISSING:
        return False
    value = typed(raw, types(condition.path))
    if value is MISSING:
        return False
    if isinstance(condition, ast.Truthy):
        return value is True
    return _test(condition, value)


def _test(condition: ast.Test, value: Any) -> bool:
    fold = condition.ignore_case  # type: ignore[union-attr]

    def norm(x: Any) -> Any:
        return x.casefold() if fold else x

    if isinstance(condition, ast.Comparison):
        return _OPERATORS[condition.op](norm(value), norm(literal(condition.value)))
    if isinstance(condition, ast.Membership):
        found = any(norm(value) == norm(literal(v)) for v in condition.values)
        return found != condition.negated
    if isinstance(condition, ast.TextTest):
        needle = norm(condition.value.value)
        result = {
            "starts with": lambda: norm(value).startswith(needle),
            "ends with": lambda: norm(value).endswith(needle),
            "contains": lambda: needle in norm(value),
        }[condition.op]()
        return result != condition.negated
    assert isinstance(condition, ast.RegexTest)
    flags = re.IGNORECASE if fold else 0
    found = re.search(condition.pattern.pattern, value, flags) is not None
    return found != condition.negated


def holds_all(
    conditions: Sequence[ast.Condition], types: Types, payload: Mapping[str, Any]
) -> bool:
    return all(holds(c, types, payload) for c in conditions)
