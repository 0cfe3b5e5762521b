"""Human text of requirements, in canonical spelling (``yes`` becomes ``true``).

Conditions are written back with the fewest parentheses that keep their meaning, so a
description reads like the rule and parses back to the same condition.
"""

from __future__ import annotations

import json

from dsl import ast

__all__ = ["describe_condition", "describe_match", "describe_requirement"]


def describe_requirement(requirement: ast.Requirement) -> str:
    """``3 of: on quiz_graded where passed, within 30 days``; ``on a then on b``..."""
    criterion = requirement.criterion
    if isinstance(criterion, ast.HasBadge):
        return f"has badge {json.dumps(criterion.slug, ensure_ascii=False)}"
    if isinstance(criterion, ast.Count):
        distinct = f" distinct {criterion.distinct.dotted}" if criterion.distinct else ""
        text = f"{criterion.threshold.text}{distinct} of: {describe_match(criterion.match)}"
    elif isinstance(criterion, ast.InOrder):
        text = " then ".join(describe_match(m) for m in criterion.steps)
    else:
        text = describe_match(criterion)
    window = requirement.window
    if window is not None:
        text += f", within {window.amount.text} {window.unit.name}"
    return text


def describe_match(match: ast.Match) -> str:
    event = json.dumps(match.event.text) if match.event.quoted else match.event.text
    text = f"on {event}"
    if match.conditions:
        text += " where " + " and ".join(_operand(c, ast.AnyOf) for c in match.conditions)
    if match.during is not None:
        text += f" during {match.during.start.text} .. {match.during.end.text}"
    return text


def describe_condition(condition: ast.Condition) -> str:
    if isinstance(condition, ast.AllOf):
        return " and ".join(_operand(c, ast.AnyOf) for c in condition.operands)
    if isinstance(condition, ast.AnyOf):
        return " or ".join(describe_condition(c) for c in condition.operands)
    if isinstance(condition, ast.Not):
        return "not " + _operand(condition.operand, ast.AllOf | ast.AnyOf)
    return _describe_test(condition)


def _operand(condition: ast.Condition, needs_parentheses: type) -> str:
    text = describe_condition(condition)
    return f"({text})" if isinstance(condition, needs_parentheses) else text


def _describe_test(test: ast.Test) -> str:
    path = test.path.dotted
    if isinstance(test, ast.Truthy):
        return path
    if isinstance(test, ast.Exists):
        return f"{path} not exists" if test.negated else f"{path} exists"
    if isinstance(test, ast.Comparison):
        return f"{path} {test.op} {_describe_literal(test.value)}" + _case(test.ignore_case)
    negation = "not " if test.negated else ""
    if isinstance(test, ast.Membership):
        values = ", ".join(_describe_literal(v) for v in test.values)
        text = f"{path} {negation}in [{values}]"
    elif isinstance(test, ast.TextTest):
        text = f"{path} {negation}{test.op} {_describe_literal(test.value)}"
    else:
        pattern = test.pattern.pattern.replace("/", "\\/")
        text = f"{path} {negation}matches /{pattern}/"
    return text + _case(test.ignore_case)


def _case(ignore_case: bool) -> str:
    return " ignoring case" if ignore_case else ""


def _describe_literal(value: ast.Literal) -> str:
    if isinstance(value, ast.StringLiteral):
        return json.dumps(value.value, ensure_ascii=False)
    if isinstance(value, ast.NumberLiteral | ast.TimestampLiteral):
        return value.text
    if isinstance(value, ast.BoolLiteral):
        return "true" if value.value else "false"
    return value.text
