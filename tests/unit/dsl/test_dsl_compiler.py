"""Compiled structure: groups, names, penalties, templates, descriptions, errors."""

from __future__ import annotations

import pytest

import dsl
from dsl import ast
from dsl.parser import parse
from dsl.predicates import compile_conditions
from dsl.schemas import FieldType

DEMO = """
event passed = "org.openedx.learning.course.passing.status.updated.v1"
event ccx_passed = "org.openedx.learning.ccx.course.passing.status.updated.v1"

badge "demo-graduate" {
    template credly "8f2b7c1e-1111-2222-3333-444455556666"
    require demo: on passed where is_passing and course.course_key == "course-v1:X"
    any runs {
        require run1: on ccx_passed where is_passing == yes
        require on ccx_passed where course.ccx_course_key != "ccx-v1:X+ccx@3"
    }
    require on passed
    penalty on passed where is_passing == false resets demo, run1
    penalty failed: on passed where user.is_active == no resets all
}

badge "five" {
    template accredible 12345
    description "Written text"
    repeatable
    require r1: on quiz_graded where passed
    require on quiz_graded
}
"""


def compile_demo() -> dsl.RuleSet:
    return dsl.compile_rules([dsl.SourceFile("demo.rules", DEMO)])


def test_groups_are_all_of_with_any_members() -> None:
    badge = compile_demo().badges[0]
    assert [g.name for g in badge.groups] == ["g1", "runs", "g2"]
    assert [[r.name for r in g.requirements] for g in badge.groups] == [
        ["demo"],
        ["run1", "r1"],
        ["r2"],
    ]


def test_generated_names_skip_labels() -> None:
    badge = compile_demo().badges[1]
    assert [r.name for g in badge.groups for r in g.requirements] == ["r1", "r2"]


def test_penalties_with_named_and_all_resets() -> None:
    penalties = compile_demo().badges[0].penalties
    assert [(p.name, p.resets) for p in penalties] == [
        ("p1", ("demo", "run1")),
        ("failed", ("demo", "run1", "r1", "r2")),
    ]
    assert penalties[0].matches({"is_passing": False}) is True
    assert penalties[1].matches({"user": {"is_active": False}}) is True


def test_requirement_fields() -> None:
    requirement = compile_demo().badges[0].requirement("demo")
    assert requirement.event_type == "org.openedx.learning.course.passing.status.updated.v1"
    assert requirement.description == (
        'on passed where is_passing and course.course_key == "course-v1:X"'
    )
    payload = {"is_passing": True, "course": {"course_key": "course-v1:X"}}
    assert requirement.matches(payload) is True


def test_requirement_unknown_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        compile_demo().badges[0].requirement("nope")


def test_templates_and_lookup() -> None:
    ruleset = compile_demo()
    demo, five = ruleset.badges
    assert demo.template_id == "credly:8f2b7c1e-1111-2222-3333-444455556666"
    assert five.template_external_id == "12345"
    assert ruleset.badge_for_template("accredible:12345") is five
    assert ruleset.badge_for_template("accredible:1") is None


def test_description_written_or_generated() -> None:
    demo, five = compile_demo().badges
    assert five.description == "Written text"
    assert demo.description == (
        'on passed where is_passing and course.course_key == "course-v1:X"; '
        "any of (on ccx_passed where is_passing == true | "
        'on ccx_passed where course.ccx_course_key != "ccx-v1:X+ccx@3"); on passed'
    )


def test_repeatable_flag() -> None:
    assert [b.repeatable for b in compile_demo().badges] == [False, True]


def test_rule_error_carries_all_diagnostics() -> None:
    text = (
        'badge "b" {\n  template credly "t"\n'
        "  require on nope\n  require on quiz_graded where x\n}\n"
    )
    with pytest.raises(dsl.RuleError) as caught:
        dsl.compile_rules([dsl.SourceFile("x.rules", text)])
    assert [d.code for d in caught.value.diagnostics] == ["E201", "E203"]
    assert str(caught.value) == "\n\n".join(d.render() for d in caught.value.diagnostics)


def test_warnings_do_not_stop_compilation() -> None:
    text = (
        'badge "b" {\n template credly "t"\n repeatable\n repeatable\n require on quiz_graded\n}\n'
    )
    files = [dsl.SourceFile("w.rules", text)]
    assert [d.severity for d in dsl.check(files)] == [dsl.Severity.WARNING]
    assert dsl.compile_rules(files).badges[0].repeatable is True


def test_compile_conditions_directly() -> None:
    tree = parse("d.rules", 'badge "b" { require on e where a.b != "x" and n == 2 }').tree
    assert tree is not None
    requirement = tree.badges[0].statements[0]
    assert isinstance(requirement, ast.Requirement)
    types = {"a.b": FieldType.STRING, "n": FieldType.NUMBER}
    predicate = compile_conditions(
        requirement.matches[0].conditions, lambda path: types[path.dotted]
    )
    assert predicate({"a": {"b": "y"}, "n": 2.0}) is True
    assert predicate({"a": {"b": "x"}, "n": 2.0}) is False
    assert predicate({"a": {}, "n": 2.0}) is False


def test_literals_never_become_code() -> None:
    text = (
        'badge "b" {\n template credly "t"\n'
        ' require r: on quiz_graded where quiz.id == "\\"); import os; (\\""\n}\n'
    )
    requirement = dsl.compile_rules([dsl.SourceFile("i.rules", text)]).badges[0].requirement("r")
    assert requirement.matches({"quiz": {"id": '"); import os; ("'}}) is True


def test_empty_input_compiles_to_empty_ruleset() -> None:
    assert dsl.compile_rules([]).badges == ()
    assert dsl.compile_rules([dsl.SourceFile("e.rules", "# nothing\n")]).badges == ()
