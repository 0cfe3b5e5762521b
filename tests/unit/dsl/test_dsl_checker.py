"""Checker: all errors at once, hints, types, ordering across files."""

from __future__ import annotations

import pytest

import dsl


def codes(text: str, name: str = "x.rules") -> list[str]:
    return [d.code for d in dsl.check([dsl.SourceFile(name, text)])]


def badge(body: str, slug: str = "b") -> str:
    return f'badge "{slug}" {{\n  template credly "{slug}"\n{body}\n}}\n'


def test_collects_all_errors_at_once() -> None:
    text = badge(
        "  require on pased\n"
        "  require on quiz_graded where scor == 1 and passed == 3\n"
        "  penalty on quiz_graded resets nope"
    )
    assert codes(text) == ["E201", "E203", "E301", "E207"]


def test_did_you_mean_field() -> None:
    [diagnostic] = dsl.check(
        [dsl.SourceFile("x.rules", badge("  require on quiz_graded where scroe == 1"))]
    )
    assert diagnostic.hint == "did you mean 'score'?"
    assert diagnostic.message == "unknown field 'scroe' in event 'quiz_graded'"
    assert (diagnostic.span.line, diagnostic.span.column, diagnostic.span.end_column) == (3, 32, 37)


def test_did_you_mean_alias_includes_declared() -> None:
    text = 'event finished = "badgeflow.generic.course.completed.v1"\n' + badge(
        "  require on finishd"
    )
    [diagnostic] = dsl.check([dsl.SourceFile("x.rules", text)])
    assert diagnostic.hint == "did you mean 'finished'?"


@pytest.mark.parametrize(
    "alias", [pytest.param(a, id=a) for a in ["yes", "no", "Yes", "No", "True", "False", "+", "-"]]
)
def test_bool_aliases_accepted_on_bool_fields(alias: str) -> None:
    assert codes(badge(f"  require on quiz_graded where passed == {alias}")) == []


@pytest.mark.parametrize("alias", [pytest.param(a, id=a) for a in ["yes", "No", "True", "+", "-"]])
def test_bool_aliases_rejected_elsewhere(alias: str) -> None:
    assert codes(badge(f"  require on quiz_graded where score == {alias}")) == ["E302"]
    assert codes(badge(f"  require on quiz_graded where quiz.id != {alias}")) == ["E302"]


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        pytest.param('score == "5"', "E301", id="string-for-number"),
        pytest.param("quiz.id == 5", "E301", id="number-for-string"),
        pytest.param("passed == 1", "E301", id="number-for-bool"),
        pytest.param("score == true", "E301", id="true-for-number"),
        pytest.param("score", "E303", id="bare-number"),
        pytest.param("graded_at == 1", "E301", id="number-for-timestamp"),
        pytest.param("quiz.id == abc", "E305", id="bare-word"),
        pytest.param('score == 5 and passed and quiz.id != "x"', None, id="all-fine"),
    ],
)
def test_literal_types(condition: str, code: str | None) -> None:
    expected = [code] if code else []
    assert codes(badge(f"  require on quiz_graded where {condition}")) == expected


def test_declared_event_fields_are_checked() -> None:
    text = 'event quiz = "com.example.quiz.v1" {\n  score: number\n  q.id: string\n}\n' + badge(
        '  require on quiz where score == 1 and q.id == "a" and q == "a"'
    )
    assert codes(text) == ["E203"]


def test_declared_fields_are_shared_across_files() -> None:
    files = [
        dsl.SourceFile("a.rules", 'event q = "com.example.q.v1" { score: number }\n'),
        dsl.SourceFile("b.rules", badge('  require on "com.example.q.v1" where score == 2')),
    ]
    assert dsl.check(files) == []


def test_aliases_are_file_scoped() -> None:
    files = [
        dsl.SourceFile("a.rules", 'event q = "badgeflow.generic.quiz.graded.v1"\n'),
        dsl.SourceFile("b.rules", badge("  require on q")),
    ]
    assert [d.code for d in dsl.check(files)] == ["E201"]


def test_diagnostics_sorted_by_file_line_column_across_files() -> None:
    files = [
        dsl.SourceFile("b.rules", badge("  require on nope\n  require on nope2")),
        dsl.SourceFile("a.rules", badge("  require on x", slug="a")),
    ]
    positions = [(d.span.file, d.span.line) for d in dsl.check(files)]
    assert positions == [("a.rules", 3), ("b.rules", 3), ("b.rules", 4)]


def test_syntax_error_suppresses_checker_errors() -> None:
    files = [
        dsl.SourceFile("a.rules", badge("  require on nope")),
        dsl.SourceFile("b.rules", 'badge "b" {\n  require on x where y = 1\n}\n'),
    ]
    assert [d.code for d in dsl.check(files)] == ["E105"]


def test_duplicate_labels_and_generated_names_in_resets() -> None:
    text = badge(
        "  require a: on quiz_graded\n  require a: on quiz_graded\n"
        "  require on quiz_graded\n  penalty on quiz_graded resets r1, a"
    )
    assert codes(text) == ["E206"]


def test_structure_errors() -> None:
    assert codes('badge "b" { }') == ["E401", "E404"]
    assert codes('badge "b" { template credly "t" any { } }') == ["E404", "E405"]


def test_template_and_slug_are_global() -> None:
    files = [
        dsl.SourceFile("a.rules", badge("  require on quiz_graded")),
        dsl.SourceFile("b.rules", badge("  require on quiz_graded")),
    ]
    assert [(d.code, d.span.file) for d in dsl.check(files)] == [
        ("E205", "b.rules"),
        ("E209", "b.rules"),
    ]


def test_diagnostic_render_exact() -> None:
    [diagnostic] = dsl.check(
        [dsl.SourceFile("rules/x.badge", badge("  require on quiz_graded where grade == 1"))]
    )
    assert diagnostic.render() == (
        "rules/x.badge:3:32: error[E203]: unknown field 'grade' in event 'quiz_graded'\n"
        "      require on quiz_graded where grade == 1\n"
        "                                   ^^^^^\n"
        "  hint: did you mean 'graded_at'?"
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("\x00\x01", id="control"),
        pytest.param("badge", id="keyword-only"),
        pytest.param('badge "b" { template credly "t" require on "', id="open-string"),
        pytest.param("}}}}", id="braces"),
        pytest.param('event x = "y" { a.b: }', id="field-no-type"),
        pytest.param("é ü", id="unicode"),
    ],
)
def test_check_never_raises(text: str) -> None:
    for diagnostic in dsl.check([dsl.SourceFile("g.rules", text)]):
        assert diagnostic.code.startswith("E1")
        assert isinstance(diagnostic.render(), str)
