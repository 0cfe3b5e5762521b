"""One table of (match, payload, expected) run against the compiled predicate and against
a tiny reference interpreter that walks the AST (it lives here, not in ``dsl/``).

The interpreter spells out the typed semantics plainly; the compiler must agree with it
on every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import dsl
from dsl import ast
from dsl.checker import Environment, check_files
from dsl.diagnostics import SourceLines
from dsl.parser import parse
from dsl.schemas import FieldType

_MISSING = object()
_TYPE_CHECKS = {
    FieldType.BOOL: lambda v: type(v) is bool,
    FieldType.NUMBER: lambda v: type(v) in (int, float),
    FieldType.STRING: lambda v: type(v) is str,
}


def _lookup(payload: Mapping[str, Any], segments: tuple[str, ...]) -> Any:
    node: Any = payload
    for segment in segments:
        if not isinstance(node, Mapping) or segment not in node:
            return _MISSING
        node = node[segment]
    return node


def _holds(condition: ast.Condition, field_type: FieldType, payload: Mapping[str, Any]) -> bool:
    value = _lookup(payload, condition.path.segments)
    if value is _MISSING or not _TYPE_CHECKS[field_type](value):
        return False
    if isinstance(condition, ast.Truthy):
        return value is True
    literal = condition.value
    assert not isinstance(literal, ast.BareWord)
    return (value == literal.value) if condition.op == "==" else (value != literal.value)


def interpret(match: ast.Match, env: Environment, payload: Mapping[str, Any]) -> bool:
    event_type = env.event_type(match.event.span.file, match.event)
    assert event_type is not None
    return all(
        _holds(c, env.field_type(event_type, c.path), payload)  # type: ignore[arg-type]
        for c in match.conditions
    )


def _rule_text(match_text: str) -> str:
    return f'badge "b" {{\n  template credly "t"\n  require r: {match_text}\n}}\n'


def run_compiled(match_text: str, payload: Mapping[str, Any]) -> bool:
    ruleset = dsl.compile_rules([dsl.SourceFile("c.rules", _rule_text(match_text))])
    return ruleset.badges[0].requirement("r").matches(payload)


def run_interpreted(match_text: str, payload: Mapping[str, Any]) -> bool:
    text = _rule_text(match_text)
    tree = parse("c.rules", text).tree
    assert tree is not None
    diagnostics, env = check_files([tree], SourceLines({"c.rules": text}))
    assert diagnostics == []
    requirement = tree.badges[0].statements[1]
    assert isinstance(requirement, ast.Requirement)
    return interpret(requirement.match, env, payload)


Q = "on quiz_graded where "
P = "on course_passed where "

TABLE = [
    # missing paths never match == nor !=
    pytest.param(Q + "score == 5", {}, False, id="missing-eq"),
    pytest.param(Q + "score != 5", {}, False, id="missing-ne"),
    pytest.param(Q + "quiz.id == 'x'".replace("'", '"'), {"quiz": {}}, False, id="missing-leaf"),
    pytest.param(Q + 'quiz.id != "x"', {"quiz": "x"}, False, id="intermediate-str-ne"),
    pytest.param(Q + 'quiz.id == "x"', {"quiz": None}, False, id="intermediate-none"),
    pytest.param(Q + 'quiz.id != "x"', {"quiz": ["id"]}, False, id="intermediate-list"),
    pytest.param(P + 'user.pii.email != "a"', {"user": {"pii": 1}}, False, id="deep-non-dict"),
    # wrong types never match == nor !=
    pytest.param(Q + "score == 5", {"score": "5"}, False, id="str-for-number-eq"),
    pytest.param(Q + "score != 5", {"score": "5"}, False, id="str-for-number-ne"),
    pytest.param(Q + 'quiz.id == "5"', {"quiz": {"id": 5}}, False, id="number-for-str"),
    pytest.param(Q + 'quiz.id != "5"', {"quiz": {"id": 5.0}}, False, id="number-for-str-ne"),
    pytest.param(Q + 'quiz.id == "x"', {"quiz": {"id": ["x"]}}, False, id="list-for-str"),
    pytest.param(Q + "passed == false", {"passed": None}, False, id="none-for-bool"),
    pytest.param(Q + "passed != true", {"passed": "no"}, False, id="str-for-bool-ne"),
    # bool is not a number, and a number is not a bool
    pytest.param(Q + "score == 1", {"score": True}, False, id="true-is-not-1"),
    pytest.param(Q + "score != 1", {"score": True}, False, id="true-is-not-number-ne"),
    pytest.param(Q + "score == 0", {"score": False}, False, id="false-is-not-0"),
    pytest.param(Q + "passed == true", {"passed": 1}, False, id="1-is-not-true"),
    pytest.param(Q + "passed", {"passed": 1.0}, False, id="bare-1.0-is-not-true"),
    pytest.param(Q + "passed != true", {"passed": 0}, False, id="0-is-not-false"),
    # numbers compare by value
    pytest.param(Q + "score == 5", {"score": 5.0}, True, id="5-eq-5.0"),
    pytest.param(Q + "score == 5.0", {"score": 5}, True, id="5.0-eq-5"),
    pytest.param(Q + "score != 5", {"score": 5.0}, False, id="5-ne-5.0"),
    pytest.param(Q + "score != 5", {"score": 6.0}, True, id="6-ne-5"),
    pytest.param(Q + "score == -1.5", {"score": -1.5}, True, id="negative-float"),
    pytest.param(Q + "score == 0", {"score": -0.0}, True, id="zero-neg-zero"),
    pytest.param(P + "user.id == 12345678901", {"user": {"id": 12345678901.0}}, True, id="big-int"),
    # strings compare exactly
    pytest.param(Q + 'quiz.id == "Abc"', {"quiz": {"id": "abc"}}, False, id="case-sensitive"),
    pytest.param(Q + 'quiz.id != "Abc"', {"quiz": {"id": "abc"}}, True, id="case-sensitive-ne"),
    pytest.param(Q + 'quiz.id == "a\\"b"', {"quiz": {"id": 'a"b'}}, True, id="escaped-quote"),
    pytest.param(Q + 'quiz.id == ""', {"quiz": {"id": ""}}, True, id="empty-string"),
    # bools and their aliases
    pytest.param(Q + "passed", {"passed": True}, True, id="bare-true"),
    pytest.param(Q + "passed", {"passed": False}, False, id="bare-false"),
    pytest.param(Q + "passed == yes", {"passed": True}, True, id="alias-yes"),
    pytest.param(Q + "passed == -", {"passed": False}, True, id="alias-minus"),
    pytest.param(Q + "passed == +", {"passed": False}, False, id="alias-plus-on-false"),
    pytest.param(Q + "passed != No", {"passed": True}, True, id="alias-ne-No"),
    pytest.param(Q + "passed != no", {"passed": False}, False, id="alias-ne-no-false"),
    pytest.param(Q + "passed == False", {"passed": False}, True, id="alias-False"),
    # no data rules, several rules, extra keys
    pytest.param("on quiz_graded", {}, True, id="no-rules-empty"),
    pytest.param("on quiz_graded", {"anything": [1]}, True, id="no-rules-anything"),
    pytest.param(Q + "passed and score == 5", {"passed": True, "score": 5}, True, id="and-both"),
    pytest.param(Q + "passed and score == 5", {"passed": True, "score": 4}, False, id="and-one"),
    pytest.param(
        P + 'is_passing and course.course_key == "course-v1:A+B+C"',
        {"is_passing": True, "course": {"course_key": "course-v1:A+B+C", "extra": 1}, "x": 2},
        True,
        id="openedx-extra-keys",
    ),
    pytest.param(
        P + 'user.pii.email == "a@b.c"', {"user": {"pii": {"email": "a@b.c"}}}, True, id="deep"
    ),
]


@pytest.mark.parametrize(("match_text", "payload", "expected"), TABLE)
def test_compiled_predicate(match_text: str, payload: dict[str, Any], expected: bool) -> None:
    assert run_compiled(match_text, payload) is expected


@pytest.mark.parametrize(("match_text", "payload", "expected"), TABLE)
def test_reference_interpreter(match_text: str, payload: dict[str, Any], expected: bool) -> None:
    assert run_interpreted(match_text, payload) is expected
