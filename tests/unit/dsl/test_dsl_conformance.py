"""One table of (match, payload, expected) run against the compiled predicate and against
a tiny reference interpreter that walks the AST (``reference_interpreter.py`` next to
this file, not in ``dsl/``).

The interpreter spells out the typed semantics plainly; the compiler must agree with it
on every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from reference_interpreter import holds_all

import dsl
from dsl import ast
from dsl.checker import Environment, check_files
from dsl.diagnostics import SourceLines
from dsl.parser import parse


def interpret(match: ast.Match, env: Environment, payload: Mapping[str, Any]) -> bool:
    event_type = env.event_type(match.event.span.file, match.event)
    assert event_type is not None
    schema = env.schemas[event_type]
    return holds_all(match.conditions, lambda path: schema[path.dotted], payload)


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
    return interpret(requirement.matches[0], env, payload)


Q = "on quiz_graded where "
P = "on course_passed where "
C = "on course_completed where "
QUIZ_AT = {"graded_at": "2027-02-01T10:00:00+02:00"}

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


V2 = [
    # ordering on numbers, never on missing or wrong types
    pytest.param(Q + "score >= 5", {"score": 5}, True, id="ge-equal"),
    pytest.param(Q + "score > 5", {"score": 5.5}, True, id="gt-float"),
    pytest.param(Q + "score < 5", {"score": 5}, False, id="lt-equal"),
    pytest.param(Q + "score <= -1", {"score": -1.0}, True, id="le-negative"),
    pytest.param(Q + "score < 5", {}, False, id="lt-missing"),
    pytest.param(Q + "score < 5", {"score": "1"}, False, id="lt-string"),
    pytest.param(Q + "score < 5", {"score": True}, False, id="lt-bool"),
    # timestamps: ISO strings with an offset; dates are midnight UTC
    pytest.param(Q + "graded_at >= 2027-02-01", QUIZ_AT, True, id="ts-ge-date"),
    pytest.param(Q + "graded_at < 2027-02-01T08:00:00Z", QUIZ_AT, False, id="ts-offset"),
    pytest.param(Q + "graded_at == 2027-02-01T08:00:00Z", QUIZ_AT, True, id="ts-same-instant"),
    pytest.param(
        Q + "graded_at < 2027-03-01", {"graded_at": "2027-02-01T10:00:00Z"}, True, id="ts-z"
    ),
    pytest.param(
        Q + "graded_at < 2027-03-01", {"graded_at": "2027-02-01T10:00:00"}, False, id="ts-naive"
    ),
    pytest.param(Q + "graded_at < 2027-03-01", {"graded_at": "2027-02-01"}, False, id="ts-date"),
    pytest.param(Q + "graded_at < 2027-03-01", {"graded_at": "soon"}, False, id="ts-garbage"),
    pytest.param(Q + "graded_at != 2027-03-01", {"graded_at": 5}, False, id="ts-number"),
    pytest.param(Q + "graded_at != 2027-03-01", {}, False, id="ts-missing-ne"),
    pytest.param(Q + "graded_at in [2027-02-01T08:00:00Z, 2027-02-02]", QUIZ_AT, True, id="ts-in"),
    # in / not in
    pytest.param(Q + 'quiz.id in ["a", "b"]', {"quiz": {"id": "b"}}, True, id="in"),
    pytest.param(Q + 'quiz.id in ["a", "b"]', {"quiz": {"id": "B"}}, False, id="in-case"),
    pytest.param(
        Q + 'quiz.id in ["a", "b"] ignoring case', {"quiz": {"id": "B"}}, True, id="in-nocase"
    ),
    pytest.param(Q + 'quiz.id not in ["a"]', {"quiz": {"id": "b"}}, True, id="not-in"),
    pytest.param(Q + 'quiz.id not in ["a"]', {}, False, id="not-in-missing"),
    pytest.param(Q + 'quiz.id not in ["a"]', {"quiz": {"id": 1}}, False, id="not-in-wrong-type"),
    pytest.param(Q + "score in [1, 2.5]", {"score": 1.0}, True, id="in-numbers"),
    pytest.param(Q + "score in [1, 2]", {"score": True}, False, id="in-bool-not-number"),
    pytest.param(Q + "passed in [true]", {"passed": 1}, False, id="in-bools"),
    # text operators and case
    pytest.param(
        C + 'course.title starts with "Py"', {"course": {"title": "Python"}}, True, id="sw"
    ),
    pytest.param(C + 'course.title ends with "on"', {"course": {"title": "Python"}}, True, id="ew"),
    pytest.param(
        C + 'course.title contains "PYTH" ignoring case',
        {"course": {"title": "python"}},
        True,
        id="contains-nocase",
    ),
    pytest.param(
        C + 'course.title contains "PYTH"', {"course": {"title": "python"}}, False, id="contains"
    ),
    pytest.param(C + 'course.title not contains "x"', {}, False, id="not-contains-missing"),
    pytest.param(
        C + 'course.title not contains "x"', {"course": {"title": "abc"}}, True, id="not-contains"
    ),
    pytest.param(
        C + 'course.id == "ABC" ignoring case', {"course": {"id": "abc"}}, True, id="eq-nocase"
    ),
    pytest.param(
        C + 'course.id == "straße" ignoring case',
        {"course": {"id": "STRASSE"}},
        True,
        id="casefold",
    ),
    pytest.param(
        C + 'course.id != "ABC" ignoring case', {"course": {"id": "abc"}}, False, id="ne-nocase"
    ),
    # regular expressions: a search anywhere; anchors when wanted
    pytest.param(C + "course.id matches /^c-\\d+$/", {"course": {"id": "c-12"}}, True, id="re"),
    pytest.param(C + "course.id matches /^c-\\d+$/", {"course": {"id": "c-1x"}}, False, id="re-no"),
    pytest.param(C + 'course.id matches "a/b"', {"course": {"id": "xa/by"}}, True, id="re-string"),
    pytest.param(C + "course.id matches /a\\/b/", {"course": {"id": "a/b"}}, True, id="re-slash"),
    pytest.param(
        C + "course.id matches /ab/ ignoring case", {"course": {"id": "AB"}}, True, id="re-i"
    ),
    pytest.param(C + "course.id not matches /a/", {"course": {"id": "b"}}, True, id="re-not"),
    pytest.param(C + "course.id not matches /a/", {"course": {"id": 1}}, False, id="re-not-type"),
    # exists / not exists: null counts as absent; objects may be tested
    pytest.param(P + "course.end exists", {"course": {"end": "x"}}, True, id="exists"),
    pytest.param(P + "course.end exists", {"course": {"end": None}}, False, id="exists-null"),
    pytest.param(P + "course.end not exists", {"course": "x"}, True, id="not-exists-parent"),
    pytest.param(P + "course.end not exists", {}, True, id="not-exists-missing"),
    pytest.param(P + "course exists", {"course": {}}, True, id="exists-object"),
    # boolean structure: not > and > or; `not (...)` holds when the path is missing
    pytest.param(Q + "not (score == 1)", {}, True, id="not-missing"),
    pytest.param(Q + "not score == 1", {"score": 1}, False, id="not-binds-test"),
    pytest.param(Q + "score == 1 or score == 2", {"score": 2}, True, id="or"),
    pytest.param(Q + "passed or score == 1 and quiz.id exists", {"passed": True}, True, id="prec"),
    pytest.param(
        Q + "(passed or score == 1) and quiz.id exists", {"passed": True}, False, id="paren"
    ),
    pytest.param(Q + "not passed and not (score > 1 or score < 0)", {"score": 0}, True, id="mix"),
    pytest.param(Q + "not not passed", {"passed": True}, True, id="double-not"),
    pytest.param(
        P + 'course.course_key == "A" or user.pii.email exists',
        {"course": 1, "user": {"pii": {"email": "e"}}},
        True,
        id="or-non-dict-parent",
    ),
]


@pytest.mark.parametrize(("match_text", "payload", "expected"), TABLE + V2)
def test_compiled_predicate(match_text: str, payload: dict[str, Any], expected: bool) -> None:
    assert run_compiled(match_text, payload) is expected


@pytest.mark.parametrize(("match_text", "payload", "expected"), TABLE + V2)
def test_reference_interpreter(match_text: str, payload: dict[str, Any], expected: bool) -> None:
    assert run_interpreted(match_text, payload) is expected
