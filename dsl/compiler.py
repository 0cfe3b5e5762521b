"""Checked AST -> ``RuleSet``; every predicate becomes generated Python, compiled once.

Why generated code: an event is tested against many predicates, so the per-event cost
must be a few attribute lookups and comparisons, with no tree walk and no dispatch on
node kinds. Key paths are split at compile time, and literal values reach the generated
function through its globals (never pasted into source text), so nothing a rule file
contains can be executed.

Typed semantics the engine relies on (see tests/unit/dsl/test_dsl_compiler.py):

* a missing key, or an intermediate value that is not a dict, matches neither ``==``
  nor ``!=``;
* a value of the wrong type (a string for a number field, a number for a bool...)
  matches neither ``==`` nor ``!=``; ``bool`` is not a number;
* numbers compare by value, so ``5 == 5.0``; strings compare case-sensitively.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dsl import ast
from dsl.checker import Environment
from dsl.naming import BadgeLayout, layout_badge
from dsl.ruleset import (
    CompiledBadge,
    CompiledGroup,
    CompiledPenalty,
    CompiledRequirement,
    Predicate,
    RuleSet,
    Trigger,
)
from dsl.schemas import FieldType

__all__ = ["compile_files", "compile_predicate", "describe_match", "FieldTest"]

_MISSING = object()
_NUMBER_TYPES = frozenset({int, float})


@dataclass(frozen=True)
class FieldTest:
    """One typed data rule: ``path == value`` (``equal``) or ``path != value``."""

    path: tuple[str, ...]
    field_type: FieldType
    equal: bool
    value: Any


def compile_files(files: Sequence[ast.RuleFile], env: Environment) -> RuleSet:
    """Compile checked files; the caller guarantees the checker found no error."""
    badges = tuple(_compile_badge(b, env) for f in files for b in f.badges)
    return RuleSet(badges)


def _compile_badge(badge: ast.Badge, env: Environment) -> CompiledBadge:
    layout = layout_badge(badge)
    template = next(s for s in badge.statements if isinstance(s, ast.Template))
    written = next((s.text for s in badge.statements if isinstance(s, ast.Description)), None)
    groups = tuple(_compile_group(g.name, g.members, env) for g in layout.groups)
    return CompiledBadge(
        slug=badge.slug,
        provider=template.provider.name,
        template_external_id=template.external_id,
        description=written if written is not None else _describe_groups(groups),
        repeatable=any(isinstance(s, ast.Repeatable) for s in badge.statements),
        groups=groups,
        penalties=tuple(_compile_penalty(n, p, layout, env) for n, p in layout.penalties),
    )


def _compile_group(
    name: str, members: Sequence[tuple[str, ast.Requirement]], env: Environment
) -> CompiledGroup:
    requirements = tuple(
        CompiledRequirement(
            name=req_name,
            description=describe_match(requirement.match),
            triggers=(
                Trigger(
                    event_type=_event_type(requirement.match, env),
                    matches=_compile_match(requirement.match, env, req_name),
                    description=describe_match(requirement.match),
                ),
            ),
        )
        for req_name, requirement in members
    )
    return CompiledGroup(name, requirements)


def _compile_penalty(
    name: str, penalty: ast.Penalty, layout: BadgeLayout, env: Environment
) -> CompiledPenalty:
    resets = layout.requirement_names() if penalty.resets_all else [t.name for t in penalty.resets]
    return CompiledPenalty(
        name=name,
        description=describe_match(penalty.match),
        trigger=Trigger(
            event_type=_event_type(penalty.match, env),
            matches=_compile_match(penalty.match, env, name),
            description=describe_match(penalty.match),
        ),
        resets=tuple(resets),
    )


def _event_type(match: ast.Match, env: Environment) -> str:
    event_type = env.event_type(match.event.span.file, match.event)
    assert event_type is not None, "the checker resolves every event"
    return event_type


def _describe_groups(groups: Sequence[CompiledGroup]) -> str:
    parts = []
    for group in groups:
        texts = [r.description for r in group.requirements]
        parts.append(texts[0] if len(texts) == 1 else "any of (" + " | ".join(texts) + ")")
    return "; ".join(parts)


# ---- descriptions ----------------------------------------------------------------------


def describe_match(match: ast.Match) -> str:
    """Human text of a match, in canonical spelling (``yes`` becomes ``true``)."""
    event = json.dumps(match.event.text) if match.event.quoted else match.event.text
    if not match.conditions:
        return f"on {event}"
    return f"on {event} where " + " and ".join(_describe_condition(c) for c in match.conditions)


def _describe_condition(condition: ast.Condition) -> str:
    if isinstance(condition, ast.Truthy):
        return condition.path.dotted
    return f"{condition.path.dotted} {condition.op} {_describe_literal(condition.value)}"


def _describe_literal(value: ast.Literal) -> str:
    if isinstance(value, ast.StringLiteral):
        return json.dumps(value.value, ensure_ascii=False)
    if isinstance(value, ast.NumberLiteral):
        return value.text
    if isinstance(value, ast.BoolLiteral):
        return "true" if value.value else "false"
    return value.text


# ---- predicates ------------------------------------------------------------------------


def _compile_match(match: ast.Match, env: Environment, name: str) -> Predicate:
    event_type = _event_type(match, env)
    tests = [_field_test(c, event_type, env) for c in match.conditions]
    return compile_predicate(tests, name=f"{name}: {describe_match(match)}")


def _field_test(condition: ast.Condition, event_type: str, env: Environment) -> FieldTest:
    field_type = env.field_type(event_type, condition.path)
    assert field_type is not None, "the checker resolves every path"
    if isinstance(condition, ast.Truthy):
        return FieldTest(condition.path.segments, field_type, True, True)
    value = condition.value
    assert not isinstance(value, ast.BareWord), "the checker rejects bare words"
    return FieldTest(condition.path.segments, field_type, condition.op == "==", value.value)


def compile_predicate(tests: Sequence[FieldTest], *, name: str = "predicate") -> Predicate:
    """Generate and compile ``def predicate(payload) -> bool`` testing all ``tests``.

    Example::

        >>> p = compile_predicate([FieldTest(("score",), FieldType.NUMBER, True, 5)])
        >>> p({"score": 5.0}), p({"score": "5"}), p({})
        (True, False, False)
    """
    namespace: dict[str, Any] = {"_MISSING": _MISSING, "_NUMBER_TYPES": _NUMBER_TYPES}
    body: list[str] = []
    for index, test in enumerate(tests):
        constant = f"_c{index}"
        namespace[constant] = test.value
        body.extend(_lookup_lines(test.path))
        body.append(_test_line(test, constant))
    source = "def predicate(payload):\n" + "".join(f"    {line}\n" for line in body)
    source += "    return True\n"
    exec(compile(source, f"<badgeflow rule {name}>", "exec"), namespace)
    predicate = namespace["predicate"]
    predicate.__doc__ = name
    return predicate


def _lookup_lines(path: tuple[str, ...]) -> list[str]:
    lines = [f"value = payload.get({path[0]!r}, _MISSING)"]
    for segment in path[1:]:
        lines.append("if not isinstance(value, dict): return False")
        lines.append(f"value = value.get({segment!r}, _MISSING)")
    return lines


def _test_line(test: FieldTest, constant: str) -> str:
    if test.field_type is FieldType.BOOL:
        expected = bool(test.value) if test.equal else not test.value
        return f"if value is not {expected!r}: return False"
    mismatch = "!=" if test.equal else "=="
    if test.field_type is FieldType.NUMBER:
        type_guard = "value.__class__ not in _NUMBER_TYPES"
    else:
        type_guard = "value.__class__ is not str"
    return f"if {type_guard} or value {mismatch} {constant}: return False"
