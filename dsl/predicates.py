"""Conditions -> one generated Python function per trigger, compiled once.

Why generated code: an event is tested against many predicates, so the per-event cost
must be a few attribute lookups and comparisons, with no tree walk and no dispatch on
node kinds. Key paths are split at compile time and each prefix is looked up once;
constants (strings, numbers, sets for ``in``, compiled regexes, datetimes) reach the
function through its globals, never pasted into source text, so nothing a rule file
contains can be executed.

Semantics (the reference interpreter in tests/unit/dsl spells them out):

* a missing path (a key absent, or a parent that is not an object) matches no test,
  ``!=``, ``not in``, ``not contains`` and ``not matches`` included; ``not exists``
  is the test for absence, and ``exists`` means present and not null;
* a value of the wrong type matches no test either (``bool`` is not a number, a
  number is not a bool); a timestamp is an ISO 8601 string with an offset, anything
  else in a timestamp field is the wrong type;
* ``not COND`` negates the whole condition, so it holds when COND's path is missing;
* numbers compare by value (``5 == 5.0``); strings case-sensitively unless the test
  says ``ignoring case`` (both sides casefolded); ``matches`` searches anywhere.

Top-level ``and`` operands that need their path present return early as soon as a
parent is not an object, like a hand-written predicate would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from dsl import ast
from dsl.criteria import MISSING
from dsl.ruleset import Equality, Predicate
from dsl.schemas import FieldType
from dsl.timestamps import parse_literal, parse_payload
from dsl.typecheck import regex_flags

__all__ = ["FieldTypes", "compile_conditions", "equalities", "literal_value"]

FieldTypes = Callable[[ast.Path], FieldType]

_NUMBER_TYPES = frozenset({int, float})
_GUARDS = {
    FieldType.NUMBER: "{v}.__class__ in _NUM",
    FieldType.STRING: "{v}.__class__ is str",
    FieldType.BOOL: "{v}.__class__ is bool",
}
_TEXT_METHODS = {"starts with": "{v}.startswith({c})", "ends with": "{v}.endswith({c})"}


def literal_value(literal: ast.Literal) -> Any:
    """The Python value of a checked literal (a datetime for a timestamp)."""
    if isinstance(literal, ast.TimestampLiteral):
        return parse_literal(literal.text)
    assert not isinstance(literal, ast.BareWord), "the checker rejects bare words"
    return literal.value


def equalities(conditions: Sequence[ast.Condition], types: FieldTypes) -> tuple[Equality, ...]:
    """(path, constant) pairs every match must have: top-level ``path == constant``
    (not ``ignoring case``, not timestamps) and bare bool paths."""
    found: list[Equality] = []
    for condition in conditions:
        if isinstance(condition, ast.Truthy):
            found.append((condition.path.segments, True))
        elif (
            isinstance(condition, ast.Comparison)
            and condition.op == "=="
            and not condition.ignore_case
            and types(condition.path) is not FieldType.TIMESTAMP
        ):
            found.append((condition.path.segments, literal_value(condition.value)))
    return tuple(found)


def compile_conditions(
    conditions: Sequence[ast.Condition], types: FieldTypes, *, name: str = "predicate"
) -> Predicate:
    """``def predicate(payload) -> bool`` holding when all ``conditions`` hold."""
    generator = _Generator(types)
    for condition in conditions:
        generator.add_conjunct(condition)
    source = "def predicate(payload):\n" + "".join(f"    {line}\n" for line in generator.lines)
    source += "    return True\n"
    namespace = generator.namespace
    exec(compile(source, f"<badgeflow rule {name}>", "exec"), namespace)
    predicate = namespace["predicate"]
    predicate.__doc__ = name
    return predicate


class _Generator:
    def __init__(self, types: FieldTypes) -> None:
        self.types = types
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "_MISSING": MISSING,
            "_NUM": _NUMBER_TYPES,
            "_ts": parse_payload,
        }
        # path prefix -> (local variable, known to be a dict)
        self._vars: dict[tuple[str, ...], tuple[str, bool]] = {}
        self._count = 0

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def constant(self, value: Any) -> str:
        name = self.fresh("_c")
        self.namespace[name] = value
        return name

    # ---- lookups -----------------------------------------------------------------

    def add_conjunct(self, condition: ast.Condition) -> None:
        strict = _needs_presence(condition)
        for path in _paths(condition):
            self._lookup(path, strict)
        self.lines.append(f"if not {self.expression(condition)}: return False")

    def _lookup(self, path: tuple[str, ...], strict: bool) -> str:
        """Emit lookups of every prefix of ``path``; with ``strict``, return False as soon
        as a parent is not a dict (the conjunct could not hold)."""
        parent = "payload"
        parent_is_dict = True
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix not in self._vars:
                var = self.fresh("v")
                key = repr(prefix[-1])
                if parent_is_dict:
                    self.lines.append(f"{var} = {parent}.get({key}, _MISSING)")
                else:
                    self.lines.append(
                        f"{var} = {parent}.get({key}, _MISSING)"
                        f" if isinstance({parent}, dict) else _MISSING"
                    )
                self._vars[prefix] = (var, False)
            var, is_dict = self._vars[prefix]
            if depth < len(path) and strict and not is_dict:
                self.lines.append(f"if not isinstance({var}, dict): return False")
                self._vars[prefix] = (var, True)
            parent, parent_is_dict = self._vars[prefix]
        return self._vars[path][0]

    def var(self, path: ast.Path) -> str:
        return self._vars[path.segments][0]

    # ---- expressions -------------------------------------------------------------

    def expression(self, condition: ast.Condition) -> str:
        if isinstance(condition, ast.AllOf):
            return "(" + " and ".join(self.expression(c) for c in condition.operands) + ")"
        if isinstance(condition, ast.AnyOf):
            return "(" + " or ".join(self.expression(c) for c in condition.operands) + ")"
        if isinstance(condition, ast.Not):
            return f"(not {self.expression(condition.operand)})"
        v = self.var(condition.path)
        if isinstance(condition, ast.Truthy):
            return f"({v} is True)"
        if isinstance(condition, ast.Exists):
            if condition.negated:
                return f"({v} is _MISSING or {v} is None)"
            return f"({v} is not _MISSING and {v} is not None)"
        field_type = self.types(condition.path)
        if isinstance(condition, ast.Comparison):
            return self._comparison(condition, v, field_type)
        if isinstance(condition, ast.Membership):
            return self._membership(condition, v, field_type)
        if isinstance(condition, ast.TextTest):
            return self._text(condition, v)
        return self._regex(condition, v)

    def _comparison(self, test: ast.Comparison, v: str, field_type: FieldType) -> str:
        value = literal_value(test.value)
        if field_type is FieldType.BOOL:
            expected = bool(value) if test.op == "==" else not value
            return f"({v} is {expected!r})"
        if field_type is FieldType.TIMESTAMP:
            t = self.fresh("t")
            return f"(({t} := _ts({v})) is not None and {t} {test.op} {self.constant(value)})"
        if test.ignore_case:
            folded = self.constant(value.casefold())
            return f"({v}.__class__ is str and {v}.casefold() {test.op} {folded})"
        guard = _GUARDS[field_type].format(v=v)
        return f"({guard} and {v} {test.op} {self.constant(value)})"

    def _membership(self, test: ast.Membership, v: str, field_type: FieldType) -> str:
        values = [literal_value(literal) for literal in test.values]
        op = "not in" if test.negated else "in"
        if field_type is FieldType.TIMESTAMP:
            t = self.fresh("t")
            return (
                f"(({t} := _ts({v})) is not None and {t} {op} {self.constant(frozenset(values))})"
            )
        subject = v
        if test.ignore_case:
            values = [value.casefold() for value in values]
            subject = f"{v}.casefold()"
        guard = _GUARDS[field_type].format(v=v)
        return f"({guard} and {subject} {op} {self.constant(frozenset(values))})"

    def _text(self, test: ast.TextTest, v: str) -> str:
        needle = test.value.value
        subject = v
        if test.ignore_case:
            needle, subject = needle.casefold(), f"{v}.casefold()"
        c = self.constant(needle)
        if test.op == "contains":
            check = f"{c} in {subject}"
        else:
            check = _TEXT_METHODS[test.op].format(v=subject, c=c)
        negation = "not " if test.negated else ""
        return f"({v}.__class__ is str and {negation}{check})"

    def _regex(self, test: ast.RegexTest, v: str) -> str:
        pattern = re.compile(test.pattern.pattern, regex_flags(test.ignore_case))
        outcome = "is None" if test.negated else "is not None"
        return f"({v}.__class__ is str and {self.constant(pattern)}.search({v}) {outcome})"


def _needs_presence(condition: ast.Condition) -> bool:
    """Whether the condition is false whenever its path is missing (so a lookup may
    return early): every single test except ``not exists``."""
    if isinstance(condition, ast.Exists):
        return not condition.negated
    return not isinstance(condition, ast.Not | ast.AllOf | ast.AnyOf)


def _paths(condition: ast.Condition) -> list[tuple[str, ...]]:
    if isinstance(condition, ast.AllOf | ast.AnyOf):
        return [p for c in condition.operands for p in _paths(c)]
    if isinstance(condition, ast.Not):
        return _paths(condition.operand)
    return [condition.path.segments]
