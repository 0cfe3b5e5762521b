"""The compiled form of v2 requirements, triggers and issuing directives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import dsl
from dsl.ruleset import Expiry, IssueMethod, RequirementKind

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
QUIZ = "badgeflow.generic.quiz.graded.v1"


def compile_badge(body: str, extra: str = "") -> dsl.CompiledBadge:
    text = f'badge "b" {{\n  template credly "t"\n{body}\n}}\n{extra}'
    return dsl.compile_rules([dsl.SourceFile("r.rules", text)]).badges[0]


def only_requirement(body: str) -> dsl.CompiledRequirement:
    [group] = compile_badge(body).groups
    [requirement] = group.requirements
    return requirement


def test_count_requirement() -> None:
    req = only_requirement("require count >= 3 of (on quiz_graded where passed) within 30 days")
    assert (req.kind, req.threshold, req.window) == (RequirementKind.COUNT, 3, timedelta(days=30))
    [trigger] = req.triggers
    assert (trigger.event_type, trigger.slot, trigger.equalities) == (
        QUIZ,
        0,
        ((("passed",), True),),
    )
    assert req.stateful and req.matches({"passed": True}) is True
    assert req.description == "3 of: on quiz_graded where passed, within 30 days"


def test_distinct_requirement() -> None:
    req = only_requirement(
        "require count distinct course.course_key >= 5 of (on course_passed where is_passing)"
    )
    assert (req.kind, req.threshold, req.distinct_path, req.window) == (
        RequirementKind.DISTINCT,
        5,
        ("course", "course_key"),
        None,
    )


def test_sequence_requirement_has_a_trigger_per_step() -> None:
    req = only_requirement(
        'require on course_passed where course.course_key == "A"\n'
        '    then on course_passed where course.course_key == "B"\n'
        "    then on quiz_graded within 2 hours"
    )
    assert req.kind is RequirementKind.SEQUENCE
    assert req.window == timedelta(hours=2)
    assert [(t.slot, t.event_type, t.equalities) for t in req.triggers] == [
        (0, PASSED, ((("course", "course_key"), "A"),)),
        (1, PASSED, ((("course", "course_key"), "B"),)),
        (2, QUIZ, ()),
    ]


def test_has_badge_requirement() -> None:
    other = 'badge "a" {\n  template credly "ta"\n  require on quiz_graded\n}\n'
    badge = compile_badge('require has badge "a"', extra=other)
    [req] = badge.groups[0].requirements
    assert (req.kind, req.badge, req.triggers, req.event_type) == (
        RequirementKind.HAS_BADGE,
        "a",
        (),
        "",
    )
    assert badge.depends_on == ("a",)


def test_during_bounds_the_event_time_half_open() -> None:
    req = only_requirement("require on quiz_graded during 2027-02-01 .. 2027-03-01T10:00:00+01:00")
    [trigger] = req.triggers
    assert trigger.after == datetime(2027, 2, 1, tzinfo=UTC)
    assert trigger.before == datetime(2027, 3, 1, 9, tzinfo=UTC)
    assert trigger.accepts({}, datetime(2027, 2, 1, tzinfo=UTC)) is True
    assert trigger.accepts({}, datetime(2027, 3, 1, 9, tzinfo=UTC)) is False


def test_penalty_gets_conditions_and_during() -> None:
    badge = compile_badge(
        "require on quiz_graded\n"
        "penalty on quiz_graded where not passed or score < 10 during 2027-01-01 .. 2028-01-01"
        " resets all"
    )
    [penalty] = badge.penalties
    assert penalty.trigger.after == datetime(2027, 1, 1, tzinfo=UTC)
    assert penalty.matches({"score": 5}) is True
    assert penalty.matches({"passed": True, "score": 50}) is False


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        pytest.param(
            'quiz.id == "q" and passed', ((("quiz", "id"), "q"), (("passed",), True)), id="and"
        ),
        pytest.param(
            "score == 5 and passed == no", ((("score",), 5), (("passed",), False)), id="typed"
        ),
        pytest.param('quiz.id == "q" or passed', (), id="under-or"),
        pytest.param('not quiz.id == "q"', (), id="under-not"),
        pytest.param('quiz.id == "Q" ignoring case', (), id="ignoring-case"),
        pytest.param('quiz.id != "q"', (), id="not-equal"),
        pytest.param("graded_at == 2027-01-01", (), id="timestamp"),
        pytest.param(
            '(quiz.id == "q" and passed) and score > 1',
            ((("quiz", "id"), "q"), (("passed",), True)),
            id="grouped",
        ),
    ],
)
def test_equalities_are_the_necessary_constants(where: str, expected: tuple) -> None:
    [trigger] = only_requirement(f"require on quiz_graded where {where}").triggers
    assert trigger.equalities == expected


def test_issuing_directives() -> None:
    badge = compile_badge(
        "require on course_passed where is_passing\n"
        "method issue_or_update\nexpires after 1 year\n"
        'evidence url "Course" "https://lms.example.com/courses/{course.course_key}"\n'
        'evidence text "Who" "{user.pii.name} ({user.id}, active: {user.is_active})"'
    )
    assert badge.method is IssueMethod.ISSUE_OR_UPDATE
    assert badge.expiry == Expiry(amount=1, unit="years")
    url, text = badge.evidence
    payload = {
        "course": {"course_key": "c+1"},
        "user": {"pii": {"name": "Ada"}, "id": 5.0, "is_active": True},
    }
    assert url.render(payload) == "https://lms.example.com/courses/c+1"
    assert text.render(payload) == "Ada (5, active: true)"
    assert text.render({"user": {"pii": {"name": "Ada"}}}) is None
    assert url.render({"course": {"course_key": None}}) is None


def test_defaults_and_expiry_on() -> None:
    badge = compile_badge("require on quiz_graded\nexpires on 2027-12-31")
    assert badge.method is IssueMethod.ISSUE
    assert badge.expiry == Expiry(on=datetime(2027, 12, 31, tzinfo=UTC))
    assert compile_badge("require on quiz_graded").expiry is None


def test_url_evidence_from_a_field_is_left_out_when_not_http() -> None:
    badge = compile_badge('require on achievement_awarded\nevidence url "P" "{project.url}"')
    [item] = badge.evidence
    assert item.render({"project": {"url": "https://x.example"}}) == "https://x.example"
    assert item.render({"project": {"url": "javascript:alert(1)"}}) is None


def test_regex_is_compiled_once_and_reached_through_globals() -> None:
    req = only_requirement(
        'require r: on quiz_graded where quiz.id matches "^(a|b)$" ignoring case'
    )
    predicate = req.matches
    constants = [v for v in predicate.__globals__.values() if hasattr(v, "search")]
    assert len(constants) == 1 and constants[0].pattern == "^(a|b)$"
    assert predicate({"quiz": {"id": "B"}}) is True


def test_checker_reports_every_v2_error_at_once() -> None:
    text = (
        'badge "b" {\n  template credly "t"\n'
        '  require count 3 of (on quiz_graded where score >= "5") within 3 dayz\n'
        "  require on quiz_graded where quiz.id matches /(/ within 2 days\n"
        '  require has badge "c"\n'
        '  evidence lnk "x" "https://{nope}"\n'
        "}\n"
    )
    codes = [d.code for d in dsl.check([dsl.SourceFile("x.rules", text)])]
    assert codes == ["E407", "E301", "E212", "E312", "E409", "E210", "E214", "E211"]
