"""Parser: AST shape and spans, literals, and named syntax errors."""

from __future__ import annotations

import pytest

from dsl import ast
from dsl.diagnostics import Span
from dsl.parser import _EXAMPLES, parse


def parse_ok(text: str) -> ast.RuleFile:
    result = parse("p.rules", text)
    assert result.diagnostic is None, result.diagnostic.render()
    assert result.tree is not None
    return result.tree


def first_condition(where: str) -> ast.Condition:
    tree = parse_ok(f'badge "b" {{ require on e where {where} }}')
    requirement = tree.badges[0].statements[0]
    assert isinstance(requirement, ast.Requirement)
    return requirement.matches[0].conditions[0]


def syntax_code(text: str) -> str:
    result = parse("p.rules", text)
    assert result.diagnostic is not None
    return result.diagnostic.code


def test_event_declaration_with_fields() -> None:
    tree = parse_ok('event quiz = "com.x.v1" {\n  quiz.id: string\n  score: number\n}\n')
    [decl] = tree.events
    assert decl.alias.name == "quiz"
    assert decl.event_type == "com.x.v1"
    assert decl.fields is not None
    assert [(f.path.dotted, f.type_name.name) for f in decl.fields] == [
        ("quiz.id", "string"),
        ("score", "number"),
    ]


def test_event_declaration_without_block_has_no_fields() -> None:
    assert parse_ok('event q = "a.b"').events[0].fields is None
    assert parse_ok('event q = "a.b" { }').events[0].fields == ()


def test_badge_statements_keep_order() -> None:
    tree = parse_ok(
        'badge "b" {\n template credly "t"\n description "d"\n repeatable\n'
        " require l: on e\n any g { require on e }\n penalty on e resets all\n}"
    )
    kinds = [type(s).__name__ for s in tree.badges[0].statements]
    assert kinds == ["Template", "Description", "Repeatable", "Requirement", "AnyGroup", "Penalty"]


def test_spans_are_one_based_with_exclusive_end() -> None:
    condition = first_condition("course.key == 1")
    assert condition.path.span == Span("p.rules", 1, 32, 1, 42)


def test_requirement_label_and_quoted_event() -> None:
    tree = parse_ok('badge "b" { require lbl: on "org.x.v1" where a }')
    requirement = tree.badges[0].statements[0]
    assert isinstance(requirement, ast.Requirement)
    assert requirement.label is not None and requirement.label.name == "lbl"
    assert requirement.matches[0].event.quoted is True
    assert requirement.matches[0].event.text == "org.x.v1"


def test_penalty_resets() -> None:
    tree = parse_ok('badge "b" { penalty on e resets a, b  penalty x: on e resets all }')
    named, everything = tree.badges[0].statements
    assert isinstance(named, ast.Penalty) and isinstance(everything, ast.Penalty)
    assert [t.name for t in named.resets] == ["a", "b"]
    assert (named.resets_all, everything.resets_all) == (False, True)


def test_template_id_number_or_string() -> None:
    tree = parse_ok('badge "a" { template accredible 12345 } badge "b" { template credly "x" }')
    ids = [s.external_id for b in tree.badges for s in b.statements if isinstance(s, ast.Template)]
    assert ids == ["12345", "x"]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        pytest.param('"a\\"b\\\\c\\n\\u00e9"', 'a"b\\c\né', id="escapes"),
        pytest.param("5", 5, id="int"),
        pytest.param("-5", -5, id="negative-int"),
        pytest.param("2.5", 2.5, id="float"),
        pytest.param("1e3", 1000.0, id="exponent"),
        pytest.param("true", True, id="true"),
        pytest.param("No", False, id="No"),
        pytest.param("+", True, id="plus"),
        pytest.param("-", False, id="minus"),
    ],
)
def test_literals(literal: str, expected: object) -> None:
    condition = first_condition(f"x == {literal}")
    assert isinstance(condition, ast.Comparison)
    value = condition.value
    assert not isinstance(value, ast.BareWord)
    assert value.value == expected and type(value.value) is type(expected)


def test_bare_word_is_kept_for_the_checker() -> None:
    condition = first_condition("x == verified")
    assert isinstance(condition, ast.Comparison)
    assert condition.value == ast.BareWord("verified", condition.value.span)


def test_keywords_may_be_field_names() -> None:
    condition = first_condition("all.event == 1")
    assert condition.path.segments == ("all", "event")


def test_where_clause_may_span_lines_and_comments() -> None:
    tree = parse_ok('badge "b" {\n require on e where a # c\n   and b.c != "x"\n}')
    requirement = tree.badges[0].statements[0]
    assert isinstance(requirement, ast.Requirement)
    assert len(requirement.matches[0].conditions) == 2


@pytest.mark.parametrize(
    ("code", "example"),
    [
        pytest.param(code, ex, id=f"{code}-{i}")
        for code, exs in _EXAMPLES.items()
        for i, ex in enumerate(exs)
    ],
)
def test_known_mistake_examples_get_their_code(code: str, example: str) -> None:
    assert syntax_code(example) == code.split("-")[0]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param('badge "b" { foo }', "E101", id="unexpected-token"),
        pytest.param('badge "b" { require on e where a % 1 }', "E102", id="character"),
        pytest.param('badge "b" { description "x\n" }', "E102", id="unterminated"),
        pytest.param('badge "b" {', "E103", id="eof"),
        pytest.param('badge "b" { description "\\x" }', "E104", id="escape-from-visit-error"),
        pytest.param('badge "b" { require on e where a || b }', "E108", id="pipes"),
    ],
)
def test_syntax_error_codes(text: str, code: str) -> None:
    assert syntax_code(text) == code


def test_syntax_error_message_lists_expected_tokens() -> None:
    result = parse("p.rules", 'event x "a.b"')
    assert result.diagnostic is not None
    assert result.diagnostic.message == 'unexpected string "a.b"'
    assert result.diagnostic.hint == "expected '='"


def test_escape_error_points_at_the_escape() -> None:
    result = parse("p.rules", 'badge "b" { description "ab\\q" }')
    assert result.diagnostic is not None
    assert result.diagnostic.span == Span("p.rules", 1, 28, 1, 30)
